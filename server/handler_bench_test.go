package server

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// recorder is a ResponseWriter that keeps the last answer, without the
// cost of a connection: the handler benchmarks measure the handlers alone.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header         { return w.h }
func (w *recorder) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *recorder) WriteHeader(s int)           { w.status = s }

func (w *recorder) reset() {
	clear(w.h)
	w.status = http.StatusOK
	w.body.Reset()
}

func serveBench(b *testing.B, h http.Handler, r *http.Request) {
	w := &recorder{h: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK || !bytes.Contains(w.body.Bytes(), []byte("ASIALOADBENCHEXAMPLE")) {
		b.Fatalf("status %d: %s", w.status, w.body.Bytes())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.reset()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkECSHandler is the container endpoint's handler serving cached
// credentials, without HTTP.
func BenchmarkECSHandler(b *testing.B) {
	e := &ECS{Provider: loadProvider(), Token: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	r := httptest.NewRequest("GET", "http://127.0.0.1:4567/credentials", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Header.Set("Authorization", e.Token)
	serveBench(b, e.Handler(), r)
}

// BenchmarkIMDSHandler is the IMDSv2 endpoint's handler serving the
// role's cached credentials to a client holding a session token.
func BenchmarkIMDSHandler(b *testing.B) {
	m := &IMDS{Provider: loadProvider(), Role: "bench-role", Region: "eu-west-1", AccountID: "123456789012"}
	h := m.Handler()
	put := httptest.NewRequest("PUT", "http://127.0.0.1:4567/latest/api/token", nil)
	put.RemoteAddr = "127.0.0.1:50000"
	put.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
	w := &recorder{h: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, put)
	if w.status != http.StatusOK {
		b.Fatalf("token: status %d", w.status)
	}
	r := httptest.NewRequest("GET", "http://127.0.0.1:4567/latest/meta-data/iam/security-credentials/bench-role", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Header.Set("X-aws-ec2-metadata-token", w.body.String())
	serveBench(b, h, r)
}

// BenchmarkListenClose is what credkit exec pays for its endpoint when the
// child never asks: a token, a loopback listener, and a shutdown.
func BenchmarkListenClose(b *testing.B) {
	for range b.N {
		tok, err := NewToken()
		if err != nil {
			b.Fatal(err)
		}
		s, err := Listen("", (&ECS{Provider: loadProvider(), Token: tok}).Handler())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
