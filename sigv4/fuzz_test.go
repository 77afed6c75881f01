package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSignVerify: whatever path, query and header a request has, a request
// credkit signs, with SigV4 or SigV4a, must verify, and must stop verifying when a signed part
// changes.
func FuzzSignVerify(f *testing.F) {
	f.Add("/", "Action=GetCallerIdentity&Version=2011-06-15", "X-Custom", "value", "sts")
	f.Add("/a b/../c//d/./e", "b=2&a=1&a=0&c", "My-Header", "  folded   value ", "service")
	f.Add("/ሴ/%41%2F", "%E1%88%B4=bar&plus=a+b&pct=%zz", "X-Amz-Meta-Foo", "a,b", "s3")
	f.Add("//example//", "", "Content-Type", "application/json", "execute-api")
	f.Fuzz(func(t *testing.T, path, query, hname, hvalue, service string) {
		if service == "" || strings.ContainsAny(service, "/ \t\r\n") || !strings.HasPrefix(path, "/") {
			t.Skip()
		}
		for _, alg := range []SigningAlgorithm{SigV4, SigV4a} {
			u := &url.URL{Scheme: "https", Host: "example.amazonaws.com", Path: path, RawQuery: query}
			req, err := http.NewRequest("GET", u.String(), nil)
			if err != nil {
				return
			}
			if hname != "" {
				if !validHeader(hname, hvalue) {
					return
				}
				req.Header.Set(hname, hvalue)
			}
			var s Signer
			at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			if err := s.Sign(req, vLong, Options{Service: service, Region: "us-east-1", Time: at, Algorithm: alg}); err != nil {
				if validScopePart(service) {
					t.Fatal(err)
				}
				return
			}
			v := Verifier{Lookup: lookup, Now: func() time.Time { return at }}
			if _, err := v.Verify(context.Background(), req); err != nil {
				t.Fatalf("own %s signature refused: %v\npath %q query %q header %q: %q", alg, err, path, query, hname, hvalue)
			}
			req.URL.RawQuery += "&tampered=1"
			if _, err := v.Verify(context.Background(), req); err == nil {
				t.Fatalf("%s: tampered query accepted", alg)
			}
		}
	})
}

func validHeader(name, value string) bool {
	for _, c := range name {
		if c <= ' ' || c >= 127 || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 127 {
			return false
		}
	}
	return name != ""
}

// FuzzParseURL: no input makes token parsing panic, and what parses has a
// consistent expiry.
func FuzzParseURL(f *testing.F) {
	f.Add("db.example.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F2%2F3%2F4%2F5")
	f.Add("%%%://?")
	f.Fuzz(func(t *testing.T, raw string) {
		s, _, err := ParseURL(raw)
		if err != nil {
			return
		}
		if s.Expires > MaxExpires || s.Expires < 0 {
			t.Fatalf("expires %s out of bounds", s.Expires)
		}
		if s.AccessKeyID == "" || s.Region == "" || s.Service == "" {
			t.Fatalf("parsed without scope: %+v", s)
		}
	})
}

// FuzzNormalizePath: normalizing is idempotent and never leaves dot
// segments.
func FuzzNormalizePath(f *testing.F) {
	for _, p := range []string{"/", "//a//b/", "/a/./b/../../c", "/..", "a/b", "/a/b/..", "/./"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		once := string(appendNormalizedPath(nil, p))
		twice := string(appendNormalizedPath(nil, once))
		if once != twice {
			t.Fatalf("normalize(%q) = %q, again %q", p, once, twice)
		}
		if !strings.HasPrefix(once, "/") || strings.Contains(once, "//") || strings.Contains(once+"/", "/./") || strings.Contains(once+"/", "/../") {
			t.Fatalf("normalize(%q) = %q", p, once)
		}
	})
}
