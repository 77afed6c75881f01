package sigv4

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credkit/credkit/creds"
)

const (
	// Algorithm is the SigV4 algorithm name.
	Algorithm = "AWS4-HMAC-SHA256"
	// UnsignedPayload stands for the payload hash when the body is not
	// signed (presigned URLs, S3 streaming uploads).
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// EmptyPayloadHash is the hex SHA-256 of an empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// MinExpires and MaxExpires bound the lifetime of a presigned URL.
	MinExpires = time.Second
	MaxExpires = 7 * 24 * time.Hour

	timeFormat = "20060102T150405Z"
)

// Errors returned for unusable input; wrapped with detail.
var (
	ErrNoCredentials = errors.New("no credentials: access key id and secret access key are required")
	ErrNoRegion      = errors.New("no region")
	ErrNoService     = errors.New("no service")
	ErrExpires       = errors.New("expiry out of range: a presigned URL lives 1 second to 7 days (604800 seconds)")
)

// Options says how to sign.
type Options struct {
	// Service and Region make the credential scope, e.g. "sts" and "us-east-1".
	Service string
	Region  string
	// Time is the signing time; the zero value means now.
	Time time.Time
	// PayloadHash is the hex SHA-256 of the body, or UnsignedPayload. Empty
	// means the hash of an empty body, except for a presigned S3 URL, where
	// it means UnsignedPayload.
	PayloadHash string
	// Expires is how long a presigned URL stays valid (1 s to 7 days);
	// zero means 15 minutes. Sign ignores it.
	Expires time.Duration

	// DisableURIPathEscaping signs the path exactly as sent instead of
	// encoding it once more; DisablePathNormalization keeps empty, "." and
	// ".." segments. Both are implied for S3 (service "s3",
	// "s3-object-lambda", "s3express").
	DisableURIPathEscaping   bool
	DisablePathNormalization bool
	// ContentSHA256Header adds a signed X-Amz-Content-Sha256 header with
	// the payload hash (implied for S3 by Sign).
	ContentSHA256Header bool
	// UnsignedSessionToken adds the session token after signing, outside
	// the signature, as AWS IoT requires.
	UnsignedSessionToken bool
}

func isS3(service string) bool {
	return service == "s3" || service == "s3-object-lambda" || service == "s3express"
}

func (o *Options) check(c *creds.Credentials) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return ErrNoCredentials
	}
	if o.Region == "" {
		return ErrNoRegion
	}
	if o.Service == "" {
		return ErrNoService
	}
	if !validScopePart(o.Region) {
		return fmt.Errorf("region %q cannot be part of a credential scope", o.Region)
	}
	if !validScopePart(o.Service) {
		return fmt.Errorf("service %q cannot be part of a credential scope: use letters, digits, '-', '_' or '.'", o.Service)
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if isS3(o.Service) {
		o.DisableURIPathEscaping = true
		o.DisablePathNormalization = true
	}
	return nil
}

// validScopePart reports whether s can stand in a credential scope and an
// Authorization header: letters, digits, '-', '_' and '.'.
func validScopePart(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !unreserved[c] || c == '~' {
			return false
		}
	}
	return true
}

// CheckExpires reports whether d is a valid presigned URL lifetime.
func CheckExpires(d time.Duration) error {
	if d < MinExpires || d > MaxExpires || d%time.Second != 0 {
		return fmt.Errorf("%w, got %s", ErrExpires, d)
	}
	return nil
}

// Signer signs requests. The zero value is ready to use and shares a
// process-wide signing-key cache.
type Signer struct {
	// Keys caches derived signing keys; nil means a shared default cache.
	Keys *KeyCache
}

var defaultKeys = NewKeyCache(0)

func (s *Signer) keys() *KeyCache {
	if s == nil || s.Keys == nil {
		return defaultKeys
	}
	return s.Keys
}

// hdr is one header of the canonical request: a lower-case name held in
// scratch.names and its value(s), which are either strings from the request
// or bytes in scratch.names.
type hdr struct {
	nOff, nLen int
	vals       []string
	one        string
	vOff, vLen int // when vals == nil and one == "": value bytes in names
}

// qpair is one query parameter, both halves SigV4-encoded in scratch.qb.
type qpair struct{ kOff, kLen, vOff, vLen int }

