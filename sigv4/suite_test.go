package sigv4

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// The AWS SigV4 test suite (aws-c-auth's copy, Apache-2.0; see
// testdata/sigv4/aws-signing-test-suite/LICENSE and NOTICE).
const suiteDir = "../testdata/sigv4/aws-signing-test-suite/v4"

type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Expiration       int64     `json:"expiration_in_seconds"`
	Normalize        bool      `json:"normalize"`
	Region           string    `json:"region"`
	Service          string    `json:"service"`
	SignBody         bool      `json:"sign_body"`
	Timestamp        time.Time `json:"timestamp"`
	OmitSessionToken bool      `json:"omit_session_token"`
}

type suiteCase struct {
	dir  string // the suite's v4 or v4a directory
	name string
	ctx  suiteContext
	raw  string // request.txt
}

func loadSuite(t *testing.T) []suiteCase {
	t.Helper()
	return loadSuiteFrom(t, suiteDir, 38)
}

// loadSuiteFrom reads the cases of one directory of the suite, which must
// hold want of them.
func loadSuiteFrom(t *testing.T, suiteDir string, want int) []suiteCase {
	t.Helper()
	dirs, err := os.ReadDir(suiteDir)
	if err != nil {
		t.Fatalf("read test suite: %v", err)
	}
	var cases []suiteCase
	for _, d := range dirs {
		c := suiteCase{dir: suiteDir, name: d.Name()}
		b, err := os.ReadFile(filepath.Join(suiteDir, d.Name(), "context.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c.ctx); err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		r, err := os.ReadFile(filepath.Join(suiteDir, d.Name(), "request.txt"))
		if err != nil {
			t.Fatal(err)
		}
		c.raw = string(r)
		cases = append(cases, c)
	}
	if len(cases) != want {
		t.Fatalf("%s has %d cases, want %d", suiteDir, len(cases), want)
	}
	return cases
}

func (c *suiteCase) file(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, c.name, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseSuiteRequest reads request.txt as the suite means it: the path on
// the request line is the path as sent (it may hold raw spaces and UTF-8),
// header lines may continue on indented lines, and a body follows a blank
// line.
func parseSuiteRequest(t *testing.T, raw string) (*http.Request, []byte) {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	parts := strings.SplitN(lines[0], " ", 2)
	method := parts[0]
	target := strings.TrimSuffix(parts[1], " HTTP/1.1")
	path, query, _ := strings.Cut(target, "?")
	req := &http.Request{
		Method: method,
		URL:    &url.URL{Scheme: "https", Opaque: path, RawQuery: query},
		Header: http.Header{},
	}
	if strings.HasPrefix(path, "//") {
		// An opaque "//x" would mean a host; these paths are plain ASCII.
		req.URL.Opaque, req.URL.Path = "", path
	}
	var lastKey string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			vs := req.Header[lastKey]
			vs[len(vs)-1] += "\n" + l
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		switch strings.ToLower(k) {
		case "host":
			req.Host = v
			req.URL.Host = v
			continue
		case "content-length":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			continue
		}
		lastKey = http.CanonicalHeaderKey(k)
		req.Header.Add(k, v)
	}
	if body != "" {
		req.Body = io.NopCloser(strings.NewReader(body))
	}
	return req, []byte(body)
}

func (c *suiteCase) options(body []byte) Options {
	sum := sha256.Sum256(body)
	return Options{
		Service:                  c.ctx.Service,
		Region:                   c.ctx.Region,
		Time:                     c.ctx.Timestamp,
		PayloadHash:              hex.EncodeToString(sum[:]),
		Expires:                  time.Duration(c.ctx.Expiration) * time.Second,
		DisablePathNormalization: !c.ctx.Normalize,
		ContentSHA256Header:      c.ctx.SignBody,
		UnsignedSessionToken:     c.ctx.OmitSessionToken,
	}
}

func (c *suiteCase) creds() creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     c.ctx.Credentials.AccessKeyID,
		SecretAccessKey: c.ctx.Credentials.SecretAccessKey,
		SessionToken:    c.ctx.Credentials.Token,
	}
}

func (c *suiteCase) verifier() *Verifier {
	return &Verifier{
		Now:                      func() time.Time { return c.ctx.Timestamp },
		DisablePathNormalization: !c.ctx.Normalize,
		UnsignedSessionToken:     c.ctx.OmitSessionToken,
		Lookup: func(_ context.Context, id string) (Secret, error) {
			if id != c.ctx.Credentials.AccessKeyID {
				return Secret{}, ErrUnknownKey
			}
			// With omit_session_token the token is sent but not signed; it
			// is still the token of this key.
			return Secret{SecretAccessKey: c.ctx.Credentials.SecretAccessKey, SessionToken: c.ctx.Credentials.Token}, nil
		},
	}
}

