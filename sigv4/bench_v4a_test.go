package sigv4_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credkit/credkit/sigv4"
)

// aws-sdk-go-v2 keeps its SigV4a signer internal; its S3 client signs a
// request on a Multi-Region Access Point with it. sdkMRAPSigning runs one
// GetObject on an MRAP ARN, keeps the S3 client's "Signing" middleware
// with the context it ran in (resolved auth scheme, identity holding the
// derived ECDSA key) and the request it signed, and returns a function
// that runs that middleware alone, as the client does on every request.
func sdkMRAPSigning(tb testing.TB) (sign func() error, req *smithyhttp.Request) {
	var (
		signing middleware.FinalizeMiddleware
		ctx     context.Context
	)
	keep := middleware.FinalizeMiddlewareFunc("KeepSigningContext", func(c context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		ctx, req = c, in.Request.(*smithyhttp.Request)
		return next.HandleFinalize(c, in)
	})
	client := s3.New(s3.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchSDK.AccessKeyID, benchSDK.SecretAccessKey, ""),
		HTTPClient:  emptyOK{},
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			var ok bool
			if signing, ok = s.Finalize.Get("Signing"); !ok {
				return errors.New("the S3 client has no Signing middleware")
			}
			return s.Finalize.Insert(keep, "Signing", middleware.Before)
		}},
	})
	_, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(benchMRAP), Key: aws.String("reports/q1.csv")})
	if err != nil || req == nil {
		tb.Fatalf("GetObject on an MRAP: %v", err)
	}
	done := middleware.FinalizeHandlerFunc(func(context.Context, middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, nil
	})
	return func() error {
		_, _, err := signing.HandleFinalize(ctx, middleware.FinalizeInput{Request: req}, done)
		return err
	}, req
}

const benchMRAP = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"

// emptyOK answers every request with an empty 200.
type emptyOK struct{}

func (emptyOK) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// BenchmarkSignV4aMRAP signs the request aws-sdk-go-v2's S3 client builds
// for a GetObject on a Multi-Region Access Point (seven signed headers,
// region set *): with credkit, and with the S3 client's own signing
// middleware. Both sign as of now and keep the derived key: the cost is the canonical
// request and one ECDSA P-256 signature. Each side's last signature is
// checked with credkit's verifier.
func BenchmarkSignV4aMRAP(b *testing.B) {
	sdkSign, sreq := sdkMRAPSigning(b)
	verify := func(b *testing.B, r *http.Request) {
		v := &sigv4.Verifier{Lookup: func(context.Context, string) (sigv4.Secret, error) {
			return sigv4.Secret{SecretAccessKey: benchCreds.SecretAccessKey}, nil
		}}
		s, err := v.Verify(context.Background(), r)
		if err != nil || s.Algorithm != sigv4.SigV4a || strings.Join(s.RegionSet, ",") != "*" || len(s.SignedHeaders) != 7 {
			b.Fatalf("the last signature: %v (%+v)", err, s)
		}
	}
	b.Run("credkit", func(b *testing.B) {
		req := sreq.Build(context.Background())
		req.Header.Del("Authorization")
		req.Header.Del("X-Amz-Date")
		benchSign(b, req, sigv4.Options{Service: "s3", Algorithm: sigv4.SigV4a, RegionSet: []string{"*"}, PayloadHash: sigv4.EmptyPayloadHash})
		b.StopTimer()
		verify(b, req)
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := sdkSign(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		verify(b, sreq.Build(context.Background()))
	})
}
