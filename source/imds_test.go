package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/credkit/credkit/creds"
)

const (
	imdsKeyID     = "ASIAEXAMPLEINSTANCE"
	imdsSecretKey = "imdsSECRETwJalrXUtnFEMI/K7MDENG/bPxRf"
	imdsSessToken = "imdsSESSIONIQoJb3JpZ2luX2VjEJr//////////wEaCXVz"
)

// imdsService is the EC2 instance metadata service as far as credentials
// go, with IMDSv2 as EC2 implements it: PUT /latest/api/token needs
// X-aws-ec2-metadata-token-ttl-seconds (1 to 21600, else 400) and is
// refused (403) with X-Forwarded-For; a GET with an unknown or expired
// X-aws-ec2-metadata-token gets 401, and so does one without a token when
// the instance requires IMDSv2 (HttpTokens=required).
type imdsService struct {
	srv *httptest.Server

	mu           sync.Mutex
	role         string // "" means no instance profile: 404
	v2Required   bool
	putStatus    int           // answer token requests with this status instead
	putDelay     time.Duration // hold token answers (a hop limit that drops them)
	failGets     int           // answer this many GETs with 500 first
	credsBody    string        // answer the role's credentials with this instead
	tokenTTL     int           // answer with this TTL instead of the one asked
	expires      time.Time
	tokens       map[string]time.Time
	puts, gets   int
	ttlAsked     []string
	tokensOnGets []string // X-aws-ec2-metadata-token of each GET ("" when absent)
}

