package server

import (
	"bytes"
	"context"
	"testing"
)

func serveBench(b *testing.B, h Handler, r *Request) {
	ctx := context.Background()
	w := &Response{}
	h.Serve(ctx, w, r)
	if w.Status != 0 || !bytes.Contains(w.Body, []byte("ASIALOADBENCHEXAMPLE")) {
		b.Fatalf("status %d: %s", w.Status, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		*w = Response{}
		h.Serve(ctx, w, r)
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
	if put.Status != 200 {
		b.Fatalf("token: status %d", put.Status)
	}
	serveBench(b, m, localRequest("GET", "/latest/meta-data/iam/security-credentials/bench-role", map[string]string{"X-aws-ec2-metadata-token": string(put.Body)}))
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
