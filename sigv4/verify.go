package sigv4

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reasons a signature is refused. A *VerifyError wraps exactly one; test
// with errors.Is.
var (
	ErrMalformed             = errors.New("not a SigV4-signed request")
	ErrUnknownKey            = errors.New("unknown access key")
	ErrSignatureMismatch     = errors.New("signature does not match")
	ErrExpired               = errors.New("signature expired")
	ErrNotYetValid           = errors.New("signed in the future (clock skew)")
	ErrClockSkew             = errors.New("signing time too far from the server's clock")
	ErrWrongScope            = errors.New("credential scope does not match")
	ErrMissingSessionToken   = errors.New("session token missing")
	ErrInvalidSessionToken   = errors.New("session token does not belong to this access key")
	ErrPayloadHashMismatch   = errors.New("body does not match X-Amz-Content-Sha256")
	ErrBodyTooLargeForVerify = errors.New("body too large to hash for verification")
)

// DefaultMaxSkew is how far a signing time may be from the verifier's
// clock, as AWS allows.
const DefaultMaxSkew = 15 * time.Minute

// VerifyError says why a signature was refused.
type VerifyError struct {
	Reason error  // one of the Err* values above
	Detail string // what exactly was wrong, in words
	// For ErrSignatureMismatch: what the verifier computed, to compare
	// with what the signer computed.
	CanonicalRequest string
	StringToSign     string
}

func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

func (e *VerifyError) Unwrap() error { return e.Reason }

func refuse(reason error, format string, args ...any) *VerifyError {
	return &VerifyError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Secret is what a KeyLookup knows about an access key.
type Secret struct {
	SecretAccessKey string
	// SessionToken is set for temporary credentials: a request signed with
	// the key must carry exactly this token.
	SessionToken string
}

// KeyLookup finds the secret of an access key. It returns an error
// wrapping ErrUnknownKey when the key does not exist.
type KeyLookup func(ctx context.Context, accessKeyID string) (Secret, error)

// Signed is what a signed request or presigned URL says about itself.
type Signed struct {
	Presigned   bool
	Algorithm   SigningAlgorithm
	AccessKeyID string
	SigningTime time.Time
	ScopeDate   string // YYYYMMDD
	// Region is the credential scope's region (SigV4); RegionSet is
	// X-Amz-Region-Set, the regions a SigV4a signature is valid in.
	Region        string
	RegionSet     []string
	Service       string
	SignedHeaders []string
	Signature     string
	// Expires is the lifetime of a presigned URL (zero for header auth).
	Expires      time.Duration
	SessionToken string
	Host         string
}

// Expiry is when a presigned URL stops being valid (zero for header
// auth).
func (s *Signed) Expiry() time.Time {
	if !s.Presigned {
		return time.Time{}
	}
	return s.SigningTime.Add(s.Expires)
}

// Parse reads the SigV4 fields of a request: from its Authorization header
// or, for a presigned URL, its query. It checks form, not the signature.
func Parse(req *http.Request) (*Signed, error) {
	if auth := req.Header.Get("Authorization"); auth != "" {
		return parseHeaderAuth(req, auth)
	}
	q := req.URL.Query()
	if q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Algorithm") {
		s, err := parseQueryAuth(q)
		if err != nil {
			return nil, err
		}
		s.Host = req.Host
		if s.Host == "" {
			s.Host = req.URL.Host
		}
		return s, nil
	}
	return nil, refuse(ErrMalformed, "no Authorization header and no X-Amz-Signature query parameter")
}

// ParseURL reads a presigned URL. An RDS IAM token (host:port/?Action=...,
// no scheme) is accepted as well.
func ParseURL(raw string) (*Signed, *url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil, refuse(ErrMalformed, "empty token")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, refuse(ErrMalformed, "not a URL: %v", errors.Unwrap(err))
	}
	if u.RawQuery == "" {
		return nil, nil, refuse(ErrMalformed, "the URL has no query string, so it carries no signature")
	}
	s, err := parseQueryAuth(u.Query())
	if err != nil {
		return nil, nil, err
	}
	s.Host = u.Host
	return s, u, nil
}

