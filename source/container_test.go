package source

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/credkit/credkit/creds"
)

// Secrets served by the test endpoints; no error may contain them.
const (
	epSecretKey    = "epSECRETwJalrXUtnFEMI/K7MDENG/bPxRfiCY"
	epSessionToken = "epSESSIONFwoGZXIvYXdzEJr//////////wEaDHNlY3JldA"
	epAuthToken    = "epAUTHTOKEN-Zm9vYmFyYmF6cXV4"
	epAuthToken2   = "epAUTHTOKEN2-cm90YXRlZHRva2Vu"
	epKeyID        = "ASIAEXAMPLECONTAINER"
)

// envOf is an environment made of m; the real one is never read.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// assertNoSecret fails when err's message shows one of the test secrets or
// one of extra.
func assertNoSecret(t *testing.T, err error, extra ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{epSecretKey, epSessionToken, epAuthToken, epAuthToken2}, extra...) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error shows a secret (%.6s...): %v", s, err)
		}
	}
}

// wantErr fails unless err is non-nil and its message has every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// containerEndpoint is a container credential endpoint as the ECS agent and
// the EKS Pod Identity agent implement it: GET only, the Authorization
// header must equal the token (when one is set), errors are
// {"code","message"} JSON.
type containerEndpoint struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string // "" accepts any request
	status   int    // answer with this status and body instead of credentials
	body     string
	delay    time.Duration
	expires  time.Time
	account  string
	requests int
	authSeen []string // Authorization headers received ("" when absent)
}

func newContainerEndpoint(t *testing.T) *containerEndpoint {
	t.Helper()
	e := &containerEndpoint{expires: time.Now().Add(time.Hour).UTC().Truncate(time.Second), account: "123456789012"}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *containerEndpoint) set(f func(e *containerEndpoint)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e)
}

func (e *containerEndpoint) stats() (requests int, auth []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests, append([]string(nil), e.authSeen...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *containerEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests++
	auth, hasAuth := r.Header["Authorization"]
	if hasAuth {
		e.authSeen = append(e.authSeen, auth[0])
	} else {
		e.authSeen = append(e.authSeen, "")
	}
	token, status, body, delay, expires, account := e.token, e.status, e.body, e.delay, e.expires, e.account
	e.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"code": "MethodNotAllowed", "message": "only GET"})
		return
	}
	if token != "" && r.Header.Get("Authorization") != token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "Unauthorized", "message": "the Authorization header is missing or wrong"})
		return
	}
	if status != 0 {
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain")
		}
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "http://192.0.2.1/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return
	}
	if body != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"RoleArn":         "arn:aws:iam::123456789012:role/task",
		"AccessKeyId":     epKeyID,
		"SecretAccessKey": epSecretKey,
		"Token":           epSessionToken,
		"Expiration":      expires.Format(time.RFC3339),
		"AccountId":       account,
	})
}

