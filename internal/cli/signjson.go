package cli

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/credkit/credkit/sigv4"
)

// signedJSON is what credkit sign --json prints: the signed request as a
// script sends it, and what its signature says about itself (read back
// from the request with sigv4.Parse, as a verifier reads it). The secret
// key is never in it; the session token is, where the request carries it
// (X-Amz-Security-Token), as in the text output.
type signedJSON struct {
	Method string `json:"method"`
	// URL is the request's; with --presign, the presigned URL.
	URL string `json:"url"`
	// Headers are what the request carries, name to values: every header
	// of the signed request, Host and Authorization included (an HTTP
	// client adds Content-Length itself); with --presign, the signed
	// headers other than Host, which the client must send with the URL.
	// The body is the input's, unchanged.
	Headers     map[string][]string `json:"headers"`
	Algorithm   string              `json:"algorithm"`
	AccessKeyID string              `json:"access_key_id"`
	// CredentialScope is DATE/REGION/SERVICE/aws4_request, or for SigV4a
	// DATE/SERVICE/aws4_request with the regions in RegionSet.
	CredentialScope string   `json:"credential_scope"`
	Region          string   `json:"region,omitempty"`
	RegionSet       []string `json:"region_set,omitempty"`
	Service         string   `json:"service"`
	SignedHeaders   []string `json:"signed_headers"`
	SignedAt        string   `json:"signed_at"`
	// ExpiresAt is when a presigned URL stops being valid.
	ExpiresAt string `json:"expires_at,omitempty"`
}

// newSignedJSON describes req, signed in its headers, or presigned as
// presigned (not "").
func newSignedJSON(req *http.Request, presigned string) (*signedJSON, error) {
	var s *sigv4.Signed
	var err error
	out := &signedJSON{Method: req.Method, Headers: map[string][]string{}}
	if presigned != "" {
		s, _, err = sigv4.ParseURL(presigned)
		out.URL = presigned
	} else {
		s, err = sigv4.Parse(req)
		out.URL = req.URL.String()
	}
	if err != nil {
		return nil, err
	}
	out.Algorithm = s.Algorithm.String()
	out.AccessKeyID = s.AccessKeyID
	out.Service, out.RegionSet = s.Service, s.RegionSet
	scope := []string{s.ScopeDate, s.Region, s.Service, "aws4_request"}
	if s.Algorithm == sigv4.SigV4a {
		scope = append(scope[:1], scope[2:]...)
	} else {
		out.Region = s.Region
	}
	out.CredentialScope = strings.Join(scope, "/")
	out.SignedHeaders = s.SignedHeaders
	out.SignedAt = s.SigningTime.UTC().Format(time.RFC3339)
	if presigned != "" {
		out.ExpiresAt = s.Expiry().UTC().Format(time.RFC3339)
		for _, h := range s.SignedHeaders {
			if h != "host" {
				out.Headers[http.CanonicalHeaderKey(h)] = req.Header.Values(h)
			}
		}
		return out, nil
	}
	out.Headers["Host"] = []string{req.Host}
	for k, v := range req.Header {
		out.Headers[k] = v
	}
	return out, nil
}

// writeSignedJSON prints newSignedJSON's object.
func (a *App) writeSignedJSON(req *http.Request, presigned string) error {
	out, err := newSignedJSON(req, presigned)
	if err != nil {
		return fmt.Errorf("reading back the signature: %w", err)
	}
	return writeJSON(a.Stdout, out)
}