// signedRequestFile parses *-signed-request.txt into its request-line
// target and header map (lower-case names).
func signedRequestFile(t *testing.T, s string) (target string, headers map[string][]string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	first := sc.Text()
	parts := strings.SplitN(first, " ", 2)
	target = strings.TrimSuffix(parts[1], " HTTP/1.1")
	headers = map[string][]string{}
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue // continuation of a folded value, compared via the canonical request
		}
		k, v, _ := strings.Cut(l, ":")
		headers[strings.ToLower(k)] = append(headers[strings.ToLower(k)], v)
	}
	return target, headers
}

func TestSuiteHeaderSigning(t *testing.T) {
	for _, c := range loadSuite(t) {
		t.Run(c.name, func(t *testing.T) {
			req, body := parseSuiteRequest(t, c.raw)
			var s Signer
			if err := s.Sign(req, c.creds(), c.options(body)); err != nil {
				t.Fatal(err)
			}
			wantSig := strings.TrimSpace(c.file(t, "header-signature.txt"))
			auth := req.Header.Get("Authorization")
			if !strings.HasSuffix(auth, "Signature="+wantSig) {
				t.Errorf("Authorization = %s\nwant signature %s", auth, wantSig)
			}

			// The verifier recomputes the canonical request and string to
			// sign from the signed request; they must be the suite's.
			v := c.verifier()
			signed, err := Parse(req)
			if err != nil {
				t.Fatal(err)
			}
			cr, sts, err := v.CanonicalRequest(req, signed, c.options(body).PayloadHash)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.file(t, "header-canonical-request.txt"); cr != want {
				t.Errorf("canonical request:\n%s\nwant:\n%s", cr, want)
			}
			if want := c.file(t, "header-string-to-sign.txt"); sts != want {
				t.Errorf("string to sign:\n%s\nwant:\n%s", sts, want)
			}
			if _, err := v.Verify(context.Background(), req); err != nil {
				t.Errorf("verify own signature: %v", err)
			}

			// Signed request: the same header set and values.
			compareSignedHeaders(t, req, c.file(t, "header-signed-request.txt"), false)
		})
	}
}

// compareSignedHeaders checks that req, signed, carries the header set
// and values of the suite's header-signed-request.txt. my-header1, whose
// value is folded over lines there, is left to the canonical request.
// With randomSig (SigV4a, whose signatures are randomized) Authorization
// is compared up to its signature.
func compareSignedHeaders(t *testing.T, req *http.Request, signedFile string, randomSig bool) {
	t.Helper()
	_, want := signedRequestFile(t, signedFile)
	got := map[string][]string{"host": {req.Host}}
	for k, vs := range req.Header {
		got[strings.ToLower(k)] = append([]string(nil), vs...)
	}
	if req.ContentLength > 0 {
		got["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	for k, vs := range want {
		g, w := strings.Join(got[k], "\x00"), strings.Join(vs, "\x00")
		if k == "authorization" && randomSig {
			g, _, _ = strings.Cut(g, "Signature=")
			w, _, _ = strings.Cut(w, "Signature=")
		}
		if g != w && k != "my-header1" {
			t.Errorf("header %s = %q, want %q", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("signed request has headers %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

func TestSuiteQuerySigning(t *testing.T) {
	for _, c := range loadSuite(t) {
		t.Run(c.name, func(t *testing.T) {
			req, body := parseSuiteRequest(t, c.raw)
			var s Signer
			signedURL, err := s.Presign(req, c.creds(), c.options(body))
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(signedURL)
			if err != nil {
				t.Fatalf("presigned URL %q: %v", signedURL, err)
			}
			wantSig := strings.TrimSpace(c.file(t, "query-signature.txt"))
			if got := u.Query().Get("X-Amz-Signature"); got != wantSig {
				t.Errorf("signature %s, want %s", got, wantSig)
			}

			// Compare with the suite's signed request, parameters parsed.
			target, _ := signedRequestFile(t, c.file(t, "query-signed-request.txt"))
			_, wantQuery, _ := strings.Cut(target, "?")
			wq, err := url.ParseQuery(wantQuery)
			if err != nil {
				t.Fatal(err)
			}
			gq := u.Query()
			if enc(gq) != enc(wq) {
				t.Errorf("query parameters:\n%s\nwant:\n%s", enc(gq), enc(wq))
			}

			// Canonical request and string to sign, recomputed from the URL
			// as a server receives it.
			sent := req.Clone(context.Background())
			sent.URL = &url.URL{Scheme: "https", Host: req.Host, Opaque: req.URL.Opaque, Path: req.URL.Path, RawQuery: u.RawQuery}
			v := c.verifier()
			signed, err := Parse(sent)
			if err != nil {
				t.Fatal(err)
			}
			cr, sts, err := v.CanonicalRequest(sent, signed, c.options(body).PayloadHash)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.file(t, "query-canonical-request.txt"); cr != want {
				t.Errorf("canonical request:\n%s\nwant:\n%s", cr, want)
			}
			if want := c.file(t, "query-string-to-sign.txt"); sts != want {
				t.Errorf("string to sign:\n%s\nwant:\n%s", sts, want)
			}
		})
	}
}

func enc(v url.Values) string {
	var lines []string
	for k, vs := range v {
		for _, x := range vs {
			lines = append(lines, k+"="+x)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
