package sigv4_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// botocoreRequest is one request for testdata/botocore_sigv4a.py to sign.
type botocoreRequest struct {
	Mode      string            `json:"mode"` // header or query
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	Service   string            `json:"service"`
	RegionSet string            `json:"region_set"`
	AccessKey string            `json:"access_key"`
	SecretKey string            `json:"secret_key"`
	Token     string            `json:"token,omitempty"`
}

type botocoreSigned struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// TestBotocoreSigV4aVerifies checks credkit's verifier against a second
// SigV4a signer: botocore's, which signs with aws-c-auth through awscrt.
func TestBotocoreSigV4aVerifies(t *testing.T) {
	py := testpeer.BotocoreSigV4a(t)
	const (
		akid   = "AKIDBOTOCOREV4A"
		secret = "Sx9/eXAMPLE+botocore/SigV4a/secret"
		token  = "FwoGZXIvYXdzEXAMPLE/session+token=="
	)
	cases := []struct {
		name string
		req  botocoreRequest
		// in and out are regions the signature must be accepted and refused in.
		in, out []string
	}{
		{
			name: "header auth, two regions, session token, header and query of its own",
			req: botocoreRequest{Mode: "header", Method: "GET", URL: "https://example.amazonaws.com/a%20b/c?x=1&Y=2&empty=",
				Headers: map[string]string{"My-Header": "  two   words "}, Service: "svc", RegionSet: "us-east-1,eu-west-1", Token: token},
			in: []string{"us-east-1", "eu-west-1"}, out: []string{"us-west-2"},
		},
		{
			name: "header auth, all regions, a body",
			req: botocoreRequest{Mode: "header", Method: "POST", URL: "https://events.amazonaws.com/",
				Headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"},
				Body:    `{"Entries":[{"Source":"credkit"}]}`, Service: "events", RegionSet: "*"},
			in: []string{"us-east-1", "ap-southeast-2"},
		},
		{
			name: "presigned URL, all regions",
			req:  botocoreRequest{Mode: "query", Method: "GET", URL: "https://example.amazonaws.com/path?Action=List", Service: "svc", RegionSet: "*"},
			in:   []string{"eu-central-1"},
		},
		{
			name: "presigned URL, one region, session token",
			req:  botocoreRequest{Mode: "query", Method: "GET", URL: "https://example.amazonaws.com/", Service: "svc", RegionSet: "us-west-2", Token: token},
			in:   []string{"us-west-2"}, out: []string{"us-east-1"},
		},
	}
	reqs := make([]botocoreRequest, len(cases))
	for i, c := range cases {
		reqs[i] = c.req
		reqs[i].AccessKey, reqs[i].SecretKey = akid, secret
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/botocore_sigv4a.py")
	cmd.Env = testpeer.IsolatedAWSEnv()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_sigv4a.py: %v\n%s", err, stderr.String())
	}
	var signed []botocoreSigned
	if err := json.Unmarshal(out, &signed); err != nil || len(signed) != len(cases) {
		t.Fatalf("botocore_sigv4a.py wrote %q: %v", out, err)
	}

	lookup := func(_ context.Context, id string) (sigv4.Secret, error) {
		if id != akid {
			return sigv4.Secret{}, sigv4.ErrUnknownKey
		}
		return sigv4.Secret{SecretAccessKey: secret, SessionToken: token}, nil
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build := func() *http.Request {
				u, err := url.Parse(signed[i].URL)
				if err != nil {
					t.Fatal(err)
				}
				r := &http.Request{Method: c.req.Method, URL: u, Host: u.Host, Header: http.Header{}}
				for k, v := range signed[i].Headers {
					if !strings.EqualFold(k, "host") {
						r.Header.Set(k, v)
					}
				}
				if c.req.Body != "" {
					r.Body = io.NopCloser(strings.NewReader(c.req.Body))
					r.ContentLength = int64(len(c.req.Body))
				}
				return r
			}
			secretOf := lookup
			if c.req.Token == "" {
				secretOf = func(_ context.Context, id string) (sigv4.Secret, error) {
					if id != akid {
						return sigv4.Secret{}, sigv4.ErrUnknownKey
					}
					return sigv4.Secret{SecretAccessKey: secret}, nil
				}
			}
			v := &sigv4.Verifier{Lookup: secretOf, Keys: sigv4.NewKeyCache(0)}
			s, err := v.Verify(context.Background(), build())
			if err != nil {
				t.Fatalf("botocore's signature refused: %v", err)
			}
			if s.Algorithm != sigv4.SigV4a || strings.Join(s.RegionSet, ",") != c.req.RegionSet || s.Presigned != (c.req.Mode == "query") {
				t.Errorf("parsed as %s, regions %q, presigned %v", s.Algorithm, s.RegionSet, s.Presigned)
			}
			for _, region := range c.in {
				v.Region = region
				if _, err := v.Verify(context.Background(), build()); err != nil {
					t.Errorf("in region %s: %v", region, err)
				}
			}
			for _, region := range c.out {
				v.Region = region
				if _, err := v.Verify(context.Background(), build()); !errors.Is(err, sigv4.ErrWrongScope) {
					t.Errorf("in region %s: %v, want %v", region, err, sigv4.ErrWrongScope)
				}
			}
			v.Region = ""

			// A signed part changed: the signature no longer verifies.
			r := build()
			if c.req.Mode == "query" {
				r.URL.Path += "x"
			} else {
				r.Header.Set("X-Amz-Region-Set", c.req.RegionSet+",mars-north-1")
			}
			if _, err := v.Verify(context.Background(), r); !errors.Is(err, sigv4.ErrSignatureMismatch) {
				t.Errorf("changed request: %v, want %v", err, sigv4.ErrSignatureMismatch)
			}
			// The wrong secret: the derived public key differs.
			v.Lookup = func(context.Context, string) (sigv4.Secret, error) {
				sec, _ := secretOf(context.Background(), akid)
				sec.SecretAccessKey += "x"
				return sec, nil
			}
			if _, err := v.Verify(context.Background(), build()); !errors.Is(err, sigv4.ErrSignatureMismatch) {
				t.Errorf("wrong secret: %v, want %v", err, sigv4.ErrSignatureMismatch)
			}
		})
	}
}