func TestNewContainerConfiguration(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]string, error) {
		switch host {
		case "loopback.test":
			return []string{"127.0.0.1", "::1"}, nil
		case "mixed.test":
			return []string{"127.0.0.1", "10.1.2.3"}, nil
		case "public.test":
			return []string{"203.0.113.7"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	tests := []struct {
		name       string
		env        map[string]string
		configured bool
		url        string
		source     string
		err        []string // parts of the error from NewContainer
	}{
		{name: "nothing set: not configured", env: map[string]string{}},
		{name: "only a token set: not configured", env: map[string]string{EnvContainerAuthToken: epAuthToken}},
		{
			name:       "ECS relative URI",
			env:        map[string]string{EnvContainerRelativeURI: "/v2/credentials/6a1c2f0e"},
			configured: true,
			url:        "http://169.254.170.2/v2/credentials/6a1c2f0e",
			source:     "container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/6a1c2f0e)",
		},
		{
			name:       "relative URI wins over full URI",
			env:        map[string]string{EnvContainerRelativeURI: "/creds", EnvContainerFullURI: "https://example.com/creds"},
			configured: true,
			url:        "http://169.254.170.2/creds",
		},
		{
			name: "relative URI without a leading slash",
			env:  map[string]string{EnvContainerRelativeURI: "v2/creds"},
			err:  []string{EnvContainerRelativeURI, `must start with "/"`},
		},
		{
			name: "EKS Pod Identity IPv4",
			env: map[string]string{EnvContainerFullURI: "http://169.254.170.23/v1/credentials",
				EnvContainerAuthTokenFile: "/var/run/token", EnvContainerAuthToken: epAuthToken},
			configured: true,
			url:        "http://169.254.170.23/v1/credentials",
			source:     "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials)",
		},
		{
			name:       "EKS Pod Identity IPv6",
			env:        map[string]string{EnvContainerFullURI: "http://[fd00:ec2::23]/v1/credentials"},
			configured: true,
			url:        "http://[fd00:ec2::23]/v1/credentials",
		},
		{name: "ECS host as a full URI", env: map[string]string{EnvContainerFullURI: "http://169.254.170.2/creds"}, configured: true},
		{name: "loopback 127.0.0.2", env: map[string]string{EnvContainerFullURI: "http://127.0.0.2:9911/creds"}, configured: true},
		{name: "loopback ::1", env: map[string]string{EnvContainerFullURI: "http://[::1]:9911/creds"}, configured: true},
		{name: "host name resolving to loopback only", env: map[string]string{EnvContainerFullURI: "http://loopback.test:8080/"}, configured: true},
		{name: "https to any host", env: map[string]string{EnvContainerFullURI: "https://creds.example.com/role"}, configured: true},
		{
			name: "plain http to a non-loopback address",
			env:  map[string]string{EnvContainerFullURI: "http://10.0.0.5/creds"},
			err:  []string{EnvContainerFullURI, "http://10.0.0.5/creds", "plain http is allowed only to a loopback address", "use https"},
		},
		{
			name: "plain http to a host name that also resolves elsewhere",
			env:  map[string]string{EnvContainerFullURI: "http://mixed.test/creds"},
			err:  []string{EnvContainerFullURI, "mixed.test resolves to 10.1.2.3", "plain http is allowed only"},
		},
		{
			name: "plain http to a public host name",
			env:  map[string]string{EnvContainerFullURI: "http://public.test/creds"},
			err:  []string{"public.test resolves to 203.0.113.7"},
		},
		{
			name: "plain http to a name that does not resolve",
			env:  map[string]string{EnvContainerFullURI: "http://nowhere.test/creds"},
			err:  []string{EnvContainerFullURI, "cannot resolve nowhere.test"},
		},
		{
			name: "another scheme",
			env:  map[string]string{EnvContainerFullURI: "ftp://127.0.0.1/creds"},
			err:  []string{EnvContainerFullURI, "must start with https://"},
		},
		{
			name: "no host",
			env:  map[string]string{EnvContainerFullURI: "http:///creds"},
			err:  []string{EnvContainerFullURI, "has no host"},
		},
		{
			name: "not a URL",
			env:  map[string]string{EnvContainerFullURI: "http://[::1/creds"},
			err:  []string{EnvContainerFullURI, "is not a URL"},
		},
		{
			name:       "password in the URI is masked",
			env:        map[string]string{EnvContainerFullURI: "http://user:pa55w0rd@127.0.0.1:9911/creds"},
			configured: true,
			url:        "http://user:xxxxx@127.0.0.1:9911/creds",
			source:     "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://user:xxxxx@127.0.0.1:9911/creds)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, configured, err := NewContainer(envOf(tt.env), ContainerOptions{LookupHost: lookup})
			if tt.err != nil {
				wantErr(t, err, tt.err...)
				return
			}
			if err != nil {
				t.Fatalf("NewContainer: %v", err)
			}
			if configured != tt.configured {
				t.Fatalf("configured = %v, want %v", configured, tt.configured)
			}
			if !configured {
				_, err := c.Retrieve(context.Background())
				if !errors.Is(err, ErrNotConfigured) {
					t.Fatalf("Retrieve error %v, want ErrNotConfigured", err)
				}
				wantErr(t, err, EnvContainerRelativeURI, EnvContainerFullURI)
				if want := "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set"; c.Reason() != want {
					t.Errorf("Reason = %q, want %q", c.Reason(), want)
				}
				return
			}
			if !strings.HasPrefix(c.Reason(), c.varName+"=") || strings.Contains(c.Reason(), epAuthToken) {
				t.Errorf("Reason = %q", c.Reason())
			}
			if tt.url != "" && c.URL() != tt.url {
				t.Errorf("URL = %q, want %q", c.URL(), tt.url)
			}
			if tt.source != "" && c.Source() != tt.source {
				t.Errorf("Source = %q, want %q", c.Source(), tt.source)
			}
			if strings.Contains(c.Source(), "pa55w0rd") {
				t.Errorf("Source shows the password: %q", c.Source())
			}
		})
	}
}

// TestNewContainerLocalhost resolves "localhost" for real: botocore allows
// the name as such, aws-sdk-go-v2 resolves it.
func TestNewContainerLocalhost(t *testing.T) {
	if _, err := net.DefaultResolver.LookupHost(context.Background(), "localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	_, ok, err := NewContainer(envOf(map[string]string{EnvContainerFullURI: "http://localhost:9911/creds"}), ContainerOptions{})
	if err != nil || !ok {
		t.Fatalf("NewContainer = %v, %v; want configured", ok, err)
	}
}

func TestContainerRetrieve(t *testing.T) {
	type env = map[string]string
	tests := []struct {
		name     string
		setup    func(t *testing.T, e *containerEndpoint, env env)
		opts     ContainerOptions
		check    func(t *testing.T, c creds.Credentials, e *containerEndpoint)
		err      []string
		errCheck func(t *testing.T, err error, e *containerEndpoint)
	}{
		{
			name: "token from the environment",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.token = epAuthToken
				env[EnvContainerAuthToken] = epAuthToken
			},
			check: func(t *testing.T, c creds.Credentials, e *containerEndpoint) {
				if c.AccessKeyID != epKeyID || c.SecretAccessKey != epSecretKey || c.SessionToken != epSessionToken || c.AccountID != "123456789012" {
					t.Errorf("got %+v", c)
				}
				if !c.Expires.Equal(e.expires) {
					t.Errorf("Expires = %v, want %v", c.Expires, e.expires)
				}
				if want := "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=" + e.srv.URL + "/creds)"; c.Source != want {
					t.Errorf("Source = %q, want %q", c.Source, want)
				}
			},
		},
		{
			name: "no token: no Authorization header",
			check: func(t *testing.T, c creds.Credentials, e *containerEndpoint) {
				if _, auth := e.stats(); len(auth) != 1 || auth[0] != "" {
					t.Errorf("Authorization headers sent: %q", auth)
				}
			},
		},
		{
			name: "token file wins over the token variable",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.token = epAuthToken2
				env[EnvContainerAuthToken] = epAuthToken
				env[EnvContainerAuthTokenFile] = writeTokenFile(t, epAuthToken2)
			},
		},
		{
			name: "no expiry, no session token",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.body = `{"AccessKeyId":"` + epKeyID + `","SecretAccessKey":"` + epSecretKey + `"}`
			},
			check: func(t *testing.T, c creds.Credentials, e *containerEndpoint) {
				if c.CanExpire() || c.SessionToken != "" || c.SecretAccessKey != epSecretKey {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "wrong token",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.token = epAuthToken2
				env[EnvContainerAuthToken] = epAuthToken
			},
			err: []string{"answered 401 Unauthorized: Unauthorized: the Authorization header is missing or wrong", EnvContainerAuthTokenFile},
			errCheck: func(t *testing.T, err error, e *containerEndpoint) {
				var ee *ContainerEndpointError
				if !errors.As(err, &ee) || ee.StatusCode != 401 || ee.Code != "Unauthorized" {
					t.Errorf("error %#v, want a *ContainerEndpointError with 401 Unauthorized", err)
				}
				if n, _ := e.stats(); n != 1 {
					t.Errorf("%d requests, want 1 (a 401 is not retried)", n)
				}
			},
		},
		{
			name: "token file missing",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				env[EnvContainerAuthTokenFile] = filepath.Join(t.TempDir(), "no-such-token")
			},
			err: []string{EnvContainerAuthTokenFile, "no-such-token", "no such file"},
		},
		{
			name: "token file with a trailing newline",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				env[EnvContainerAuthTokenFile] = writeTokenFile(t, epAuthToken+"\n")
			},
			err: []string{"contains a line break", EnvContainerAuthTokenFile, "printf"},
			errCheck: func(t *testing.T, err error, e *containerEndpoint) {
				if n, _ := e.stats(); n != 0 {
					t.Errorf("%d requests sent, want none", n)
				}
			},
		},
		{
			name: "server error JSON is retried, then reported with its status",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.status, e.body = 500, `{"code":"InternalError","message":"the agent is restarting"}`
			},
			err: []string{"answered 500 Internal Server Error: InternalError: the agent is restarting", "after 3 attempts"},
			errCheck: func(t *testing.T, err error, e *containerEndpoint) {
				if n, _ := e.stats(); n != 3 {
					t.Errorf("%d requests, want 3", n)
				}
			},
		},
		{
			name: "client error JSON is not retried",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.status, e.body = 403, `{"code":"AccessDenied","message":"pod has no association"}`
			},
			err: []string{"answered 403 Forbidden: AccessDenied: pod has no association"},
		},
		{
			name:  "error body that is not JSON",
			setup: func(t *testing.T, e *containerEndpoint, env env) { e.status, e.body = 404, "404 page not found\n" },
			err:   []string{"answered 404 Not Found: 404 page not found"},
		},
		{
			name: "error body that echoes the token",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				env[EnvContainerAuthToken] = epAuthToken
				e.status, e.body = 400, "bad header Authorization: "+epAuthToken
			},
			err: []string{"answered 400 Bad Request: bad header Authorization: (redacted)"},
		},
		{
			name:  "redirect is not followed",
			setup: func(t *testing.T, e *containerEndpoint, env env) { e.status = 302 },
			err:   []string{"answered 302 Found: to http://192.0.2.1/elsewhere (redirects are not followed)"},
		},
		{
			name: "answer that is not JSON",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.body = "AccessKeyId=" + epKeyID + " SecretAccessKey=" + epSecretKey
			},
			err: []string{"is not the credentials JSON", "invalid JSON at byte 1"},
		},
		{
			name: "answer without the secret",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.body = `{"AccessKeyId":"` + epKeyID + `","Token":"` + epSessionToken + `"}`
			},
			err: []string{"the answer has no SecretAccessKey"},
		},
		{
			name: "answer with a bad Expiration",
			setup: func(t *testing.T, e *containerEndpoint, env env) {
				e.body = `{"AccessKeyId":"` + epKeyID + `","SecretAccessKey":"` + epSecretKey + `","Expiration":"tomorrow"}`
			},
			err: []string{`Expiration "tomorrow" is not an RFC 3339 time`},
		},
		{
			name:  "endpoint too slow",
			setup: func(t *testing.T, e *containerEndpoint, env env) { e.delay = 3 * time.Second },
			opts:  ContainerOptions{Timeout: 200 * time.Millisecond},
			err:   []string{"no answer within 200ms (ContainerOptions.Timeout)"},
			errCheck: func(t *testing.T, err error, e *containerEndpoint) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newContainerEndpoint(t)
			env := env{EnvContainerFullURI: e.srv.URL + "/creds"}
			if tt.setup != nil {
				tt.setup(t, e, env)
			}
			p, ok, err := NewContainer(envOf(env), tt.opts)
			if err != nil || !ok {
				t.Fatalf("NewContainer = %v, %v", ok, err)
			}
			start := time.Now()
			c, err := p.Retrieve(context.Background())
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Retrieve took %v", d)
			}
			assertNoSecret(t, err)
			if tt.err != nil {
				wantErr(t, err, tt.err...)
				if tt.errCheck != nil {
					tt.errCheck(t, err, e)
				}
				return
			}
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if c.AccessKeyID != epKeyID || c.SecretAccessKey != epSecretKey {
				t.Errorf("got %+v", c)
			}
			if tt.check != nil {
				tt.check(t, c, e)
			}
		})
	}
}

