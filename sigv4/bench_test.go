package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
)

// The benchmarks run credkit and aws-sdk-go-v2 side by side on the same
// request; `make bench` pairs BenchmarkX/credkit with BenchmarkX/sdk and
// prints the ratio of their medians.

var (
	benchCreds = creds.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	benchSDK   = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	benchTime  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
)

func benchRequest(b *testing.B) *http.Request {
	req, err := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

func BenchmarkSign(b *testing.B) {
	b.Run("credkit", func(b *testing.B) {
		benchSign(b, benchRequest(b), sigv4.Options{Service: "sts", Region: "us-east-1", Time: benchTime})
	})
	b.Run("sdk", func(b *testing.B) {
		req := benchRequest(b)
		s := v4.NewSigner()
		ctx := context.Background()
		if err := s.SignHTTP(ctx, benchSDK, req, sigv4.EmptyPayloadHash, "sts", "us-east-1", benchTime); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.SignHTTP(ctx, benchSDK, req, sigv4.EmptyPayloadHash, "sts", "us-east-1", benchTime); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkPresign(b *testing.B) {
	b.Run("credkit", func(b *testing.B) {
		req := benchRequest(b)
		var s sigv4.Signer
		o := sigv4.Options{Service: "sts", Region: "us-east-1", Time: benchTime, Expires: 15 * time.Minute}
		if _, err := s.Presign(req, benchCreds, o); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Presign(req, benchCreds, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		s := v4.NewSigner()
		ctx := context.Background()
		newReq := func() *http.Request {
			req := benchRequest(b)
			q := req.URL.Query()
			q.Set("X-Amz-Expires", "900")
			req.URL.RawQuery = q.Encode()
			return req
		}
		req := newReq()
		if _, _, err := s.PresignHTTP(ctx, benchSDK, req, sigv4.UnsignedPayload, "sts", "us-east-1", benchTime); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := s.PresignHTTP(ctx, benchSDK, req, sigv4.UnsignedPayload, "sts", "us-east-1", benchTime); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SigV4a: the signing key is cached, so a signature costs one ECDSA P-256
// signature beside the canonical request; deriving the key costs a few
// HMACs and one scalar multiplication.

func BenchmarkSignV4a(b *testing.B) {
	benchSign(b, benchRequest(b), sigv4.Options{Service: "sts", Region: "us-east-1", Time: benchTime, Algorithm: sigv4.SigV4a})
}

// benchSign signs req with benchCreds b.N times, the key cache warm.
func benchSign(b *testing.B, req *http.Request, o sigv4.Options) {
	var s sigv4.Signer
	if err := s.Sign(req, benchCreds, o); err != nil { // warm the key cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Sign(req, benchCreds, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPresignV4a(b *testing.B) {
	req := benchRequest(b)
	var s sigv4.Signer
	o := sigv4.Options{Service: "sts", Region: "us-east-1", Time: benchTime, Expires: 15 * time.Minute, Algorithm: sigv4.SigV4a}
	if _, err := s.Presign(req, benchCreds, o); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Presign(req, benchCreds, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyV4a(b *testing.B) {
	req := benchRequest(b)
	var s sigv4.Signer
	o := sigv4.Options{Service: "sts", Region: "us-east-1", Time: benchTime, Algorithm: sigv4.SigV4a}
	if err := s.Sign(req, benchCreds, o); err != nil {
		b.Fatal(err)
	}
	v := &sigv4.Verifier{
		Now: func() time.Time { return benchTime },
		Lookup: func(context.Context, string) (sigv4.Secret, error) {
			return sigv4.Secret{SecretAccessKey: benchCreds.SecretAccessKey}, nil
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSigningKeyV4a(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := sigv4.SigningKeyV4a(benchCreds.AccessKeyID, benchCreds.SecretAccessKey); err != nil {
			b.Fatal(err)
		}
	}
}
