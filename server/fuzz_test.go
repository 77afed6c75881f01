package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// The fuzz targets give the handlers requests as net/http's server would
// (the local address 127.0.0.1:4567 in the context, canonical header
// names) with any method, target, Host, peer address and headers, and
// check what must hold whatever the request: no panic, credentials only
// in a 200 to a loopback peer naming the endpoint's own address with the
// right token, and nothing secret in any other answer. The conditions are
// checked here with net.ParseIP and strconv, not with the handlers' own
// helpers.

var fuzzCreds = creds.Static{Creds: creds.Credentials{
	AccessKeyID: "ASIAFUZZ", SecretAccessKey: "fuzz-secret-key", SessionToken: "fuzz-session-token",
	Expires: time.Now().Add(6 * time.Hour).Truncate(time.Second), // creds.Static refuses expired credentials by the wall clock
}}

// fuzzRequest builds the request a fuzz input describes.
func fuzzRequest(method, target, host, remote string, header http.Header) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		u = &url.URL{Path: target}
	}
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, testLocalAddr)
	r := (&http.Request{Method: method, URL: u, Host: host, RemoteAddr: remote, Header: header, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}).WithContext(ctx)
	return r
}

// addHeader adds a header as net/http's server would have parsed it.
func addHeader(h http.Header, name, value string) {
	if name != "" {
		h.Add(name, value)
	}
}

// fromLoopback and toOwnHost decide, independently of the handlers,
// whether a request may be served at all.
func fromLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func toOwnHost(host string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(p)
	if err != nil || port != testLocalAddr.Port {
		return false
	}
	ip := net.ParseIP(h)
	return strings.EqualFold(h, "localhost") || (ip != nil && ip.Equal(testLocalAddr.IP) && !strings.Contains(h, "%"))
}

// leaks reports whether an answer holds any part of the credentials.
func leaks(body string) bool {
	c := fuzzCreds.Creds
	return strings.Contains(body, c.AccessKeyID) || strings.Contains(body, c.SecretAccessKey) || strings.Contains(body, c.SessionToken)
}