func parseHeaderAuth(req *http.Request, auth string) (*Signed, error) {
	s := &Signed{Host: req.Host}
	rest, ok := strings.CutPrefix(auth, Algorithm+" ")
	if !ok {
		rest, ok = strings.CutPrefix(auth, AlgorithmV4a+" ")
		s.Algorithm = SigV4a
	}
	if !ok {
		alg, _, _ := strings.Cut(auth, " ")
		return nil, refuse(ErrMalformed, "Authorization header uses algorithm %q, want %s or %s", alg, Algorithm, AlgorithmV4a)
	}
	if s.Host == "" {
		s.Host = req.URL.Host
	}
	var cred, signed, sig string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	if cred == "" || signed == "" || sig == "" {
		return nil, refuse(ErrMalformed, "Authorization header lacks Credential, SignedHeaders or Signature")
	}
	if err := s.setCredential(cred); err != nil {
		return nil, err
	}
	s.SignedHeaders = strings.Split(signed, ";")
	s.Signature = sig
	s.SessionToken = req.Header.Get("X-Amz-Security-Token")
	if s.Algorithm == SigV4a {
		if !slices.Contains(s.SignedHeaders, "x-amz-region-set") {
			return nil, refuse(ErrMalformed, "a SigV4a signature must sign X-Amz-Region-Set (SignedHeaders=%s)", signed)
		}
		if err := s.setRegionSet(req.Header.Values("X-Amz-Region-Set")); err != nil {
			return nil, err
		}
	}
	date := req.Header.Get("X-Amz-Date")
	if date == "" {
		d := req.Header.Get("Date")
		if d == "" {
			return nil, refuse(ErrMalformed, "no X-Amz-Date or Date header")
		}
		t, err := http.ParseTime(d)
		if err != nil {
			return nil, refuse(ErrMalformed, "Date header %q is not an HTTP date", d)
		}
		s.SigningTime = t.UTC()
		return s, nil
	}
	t, err := time.Parse(timeFormat, date)
	if err != nil {
		return nil, refuse(ErrMalformed, "X-Amz-Date %q is not of the form 20060102T150405Z", date)
	}
	s.SigningTime = t
	return s, nil
}

func parseQueryAuth(q url.Values) (*Signed, error) {
	s := &Signed{Presigned: true}
	switch alg := q.Get("X-Amz-Algorithm"); alg {
	case Algorithm:
	case AlgorithmV4a:
		s.Algorithm = SigV4a
		if err := s.setRegionSet(q["X-Amz-Region-Set"]); err != nil {
			return nil, err
		}
	default:
		return nil, refuse(ErrMalformed, "X-Amz-Algorithm is %q, want %s or %s", alg, Algorithm, AlgorithmV4a)
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if q.Get(k) == "" {
			return nil, refuse(ErrMalformed, "query parameter %s is missing", k)
		}
	}
	if err := s.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	t, err := time.Parse(timeFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return nil, refuse(ErrMalformed, "X-Amz-Date %q is not of the form 20060102T150405Z", q.Get("X-Amz-Date"))
	}
	s.SigningTime = t
	e := q.Get("X-Amz-Expires")
	n, err := strconv.ParseInt(e, 10, 64)
	if err != nil || n < 1 || n > int64(MaxExpires/time.Second) {
		return nil, refuse(ErrMalformed, "X-Amz-Expires %q must be 1 to 604800 seconds", e)
	}
	s.Expires = time.Duration(n) * time.Second
	s.SignedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	s.Signature = q.Get("X-Amz-Signature")
	s.SessionToken = q.Get("X-Amz-Security-Token")
	return s, nil
}