// scratch holds the buffers of one signature; pooled so that signing does
// not allocate.
type scratch struct {
	h     hash.Hash
	cr    []byte // canonical request
	sts   []byte // string to sign
	names []byte
	hdrs  []hdr
	qb    []byte
	qs    []qpair
	sig   [64]byte
	date  [16]byte
	mac   [32]byte
	tmp   [32]byte
	// dateUnix is the second sc.date was formatted for, to skip
	// formatting when signing many requests in the same second.
	dateUnix int64
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		h:     sha256.New(),
		cr:    make([]byte, 0, 1024),
		sts:   make([]byte, 0, 256),
		names: make([]byte, 0, 512),
		hdrs:  make([]hdr, 0, 16),
		qb:    make([]byte, 0, 512),
		qs:    make([]qpair, 0, 16),
	}
}}

func getScratch() *scratch {
	sc := scratchPool.Get().(*scratch)
	sc.cr, sc.sts, sc.names, sc.hdrs, sc.qb, sc.qs = sc.cr[:0], sc.sts[:0], sc.names[:0], sc.hdrs[:0], sc.qb[:0], sc.qs[:0]
	return sc
}

func putScratch(sc *scratch) {
	if cap(sc.cr) > 64<<10 || cap(sc.qb) > 64<<10 || cap(sc.names) > 64<<10 {
		return // do not keep outsized buffers
	}
	clear(sc.hdrs) // drop references to request strings
	scratchPool.Put(sc)
}

func (sc *scratch) name(h *hdr) []byte { return sc.names[h.nOff : h.nOff+h.nLen] }

// addName appends a header with a lower-cased copy of name and returns it.
func (sc *scratch) addName(name string) *hdr {
	off := len(sc.names)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		sc.names = append(sc.names, c)
	}
	sc.hdrs = append(sc.hdrs, hdr{nOff: off, nLen: len(name)})
	return &sc.hdrs[len(sc.hdrs)-1]
}

// addLowerName appends a header whose name is already lower case.
func (sc *scratch) addLowerName(name string) *hdr {
	off := len(sc.names)
	sc.names = append(sc.names, name...)
	sc.hdrs = append(sc.hdrs, hdr{nOff: off, nLen: len(name)})
	return &sc.hdrs[len(sc.hdrs)-1]
}

func (sc *scratch) addBytesValue(h *hdr, v []byte) {
	// h points into sc.hdrs, which does not grow here.
	h.vOff = len(sc.names)
	sc.names = append(sc.names, v...)
	h.vLen = len(v)
}

// ignoredHeader lists headers never signed: they are added or changed by
// proxies and transports, or carry the signature itself.
func ignoredHeader(lower []byte) bool {
	switch string(lower) {
	case "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "connection":
		return true
	}
	return false
}

// collectHeaders adds the request's own headers, skipping the ones the
// signer supplies itself (host, content-length, x-amz-date, and the token
// or content hash when synthesized).
func (sc *scratch) collectHeaders(h http.Header, skipContentHash bool) {
	// A request being signed again (a retry) holds only the headers a
	// previous signature set: skip walking the map.
	if len(h) <= 4 {
		own := 0
		if h["X-Amz-Date"] != nil {
			own++
		}
		if h["Authorization"] != nil {
			own++
		}
		if own < len(h) && h["X-Amz-Security-Token"] != nil {
			own++
		}
		if own < len(h) && skipContentHash && h["X-Amz-Content-Sha256"] != nil {
			own++
		}
		if own == len(h) {
			return
		}
	}
	for k, vs := range h {
		// Headers in canonical form that are never signed as they are.
		switch k {
		case "Authorization", "X-Amz-Date", "User-Agent", "Content-Length", "Host":
			continue
		}
		e := sc.addName(k)
		n := sc.name(e)
		drop := ignoredHeader(n)
		switch string(n) {
		case "host", "content-length", "x-amz-date":
			drop = true
		case "x-amz-security-token":
			drop = true // set by the signer from the credentials
		case "x-amz-content-sha256":
			drop = drop || skipContentHash
		}
		if drop {
			sc.names = sc.names[:e.nOff]
			sc.hdrs = sc.hdrs[:len(sc.hdrs)-1]
			continue
		}
		e.vals = vs
	}
}

func (sc *scratch) sortHeaders() {
	hs := sc.hdrs
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && string(sc.name(&hs[j])) < string(sc.name(&hs[j-1])); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
}

