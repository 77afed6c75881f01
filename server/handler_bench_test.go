package server

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// discardWriter is an http.ResponseWriter that keeps the status and the
// last body written, and nothing else: the handler's own cost, without
// a recorder's.
type discardWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(b []byte) (int, error) { w.body = b; return len(b), nil }

func serveBench(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status != 200 || !bytes.Contains(w.body, []byte("ASIALOADBENCHEXAMPLE")) {
		b.Fatalf("status %d: %s", w.status, w.body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkECSHandler is the container endpoint's handler serving cached
// credentials, without HTTP.
func BenchmarkECSHandler(b *testing.B) {
	e := &ECS{Provider: loadProvider(), Token: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	serveBench(b, e, localRequest("GET", "/credentials", map[string]string{"Authorization": e.Token}))
}

// BenchmarkIMDSHandler is the IMDSv2 endpoint's handler serving the
// role's cached credentials to a client holding a session token.
func BenchmarkIMDSHandler(b *testing.B) {
	m := &IMDS{Provider: loadProvider(), Role: "bench-role", Region: "eu-west-1", AccountID: "123456789012"}
	put := serveLocal(m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
	if put.Code != 200 {
		b.Fatalf("token: status %d", put.Code)
	}
	serveBench(b, m, localRequest("GET", "/latest/meta-data/iam/security-credentials/bench-role", map[string]string{"X-aws-ec2-metadata-token": put.Body.String()}))
}

// BenchmarkListenClose is what credkit exec pays for its endpoint when the
// child never asks: a token, a loopback listener, and a shutdown.
func BenchmarkListenClose(b *testing.B) {
	for range b.N {
		tok, err := NewToken()
		if err != nil {
			b.Fatal(err)
		}
		s, err := Listen("", &ECS{Provider: loadProvider(), Token: tok})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
