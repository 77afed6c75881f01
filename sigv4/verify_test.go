package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

var (
	vTime  = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	vLong  = creds.Credentials{AccessKeyID: "AKIDLONG", SecretAccessKey: "long-secret"}
	vTemp  = creds.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "the-token"}
	lookup = func(_ context.Context, id string) (Secret, error) {
		switch id {
		case vLong.AccessKeyID:
			return Secret{SecretAccessKey: vLong.SecretAccessKey}, nil
		case vTemp.AccessKeyID:
			return Secret{SecretAccessKey: vTemp.SecretAccessKey, SessionToken: vTemp.SessionToken}, nil
		}
		return Secret{}, ErrUnknownKey
	}
)

func signedReq(t *testing.T, c creds.Credentials, mutate func(*Options)) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	o := Options{Service: "sts", Region: "us-east-1", Time: vTime}
	if mutate != nil {
		mutate(&o)
	}
	var s Signer
	if err := s.Sign(req, c, o); err != nil {
		t.Fatal(err)
	}
	return req
}

func presigned(t *testing.T, c creds.Credentials, o Options) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/my%20photo.jpg", nil)
	var s Signer
	u, err := s.Presign(req, c, o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyReasons(t *testing.T) {
	at := func(d time.Duration) func() time.Time { return func() time.Time { return vTime.Add(d) } }
	s3o := Options{Service: "s3", Region: "us-east-1", Time: vTime, Expires: 10 * time.Minute}
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		v      Verifier
		reason error
		detail string
	}{
		{"valid header signature", func(t *testing.T) *http.Request { return signedReq(t, vLong, nil) }, Verifier{Now: at(time.Minute)}, nil, ""},
		{"valid with session token", func(t *testing.T) *http.Request { return signedReq(t, vTemp, nil) }, Verifier{Now: at(0)}, nil, ""},
		{"valid presigned S3 URL", func(t *testing.T) *http.Request { return presigned(t, vTemp, s3o) }, Verifier{Now: at(9 * time.Minute)}, nil, ""},
		{"unknown access key", func(t *testing.T) *http.Request {
			return signedReq(t, creds.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "x"}, nil)
		}, Verifier{Now: at(0)}, ErrUnknownKey, "AKIDOTHER"},
		{"wrong secret", func(t *testing.T) *http.Request {
			return signedReq(t, creds.Credentials{AccessKeyID: vLong.AccessKeyID, SecretAccessKey: "wrong"}, nil)
		}, Verifier{Now: at(0)}, ErrSignatureMismatch, "compare the canonical request"},
		{"header changed after signing", func(t *testing.T) *http.Request {
			r := signedReq(t, vLong, nil)
			r.URL.RawQuery = "Action=GetCallerIdentity&Version=2011-06-16"
			return r
		}, Verifier{Now: at(0)}, ErrSignatureMismatch, ""},
		{"presigned URL expired", func(t *testing.T) *http.Request { return presigned(t, vLong, s3o) }, Verifier{Now: at(10 * time.Minute)}, ErrExpired, "expired at 2026-11-22T10:10:00Z"},
		{"presigned in the future", func(t *testing.T) *http.Request { return presigned(t, vLong, s3o) }, Verifier{Now: at(-16 * time.Minute)}, ErrNotYetValid, "ahead of this clock"},
		{"header signature skewed", func(t *testing.T) *http.Request { return signedReq(t, vLong, nil) }, Verifier{Now: at(16 * time.Minute)}, ErrClockSkew, "16m0s apart"},
		{"wrong region", func(t *testing.T) *http.Request { return signedReq(t, vLong, nil) }, Verifier{Now: at(0), Region: "eu-west-1"}, ErrWrongScope, `region "us-east-1"`},
		{"wrong service", func(t *testing.T) *http.Request { return signedReq(t, vLong, nil) }, Verifier{Now: at(0), Service: "iam"}, ErrWrongScope, `service "sts"`},
		{"session token missing", func(t *testing.T) *http.Request {
			return signedReq(t, creds.Credentials{AccessKeyID: vTemp.AccessKeyID, SecretAccessKey: vTemp.SecretAccessKey}, nil)
		}, Verifier{Now: at(0)}, ErrMissingSessionToken, "X-Amz-Security-Token"},
		{"session token of another session", func(t *testing.T) *http.Request {
			c := vTemp
			c.SessionToken = "another"
			return signedReq(t, c, nil)
		}, Verifier{Now: at(0)}, ErrInvalidSessionToken, ""},
		{"not signed at all", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("GET", "https://example.com/", nil)
			return r
		}, Verifier{Now: at(0)}, ErrMalformed, "no Authorization header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.v.Lookup = lookup
			_, err := tc.v.Verify(context.Background(), tc.req(t))
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.reason) {
				t.Fatalf("got %v, want %v", err, tc.reason)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error %q does not say %q", err, tc.detail)
			}
			for _, secret := range []string{vLong.SecretAccessKey, vTemp.SecretAccessKey, "wrong"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error carries a secret: %v", err)
				}
			}
			var ve *VerifyError
			if errors.As(err, &ve) && errors.Is(err, ErrSignatureMismatch) && tc.name == "wrong secret" {
				if !strings.HasPrefix(ve.CanonicalRequest, "GET\n/\nAction=GetCallerIdentity&Version=2011-06-15\nhost:sts.us-east-1.amazonaws.com\n") {
					t.Errorf("canonical request for debugging:\n%s", ve.CanonicalRequest)
				}
			}
		})
	}
}