// appendValue appends a header value trimmed, with runs of whitespace
// folded into one space.
func appendValue(dst []byte, v string) []byte {
	if cleanValue(v) {
		return append(dst, v...)
	}
	space := false
	wrote := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			space = wrote
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
		wrote = true
	}
	return dst
}

// cleanValue reports whether v needs no trimming or folding.
func cleanValue(v string) bool {
	n := len(v)
	if n == 0 {
		return true
	}
	if v[0] == ' ' || v[n-1] == ' ' {
		return false
	}
	for i := 0; i < n; i++ {
		// v[i+1] exists: the last byte is not a space.
		if v[i] <= ' ' && (v[i] != ' ' || v[i+1] == ' ') {
			return false
		}
	}
	return true
}

// appendHeaders appends canonical headers and a blank line, then the
// signed-headers list, to sc.cr.
func (sc *scratch) appendHeaders() {
	for i := range sc.hdrs {
		e := &sc.hdrs[i]
		sc.cr = append(sc.cr, sc.name(e)...)
		sc.cr = append(sc.cr, ':')
		switch {
		case e.vals != nil:
			for j, v := range e.vals {
				if j > 0 {
					sc.cr = append(sc.cr, ',')
				}
				sc.cr = appendValue(sc.cr, v)
			}
		case e.one != "":
			sc.cr = appendValue(sc.cr, e.one)
		default:
			sc.cr = append(sc.cr, sc.names[e.vOff:e.vOff+e.vLen]...)
		}
		sc.cr = append(sc.cr, '\n')
	}
	sc.cr = append(sc.cr, '\n')
	sc.cr = sc.appendSignedHeaders(sc.cr)
}

func (sc *scratch) appendSignedHeaders(dst []byte) []byte {
	for i := range sc.hdrs {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, sc.name(&sc.hdrs[i])...)
	}
	return dst
}

func (sc *scratch) signedHeadersLen() int {
	n := len(sc.hdrs) - 1
	for i := range sc.hdrs {
		n += sc.hdrs[i].nLen
	}
	return n
}

// appendSortedRawQuery appends raw as the canonical query when it already
// is one: every parameter k=v with only unreserved characters, sorted. It
// reports false, appending nothing, otherwise.
func (sc *scratch) appendSortedRawQuery(raw string) bool {
	prevK, prevV := "", ""
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i < len(raw) && raw[i] != '&' {
			if c := raw[i]; !unreserved[c] && c != '=' {
				return false
			}
			continue
		}
		p := raw[start:i]
		eq := indexByte(p, '=')
		if eq <= 0 || indexByte(p[eq+1:], '=') >= 0 {
			return false
		}
		k, v := p[:eq], p[eq+1:]
		if start > 0 && (k < prevK || (k == prevK && v < prevV)) {
			return false
		}
		prevK, prevV, start = k, v, i+1
	}
	sc.cr = append(sc.cr, raw...)
	return true
}