func newIMDSService(t *testing.T) *imdsService {
	t.Helper()
	s := &imdsService{
		role:    "web-server-role",
		expires: time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second),
		tokens:  map[string]time.Time{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *imdsService) set(f func(s *imdsService)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *imdsService) counts() (puts, gets int, tokensOnGets []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.gets, append([]string(nil), s.tokensOnGets...)
}

func (s *imdsService) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/latest/api/token" {
		s.serveToken(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/latest/meta-data/") {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	s.gets++
	tok, hasTok := r.Header["X-Aws-Ec2-Metadata-Token"]
	if hasTok {
		s.tokensOnGets = append(s.tokensOnGets, tok[0])
		if exp, ok := s.tokens[tok[0]]; !ok || time.Now().After(exp) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	} else {
		s.tokensOnGets = append(s.tokensOnGets, "")
		if s.v2Required {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	if s.failGets > 0 {
		s.failGets--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	const base = "/latest/meta-data/iam/security-credentials/"
	switch {
	case r.URL.Path == base && s.role != "":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(s.role))
	case r.URL.Path == base+s.role && s.role != "":
		w.Header().Set("Content-Type", "text/plain")
		if s.credsBody != "" {
			_, _ = w.Write([]byte(s.credsBody))
			return
		}
		_, _ = w.Write([]byte(`{
  "Code" : "Success",
  "LastUpdated" : "` + time.Now().UTC().Format(time.RFC3339) + `",
  "Type" : "AWS-HMAC",
  "AccessKeyId" : "` + imdsKeyID + `",
  "SecretAccessKey" : "` + imdsSecretKey + `",
  "Token" : "` + imdsSessToken + `",
  "Expiration" : "` + s.expires.Format(time.RFC3339) + `"
}`))
	default:
		http.NotFound(w, r)
	}
}

func (s *imdsService) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	s.puts++
	s.ttlAsked = append(s.ttlAsked, r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	if delay := s.putDelay; delay > 0 {
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		s.mu.Lock()
	}
	if len(r.Header.Values("X-Forwarded-For")) > 0 {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	if s.putStatus != 0 {
		w.WriteHeader(s.putStatus)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.tokenTTL != 0 {
		ttl = s.tokenTTL
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "AQAEA" + hex.EncodeToString(b)
	s.tokens[tok] = time.Now().Add(time.Duration(ttl) * time.Second)
	w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(tok))
}

// revokeTokens forgets every token, as after a reboot.
func (s *imdsService) revokeTokens() {
	s.set(func(s *imdsService) { s.tokens = map[string]time.Time{} })
}

// tokensIssued lists the tokens the service gave out.
func (s *imdsService) tokensIssued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for tok := range s.tokens {
		out = append(out, tok)
	}
	return out
}

// assertNoIMDSSecret fails when err shows a credential or a metadata token.
func assertNoIMDSSecret(t *testing.T, err error, s *imdsService) {
	t.Helper()
	assertNoSecret(t, err, append([]string{imdsSecretKey, imdsSessToken}, s.tokensIssued()...)...)
}

func TestNewIMDSConfiguration(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		opts       IMDSOptions
		configured bool
		endpoint   string
		from       string
		err        []string // parts of the error from NewIMDS
		notConfErr []string // parts of Retrieve's error when not configured
	}{
		{name: "default", env: map[string]string{}, configured: true, endpoint: "http://169.254.169.254", from: "the default"},
		{
			name:       "disabled",
			env:        map[string]string{EnvEC2MetadataDisabled: "true"},
			notConfErr: []string{"disabled by AWS_EC2_METADATA_DISABLED=true"},
		},
		{
			name:       "disabled, any case",
			env:        map[string]string{EnvEC2MetadataDisabled: "TRUE"},
			notConfErr: []string{"AWS_EC2_METADATA_DISABLED=TRUE"},
		},
		{name: "explicitly enabled", env: map[string]string{EnvEC2MetadataDisabled: "false"}, configured: true},
		{
			name: "disabled with a value the SDKs ignore",
			env:  map[string]string{EnvEC2MetadataDisabled: "1"},
			err:  []string{`AWS_EC2_METADATA_DISABLED="1": want true or false`, "the AWS SDKs ignore such a value"},
		},
		{
			name:       "IPv6 mode",
			env:        map[string]string{EnvEC2MetadataEndpointMode: "ipv6"},
			configured: true, endpoint: "http://[fd00:ec2::254]", from: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=ipv6",
		},
		{name: "IPv4 mode", env: map[string]string{EnvEC2MetadataEndpointMode: "IPv4"}, configured: true, endpoint: "http://169.254.169.254"},
		{
			name: "unknown mode",
			env:  map[string]string{EnvEC2MetadataEndpointMode: "dualstack"},
			err:  []string{`AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE="dualstack": want IPv4 or IPv6`},
		},
		{
			name:       "mode from the profile",
			env:        map[string]string{},
			opts:       IMDSOptions{EndpointMode: "IPv6"},
			configured: true, endpoint: "http://[fd00:ec2::254]", from: "ec2_metadata_service_endpoint_mode=IPv6",
		},
		{
			name:       "endpoint wins over mode",
			env:        map[string]string{EnvEC2MetadataEndpoint: "http://127.0.0.1:1338/", EnvEC2MetadataEndpointMode: "IPv6"},
			configured: true, endpoint: "http://127.0.0.1:1338", from: EnvEC2MetadataEndpoint,
		},
		{
			name:       "endpoint variable wins over the profile's",
			env:        map[string]string{EnvEC2MetadataEndpoint: "http://127.0.0.1:1338"},
			opts:       IMDSOptions{Endpoint: "http://127.0.0.1:9999"},
			configured: true, endpoint: "http://127.0.0.1:1338",
		},
		{
			name:       "endpoint from the profile",
			env:        map[string]string{},
			opts:       IMDSOptions{Endpoint: "http://127.0.0.1:9999"},
			configured: true, endpoint: "http://127.0.0.1:9999", from: "ec2_metadata_service_endpoint",
		},
		{
			name: "endpoint without a scheme",
			env:  map[string]string{EnvEC2MetadataEndpoint: "169.254.169.254"},
			err:  []string{EnvEC2MetadataEndpoint, "must start with http:// or https://"},
		},
		{
			name: "endpoint that is not a URL",
			env:  map[string]string{EnvEC2MetadataEndpoint: "http://[fd00:ec2::254"},
			err:  []string{EnvEC2MetadataEndpoint, "is not a URL"},
		},
		{
			name: "v1 disabled with a bad value",
			env:  map[string]string{EnvEC2MetadataV1Disabled: "yes"},
			err:  []string{`AWS_EC2_METADATA_V1_DISABLED="yes": want true or false`},
		},
		{
			name: "token TTL out of range",
			env:  map[string]string{},
			opts: IMDSOptions{TokenTTL: 7 * time.Hour},
			err:  []string{"IMDSOptions.TokenTTL is 7h0m0s; it must be between 1s and 6h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, configured, err := NewIMDS(envOf(tt.env), tt.opts)
			if tt.err != nil {
				wantErr(t, err, tt.err...)
				return
			}
			if err != nil {
				t.Fatalf("NewIMDS: %v", err)
			}
			if configured != tt.configured {
				t.Fatalf("configured = %v, want %v", configured, tt.configured)
			}
			if !configured {
				_, err := m.Retrieve(context.Background())
				if !errors.Is(err, ErrNotConfigured) {
					t.Fatalf("Retrieve error %v, want ErrNotConfigured", err)
				}
				wantErr(t, err, tt.notConfErr...)
				if !strings.HasPrefix(m.Reason(), "disabled by "+EnvEC2MetadataDisabled+"=") {
					t.Errorf("Reason = %q", m.Reason())
				}
				return
			}
			if !strings.HasPrefix(m.Reason(), "endpoint ") {
				t.Errorf("Reason = %q", m.Reason())
			}
			endpoint, from := m.Endpoint()
			if tt.endpoint != "" && endpoint != tt.endpoint {
				t.Errorf("endpoint = %q, want %q", endpoint, tt.endpoint)
			}
			if tt.from != "" && from != tt.from {
				t.Errorf("endpoint from %q, want %q", from, tt.from)
			}
		})
	}
}

// xffTransport adds X-Forwarded-For, as a proxy would.
type xffTransport struct{}

func (xffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", "10.0.0.7")
	return http.DefaultTransport.RoundTrip(r)
}

func TestIMDSRetrieve(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *imdsService)
		env   map[string]string
		opts  IMDSOptions
		// v1 says whether the GETs must have gone without a token.
		v1       bool
		err      []string
		errIs    error
		errCheck func(t *testing.T, err error, s *imdsService)
	}{
		{name: "IMDSv2"},
		{name: "IMDSv2 required by the instance", setup: func(s *imdsService) { s.v2Required = true }},
		{name: "IMDSv1 fallback after 403", setup: func(s *imdsService) { s.putStatus = 403 }, v1: true},
		{name: "IMDSv1 fallback after 404", setup: func(s *imdsService) { s.putStatus = 404 }, v1: true},
		{name: "IMDSv1 fallback after 405", setup: func(s *imdsService) { s.putStatus = 405 }, v1: true},
		{
			name:  "IMDSv1 fallback when the token answer is lost (hop limit)",
			setup: func(s *imdsService) { s.putDelay = 2 * time.Second },
			opts:  IMDSOptions{RequestTimeout: 200 * time.Millisecond},
			v1:    true,
		},
		{
			name:  "IMDSv1 disabled",
			setup: func(s *imdsService) { s.putStatus = 403 },
			env:   map[string]string{EnvEC2MetadataV1Disabled: "true"},
			errIs: ErrIMDSv1Disabled,
			err:   []string{"cannot use IMDSv2: the token request (PUT /latest/api/token) got 403 Forbidden", "IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED=true)"},
			errCheck: func(t *testing.T, err error, s *imdsService) {
				if _, gets, _ := s.counts(); gets != 0 {
					t.Errorf("%d GETs made, want none", gets)
				}
			},
		},
		{
			name:  "IMDSv1 disabled by the profile",
			setup: func(s *imdsService) { s.putStatus = 404 },
			opts:  IMDSOptions{V1Disabled: true},
			errIs: ErrIMDSv1Disabled,
			err:   []string{"(ec2_metadata_v1_disabled = true)"},
		},
		{
			name:  "IMDSv1 disabled and the token answer lost",
			setup: func(s *imdsService) { s.putDelay = 2 * time.Second },
			env:   map[string]string{EnvEC2MetadataV1Disabled: "TRUE"},
			opts:  IMDSOptions{RequestTimeout: 200 * time.Millisecond},
			errIs: ErrIMDSv1Disabled,
			err:   []string{"got no answer within 200ms", "http-put-response-hop-limit must be at least 2"},
		},
		{
			name:  "IMDSv1 refused by an instance that requires IMDSv2",
			setup: func(s *imdsService) { s.v2Required = true },
			opts:  IMDSOptions{HTTPClient: &http.Client{Transport: xffTransport{}}},
			err: []string{"the IMDSv1 request GET /latest/meta-data/iam/security-credentials/ was refused (401 Unauthorized)",
				"the instance requires IMDSv2, but the token request (PUT /latest/api/token) got 403 Forbidden"},
		},
		{
			name:  "token request refused as malformed",
			setup: func(s *imdsService) { s.putStatus = 400 },
			err:   []string{"was refused with 400 Bad Request", "X-Forwarded-For"},
			errCheck: func(t *testing.T, err error, s *imdsService) {
				if _, gets, _ := s.counts(); gets != 0 {
					t.Errorf("%d GETs made after a 400, want none", gets)
				}
			},
		},
		{name: "one 500 is retried", setup: func(s *imdsService) { s.failGets = 1 }},
		{
			name:  "500s until the attempts run out",
			setup: func(s *imdsService) { s.failGets = 10 },
			err:   []string{"/latest/meta-data/iam/security-credentials/ answered 500 Internal Server Error"},
		},
		{
			name:  "no role",
			setup: func(s *imdsService) { s.role = "" },
			errIs: ErrNoInstanceRole,
			err:   []string{"no IAM role attached to the instance", "attach an instance profile"},
		},
		{
			name: "role credentials with an error code",
			setup: func(s *imdsService) {
				s.credsBody = `{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role web-server-role."}`
			},
			err: []string{`role web-server-role have Code "AssumeRoleUnauthorizedAccess", not "Success": EC2 cannot assume the role web-server-role.`},
		},
		{
			name: "role credentials without a session token",
			setup: func(s *imdsService) {
				s.credsBody = `{"Code":"Success","AccessKeyId":"` + imdsKeyID + `","SecretAccessKey":"` + imdsSecretKey + `","Expiration":"2030-01-01T00:00:00Z"}`
			},
			err: []string{"the credentials of role web-server-role have no Token"},
		},
		{
			name:  "role credentials that are not JSON",
			setup: func(s *imdsService) { s.credsBody = "SecretAccessKey=" + imdsSecretKey },
			err:   []string{"are not the expected JSON", "invalid JSON at byte 1"},
		},
		{
			name:  "service too slow",
			setup: func(s *imdsService) { s.putDelay = 3 * time.Second },
			opts:  IMDSOptions{Timeout: 300 * time.Millisecond},
			errIs: context.DeadlineExceeded,
			err:   []string{"no complete answer within 300ms (IMDSOptions.Timeout)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newIMDSService(t)
			if tt.setup != nil {
				s.set(tt.setup)
			}
			env := map[string]string{EnvEC2MetadataEndpoint: s.srv.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			m, ok, err := NewIMDS(envOf(env), tt.opts)
			if err != nil || !ok {
				t.Fatalf("NewIMDS = %v, %v", ok, err)
			}
			start := time.Now()
			c, err := m.Retrieve(context.Background())
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Retrieve took %v", d)
			}
			assertNoIMDSSecret(t, err, s)
			if tt.err != nil || tt.errIs != nil {
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("error %v does not wrap %v", err, tt.errIs)
				}
				wantErr(t, err, tt.err...)
				if tt.errCheck != nil {
					tt.errCheck(t, err, s)
				}
				return
			}
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if c.AccessKeyID != imdsKeyID || c.SecretAccessKey != imdsSecretKey || c.SessionToken != imdsSessToken || !c.Expires.Equal(s.expires) {
				t.Errorf("got %v (expires %v, want %v)", c, c.Expires, s.expires)
			}
			if want := "EC2 instance metadata (role web-server-role)"; c.Source != want {
				t.Errorf("Source = %q, want %q", c.Source, want)
			}
			_, _, toks := s.counts()
			for _, tok := range toks {
				if (tok == "") != tt.v1 {
					t.Errorf("tokens sent on GETs: %q; want IMDSv1 = %v", toks, tt.v1)
					break
				}
			}
			if !tt.v1 && s.ttlAsked[0] != "21600" {
				t.Errorf("token TTL asked %q, want 21600", s.ttlAsked[0])
			}
		})
	}
}

