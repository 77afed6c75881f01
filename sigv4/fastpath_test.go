package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The digests taken by writing the padded message must equal crypto/sha256
// and crypto/hmac, whether the padding fits in the message's spare capacity
// or not.
func TestPaddedDigests(t *testing.T) {
	if !paddedSums {
		t.Log("padded digests unavailable: Sum is used")
	}
	var id keyID
	id.accessKey, id.region, id.service = "AKID", "us-east-1", "sts"
	copy(id.date[:], "20261122")
	ks := newKeyState(id, "secret")
	buf := make([]byte, 400)
	for i := range buf {
		buf[i] = byte(i * 13)
	}
	for n := 0; n <= 300; n++ {
		for _, spare := range []int{0, 8, 71, 72, 100} {
			msg := append(make([]byte, 0, n+spare), buf[:n]...)
			if got, want := sum256(msg), sha256.Sum256(buf[:n]); got != want {
				t.Fatalf("sum256, %d bytes, %d spare: %x, want %x", n, spare, got, want)
			}
			var got [32]byte
			ks.sum(&got, msg)
			m := hmac.New(sha256.New, ks.key[:])
			m.Write(buf[:n])
			if want := m.Sum(nil); string(got[:]) != string(want) {
				t.Fatalf("HMAC, %d bytes, %d spare: %x, want %x", n, spare, got, want)
			}
			if string(msg) != string(buf[:n]) {
				t.Fatalf("%d bytes, %d spare: message changed", n, spare)
			}
		}
	}
}

// A query canonicalRawQuery takes as it stands must be what re-encoding and
// sorting it gives.
func FuzzCanonicalRawQuery(f *testing.F) {
	for _, q := range []string{
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=connect&DBUser=a%40b%2Fc",
		"a=1&a=0", "a=0&a=1", "a=&b=", "a", "=a", "a=b=c", "a=%7E", "a=%2f",
		"a=%2", "a=%", "a=b&", "&a=b", "b=1&a=2", "a=%41", "a=%E1%88%B4", "x=+",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, ok := canonicalRawQuery(raw); !ok {
			return
		}
		sc := getScratch()
		defer putScratch(sc)
		sc.addQuery(raw, false)
		if got := string(sc.appendQuery(nil)); got != raw {
			t.Fatalf("%q taken as canonical, but it is %q", raw, got)
		}
	})
}

// Requests with headers of their own that sort among the ones the signer
// adds, with and without a session token, a content length and S3's
// content hash, and queries that are canonical as they stand or not, must
// verify, signed and presigned.
func TestSignMergesHeaders(t *testing.T) {
	names := []string{"Accept", "Content-Md5", "Content-Type", "Hostname", "X-Amz-Content", "X-Amz-E", "X-Amz-Meta-A",
		"X-Amz-Security", "X-Amz-Target", "Zz", "X-Amz-Date", "Authorization", "X-Amz-Security-Token"}
	queries := []string{"", "Action=GetCallerIdentity&Version=2011-06-15", "b=2&a=1", "list-type=2&prefix=a%2Fb",
		"X-Amz-Foo=1", "a=%E1%88%B4&z=%7E", "Zeta=1"}
	sum := sha256.Sum256([]byte("body"))
	bodyHash := hex.EncodeToString(sum[:])
	r := rand.New(rand.NewSource(1))
	v := Verifier{Lookup: lookup, Now: func() time.Time { return vTime }}
	for i := 0; i < 400; i++ {
		c := vLong
		if r.Intn(2) == 0 {
			c = vTemp
		}
		service := "sts"
		if r.Intn(3) == 0 {
			service = "s3"
		}
		q := queries[r.Intn(len(queries))]
		req, err := http.NewRequest("PUT", "https://example.amazonaws.com/a/b?"+q, strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = q
		if r.Intn(2) == 0 {
			req.ContentLength = 0
		}
		for n := r.Intn(4); n > 0; n-- {
			req.Header.Set(names[r.Intn(len(names))], "v "+names[r.Intn(len(names))])
		}
		o := Options{Service: service, Region: "us-east-1", Time: vTime, PayloadHash: bodyHash}
		var s Signer
		if r.Intn(2) == 0 { // sign again, as a retry does
			if err := s.Sign(req, vLong, o); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Sign(req, c, o); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), req); err != nil {
			t.Fatalf("%d: %v\nheaders %v query %q", i, err, req.Header, q)
		}
		if c.SessionToken == "" && req.Header.Get("X-Amz-Security-Token") != "" {
			t.Fatalf("%d: token left from other credentials", i)
		}

		preq, _ := http.NewRequest("GET", "https://example.amazonaws.com/a/b?"+q, nil)
		preq.URL.RawQuery = q
		o.PayloadHash = ""
		u, err := s.Presign(preq, c, o)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), pr); err != nil {
			t.Fatalf("%d: presigned %s: %v", i, u, err)
		}
	}
}