// addQuery splits a raw query and adds its parameters, re-encoded.
// Parameters named in skip (exact, raw) are left out.
func (sc *scratch) addQuery(raw string, skipAuth bool) {
	for raw != "" {
		p := raw
		if i := indexByte(raw, '&'); i >= 0 {
			p, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		if p == "" {
			continue
		}
		k, v := p, ""
		if i := indexByte(p, '='); i >= 0 {
			k, v = p[:i], p[i+1:]
		}
		if skipAuth && isAuthParam(k) {
			continue
		}
		var q qpair
		q.kOff = len(sc.qb)
		sc.qb = appendReencoded(sc.qb, k)
		q.kLen = len(sc.qb) - q.kOff
		q.vOff = len(sc.qb)
		sc.qb = appendReencoded(sc.qb, v)
		q.vLen = len(sc.qb) - q.vOff
		sc.qs = append(sc.qs, q)
	}
}

func isAuthParam(k string) bool {
	switch k {
	case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
		"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature":
		return true
	}
	return false
}

// addParam adds a parameter whose key needs no encoding.
func (sc *scratch) addParam(k, v string) {
	q := qpair{kOff: len(sc.qb), kLen: len(k)}
	sc.qb = append(sc.qb, k...)
	q.vOff = len(sc.qb)
	sc.qb = appendEncoded(sc.qb, v, false)
	q.vLen = len(sc.qb) - q.vOff
	sc.qs = append(sc.qs, q)
}

// addCredentialParam adds X-Amz-Credential=KEYID/SCOPE.
func (sc *scratch) addCredentialParam(accessKey, region, service string) {
	q := qpair{kOff: len(sc.qb), kLen: len("X-Amz-Credential")}
	sc.qb = append(sc.qb, "X-Amz-Credential"...)
	q.vOff = len(sc.qb)
	sc.qb = appendEncoded(sc.qb, accessKey, false)
	sc.qb = append(sc.qb, "%2F"...)
	var scope [128]byte
	sc.qb = appendEncoded(sc.qb, appendScope(scope[:0], sc.date[:], region, service), false)
	q.vLen = len(sc.qb) - q.vOff
	sc.qs = append(sc.qs, q)
}

func (sc *scratch) addParamBytes(k string, v []byte) {
	q := qpair{kOff: len(sc.qb), kLen: len(k)}
	sc.qb = append(sc.qb, k...)
	q.vOff = len(sc.qb)
	sc.qb = appendEncoded(sc.qb, v, false)
	q.vLen = len(sc.qb) - q.vOff
	sc.qs = append(sc.qs, q)
}

func (sc *scratch) qkey(q *qpair) string { return string(sc.qb[q.kOff : q.kOff+q.kLen]) }
func (sc *scratch) qval(q *qpair) string { return string(sc.qb[q.vOff : q.vOff+q.vLen]) }

// appendQuery sorts the parameters and appends the canonical query.
func (sc *scratch) appendQuery() { sc.appendQueryMerged(nil) }

func (sc *scratch) qless(a, b *qpair) bool {
	ka, kb := sc.qkey(a), sc.qkey(b)
	return ka < kb || (ka == kb && sc.qval(a) < sc.qval(b))
}

// appendQueryMerged sorts sc.qs and appends the canonical query of sc.qs
// and extra, which is sorted already.
func (sc *scratch) appendQueryMerged(extra []qpair) {
	qs := sc.qs
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && sc.qless(&qs[j], &qs[j-1]); j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
	i, j := 0, 0
	for i < len(qs) || j < len(extra) {
		var q *qpair
		if j == len(extra) || (i < len(qs) && sc.qless(&qs[i], &extra[j])) {
			q = &qs[i]
			i++
		} else {
			q = &extra[j]
			j++
		}
		if i+j > 1 {
			sc.cr = append(sc.cr, '&')
		}
		sc.cr = append(sc.cr, sc.qb[q.kOff:q.kOff+q.kLen]...)
		sc.cr = append(sc.cr, '=')
		sc.cr = append(sc.cr, sc.qb[q.vOff:q.vOff+q.vLen]...)
	}
}

// setDate formats t into sc.date unless it holds that second already.
func (sc *scratch) setDate(t time.Time) {
	if u := t.Unix(); u != sc.dateUnix || sc.date[0] == 0 {
		appendDate(&sc.date, t)
		sc.dateUnix = u
	}
}

// appendDate writes t as 20060102T150405Z.
func appendDate(dst *[16]byte, t time.Time) {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	put := func(i, v, n int) {
		for k := n - 1; k >= 0; k-- {
			dst[i+k] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(4, int(mo), 2)
	put(6, d, 2)
	dst[8] = 'T'
	put(9, h, 2)
	put(11, mi, 2)
	put(13, s, 2)
	dst[15] = 'Z'
}

// appendScope appends date/region/service/aws4_request.
func appendScope(dst []byte, date []byte, region, service string) []byte {
	dst = append(dst, date[:8]...)
	dst = append(dst, '/')
	dst = append(dst, region...)
	dst = append(dst, '/')
	dst = append(dst, service...)
	return append(dst, "/aws4_request"...)
}

func scopeLen(region, service string) int {
	return 8 + 1 + len(region) + 1 + len(service) + len("/aws4_request")
}

// stringToSign hashes the canonical request and builds the string to sign
// in sc.sts.
func (sc *scratch) stringToSign(region, service string) {
	crHash := sha256.Sum256(sc.cr)
	sc.sts = append(sc.sts, Algorithm+"\n"...)
	sc.sts = append(sc.sts, sc.date[:]...)
	sc.sts = append(sc.sts, '\n')
	sc.sts = appendScope(sc.sts, sc.date[:], region, service)
	sc.sts = append(sc.sts, '\n')
	n := len(sc.sts)
	sc.sts = append(sc.sts, make([]byte, 64)...)
	hexEncode(sc.sts[n:], crHash[:])
}

// hexTable maps a byte to its two lower-case hex digits.
var hexTable = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

func hexEncode(dst, src []byte) {
	_ = dst[2*len(src)-1]
	for i, b := range src {
		dst[2*i], dst[2*i+1] = hexTable[b][0], hexTable[b][1]
	}
}

// finish builds the string to sign and writes the hex signature into
// sc.sig.
func (sc *scratch) finish(ks *keyState, region, service string) {
	sc.stringToSign(region, service)
	ks.sum(sc.h, sc.mac[:0], sc.tmp[:], sc.sts)
	hexEncode(sc.sig[:], sc.mac[:])
}

func (sc *scratch) keyFor(s *Signer, c *creds.Credentials, o *Options) *keyState {
	var id keyID
	id.accessKey, id.region, id.service = c.AccessKeyID, o.Region, o.Service
	copy(id.date[:], sc.date[:8])
	return s.keys().get(id, c.SecretAccessKey)
}

// hostOf returns the Host a request will carry, without a default port.
func hostOf(req *http.Request) string {
	h := req.Host
	if h == "" {
		h = req.URL.Host
	}
	return stripDefaultPort(h, req.URL.Scheme)
}

func stripDefaultPort(host, scheme string) string {
	if strings.HasSuffix(host, ":443") && scheme == "https" {
		return host[:len(host)-4]
	}
	if strings.HasSuffix(host, ":80") && scheme == "http" {
		return host[:len(host)-3]
	}
	return host
}

// wirePath is the path as it is written on the request line.
func wirePath(req *http.Request) string {
	u := req.URL
	if u.Opaque != "" {
		p := u.Opaque
		if strings.HasPrefix(p, "//") { // //host/path form
			if i := strings.IndexByte(p[2:], '/'); i >= 0 {
				return p[2+i:]
			}
			return "/"
		}
		return p
	}
	return u.EscapedPath()
}

func (sc *scratch) appendRequestLine(req *http.Request, o *Options) {
	sc.cr = append(sc.cr, req.Method...)
	if req.Method == "" {
		sc.cr = append(sc.cr, "GET"...)
	}
	sc.cr = append(sc.cr, '\n')
	sc.cr = appendCanonicalURI(sc.cr, wirePath(req), !o.DisablePathNormalization, !o.DisableURIPathEscaping)
	sc.cr = append(sc.cr, '\n')
}

// Sign adds X-Amz-Date, Authorization and, for temporary credentials,
// X-Amz-Security-Token (and X-Amz-Content-Sha256 for S3) to req. It signs
// the host, content-length when known, and every header of req except
// Authorization, User-Agent, X-Amzn-Trace-Id, Expect, Transfer-Encoding and
// Connection.
func (s *Signer) Sign(req *http.Request, c creds.Credentials, o Options) error {
	if err := o.check(&c); err != nil {
		return err
	}
	if o.PayloadHash == "" {
		o.PayloadHash = EmptyPayloadHash
	}
	contentHash := o.ContentSHA256Header || isS3(o.Service)
	signToken := c.SessionToken != "" && !o.UnsignedSessionToken

	sc := getScratch()
	defer putScratch(sc)
	sc.setDate(o.Time)
	ks := sc.keyFor(s, &c, &o)

	// Send the Host that is signed: without a default port.
	host := hostOf(req)
	req.Host = host
	sc.addLowerName("host").one = host
	if req.ContentLength > 0 {
		e := sc.addLowerName("content-length")
		var nb [20]byte
		sc.addBytesValue(e, strconv.AppendInt(nb[:0], req.ContentLength, 10))
	}
	sc.addBytesValue(sc.addLowerName("x-amz-date"), sc.date[:])
	if signToken {
		sc.addLowerName("x-amz-security-token").one = c.SessionToken
	}
	if contentHash {
		sc.addLowerName("x-amz-content-sha256").one = o.PayloadHash
	}
	if c.SessionToken == "" && req.Header != nil {
		delete(req.Header, "X-Amz-Security-Token") // left from other credentials
	}
	sc.collectHeaders(req.Header, contentHash)
	sc.sortHeaders()

	sc.appendRequestLine(req, &o)
	if raw := req.URL.RawQuery; raw != "" && !sc.appendSortedRawQuery(raw) {
		sc.addQuery(raw, false)
		sc.appendQuery()
	}
	sc.cr = append(sc.cr, '\n')
	sc.appendHeaders()
	sc.cr = append(sc.cr, '\n')
	sc.cr = append(sc.cr, o.PayloadHash...)
	sc.finish(ks, o.Region, o.Service)

	sc.setHeaders(req, &c, &o, contentHash)
	return nil
}

// setHeaders sets X-Amz-Date, Authorization and, as needed,
// X-Amz-Security-Token and X-Amz-Content-Sha256 with two allocations: one
// string holding the date and the Authorization value, one slice holding
// every value.
func (sc *scratch) setHeaders(req *http.Request, c *creds.Credentials, o *Options, contentHash bool) {
	const credPrefix = Algorithm + " Credential="
	b := sc.qb[:0] // qb is no longer needed
	b = append(b, sc.date[:]...)
	b = append(b, credPrefix...)
	b = append(b, c.AccessKeyID...)
	b = append(b, '/')
	b = appendScope(b, sc.date[:], o.Region, o.Service)
	b = append(b, ", SignedHeaders="...)
	b = sc.appendSignedHeaders(b)
	b = append(b, ", Signature="...)
	b = append(b, sc.sig[:]...)
	sc.qb = b

	var sb strings.Builder
	sb.Grow(len(b))
	sb.Write(b)
	all := sb.String()
	n := 2
	if c.SessionToken != "" {
		n++
	}
	if contentHash {
		n++
	}
	vals := make([]string, n)
	vals[0], vals[1] = all[:16], all[16:]
	if req.Header == nil {
		req.Header = make(http.Header, 4)
	}
	req.Header["X-Amz-Date"] = vals[0:1:1]
	req.Header["Authorization"] = vals[1:2:2]
	i := 2
	if c.SessionToken != "" {
		vals[i] = c.SessionToken
		req.Header["X-Amz-Security-Token"] = vals[i : i+1 : i+1]
		i++
	}
	if contentHash {
		vals[i] = o.PayloadHash
		req.Header["X-Amz-Content-Sha256"] = vals[i : i+1 : i+1]
	}
}

// Presign returns req's URL with a SigV4 signature in its query string.
// It signs the host and every header of req (the client must send them). The session token, if any,
// is signed unless o.UnsignedSessionToken.
func (s *Signer) Presign(req *http.Request, c creds.Credentials, o Options) (string, error) {
	scheme := req.URL.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return s.PresignTarget(Target{
		Method: req.Method, Scheme: scheme, Host: hostOf(req), Path: wirePath(req),
		RawQuery: req.URL.RawQuery, Header: req.Header, ContentLength: req.ContentLength,
	}, c, o)
}

// Target is a request to presign, given by parts.
type Target struct {
	Method string // empty means GET
	// Scheme starts the URL ("https" gives "https://host..."); empty
	// gives a URL without a scheme, as RDS IAM tokens are.
	Scheme string
	Host   string // host[:port] as sent in the Host header
	Path   string // as sent on the request line (escaped); empty means "/"
	// RawQuery holds the request's own parameters, kept in the URL as
	// given; X-Amz-* auth parameters in it are replaced.
	RawQuery      string
	Header        http.Header // signed; the client must send them
	ContentLength int64       // signed when > 0
}

// PresignTarget presigns a request given by parts; see Presign.
func (s *Signer) PresignTarget(t Target, c creds.Credentials, o Options) (string, error) {
	method, host, path, rawQuery := t.Method, t.Host, t.Path, t.RawQuery
	if t.Scheme != "" {
		host = stripDefaultPort(host, t.Scheme) // as clients send it
	}
	if path == "" {
		path = "/"
	}
	if err := o.check(&c); err != nil {
		return "", err
	}
	if o.Expires == 0 {
		o.Expires = 15 * time.Minute
	}
	if err := CheckExpires(o.Expires); err != nil {
		return "", err
	}
	if o.PayloadHash == "" {
		o.PayloadHash = EmptyPayloadHash
		if isS3(o.Service) {
			o.PayloadHash = UnsignedPayload
		}
	}
	signToken := c.SessionToken != "" && !o.UnsignedSessionToken
	if method == "" {
		method = "GET"
	}

	sc := getScratch()
	defer putScratch(sc)
	sc.setDate(o.Time)
	ks := sc.keyFor(s, &c, &o)

	sc.addLowerName("host").one = host
	if t.ContentLength > 0 {
		e := sc.addLowerName("content-length")
		var nb [20]byte
		sc.addBytesValue(e, strconv.AppendInt(nb[:0], t.ContentLength, 10))
	}
	if len(t.Header) > 0 {
		sc.collectHeaders(t.Header, false)
	}
	sc.sortHeaders()

	// Query: the request's own parameters and the auth parameters.
	sc.addQuery(rawQuery, true)
	firstAuth := len(sc.qs)
	sc.addParam("X-Amz-Algorithm", Algorithm)
	sc.addCredentialParam(c.AccessKeyID, o.Region, o.Service)
	sc.addParamBytes("X-Amz-Date", sc.date[:])
	var nb [20]byte
	sc.addParamBytes("X-Amz-Expires", strconv.AppendInt(nb[:0], int64(o.Expires/time.Second), 10))
	var sh [256]byte
	sc.addParamBytes("X-Amz-SignedHeaders", sc.appendSignedHeaders(sh[:0]))
	if signToken {
		sc.addParam("X-Amz-Security-Token", c.SessionToken)
	}
	authEnd := len(sc.qb)
	authStart := sc.qs[firstAuth].kOff

	sc.cr = append(sc.cr, method...)
	sc.cr = append(sc.cr, '\n')
	sc.cr = appendCanonicalURI(sc.cr, path, !o.DisablePathNormalization, !o.DisableURIPathEscaping)
	sc.cr = append(sc.cr, '\n')
	// The auth parameters keep their order for the URL below. Sorted, the
	// session token comes before the signed headers.
	var authOrder [6]qpair
	na := copy(authOrder[:], sc.qs[firstAuth:])
	sorted := authOrder
	if na == 6 {
		sorted[4], sorted[5] = sorted[5], sorted[4]
	}
	sc.qs = sc.qs[:firstAuth]
	sc.appendQueryMerged(sorted[:na])
	sc.cr = append(sc.cr, '\n')
	sc.appendHeaders()
	sc.cr = append(sc.cr, '\n')
	sc.cr = append(sc.cr, o.PayloadHash...)
	sc.finish(ks, o.Region, o.Service)

	// URL: prefix host path ? own-params & auth-params & X-Amz-Signature.
	var b strings.Builder
	prefix := ""
	if t.Scheme != "" {
		prefix = "://"
	}
	b.Grow(len(t.Scheme) + len(prefix) + len(host) + len(path) + 1 + len(rawQuery) + (authEnd - authStart) + 8*2 + len("X-Amz-Signature=") + 64 + len("&X-Amz-Security-Token=") + 3*len(c.SessionToken))
	b.WriteString(t.Scheme)
	b.WriteString(prefix)
	b.WriteString(host)
	b.WriteString(path)
	b.WriteByte('?')
	sep := false
	if rawQuery != "" {
		sep = writeOwnParams(&b, rawQuery)
	}
	for i := 0; i < na; i++ {
		q := &authOrder[i]
		if sep {
			b.WriteByte('&')
		}
		sep = true
		b.Write(sc.qb[q.kOff : q.kOff+q.kLen])
		b.WriteByte('=')
		b.Write(sc.qb[q.vOff : q.vOff+q.vLen])
	}
	if c.SessionToken != "" && !signToken {
		b.WriteString("&X-Amz-Security-Token=")
		b.Write(appendEncoded(sc.cr[:0], c.SessionToken, false))
	}
	b.WriteString("&X-Amz-Signature=")
	b.Write(sc.sig[:])
	return b.String(), nil
}

// writeOwnParams copies the raw query's parameters except auth parameters
// and reports whether it wrote any.
func writeOwnParams(b *strings.Builder, raw string) bool {
	wrote := false
	for raw != "" {
		p := raw
		if i := indexByte(raw, '&'); i >= 0 {
			p, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		if p == "" {
			continue
		}
		k := p
		if i := indexByte(p, '='); i >= 0 {
			k = p[:i]
		}
		if isAuthParam(k) {
			continue
		}
		if wrote {
			b.WriteByte('&')
		}
		b.WriteString(p)
		wrote = true
	}
	return wrote
}