func (s *Signed) setCredential(cred string) error {
	parts := strings.Split(cred, "/")
	if s.Algorithm == SigV4a {
		// The SigV4a scope names no region: the region set does.
		if len(parts) != 4 || parts[0] == "" {
			return refuse(ErrMalformed, "SigV4a credential %q is not KEYID/DATE/SERVICE/aws4_request", cred)
		}
		parts = []string{parts[0], parts[1], "", parts[2], parts[3]}
	} else if len(parts) != 5 || parts[0] == "" {
		return refuse(ErrMalformed, "credential %q is not KEYID/DATE/REGION/SERVICE/aws4_request", cred)
	}
	if parts[4] != "aws4_request" {
		return refuse(ErrWrongScope, "credential scope ends in %q, want aws4_request", parts[4])
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return refuse(ErrMalformed, "credential scope date %q is not YYYYMMDD", parts[1])
	}
	s.AccessKeyID, s.ScopeDate, s.Region, s.Service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// setRegionSet reads X-Amz-Region-Set, sent once: comma-separated region
// names or "*".
func (s *Signed) setRegionSet(vals []string) error {
	if len(vals) != 1 || strings.TrimSpace(vals[0]) == "" {
		return refuse(ErrMalformed, "a SigV4a signature needs one X-Amz-Region-Set, got %d", len(vals))
	}
	for _, r := range strings.Split(vals[0], ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			return refuse(ErrMalformed, "X-Amz-Region-Set %q holds an empty region", vals[0])
		}
		s.RegionSet = append(s.RegionSet, r)
	}
	return nil
}

// inRegionSet reports whether region is one of set or set holds "*".
func inRegionSet(set []string, region string) bool {
	return slices.Contains(set, region) || slices.Contains(set, "*")
}

// Verifier checks SigV4 and SigV4a signatures. A SigV4a signature is
// checked with the public key derived from the secret the Lookup returns;
// Region, when set, must be in its region set.
type Verifier struct {
	Lookup KeyLookup
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |signing time - now| for header auth and how far in
	// the future a presigned URL may be dated; zero means 15 minutes.
	MaxSkew time.Duration
	// Region and Service, when set, must match the credential scope; for
	// SigV4a, Region must be in the region set (or the set is "*").
	Region, Service string
	// DisablePathNormalization and DisableURIPathEscaping must match how
	// the client signed (implied for S3).
	DisablePathNormalization, DisableURIPathEscaping bool
	// MaxBodyBytes bounds how much of a body is read to hash it when the
	// request carries no X-Amz-Content-Sha256; zero means 10 MiB.
	MaxBodyBytes int64
	// UnsignedSessionToken verifies presigned URLs whose session token
	// was added after signing (AWS IoT).
	UnsignedSessionToken bool
	Keys                 *KeyCache
}

func (v *Verifier) keys() *KeyCache {
	if v.Keys == nil {
		return defaultKeys
	}
	return v.Keys
}

