package nethttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/server"
	"github.com/credkit/credkit/server/nethttp"
)

var static = creds.Static{Creds: creds.Credentials{
	AccessKeyID: "ASIAADAPTER", SecretAccessKey: "adapter-secret", SessionToken: "adapter-token",
	Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), AccountID: "123456789012",
}}

type answer struct {
	status                         int
	contentType, cacheControl, ttl string
	body                           string
}

func do(t *testing.T, base, method, path string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header[k] = []string{v} // as given, not canonicalised
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), resp.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"), string(b)}
}

// The adapter answers as server.Listen's own server does, header names in
// any case.
func TestSameAnswersAsServer(t *testing.T) {
	tok, _ := server.NewToken()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e := &server.ECS{Provider: static, Token: tok}
	m := &server.IMDS{Provider: static, Role: "r", Region: "eu-west-1", AccountID: "123456789012", Now: func() time.Time { return now }}
	own := map[server.Handler]string{}
	adapted := map[server.Handler]string{}
	for _, h := range []server.Handler{e, m} {
		s, err := server.Listen("", h)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		own[h] = s.URL
		hs := httptest.NewServer(nethttp.Handler(h))
		defer hs.Close()
		adapted[h] = hs.URL
	}
	// IMDS session tokens are random: one from each server, used on its
	// own server.
	imdsToken := func(base string) string {
		a := do(t, base, "PUT", "/latest/api/token", map[string]string{"x-aws-ec2-metadata-token-ttl-seconds": "60"})
		if a.status != 200 || a.ttl != "60" || len(a.body) != 64 {
			t.Fatalf("token: %+v", a)
		}
		return a.body
	}
	tokens := map[string]string{own[m]: imdsToken(own[m]), adapted[m]: imdsToken(adapted[m])}
	cases := []struct {
		h      server.Handler
		method string
		path   string
		header map[string]string
		status int
	}{
		{e, "GET", "/credentials", map[string]string{"authorization": tok}, 200},
		{e, "GET", "/credentials?x=1", map[string]string{"AUTHORIZATION": tok}, 200},
		{e, "GET", "/credentials", map[string]string{"Authorization": tok, "Host": "localhost"}, 200},
		{e, "GET", "/credentials", map[string]string{"Authorization": "x" + tok[1:]}, 401},
		{e, "GET", "/credentials", nil, 401},
		{e, "GET", "/credentials", map[string]string{"Authorization": tok, "Host": "evil.example.com"}, 403},
		{e, "PUT", "/credentials", map[string]string{"Authorization": tok}, 405},
		{e, "GET", "/other", map[string]string{"Authorization": tok}, 404},
		{m, "GET", "/latest/meta-data/iam/security-credentials/r", map[string]string{"x-aws-ec2-metadata-token": "TOKEN"}, 200},
		{m, "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{"X-AWS-EC2-METADATA-TOKEN": "TOKEN"}, 200},
		{m, "GET", "/latest/dynamic/instance-identity/document", map[string]string{"X-aws-ec2-metadata-token": "TOKEN"}, 200},
		{m, "GET", "/latest/meta-data/placement/region", map[string]string{"X-aws-ec2-metadata-token": "TOKEN"}, 200},
		{m, "GET", "/latest/meta-data/iam/security-credentials/r", nil, 401},
		{m, "GET", "/latest/meta-data/iam/security-credentials/r", map[string]string{"X-aws-ec2-metadata-token": "made-up"}, 401},
		{m, "GET", "/latest/nothing", map[string]string{"X-aws-ec2-metadata-token": "TOKEN"}, 404},
		{m, "POST", "/latest/meta-data/", nil, 405},
		{m, "GET", "/latest/api/token", nil, 405},
		{m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "x-forwarded-for": ""}, 403},
		{m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400},
		{m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "060"}, 400},
		{m, "PUT", "/latest/api/token", nil, 400},
	}
	for _, tc := range cases {
		var got [2]answer
		for i, base := range []string{own[tc.h], adapted[tc.h]} {
			header := map[string]string{}
			for k, v := range tc.header {
				header[k] = strings.ReplaceAll(v, "TOKEN", tokens[base])
			}
			got[i] = do(t, base, tc.method, tc.path, header)
		}
		if got[0] != got[1] || got[0].status != tc.status {
			t.Errorf("%s %s %v:\n server  %+v\n adapter %+v\n want status %d", tc.method, tc.path, tc.header, got[0], got[1], tc.status)
		}
		if tc.status == 200 && tc.path == "/credentials" {
			var v map[string]string
			if json.Unmarshal([]byte(got[1].body), &v) != nil || v["AccessKeyId"] != "ASIAADAPTER" || got[1].cacheControl != "no-store" {
				t.Errorf("credentials: %+v", got[1])
			}
		}
	}
}

// The adapter passes the peer's address: a request from elsewhere is
// refused.
func TestRemoteAddr(t *testing.T) {
	e := &server.ECS{Provider: static, Token: "tok"}
	h := nethttp.Handler(e)
	for addr, want := range map[string]int{"127.0.0.1:5000": 200, "[::1]:5000": 200, "10.0.0.1:5000": 403, "": 403} {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8080/credentials", nil)
		r.RemoteAddr = addr
		r.Header.Set("Authorization", "tok")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("%q: %d %s, want %d", addr, w.Code, w.Body, want)
		}
		if want == 403 && strings.Contains(w.Body.String(), "adapter-secret") {
			t.Errorf("%q: refused with credentials", addr)
		}
	}
}
