package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
)

// rotating issues new credentials on every call, as a refreshing source
// would after each expiry.
type rotating struct{ n atomic.Int64 }

func (r *rotating) Retrieve(context.Context) (creds.Credentials, error) {
	n := r.n.Add(1)
	return creds.Credentials{
		AccessKeyID:     "ASIASERVED" + string(rune('A'+n%26)),
		SecretAccessKey: "served-secret",
		SessionToken:    "served-token",
		Expires:         time.Now().Add(time.Hour).Truncate(time.Second),
	}, nil
}

func startECS(t *testing.T, p creds.Provider) (*ECS, *Server) {
	t.Helper()
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	e := &ECS{Provider: p, Token: tok}
	s, err := Listen("", e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return e, s
}

func startIMDS(t *testing.T, p creds.Provider) (*IMDS, *Server) {
	t.Helper()
	m := &IMDS{Provider: p, Role: "dev-role", Region: "eu-west-1", AccountID: "123456789012"}
	s, err := Listen("", m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return m, s
}

func TestECSWithSDKClient(t *testing.T) {
	e, s := startECS(t, &rotating{})
	p := endpointcreds.New(s.URL+"/credentials", func(o *endpointcreds.Options) { o.AuthorizationToken = e.Token })
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIASERVED") || c.SessionToken != "served-token" || !c.CanExpire {
		t.Errorf("sdk got %+v", c)
	}
	bad := endpointcreds.New(s.URL+"/credentials", func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong" })
	if _, err := bad.Retrieve(context.Background()); err == nil {
		t.Error("wrong token accepted")
	}
	if e.Stats.Served.Load() != 1 || e.Stats.Refused.Load() != 1 {
		t.Errorf("stats served %d refused %d", e.Stats.Served.Load(), e.Stats.Refused.Load())
	}
}

func TestIMDSWithSDKClient(t *testing.T) {
	m, s := startIMDS(t, &rotating{})
	client := imds.New(imds.Options{Endpoint: s.URL, EnableFallback: 2 /* aws.FalseTernary: IMDSv2 only */})
	p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client })
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIASERVED") || c.SessionToken != "served-token" {
		t.Errorf("sdk got %+v", c)
	}
	region, err := client.GetRegion(context.Background(), nil)
	if err != nil || region.Region != "eu-west-1" {
		t.Errorf("region %+v %v", region, err)
	}
	if m.Stats.Served.Load() != 1 {
		t.Errorf("served %d", m.Stats.Served.Load())
	}
}

func TestEndpointsRefuse(t *testing.T) {
	e, es := startECS(t, &rotating{})
	_, is := startIMDS(t, &rotating{})
	do := func(method, url string, h map[string]string) (int, string) {
		req, _ := http.NewRequest(method, url, nil)
		for k, v := range h {
			if k == "Host" {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		name   string
		method string
		url    string
		h      map[string]string
		status int
	}{
		{"no token", "GET", es.URL + "/credentials", nil, 401},
		{"wrong token", "GET", es.URL + "/credentials", map[string]string{"Authorization": "x" + e.Token[1:]}, 401},
		{"rebinding host", "GET", es.URL + "/credentials", map[string]string{"Authorization": e.Token, "Host": "evil.example.com"}, 403},
		{"IMDS GET without session token", "GET", is.URL + "/latest/meta-data/iam/security-credentials/dev-role", nil, 401},
		{"IMDS token through a proxy", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}, 403},
		{"IMDS token without TTL", "PUT", is.URL + "/latest/api/token", nil, 400},
		{"IMDS token TTL one second", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "1"}, 200},
		{"IMDS token TTL six hours", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"}, 200},
		{"IMDS token TTL too long", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400},
		{"IMDS made-up session token", "GET", is.URL + "/latest/meta-data/iam/security-credentials/dev-role", map[string]string{"X-aws-ec2-metadata-token": "made-up"}, 401},
		{"IMDS token TTL zero", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "0"}, 400},
		{"IMDS token TTL with a leading zero", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "060"}, 400},
		{"IMDS token TTL negative", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "-1"}, 400},
		{"IMDS token TTL with a sign", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "+60"}, 400},
		{"IMDS token TTL not a number", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "1h"}, 400},
		{"IMDS token by GET", "GET", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}, 405},
		{"IMDS credentials by POST", "POST", is.URL + "/latest/meta-data/iam/security-credentials/dev-role", nil, 405},
		{"IMDS rebinding host", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "Host": "evil.example.com"}, 403},
		{"ECS by POST", "POST", es.URL + "/credentials", map[string]string{"Authorization": e.Token}, 405},
		{"ECS by HEAD", "HEAD", es.URL + "/credentials", map[string]string{"Authorization": e.Token}, 405},
		{"ECS elsewhere", "GET", es.URL + "/other", map[string]string{"Authorization": e.Token}, 404},
		{"ECS host on another port", "GET", es.URL + "/credentials", map[string]string{"Authorization": e.Token, "Host": "127.0.0.1:1"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(tc.method, tc.url, tc.h)
			if status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
			if strings.Contains(body, "served-secret") || strings.Contains(body, "ASIASERVED") {
				t.Errorf("refused request got credentials: %s", body)
			}
			if strings.HasPrefix(tc.url, es.URL) && tc.method != "HEAD" {
				var e map[string]string
				if json.Unmarshal([]byte(body), &e) != nil || e["code"] == "" {
					t.Errorf("not a JSON error: %q", body)
				}
			}
		})
	}
	if _, err := Listen("0.0.0.0:0", &ECS{}); err == nil {
		t.Error("listening on all interfaces was allowed")
	}
}