// Verify checks req's signature. It returns what the signature says about
// itself and nil when valid, or a *VerifyError saying why not. A body
// read for hashing is restored.
func (v *Verifier) Verify(ctx context.Context, req *http.Request) (*Signed, error) {
	s, err := Parse(req)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	if s.SigningTime.Format("20060102") != s.ScopeDate {
		return s, refuse(ErrWrongScope, "credential scope date %s is not the signing date %s", s.ScopeDate, s.SigningTime.Format("20060102"))
	}
	if v.Region != "" && s.Algorithm == SigV4 && s.Region != v.Region {
		return s, refuse(ErrWrongScope, "signed for region %q, this endpoint is %q", s.Region, v.Region)
	}
	if v.Region != "" && s.Algorithm == SigV4a && !inRegionSet(s.RegionSet, v.Region) {
		return s, refuse(ErrWrongScope, "signed for regions %s (X-Amz-Region-Set), this endpoint is %q", strings.Join(s.RegionSet, ","), v.Region)
	}
	if v.Service != "" && s.Service != v.Service {
		return s, refuse(ErrWrongScope, "signed for service %q, this endpoint is %q", s.Service, v.Service)
	}
	if s.Presigned {
		if s.SigningTime.After(now.Add(skew)) {
			return s, refuse(ErrNotYetValid, "signed at %s, %s ahead of this clock (%s); more than %s", s.SigningTime.Format(time.RFC3339), s.SigningTime.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), skew)
		}
		if exp := s.Expiry(); !now.Before(exp) {
			return s, refuse(ErrExpired, "signed at %s for %s, expired at %s (%s ago)", s.SigningTime.Format(time.RFC3339), s.Expires, exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second))
		}
	} else if d := now.Sub(s.SigningTime); d > skew || d < -skew {
		return s, refuse(ErrClockSkew, "signed at %s, this clock says %s (%s apart, more than %s)", s.SigningTime.Format(time.RFC3339), now.UTC().Format(time.RFC3339), absDur(d).Round(time.Second), skew)
	}
	for i := 1; i < len(s.SignedHeaders); i++ {
		if s.SignedHeaders[i-1] >= s.SignedHeaders[i] {
			return s, refuse(ErrMalformed, "SignedHeaders=%s is not sorted and free of duplicates, as SigV4 requires", strings.Join(s.SignedHeaders, ";"))
		}
	}
	if !slices.Contains(s.SignedHeaders, "host") {
		return s, refuse(ErrMalformed, "the host header is not signed (SignedHeaders=%s)", strings.Join(s.SignedHeaders, ";"))
	}
	if v.Lookup == nil {
		return s, refuse(ErrUnknownKey, "no key lookup configured")
	}
	sec, err := v.Lookup(ctx, s.AccessKeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return s, refuse(ErrUnknownKey, "access key %s is not known here", s.AccessKeyID)
		}
		return s, fmt.Errorf("look up access key %s: %w", s.AccessKeyID, err)
	}
	if sec.SessionToken != "" && s.SessionToken == "" {
		return s, refuse(ErrMissingSessionToken, "access key %s belongs to temporary credentials; the request must carry their session token (X-Amz-Security-Token)", s.AccessKeyID)
	}
	if s.SessionToken != "" && subtle.ConstantTimeCompare([]byte(s.SessionToken), []byte(sec.SessionToken)) != 1 {
		return s, refuse(ErrInvalidSessionToken, "the request's security token is not the one issued with access key %s", s.AccessKeyID)
	}
	hashes, err := v.payloadHashes(req, s)
	if err != nil {
		return s, err
	}
	var (
		der []byte // SigV4a: the ASN.1 signature
		pub *ecdsa.PublicKey
	)
	if s.Algorithm == SigV4a {
		if der, err = hex.DecodeString(s.Signature); err != nil || len(der) == 0 {
			return s, refuse(ErrMalformed, "the SigV4a signature is not a hex-encoded ASN.1 ECDSA signature")
		}
		k, err := v.keys().ecKey(s.AccessKeyID, sec.SecretAccessKey)
		if err != nil {
			return s, err
		}
		pub = &k.priv.PublicKey
	}
	var cr, sts string
	for i, h := range hashes {
		if s.Algorithm == SigV4a {
			c, t, err := v.CanonicalRequest(req, s, h)
			if err != nil {
				return s, err
			}
			digest := sha256.Sum256([]byte(t))
			if ecdsa.VerifyASN1(pub, digest[:], der) {
				return s, nil
			}
			if i == 0 {
				cr, sts = c, t
			}
			continue
		}
		c, t, sig, err := v.compute(req, s, sec.SecretAccessKey, h)
		if err != nil {
			return s, err
		}
		if subtle.ConstantTimeCompare([]byte(sig), []byte(s.Signature)) == 1 {
			return s, nil
		}
		if i == 0 {
			cr, sts = c, t
		}
	}
	// The expected signature is never shown: it would let whoever reads
	// this error send the request.
	e := refuse(ErrSignatureMismatch, "the request's signature does not match its canonical request for access key %s: check the secret key, and compare the canonical request and string to sign with the signer's", s.AccessKeyID)
	e.CanonicalRequest, e.StringToSign = cr, sts
	return s, e
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// payloadHashes lists the payload hashes a signer may have used, the most
// likely first.
func (v *Verifier) payloadHashes(req *http.Request, s *Signed) ([]string, error) {
	declared := req.Header.Get("X-Amz-Content-Sha256")
	if declared == UnsignedPayload || strings.HasPrefix(declared, "STREAMING-") {
		if !isS3(s.Service) {
			return nil, refuse(ErrMalformed, "X-Amz-Content-Sha256: %s is accepted by S3 only; this request is for %q", declared, s.Service)
		}
		return []string{declared}, nil
	}
	if declared == "" && s.Presigned && isS3(s.Service) {
		return []string{UnsignedPayload}, nil
	}
	body, err := v.bodyHash(req)
	if err != nil {
		return nil, err
	}
	if declared != "" {
		if declared != body {
			return nil, refuse(ErrPayloadHashMismatch, "X-Amz-Content-Sha256 is %s but the body's SHA-256 is %s", declared, body)
		}
		return []string{declared}, nil
	}
	if s.Presigned {
		// Presigned URLs are signed with the body hash by some signers and
		// with UNSIGNED-PAYLOAD by others.
		return []string{body, UnsignedPayload}, nil
	}
	return []string{body}, nil
}