func writeTokenFile(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "eks-pod-identity-token")
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestContainerTokenFileRotation rotates the token file between two
// Retrieves, as the EKS Pod Identity agent does: the second must send the
// new token.
func TestContainerTokenFileRotation(t *testing.T) {
	e := newContainerEndpoint(t)
	e.token = epAuthToken
	path := writeTokenFile(t, epAuthToken)
	p, _, err := NewContainer(envOf(map[string]string{
		EnvContainerFullURI:       e.srv.URL + "/v1/credentials",
		EnvContainerAuthTokenFile: path,
	}), ContainerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatalf("first Retrieve: %v", err)
	}

	e.set(func(e *containerEndpoint) { e.token = epAuthToken2 })
	if err := os.WriteFile(path, []byte(epAuthToken2), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatalf("Retrieve after rotation: %v", err)
	}
	if _, auth := e.stats(); len(auth) != 2 || auth[0] != epAuthToken || auth[1] != epAuthToken2 {
		t.Errorf("Authorization headers = %q, want the old then the new token", auth)
	}
}

func TestContainerCallerCancels(t *testing.T) {
	e := newContainerEndpoint(t)
	e.delay = 3 * time.Second
	p, _, err := NewContainer(envOf(map[string]string{EnvContainerFullURI: e.srv.URL}), ContainerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = p.Retrieve(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "ContainerOptions.Timeout") {
		t.Errorf("error %v, want the caller's deadline", err)
	}
}

func TestContainerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	p, _, err := NewContainer(envOf(map[string]string{EnvContainerFullURI: "http://" + addr + "/creds", EnvContainerAuthToken: epAuthToken}), ContainerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(context.Background())
	assertNoSecret(t, err)
	wantErr(t, err, "cannot reach container endpoint http://"+addr+"/creds", "connection refused", "after 3 attempts")
}

// TestContainerDialCheck shows that the default client refuses, when it
// connects, plain http to an address that is not allowed, whatever the
// name resolved to when NewContainer checked it.
func TestContainerDialCheck(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request reached the server")
	})}
	go srv.Serve(l)
	defer srv.Close()

	client := newContainerHTTPClient(time.Second, true)
	resp, err := client.Get("http://" + l.Addr().String() + "/creds")
	if err == nil {
		resp.Body.Close()
		t.Fatal("request to a non-loopback address went through")
	}
	wantErr(t, err, "refusing plain http to "+ip.String())
}

