package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func v4aVerifier() *Verifier {
	return &Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
}

func signedV4a(t *testing.T, regions ...string) *http.Request {
	t.Helper()
	return signedReq(t, vTemp, func(o *Options) { o.Algorithm, o.RegionSet = SigV4a, regions })
}

func TestSigV4aVerifyReasons(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		region string
		want   error // nil: accepted
		detail string
	}{
		{"signed for the endpoint's region", func(t *testing.T) *http.Request { return signedV4a(t, "us-east-1", "eu-west-1") }, "eu-west-1", nil, ""},
		{"signed for all regions", func(t *testing.T) *http.Request { return signedV4a(t, "*") }, "ap-south-1", nil, ""},
		{"region set defaults to Region", func(t *testing.T) *http.Request { return signedV4a(t) }, "us-east-1", nil, ""},
		{"endpoint's region not in the set", func(t *testing.T) *http.Request { return signedV4a(t, "us-east-1", "eu-west-1") }, "us-west-2", ErrWrongScope, "signed for regions us-east-1,eu-west-1"},
		{"region set changed after signing", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			r.Header.Set("X-Amz-Region-Set", "*")
			return r
		}, "", ErrSignatureMismatch, ""},
		{"region set not signed", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "x-amz-region-set;", "", 1))
			return r
		}, "", ErrMalformed, "must sign X-Amz-Region-Set"},
		{"region set missing", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			r.Header.Del("X-Amz-Region-Set")
			return r
		}, "", ErrMalformed, "needs one X-Amz-Region-Set"},
		{"SigV4 scope with a region", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/sts/", "/us-east-1/sts/", 1))
			return r
		}, "", ErrMalformed, "is not KEYID/DATE/SERVICE/aws4_request"},
		{"signature not hex", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			setSignature(t, r, "zz"+r.Header.Get("Authorization")[len(r.Header.Get("Authorization"))-10:])
			return r
		}, "", ErrMalformed, "not a hex-encoded ASN.1 ECDSA signature"},
		{"signature of another request", func(t *testing.T) *http.Request {
			r := signedV4a(t, "us-east-1")
			other := signedReq(t, vTemp, func(o *Options) { o.Algorithm, o.Service = SigV4a, "iam" })
			_, sig, _ := strings.Cut(other.Header.Get("Authorization"), "Signature=")
			setSignature(t, r, sig)
			return r
		}, "", ErrSignatureMismatch, "does not match its canonical request"},
		{"session token missing", func(t *testing.T) *http.Request {
			return signedReq(t, vTemp, func(o *Options) { o.Algorithm, o.UnsignedSessionToken = SigV4a, true })
		}, "", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req(t)
			if c.name == "session token missing" {
				r.Header.Del("X-Amz-Security-Token")
				c.want, c.detail = ErrMissingSessionToken, "must carry their session token"
			}
			v := v4aVerifier()
			v.Region = c.region
			_, err := v.Verify(ctx, r)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.detail) {
				t.Errorf("error %q does not say %q", err, c.detail)
			}
			if strings.Contains(err.Error(), vTemp.SecretAccessKey) || strings.Contains(err.Error(), vTemp.SessionToken) {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

func TestSigV4aPresignVerify(t *testing.T) {
	o := Options{Service: "s3", Region: "us-east-1", Time: vTime, Algorithm: SigV4a, RegionSet: []string{"us-east-1", "us-west-2"}}
	r := presigned(t, vTemp, o)
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != AlgorithmV4a || q.Get("X-Amz-Region-Set") != "us-east-1,us-west-2" ||
		q.Get("X-Amz-Credential") != vTemp.AccessKeyID+"/20261122/s3/aws4_request" || q.Get("X-Amz-Security-Token") != vTemp.SessionToken {
		t.Errorf("presigned query %s", r.URL.RawQuery)
	}
	if !strings.Contains(r.URL.RawQuery, "X-Amz-Region-Set=us-east-1%2Cus-west-2") {
		t.Errorf("region set not encoded in %s", r.URL.RawQuery)
	}
	v := v4aVerifier()
	v.Region = "us-west-2"
	if _, err := v.Verify(context.Background(), r); err != nil {
		t.Fatalf("refused: %v", err)
	}
	v.Now = func() time.Time { return vTime.Add(16 * time.Minute) }
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrExpired) {
		t.Errorf("after expiry: %v, want %v", err, ErrExpired)
	}
	v.Now = func() time.Time { return vTime }
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "us-east-1%2Cus-west-2", "%2A", 1)
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("region set widened after signing: %v, want %v", err, ErrSignatureMismatch)
	}
	r.URL.RawQuery = url.Values{"X-Amz-Algorithm": {AlgorithmV4a}, "X-Amz-Credential": {"AKIDLONG/20261122/s3/aws4_request"}}.Encode()
	if _, err := v.Verify(context.Background(), r); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "X-Amz-Region-Set") {
		t.Errorf("no region set: %v, want %v naming X-Amz-Region-Set", err, ErrMalformed)
	}
}