// TestIMDSTokenReuse checks that a token serves several Retrieves until
// shortly before it expires, and that a token the service no longer knows
// (401) is replaced.
func TestIMDSTokenReuse(t *testing.T) {
	s := newIMDSService(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m, _, err := NewIMDS(envOf(map[string]string{EnvEC2MetadataEndpoint: s.srv.URL}), IMDSOptions{
		TokenTTL: 10 * time.Minute,
		Now:      func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	retrieve := func(wantPuts int, why string) {
		t.Helper()
		if _, err := m.Retrieve(context.Background()); err != nil {
			t.Fatalf("%s: %v", why, err)
		}
		if puts, _, _ := s.counts(); puts != wantPuts {
			t.Errorf("%s: %d token requests, want %d", why, puts, wantPuts)
		}
	}
	retrieve(1, "first")
	now = now.Add(5 * time.Minute)
	retrieve(1, "5 minutes later")
	now = now.Add(4*time.Minute + 30*time.Second)
	retrieve(2, "30s before the token expires")
	s.revokeTokens()
	retrieve(3, "after the service forgot the token")
	if s.ttlAsked[0] != "600" {
		t.Errorf("TTL asked %q, want 600", s.ttlAsked[0])
	}
}

// TestIMDSNotOnEC2 is a laptop: nothing answers at the endpoint, and
// Retrieve says so quickly.
func TestIMDSNotOnEC2(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// A blackholed address: the connection attempt times out. (A real
	// unroutable address is not used: a sandbox may intercept it.)
	blackhole := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
			}
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("i/o timeout")}
		},
	}}
	tests := []struct {
		name     string
		endpoint string
		client   *http.Client
	}{
		{"connection refused", "http://" + addr, nil},
		{"connect times out", "http://169.254.169.254", blackhole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := NewIMDS(envOf(map[string]string{EnvEC2MetadataEndpoint: tt.endpoint}),
				IMDSOptions{ConnectTimeout: 200 * time.Millisecond, HTTPClient: tt.client})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = m.Retrieve(context.Background())
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v to fail", d)
			}
			if !errors.Is(err, ErrNoIMDS) {
				t.Fatalf("error %v does not wrap ErrNoIMDS", err)
			}
			wantErr(t, err, "no instance metadata service at "+tt.endpoint+" (not on EC2?)")
		})
	}
}