// TestContainerServerSpeaksSDKProtocol checks the test endpoint with
// aws-sdk-go-v2's own endpointcreds client: what this file tests against is
// what the SDK expects.
func TestContainerServerSpeaksSDKProtocol(t *testing.T) {
	e := newContainerEndpoint(t)
	e.token = epAuthToken

	sdk := endpointcreds.New(e.srv.URL+"/creds", func(o *endpointcreds.Options) { o.AuthorizationToken = epAuthToken })
	got, err := sdk.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 endpointcreds: %v", err)
	}
	p, _, err := NewContainer(envOf(map[string]string{EnvContainerFullURI: e.srv.URL + "/creds", EnvContainerAuthToken: epAuthToken}), ContainerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != mine.AccessKeyID || got.SecretAccessKey != mine.SecretAccessKey || got.SessionToken != mine.SessionToken ||
		!got.Expires.Equal(mine.Expires) || got.AccountID != mine.AccountID || !got.CanExpire {
		t.Errorf("SDK got %v %v %v, credkit got %v", got.AccessKeyID, got.Expires, got.AccountID, mine)
	}

	// The error shape: the SDK reads the code of a 401 too.
	sdk = endpointcreds.New(e.srv.URL+"/creds", func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong" })
	_, err = sdk.Retrieve(context.Background())
	wantErr(t, err, "Unauthorized: the Authorization header is missing or wrong")
	if n, _ := e.stats(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}