func TestSignAllocations(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	var s Signer
	o := Options{Service: "sts", Region: "us-east-1", Time: vTime}
	s.Sign(req, vTemp, o)
	if n := testing.AllocsPerRun(200, func() { s.Sign(req, vTemp, o) }); n > 2 {
		t.Errorf("Sign allocates %.1f times per call, want at most 2", n)
	}
	o.Expires = 15 * time.Minute
	if n := testing.AllocsPerRun(200, func() { s.Presign(req, vTemp, o) }); n > 2 {
		t.Errorf("Presign allocates %.1f times per call, want at most 2", n)
	}
}

func TestExpiresBounds(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://b.s3.amazonaws.com/k", nil)
	var s Signer
	for _, d := range []time.Duration{time.Millisecond, 1500 * time.Millisecond, 7*24*time.Hour + time.Second, -time.Second} {
		if _, err := s.Presign(req, vLong, Options{Service: "s3", Region: "us-east-1", Expires: d}); !errors.Is(err, ErrExpires) {
			t.Errorf("expires %s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{time.Second, 7 * 24 * time.Hour} {
		if _, err := s.Presign(req, vLong, Options{Service: "s3", Region: "us-east-1", Expires: d}); err != nil {
			t.Errorf("expires %s: %v", d, err)
		}
	}
}

func TestKeyCacheBoundedAndSecretAware(t *testing.T) {
	c := NewKeyCache(4)
	var id keyID
	copy(id.date[:], "20261122")
	id.region, id.service = "us-east-1", "s3"
	for i := 0; i < 20; i++ {
		id.accessKey = string(rune('A' + i))
		c.get(id, "secret")
	}
	if c.Len() > 4 {
		t.Errorf("cache holds %d keys, bound is 4", c.Len())
	}
	id.accessKey = "SAME"
	a := c.get(id, "one").key
	b := c.get(id, "two").key
	if a == b {
		t.Error("two secrets under one access key id got the same signing key")
	}
	if a != SigningKey("one", "20261122", "us-east-1", "s3") {
		t.Error("cached key differs from a fresh derivation")
	}
}

func TestUnsignedSessionTokenIoT(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://data.iot.us-east-1.amazonaws.com/mqtt", nil)
	var s Signer
	u, err := s.Presign(req, vTemp, Options{Service: "iotdevicegateway", Region: "us-east-1", Time: vTime, UnsignedSessionToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Security-Token=the-token") {
		t.Fatalf("token not appended: %s", u)
	}
	r, _ := http.NewRequest("GET", u, nil)
	v := Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("a verifier expecting a signed token must refuse: %v", err)
	}
	v.UnsignedSessionToken = true
	if _, err := v.Verify(context.Background(), r); err != nil {
		t.Errorf("unsigned-token verifier: %v", err)
	}
}

func TestVerifyNeverRevealsTheExpectedSignature(t *testing.T) {
	req := signedReq(t, vLong, nil)
	good := req.Header.Get("Authorization")
	sig := good[strings.LastIndex(good, "=")+1:]
	req.Header.Set("Authorization", strings.Replace(good, sig, strings.Repeat("0", 64), 1))
	v := Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
	_, err := v.Verify(context.Background(), req)
	if !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("got %v", err)
	}
	var ve *VerifyError
	errors.As(err, &ve)
	if strings.Contains(err.Error(), sig) || strings.Contains(ve.CanonicalRequest+ve.StringToSign, sig) {
		t.Fatalf("the error gives away the valid signature: %v", err)
	}
}

func TestVerifyChecksTheBody(t *testing.T) {
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	req, _ := http.NewRequest("POST", "https://sts.us-east-1.amazonaws.com/", strings.NewReader(body))
	var s Signer
	sum := sha256.Sum256([]byte(body))
	if err := s.Sign(req, vLong, Options{Service: "sts", Region: "us-east-1", Time: vTime, PayloadHash: hex.EncodeToString(sum[:]), ContentSHA256Header: true}); err != nil {
		t.Fatal(err)
	}
	v := Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
	req.Body = io.NopCloser(strings.NewReader(body))
	if _, err := v.Verify(context.Background(), req); err != nil {
		t.Fatalf("intact body refused: %v", err)
	}
	req.Body = io.NopCloser(strings.NewReader("Action=DeleteEverything"))
	if _, err := v.Verify(context.Background(), req); !errors.Is(err, ErrPayloadHashMismatch) {
		t.Fatalf("swapped body: %v", err)
	}
	req.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	if _, err := v.Verify(context.Background(), req); err == nil {
		t.Fatal("UNSIGNED-PAYLOAD accepted for STS")
	}
}

func TestVerifyRequiresExpiresAndSortedHeaders(t *testing.T) {
	s3o := Options{Service: "s3", Region: "us-east-1", Time: vTime, Expires: time.Minute}
	v := Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
	r := presigned(t, vLong, s3o)
	q := r.URL.Query()
	q.Del("X-Amz-Expires")
	r.URL.RawQuery = q.Encode()
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "X-Amz-Expires") {
		t.Errorf("URL without X-Amz-Expires: %v", err)
	}
	r = presigned(t, vLong, s3o)
	q = r.URL.Query()
	q.Set("X-Amz-SignedHeaders", "x-b;host")
	r.URL.RawQuery = q.Encode()
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sorted") {
		t.Errorf("unsorted SignedHeaders: %v", err)
	}
}

func TestPresignSortsSignedHeaders(t *testing.T) {
	var s Signer
	u, err := s.PresignTarget(Target{Method: "PUT", Scheme: "https", Host: "svc.us-east-1.amazonaws.com:443", Path: "/k", ContentLength: 5},
		vLong, Options{Service: "svc", Region: "us-east-1", Time: vTime})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-SignedHeaders=content-length%3Bhost") {
		t.Errorf("signed headers not sorted: %s", u)
	}
	if !strings.HasPrefix(u, "https://svc.us-east-1.amazonaws.com/k?") {
		t.Errorf("default port kept in the signed host: %s", u)
	}
}