func TestSigV4aOptionErrors(t *testing.T) {
	var s Signer
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"no region and no region set", Options{Service: "sts", Algorithm: SigV4a}, "no region"},
		{"an empty region in the set", Options{Service: "sts", Algorithm: SigV4a, RegionSet: []string{"us-east-1", ""}}, "holds an empty name"},
		{"a comma in a region", Options{Service: "sts", Algorithm: SigV4a, RegionSet: []string{"us-east-1,eu-west-1"}}, `region "us-east-1,eu-west-1" cannot be in a SigV4a region set`},
		{"unknown algorithm", Options{Service: "sts", Region: "us-east-1", Algorithm: 7}, "unknown signing algorithm SigningAlgorithm(7)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "https://sts.amazonaws.com/", nil)
			err := s.Sign(req, vLong, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
			if _, err := s.Presign(req, vLong, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("presign err = %v, want one saying %q", err, c.want)
			}
		})
	}
	// Region alone is enough: the set is [Region].
	req, _ := http.NewRequest("GET", "https://sts.amazonaws.com/", nil)
	if err := s.Sign(req, vLong, Options{Service: "sts", Region: "eu-west-1", Algorithm: SigV4a}); err != nil || req.Header.Get("X-Amz-Region-Set") != "eu-west-1" {
		t.Errorf("err %v, X-Amz-Region-Set %q", err, req.Header.Get("X-Amz-Region-Set"))
	}
}

// Signing one request again, with either algorithm, leaves exactly the
// headers of the last signature.
func TestResignSwitchesAlgorithm(t *testing.T) {
	req := signedV4a(t, "*")
	var s Signer
	if err := s.Sign(req, vTemp, Options{Service: "sts", Region: "us-east-1", Time: vTime}); err != nil {
		t.Fatal(err)
	}
	if req.Header["X-Amz-Region-Set"] != nil {
		t.Errorf("SigV4 left X-Amz-Region-Set: %q", req.Header["X-Amz-Region-Set"])
	}
	if _, err := v4aVerifier().Verify(context.Background(), req); err != nil {
		t.Errorf("SigV4 after SigV4a refused: %v", err)
	}
	if err := s.Sign(req, vTemp, Options{Service: "sts", Region: "us-east-1", Time: vTime, Algorithm: SigV4a, RegionSet: []string{"us-east-1", "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header["X-Amz-Region-Set"]; len(got) != 1 || got[0] != "us-east-1,eu-west-1" {
		t.Errorf("X-Amz-Region-Set = %q", got)
	}
	if _, err := v4aVerifier().Verify(context.Background(), req); err != nil {
		t.Errorf("SigV4a after SigV4 refused: %v", err)
	}
	// A region set the caller put on the request is replaced, not signed twice.
	req.Header.Set("X-Amz-Region-Set", "mars-north-1")
	if err := s.Sign(req, vTemp, Options{Service: "sts", Region: "us-east-1", Time: vTime, Algorithm: SigV4a}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Amz-Region-Set"); got != "us-east-1" {
		t.Errorf("X-Amz-Region-Set = %q, want us-east-1", got)
	}
	if _, err := v4aVerifier().Verify(context.Background(), req); err != nil {
		t.Errorf("refused: %v", err)
	}
}

func TestSigV4aKeyCache(t *testing.T) {
	c := NewKeyCache(3)
	for i := 0; i < 10; i++ {
		if _, err := c.ecKey(string(rune('A'+i)), "secret"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.ec); n > 3 {
		t.Errorf("cache holds %d SigV4a keys, bound is 3", n)
	}
	a, _ := c.ecKey("SAME", "one")
	a2, _ := c.ecKey("SAME", "one")
	if a != a2 {
		t.Error("the same key pair was derived twice")
	}
	b, _ := c.ecKey("SAME", "two")
	if a.priv.Equal(b.priv) {
		t.Error("two secrets under one access key id got the same SigV4a key")
	}
	a3, _ := c.ecKey("SAME", "one")
	fresh, err := SigningKeyV4a("SAME", "one")
	if err != nil {
		t.Fatal(err)
	}
	if !a3.priv.Equal(fresh) {
		t.Error("cached key differs from a fresh derivation")
	}
	other, _ := SigningKeyV4a("OTHER", "one")
	if other.Equal(fresh) {
		t.Error("the access key id does not enter the derivation")
	}
}

// The constant-time helpers of the key derivation, against math on small
// and boundary values.
func TestBigEndianHelpers(t *testing.T) {
	n2 := p256NMinus2
	below, above := n2, n2
	below[31]--
	above[31]++
	if compareBE(&below, &n2) != -1 || compareBE(&n2, &n2) != 0 || compareBE(&above, &n2) != 1 {
		t.Error("compareBE orders N-3, N-2, N-1 wrongly")
	}
	var hi, lo [32]byte
	hi[0], lo[31] = 1, 0xff
	if compareBE(&hi, &lo) != 1 || compareBE(&lo, &hi) != -1 {
		t.Error("compareBE does not weigh the first byte most")
	}
	x := [32]byte{30: 0x01, 31: 0xff}
	addOneBE(&x)
	if x[30] != 2 || x[31] != 0 {
		t.Errorf("0x01ff + 1 = %x", x[30:])
	}
}