// TestIMDSServiceSpeaksSDKProtocol checks the test service with
// aws-sdk-go-v2's ec2rolecreds and imds client, over IMDSv2 and with the
// IMDSv1 fallback.
func TestIMDSServiceSpeaksSDKProtocol(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		name := "IMDSv2"
		if v1 {
			name = "IMDSv1 fallback"
		}
		t.Run(name, func(t *testing.T) {
			s := newIMDSService(t)
			if v1 {
				s.set(func(s *imdsService) { s.putStatus = 403 })
			} else {
				s.set(func(s *imdsService) { s.v2Required = true })
			}
			sdk := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
				o.Client = imds.New(imds.Options{Endpoint: s.srv.URL, ClientEnableState: imds.ClientEnabled})
			})
			got, err := sdk.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("aws-sdk-go-v2 ec2rolecreds: %v", err)
			}
			if got.AccessKeyID != imdsKeyID || got.SecretAccessKey != imdsSecretKey || got.SessionToken != imdsSessToken {
				t.Errorf("SDK got %v", got.AccessKeyID)
			}
			_, _, toks := s.counts()
			for _, tok := range toks {
				if (tok == "") != v1 {
					t.Errorf("the SDK sent tokens %q; want IMDSv1 = %v", toks, v1)
					break
				}
			}

			m, _, err := NewIMDS(envOf(map[string]string{EnvEC2MetadataEndpoint: s.srv.URL}), IMDSOptions{})
			if err != nil {
				t.Fatal(err)
			}
			mine, err := m.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if mine.AccessKeyID != got.AccessKeyID || mine.SecretAccessKey != got.SecretAccessKey || mine.SessionToken != got.SessionToken {
				t.Errorf("credkit got %v, SDK %v", mine, got.AccessKeyID)
			}
		})
	}
}