func FuzzECSHandler(f *testing.F) {
	const tok = "0123456789abcdef0123456789abcdef"
	// token: 0 sends none, 1 the right one, 2 auth as it is.
	f.Add("GET", "/credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(1), "", "", "")
	f.Add("GET", "/credentials", "localhost:4567", "[::1]:50000", byte(1), "", "", "")
	f.Add("GET", "http://127.0.0.1:4567/credentials?x=1", "127.0.0.1:4567", "127.0.0.1:50000", byte(1), "", "X-Forwarded-For", "10.0.0.1")
	f.Add("GET", "/credentials", "evil.example.com:4567", "127.0.0.1:50000", byte(1), "", "", "")
	f.Add("GET", "/credentials", "127.0.0.1:4567", "10.0.0.1:50000", byte(1), "", "", "")
	f.Add("GET", "/credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(0), "", "", "")
	f.Add("GET", "/credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(2), tok[:31]+"0", "", "")
	f.Add("GET", "/credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(2), tok+" ", "Authorization", tok)
	f.Add("POST", "/credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(1), "", "Content-Length", "5")
	f.Add("GET", "/credentials/../credentials", "127.0.0.1:4567", "127.0.0.1:50000", byte(1), "", "", "")
	f.Add("GET", "//credentials", "127.0.0.1", "127.0.0.1", byte(1), "", "Host", "localhost")
	f.Fuzz(func(t *testing.T, method, target, host, remote string, token byte, auth, name, value string) {
		e := &ECS{Provider: fuzzCreds, Token: tok}
		header := http.Header{}
		switch token % 3 {
		case 1:
			header.Set("Authorization", tok)
		case 2:
			header.Set("Authorization", auth)
		}
		addHeader(header, name, value)
		r := fuzzRequest(method, target, host, remote, header)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code == http.StatusOK {
			if !fromLoopback(remote) || !toOwnHost(host) || method != "GET" || r.URL.Path != "/credentials" || header.Get("Authorization") != tok {
				t.Fatalf("200 for %s %q Host %q from %q with Authorization %q", method, target, host, remote, header.Get("Authorization"))
			}
			var v containerCreds
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.AccessKeyID != fuzzCreds.Creds.AccessKeyID {
				t.Fatalf("200 without credentials: %s", body)
			}
			return
		}
		if leaks(body) {
			t.Fatalf("%d with credentials: %s", w.Code, body)
		}
		var v map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v["code"] == "" || v["message"] == "" {
			t.Fatalf("%d is not a JSON error: %q", w.Code, body)
		}
	})
}

func FuzzIMDSHandler(f *testing.F) {
	const role = "fuzz-role"
	const credsPath = "/latest/meta-data/iam/security-credentials/" + role
	// token: 0 sends none, 1 a live one, 2 an expired one, 3 the string
	// as it is.
	f.Add("PUT", "/latest/api/token", "127.0.0.1:4567", "127.0.0.1:50000", "21600", byte(0), "", "", "")
	f.Add("PUT", "//latest/api/token", "localhost:4567", "[::1]:50000", "1", byte(0), "", "", "")
	f.Add("PUT", "/latest/api/token", "127.0.0.1:4567", "127.0.0.1:50000", "60", byte(0), "", "X-Forwarded-For", "")
	f.Add("PUT", "/latest/api/token", "127.0.0.1:4567", "127.0.0.1:50000", "21601", byte(0), "", "", "")
	f.Add("PUT", "/latest/api/token", "127.0.0.1:4567", "127.0.0.1:50000", "060", byte(0), "", "", "")
	f.Add("PUT", "/latest/api/token", "evil.example.com", "127.0.0.1:50000", "60", byte(0), "", "", "")
	f.Add("GET", credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Add("GET", "/"+credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Add("GET", credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(2), "", "", "")
	f.Add("GET", credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(3), "made-up", "", "")
	f.Add("GET", credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(0), "", "", "")
	f.Add("GET", credsPath, "127.0.0.1:4567", "192.168.1.2:50000", "", byte(1), "", "", "")
	f.Add("GET", credsPath, "127.0.0.1:1", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Add("POST", credsPath, "127.0.0.1:4567", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Add("GET", "/latest/meta-data/iam/security-credentials/", "127.0.0.1:4567", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Add("GET", "/latest/dynamic/instance-identity/document", "127.0.0.1:4567", "127.0.0.1:50000", "", byte(1), "", "", "")
	f.Fuzz(func(t *testing.T, method, target, host, remote, ttl string, token byte, presented, name, value string) {
		now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		m := &IMDS{Provider: fuzzCreds, Role: role, Region: "eu-west-1", Now: func() time.Time { return now }}
		live, err := m.NewSessionToken(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(-2 * time.Hour)
		expired, err := m.NewSessionToken(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Hour)
		header := http.Header{}
		switch token % 4 {
		case 1:
			header.Set("X-Aws-Ec2-Metadata-Token", live)
		case 2:
			header.Set("X-Aws-Ec2-Metadata-Token", expired)
		case 3:
			header.Set("X-Aws-Ec2-Metadata-Token", presented)
		}
		if ttl != "" {
			header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)
		}
		addHeader(header, name, value)
		r := fuzzRequest(method, target, host, remote, header)
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code != http.StatusOK {
			if leaks(body) {
				t.Fatalf("%d with credentials: %s", w.Code, body)
			}
			return
		}
		if !fromLoopback(remote) || !toOwnHost(host) {
			t.Fatalf("200 for %s %q Host %q from %q", method, target, host, remote)
		}
		path := "/" + strings.TrimLeft(r.URL.Path, "/")
		if path == imdsTokenPath {
			n, err := strconv.Atoi(header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
			_, proxied := header["X-Forwarded-For"]
			if method != "PUT" || proxied || err != nil || n < 1 || n > 21600 {
				t.Fatalf("token issued to %s with TTL %q, X-Forwarded-For %v", method, header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"), proxied)
			}
			if b, err := hex.DecodeString(body); err != nil || len(b) != 32 || !m.validToken(body) {
				t.Fatalf("token answer %q is not a live 256-bit token", body)
			}
			return
		}
		if method != "GET" || header.Get("X-Aws-Ec2-Metadata-Token") != live {
			t.Fatalf("200 to %s %q with session token %q", method, target, header.Get("X-Aws-Ec2-Metadata-Token"))
		}
		if leaks(body) != (path == credsPath) {
			t.Fatalf("%s answered %s", path, body)
		}
	})
}