func TestIMDSTokenExpires(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m := &IMDS{Provider: &rotating{}, Now: func() time.Time { return now }}
	s, err := Listen("", m)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	req, _ := http.NewRequest("PUT", s.URL+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	get := func() int {
		req, _ := http.NewRequest("GET", s.URL+"/latest/meta-data/iam/security-credentials/", nil)
		req.Header.Set("X-aws-ec2-metadata-token", string(tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get() != 200 {
		t.Fatal("fresh token refused")
	}
	now = now.Add(61 * time.Second)
	if get() != 401 {
		t.Fatal("expired token accepted")
	}
}

// boto3's own container and instance-metadata providers read from the
// endpoints.
func TestBoto3Providers(t *testing.T) {
	py := testpeer.Python(t)
	e, es := startECS(t, &rotating{})
	_, is := startIMDS(t, &rotating{})
	script := `
import botocore.session
c = botocore.session.Session().get_credentials()
f = c.get_frozen_credentials()
print(c.method, f.access_key, f.token)`
	for name, env := range map[string][]string{
		"container-role": {"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + es.URL + "/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + e.Token},
		"iam-role":       {"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + is.URL, "AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_V1_DISABLED=true"},
	} {
		cmd := exec.Command(py, "-c", script)
		cmd.Env = testpeer.IsolatedAWSEnv(env...)
		// IsolatedAWSEnv disables IMDS; the last setting wins.
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if !strings.HasPrefix(string(out), name+" ASIASERVED") || !strings.Contains(string(out), "served-token") {
			t.Errorf("%s: boto3 got %q", name, out)
		}
	}
}

// The endpoint variable ends with "/"; a client that adds "/latest/..."
// to it asks for "//latest/...", which is served like "/latest/...".
func TestIMDSDoubleSlash(t *testing.T) {
	_, s := startIMDS(t, &rotating{})
	do := func(method, path string, header ...string) (int, string) {
		req, err := http.NewRequest(method, s.URL+"/"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, tok := do("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", "60")
	if code != 200 || tok == "" {
		t.Fatalf("PUT //latest/api/token: %d %q", code, tok)
	}
	code, body := do("GET", "/latest/meta-data/iam/security-credentials/dev-role", "X-aws-ec2-metadata-token", tok)
	if code != 200 || !strings.Contains(body, `"AccessKeyId":"ASIASERVED`) {
		t.Errorf("GET //latest/meta-data/iam/security-credentials/dev-role: %d %s", code, body)
	}
}

// However many tokens are asked for, the endpoint keeps at most MaxTokens;
// the one dropped is the closest to expiry, and new tokens work.
func TestIMDSTokensBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m := &IMDS{Provider: &rotating{}, Now: func() time.Time { return now }}
	put := func(ttl string) string {
		w := serveLocal(m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
		if w.Code != 200 {
			t.Fatalf("PUT: %d", w.Code)
		}
		return w.Body.String()
	}
	long := put("21600")
	short := put("1")
	for range MaxTokens + 100 {
		put("600")
	}
	last := put("600")
	m.mu.Lock()
	n := len(m.tokens)
	m.mu.Unlock()
	if n > MaxTokens {
		t.Errorf("%d tokens kept, more than %d", n, MaxTokens)
	}
	if !m.validToken(last) || !m.validToken(long) {
		t.Error("the newest or the longest-lived token was dropped")
	}
	if m.validToken(short) {
		t.Error("the token closest to expiry was kept")
	}
}

// Go's net/http client, keeping its connection alive, gets the same
// answers as SDKs do, whatever the query and body of the request.
func TestNetHTTPClient(t *testing.T) {
	tok, _ := NewToken()
	e := &ECS{Provider: creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAGO", SecretAccessKey: "s", SessionToken: "t"}}, Token: tok}
	s, err := Listen("", e)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var dials atomic.Int64
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for i := range 20 {
		method, body := "GET", io.Reader(nil)
		if i%5 == 4 {
			method, body = "PUT", strings.NewReader("ignored body")
		}
		req, _ := http.NewRequest(method, s.URL+"/credentials?n="+fmt.Sprint(i), body)
		req.Header.Set("Authorization", tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 200
		if method == "PUT" {
			want = 405
		}
		if resp.StatusCode != want || (want == 200 && (!strings.Contains(string(b), `"AccessKeyId":"ASIAGO"`) || resp.Header.Get("Cache-Control") != "no-store")) {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, resp.Header, b)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for 20 requests, want 1", n)
	}
}

// Python's http.client (one kept-alive connection) and urllib (a
// connection per request, "Connection: close") read the answers.
func TestPythonClients(t *testing.T) {
	py := testpeer.Python(t)
	e, s := startECS(t, creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAPY", SecretAccessKey: "s", SessionToken: "t"}})
	m := &IMDS{Provider: e.Provider, Role: "py-role", Region: "eu-west-1"}
	si, err := Listen("", m)
	if err != nil {
		t.Fatal(err)
	}
	defer si.Close(context.Background())
	script := `
import http.client, json, sys, urllib.request, urllib.error
ecs, imds, tok = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = ecs.split("//")[1].split(":")
c = http.client.HTTPConnection(host, int(port), timeout=10)
for i in range(5):
    c.request("GET", "/credentials", headers={"Authorization": tok})
    r = c.getresponse()
    body = json.loads(r.read())
    print("http.client", r.status, r.getheader("Content-Type"), body["AccessKeyId"], r.getheader("Connection"))
c.request("POST", "/credentials", body=b"x" * 1000, headers={"Authorization": tok})
r = c.getresponse()
print("http.client post", r.status, json.loads(r.read())["code"])
c.request("GET", "/credentials", headers={"Authorization": tok})
r = c.getresponse()
print("http.client after post", r.status, len(r.read()) > 0)
c.close()
req = urllib.request.Request(ecs + "/credentials", headers={"Authorization": tok})
with urllib.request.urlopen(req, timeout=10) as r:
    print("urllib", r.status, json.loads(r.read())["AccessKeyId"])
try:
    urllib.request.urlopen(urllib.request.Request(ecs + "/credentials", headers={"Authorization": "wrong"}), timeout=10)
except urllib.error.HTTPError as e:
    print("urllib refused", e.code, json.loads(e.read())["code"])
put = urllib.request.Request(imds + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
with urllib.request.urlopen(put, timeout=10) as r:
    t, ttl = r.read().decode(), r.getheader("X-aws-ec2-metadata-token-ttl-seconds")
get = urllib.request.Request(imds + "/latest/meta-data/iam/security-credentials/", headers={"X-aws-ec2-metadata-token": t})
with urllib.request.urlopen(get, timeout=10) as r:
    print("urllib imds", ttl, r.read().decode())
`
	cmd := exec.Command(py, "-c", script, s.URL, si.URL, e.Token)
	cmd.Env = testpeer.IsolatedAWSEnv()
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	want := strings.Repeat("http.client 200 application/json ASIAPY None\n", 5) +
		"http.client post 405 MethodNotAllowed\n" +
		"http.client after post 200 True\n" +
		"urllib 200 ASIAPY\n" +
		"urllib refused 401 Unauthorized\n" +
		"urllib imds 60 py-role\n"
	if out := string(b); out != want {
		t.Errorf("python said:\n%s\nwant:\n%s", out, want)
	}
}

// blocking serves credentials once release is closed, and reports its
// request's context error when that ends first.
type blocking struct {
	started chan struct{}
	release chan struct{}
	ctxErr  chan error
}

func newBlocking() *blocking {
	return &blocking{started: make(chan struct{}, 10), release: make(chan struct{}), ctxErr: make(chan error, 10)}
}

func (b *blocking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		io.WriteString(w, "answered "+r.URL.Path)
	case <-r.Context().Done():
		b.ctxErr <- r.Context().Err()
	}
}

// Close waits for the request in flight, closes idle connections at once
// and accepts no new one.
func TestCloseWithRequestInFlight(t *testing.T) {
	h := newBlocking()
	s, err := Listen("", h)
	if err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get(s.URL + "/slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(b)
	}()
	<-h.started
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted after Close")
	}
	close(h.release)
	if a := <-answer; a != "answered /slow" {
		t.Errorf("request in flight got %q", a)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// When ctx ends first, Close closes the connections (the handler's
// context ends) and says so.
func TestCloseGivesUp(t *testing.T) {
	h := newBlocking()
	s, err := Listen("", h)
	if err != nil {
		t.Fatal(err)
	}
	go http.Get(s.URL + "/stuck")
	<-h.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-h.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler's context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("handler's context not cancelled")
	}
}

// The server's limits are set: a head over MaxHeaderBytes is answered
// 431, without credentials.
func TestServerLimits(t *testing.T) {
	e, s := startECS(t, &rotating{})
	req, _ := http.NewRequest("GET", s.URL+"/credentials", nil)
	req.Header.Set("Authorization", e.Token)
	req.Header.Set("X-Padding", strings.Repeat("x", MaxHeaderBytes+4096))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || strings.Contains(string(b), "served-secret") {
		t.Errorf("oversized head: %d %s", resp.StatusCode, b)
	}
	if s.srv.ReadHeaderTimeout != ReadHeaderTimeout || s.srv.IdleTimeout != IdleTimeout || s.srv.WriteTimeout != WriteTimeout || s.srv.ErrorLog == nil {
		t.Errorf("server settings %+v", s.srv)
	}
}