// TestIMDSServiceProtocolRules checks the test service's own IMDSv2 rules
// with plain requests.
func TestIMDSServiceProtocolRules(t *testing.T) {
	s := newIMDSService(t)
	s.set(func(s *imdsService) { s.v2Required = true })
	do := func(method, path string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const ttl = "X-aws-ec2-metadata-token-ttl-seconds"
	for _, c := range []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		want   int
	}{
		{"PUT without a TTL", "PUT", "/latest/api/token", nil, 400},
		{"PUT with a TTL over 6h", "PUT", "/latest/api/token", map[string]string{ttl: "21601"}, 400},
		{"PUT through a proxy", "PUT", "/latest/api/token", map[string]string{ttl: "60", "X-Forwarded-For": "10.0.0.7"}, 403},
		{"GET of the token path", "GET", "/latest/api/token", map[string]string{ttl: "60"}, 405},
		{"GET without a token", "GET", "/latest/meta-data/iam/security-credentials/", nil, 401},
		{"GET with a wrong token", "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{"X-aws-ec2-metadata-token": "AQAEAnotatoken"}, 401},
	} {
		if got := do(c.method, c.path, c.hdr); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	var _ creds.Provider = (*IMDS)(nil)
	var _ creds.Provider = (*Container)(nil)
	var _ creds.Provider = (*Process)(nil)
}
