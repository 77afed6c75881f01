package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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
		{"IMDS token TTL too long", "PUT", is.URL + "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400},
		{"IMDS made-up session token", "GET", is.URL + "/latest/meta-data/iam/security-credentials/dev-role", map[string]string{"X-aws-ec2-metadata-token": "made-up"}, 401},
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
			if strings.HasPrefix(tc.url, es.URL) {
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
		var w Response
		m.Serve(context.Background(), &w, &Request{Method: "PUT", Path: "/latest/api/token", Host: "127.0.0.1", RemoteAddr: "127.0.0.1:1", IMDSTokenTTL: ttl})
		if w.Status != 0 && w.Status != 200 {
			t.Fatalf("PUT: %d", w.Status)
		}
		return string(w.Body)
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
