package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// switchable serves whatever credentials it was last given.
type switchable struct {
	mu sync.Mutex
	c  creds.Credentials
}

func (s *switchable) set(c creds.Credentials) { s.mu.Lock(); s.c = c; s.mu.Unlock() }

func (s *switchable) Retrieve(context.Context) (creds.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c, nil
}

// testLocalAddr is the address the test requests come in on.
var testLocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4567}

// localRequest is a request from loopback to 127.0.0.1:4567, as net/http's
// server makes it (the local address in its context), with the given
// header values.
func localRequest(method, target string, header map[string]string) *http.Request {
	r := httptest.NewRequestWithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, testLocalAddr), method, target, nil)
	r.Host = testLocalAddr.String()
	r.RemoteAddr = "127.0.0.1:50000"
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

// serveLocal serves one request from loopback.
func serveLocal(h http.Handler, method, path string, header map[string]string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, localRequest(method, path, header))
	return w
}

// The handlers keep their last encoded answer: it must follow every change
// of the credentials, and read as the answer encoded afresh.
func TestECSAnswerFollowsCredentials(t *testing.T) {
	exp := time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC)
	p := &switchable{}
	e := &ECS{Provider: p, Token: "tok"}
	h := e
	steps := []creds.Credentials{
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s1", SessionToken: "t1", Expires: exp, AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s1", SessionToken: "t1", Expires: exp, AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s2", SessionToken: "t1", Expires: exp, AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s2", SessionToken: "t2", Expires: exp, AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s2", SessionToken: "t2", Expires: exp.Add(time.Second), AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s2", SessionToken: "t2", Expires: exp.Add(time.Second).In(time.FixedZone("x", 3600)), AccountID: "111111111111"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s2", SessionToken: "t2", Expires: exp.Add(time.Second), AccountID: "222222222222"},
		{AccessKeyID: "AKIATWO", SecretAccessKey: "s3"},
		{AccessKeyID: "ASIAONE", SecretAccessKey: "s1", SessionToken: "t1", Expires: exp, AccountID: "111111111111"},
	}
	for i, c := range steps {
		p.set(c)
		w := serveLocal(h, "GET", "/credentials", map[string]string{"Authorization": "tok"})
		want := string(encodeJSON(containerBody(c)))
		if w.Code != 200 || w.Body.String() != want {
			t.Errorf("step %d: %d %s, want %s", i, w.Code, w.Body, want)
		}
		if h := w.Header(); h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("step %d: headers %v", i, h)
		}
	}
}

func TestIMDSAnswerFollowsCredentialsAndClock(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p := &switchable{}
	m := &IMDS{Provider: p, Role: "r", Now: func() time.Time { return now }}
	h := m
	tok := serveLocal(h, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"}).Body.String()
	get := func() map[string]string {
		t.Helper()
		w := serveLocal(h, "GET", "/latest/meta-data/iam/security-credentials/r", map[string]string{"X-aws-ec2-metadata-token": tok})
		var v map[string]string
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if want := string(encodeJSON(imdsBody(mustRetrieve(t, p), now))); w.Body.String() != want {
			t.Errorf("answer %s, want %s", w.Body, want)
		}
		return v
	}
	exp := now.Add(time.Hour)
	p.set(creds.Credentials{AccessKeyID: "ASIAONE", SecretAccessKey: "s1", SessionToken: "t1", Expires: exp})
	if v := get(); v["AccessKeyId"] != "ASIAONE" || v["LastUpdated"] != "2026-11-22T12:00:00Z" || v["Expiration"] != "2026-11-22T13:00:00Z" {
		t.Errorf("first: %v", v)
	}
	now = now.Add(400 * time.Millisecond) // same second: same answer
	if v := get(); v["LastUpdated"] != "2026-11-22T12:00:00Z" {
		t.Errorf("same second: %v", v)
	}
	now = now.Add(time.Second)
	if v := get(); v["LastUpdated"] != "2026-11-22T12:00:01Z" {
		t.Errorf("next second: %v", v)
	}
	p.set(creds.Credentials{AccessKeyID: "ASIATWO", SecretAccessKey: "s2", SessionToken: "t2", Expires: exp})
	if v := get(); v["AccessKeyId"] != "ASIATWO" || v["SecretAccessKey"] != "s2" || v["Token"] != "t2" {
		t.Errorf("new credentials: %v", v)
	}
	p.set(creds.Credentials{AccessKeyID: "AKIASTATIC", SecretAccessKey: "s3"}) // no expiry: now + 1h
	if v := get(); v["AccessKeyId"] != "AKIASTATIC" || v["Expiration"] != "2026-11-22T13:00:01Z" {
		t.Errorf("static: %v", v)
	}
	now = now.Add(time.Minute)
	if v := get(); v["Expiration"] != "2026-11-22T13:01:01Z" {
		t.Errorf("static a minute later: %v", v)
	}
}

func mustRetrieve(t *testing.T, p creds.Provider) creds.Credentials {
	t.Helper()
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