// bodyHash hashes req's body, restoring it for later readers.
func (v *Verifier) bodyHash(req *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return EmptyPayloadHash, nil
	}
	limit := v.MaxBodyBytes
	if limit == 0 {
		limit = 10 << 20
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("read body to hash it: %w", err)
	}
	if int64(len(b)) > limit {
		return "", refuse(ErrBodyTooLargeForVerify, "more than %d bytes", limit)
	}
	return PayloadHash(b), nil
}

// CanonicalRequest computes, for a parsed signed request, the canonical
// request and string to sign the signer must have produced.
func (v *Verifier) CanonicalRequest(req *http.Request, s *Signed, payloadHash string) (canonicalRequest, stringToSign string, err error) {
	cr, sts, _, err := v.compute(req, s, "", payloadHash)
	return cr, sts, err
}

func (v *Verifier) compute(req *http.Request, s *Signed, secret, payloadHash string) (cr, sts, sig string, err error) {
	o := Options{
		Service: s.Service, Region: s.Region, Time: s.SigningTime,
		DisablePathNormalization: v.DisablePathNormalization,
		DisableURIPathEscaping:   v.DisableURIPathEscaping,
	}
	if isS3(o.Service) {
		o.DisablePathNormalization, o.DisableURIPathEscaping = true, true
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.setDate(s.SigningTime)

	for _, name := range s.SignedHeaders {
		e := sc.addName(name)
		switch name {
		case "host":
			e.one = s.Host
		case "content-length":
			if vs := req.Header.Values("Content-Length"); len(vs) > 0 {
				e.vals = vs
			} else if req.ContentLength >= 0 {
				e.one = strconv.FormatInt(req.ContentLength, 10)
			}
		default:
			vs := req.Header[textproto.CanonicalMIMEHeaderKey(name)]
			if vs == nil {
				for k, x := range req.Header {
					if strings.EqualFold(k, name) {
						vs = x
					}
				}
			}
			if vs == nil {
				return "", "", "", refuse(ErrSignatureMismatch, "signed header %q is not in the request", name)
			}
			e.vals = vs
		}
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	b := appendRequestLine(sc.cr, method, wirePath(req), &o)
	raw := req.URL.RawQuery
	if s.Presigned {
		raw = withoutParam(raw, "X-Amz-Signature")
		if v.UnsignedSessionToken {
			raw = withoutParam(raw, "X-Amz-Security-Token")
		}
	}
	sc.addQuery(raw, false)
	b = sc.appendQuery(b)
	b = append(b, '\n')
	b = sc.appendHeaders(b, nil)
	b = append(b, '\n')
	sc.cr = append(b, payloadHash...)
	if s.Algorithm == SigV4a {
		var scope [128]byte
		appendStringToSign(sc, AlgorithmV4a, appendScopeV4a(scope[:0], sc.date[:], s.Service))
		return string(sc.cr), string(sc.sts), "", nil
	}
	if secret == "" {
		sc.stringToSign(s.Region, s.Service)
		return string(sc.cr), string(sc.sts), "", nil
	}
	var id keyID
	id.accessKey, id.region, id.service = s.AccessKeyID, s.Region, s.Service
	copy(id.date[:], sc.date[:8])
	sc.finish(v.keys().get(id, secret))
	return string(sc.cr), string(sc.sts), string(sc.sig[:sc.sigN]), nil
}

// withoutParam removes every occurrence of a raw query parameter.
func withoutParam(raw, name string) string {
	var b strings.Builder
	for _, p := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(p, "=")
		if k == name || p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p)
	}
	return b.String()
}
