package sigv4

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
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
	// AlgorithmV4a is the SigV4a algorithm name.
	AlgorithmV4a = "AWS4-ECDSA-P256-SHA256"
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
	// ErrNoCredentials: the credentials to sign with lack the access key
	// id or the secret. It wraps creds.ErrNoCredentials, so
	// errors.Is(err, creds.ErrNoCredentials) holds for it too.
	ErrNoCredentials = fmt.Errorf("%w: signing needs an access key id and a secret access key", creds.ErrNoCredentials)
	ErrNoRegion      = errors.New("no region")
	ErrNoService     = errors.New("no service")
	ErrExpires       = errors.New("expiry out of range: a presigned URL lives 1 second to 7 days (604800 seconds)")
)

// PayloadHash is the hex SHA-256 of body, as Options.PayloadHash and the
// X-Amz-Content-Sha256 header want it.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// SigningAlgorithm selects SigV4 or SigV4a.
type SigningAlgorithm uint8

const (
	// SigV4 (AWS4-HMAC-SHA256) signs for one region with an HMAC key
	// derived per day, region and service. It is the zero value.
	SigV4 SigningAlgorithm = iota
	// SigV4a (AWS4-ECDSA-P256-SHA256) signs for a set of regions with an
	// ECDSA P-256 key derived from the key pair.
	SigV4a
)

func (a SigningAlgorithm) String() string {
	switch a {
	case SigV4:
		return Algorithm
	case SigV4a:
		return AlgorithmV4a
	}
	return "SigningAlgorithm(" + strconv.Itoa(int(a)) + ")"
}

// Options says how to sign.
type Options struct {
	// Service and Region make the credential scope, e.g. "sts" and "us-east-1".
	Service string
	Region  string
	// Algorithm is SigV4 (the zero value) or SigV4a.
	Algorithm SigningAlgorithm
	// RegionSet lists the regions a SigV4a signature is valid in, sent as
	// X-Amz-Region-Set: region names or "*" for all; empty means Region
	// alone. SigV4 ignores it.
	RegionSet []string
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

// checkKeys says which part of c is missing, wrapping ErrNoCredentials.
func checkKeys(c *creds.Credentials) error {
	switch {
	case c.AccessKeyID == "" && c.SecretAccessKey == "":
		return fmt.Errorf("%w (both are empty)", ErrNoCredentials)
	case c.AccessKeyID == "":
		return fmt.Errorf("%w (the access key id is empty)", ErrNoCredentials)
	case c.SecretAccessKey == "":
		return fmt.Errorf("%w (the secret access key of %s is empty)", ErrNoCredentials, creds.RedactKeyID(c.AccessKeyID))
	}
	return nil
}

func (o *Options) check(c *creds.Credentials) error {
	if err := checkKeys(c); err != nil {
		return err
	}
	switch o.Algorithm {
	case SigV4:
		if o.Region == "" {
			return ErrNoRegion
		}
		if !validScopePart(o.Region) {
			return fmt.Errorf("region %q cannot be part of a credential scope", o.Region)
		}
	case SigV4a:
		if len(o.RegionSet) == 0 {
			if o.Region == "" {
				return ErrNoRegion
			}
			o.RegionSet = []string{o.Region}
		}
		for _, r := range o.RegionSet {
			if r == "" {
				return fmt.Errorf("%w: the SigV4a region set %q holds an empty name", ErrNoRegion, o.RegionSet)
			}
			if r != "*" && !validScopePart(r) {
				return fmt.Errorf("region %q cannot be in a SigV4a region set: use a region name or *", r)
			}
		}
	default:
		return fmt.Errorf("unknown signing algorithm %s", o.Algorithm)
	}
	if o.Service == "" {
		return ErrNoService
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
	return skipSafe(&scopeSafe, s, 0) == len(s)
}

// scopeSafe is unreserved but '~'.
var scopeSafe = func() safeBytes {
	t := unreservedSet
	t['~'] = 0
	return t
}()

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
// scratch.names and its value(s).
type hdr struct {
	nOff, nLen int
	vals       []string
	one        string // when vals == nil
}

// qpair is one query parameter, both halves SigV4-encoded in scratch.qb.
type qpair struct{ kOff, kLen, vOff, vLen int }

// scratch holds the buffers of one signature; pooled so that signing does
// not allocate.
type scratch struct {
	cr    []byte // canonical request
	sts   []byte // string to sign
	names []byte
	hdrs  []hdr
	qb    []byte
	qs    []qpair
	// sig holds the hex signature in sig[:sigN]: 64 digits for SigV4, at
	// most 144 (a 72-byte ASN.1 ECDSA signature) for SigV4a.
	sig  [144]byte
	sigN int
	date [16]byte
	// v4a: the request is signed with SigV4a, which adds X-Amz-Region-Set.
	v4a bool
	// dateUnix is the second sc.date was formatted for, to skip
	// formatting when signing many requests in the same second.
	dateUnix int64
	// shOff and shEnd delimit the signed-headers list in cr, as written by
	// appendHeaders.
	shOff, shEnd int
	// vals are header value slots for setHeaders, allocated valsChunk at a
	// time; a slot serves one signature and is not written after it.
	vals []string
}

// valsChunk is how many header values setHeaders allocates at once: one
// allocation serves several signatures, and a request kept alive keeps at
// most that many other values alive with it.
const valsChunk = 16

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
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
	sc.cr = sc.cr[:0]
	sc.sts = sc.sts[:0]
	sc.names = sc.names[:0]
	sc.hdrs = sc.hdrs[:0]
	sc.qb = sc.qb[:0]
	sc.qs = sc.qs[:0]
	sc.sigN = 0
	sc.v4a = false
	return sc
}

func putScratch(sc *scratch) {
	if cap(sc.cr) > 64<<10 || cap(sc.qb) > 64<<10 || cap(sc.names) > 64<<10 {
		return // do not keep outsized buffers
	}
	if len(sc.hdrs) > 0 {
		clear(sc.hdrs) // drop references to request strings
	}
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

// The headers the signer supplies itself, in canonical (sorted) order.
const (
	ownLength = iota // content-length
	ownHost
	ownContentHash // x-amz-content-sha256
	ownDate        // x-amz-date
	ownRegionSet   // x-amz-region-set (SigV4a)
	ownToken       // x-amz-security-token
	numOwn
)

var ownNames = [numOwn]string{"content-length", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-region-set", "x-amz-security-token"}

// ownPrefixes are ownNames with the colon that follows a header name.
var ownPrefixes = [numOwn]string{"content-length:", "host:", "x-amz-content-sha256:", "x-amz-date:", "x-amz-region-set:", "x-amz-security-token:"}

// ownLists holds the signed-headers list of each set of ownNames, indexed
// by ownHeaders.set, for a request with no header of its own.
var ownLists = func() (t [1 << numOwn]string) {
	for set := range t {
		for k, name := range ownNames {
			if set&(1<<k) != 0 {
				if t[set] != "" {
					t[set] += ";"
				}
				t[set] += name
			}
		}
	}
	return t
}()

// ownHeaders holds the values of the headers the signer supplies. They are
// kept apart from the request's headers (scratch.hdrs, which never hold
// these names) and merged with them in canonical order, so that the common
// request, with no header of its own, needs no sorting at all.
//
// The fields are set directly, not through methods: a store through a
// pointer would move the byte values, some on the stack, to the heap.
type ownHeaders struct {
	set uint8          // bit k: ownNames[k] is signed
	str [numOwn]string // string values
	raw [numOwn][]byte // byte values, used when not nil
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
	// A request that was signed before holds only the headers that
	// signature set: skip walking the map.
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
	sc.collectAll(h, skipContentHash)
}

// collectAll is collectHeaders walking the whole map. It reports whether
// h holds the key X-Amz-Security-Token.
func (sc *scratch) collectAll(h http.Header, skipContentHash bool) (hasToken bool) {
	for k, vs := range h {
		// Headers in canonical form that are never signed as they are.
		switch k {
		case "Authorization", "X-Amz-Date", "User-Agent", "Content-Length", "Host":
			continue
		case "X-Amz-Security-Token":
			hasToken = true
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
		case "x-amz-region-set":
			drop = sc.v4a // set by the signer from the options
		}
		if drop {
			sc.names = sc.names[:e.nOff]
			sc.hdrs = sc.hdrs[:len(sc.hdrs)-1]
			continue
		}
		e.vals = vs
	}
	return hasToken
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
	// Most values have no byte <= ' ' at all: check 8 bytes at a time.
	// (x - 0x2121...) &^ x & 0x8080... is not zero exactly when a byte of
	// x is below 0x21 ("has a byte less than n", Bit Twiddling Hacks).
	i := 0
	for ; i+8 <= n; i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		if (x-0x2121212121212121)&^x&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < n && v[i] > ' '; i++ {
	}
	if i == n {
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

// appendHeader appends one header of sc.hdrs as name:value\n.
func (sc *scratch) appendHeader(dst []byte, e *hdr) []byte {
	dst = append(dst, sc.name(e)...)
	dst = append(dst, ':')
	if e.vals == nil {
		dst = appendValue(dst, e.one)
	}
	for j, v := range e.vals {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = appendValue(dst, v)
	}
	return append(dst, '\n')
}

// appendHeaders appends the canonical headers of sc.hdrs (sorted) and own
// (which may be nil) and a blank line, then the signed-headers list, to
// dst, the canonical request; sc.shOff and sc.shEnd delimit the list.
//
// Here and below the buffers being written are local slices, appended to
// and returned: a slice stored back into the scratch, which is on the
// heap, at every append would cost a write barrier each time while the
// garbage collector runs.
func (sc *scratch) appendHeaders(dst []byte, own *ownHeaders) []byte {
	hs := sc.hdrs
	if own != nil && len(hs) == 0 {
		// The usual request: only the signer's own headers.
		for set := own.set; set != 0; set &= set - 1 {
			dst = own.appendHeader(dst, bits.TrailingZeros8(set))
		}
	} else {
		i := 0
		for k := 0; own != nil && k < numOwn; k++ {
			if own.set&(1<<k) == 0 {
				continue
			}
			for ; i < len(hs) && string(sc.name(&hs[i])) < ownNames[k]; i++ {
				dst = sc.appendHeader(dst, &hs[i])
			}
			dst = own.appendHeader(dst, k)
		}
		for ; i < len(hs); i++ {
			dst = sc.appendHeader(dst, &hs[i])
		}
	}
	dst = append(dst, '\n')
	sc.shOff = len(dst)
	dst = sc.appendSignedHeaders(dst, own)
	sc.shEnd = len(dst)
	return dst
}

// appendHeader appends the signer's own header k as name:value\n.
func (o *ownHeaders) appendHeader(dst []byte, k int) []byte {
	dst = append(dst, ownPrefixes[k]...)
	if v := o.raw[k]; v != nil {
		dst = append(dst, v...)
	} else {
		dst = appendValue(dst, o.str[k])
	}
	return append(dst, '\n')
}

// appendSignedHeaders appends the names of sc.hdrs (sorted) and own (which
// may be nil), in order and separated by ';'.
func (sc *scratch) appendSignedHeaders(dst []byte, own *ownHeaders) []byte {
	hs := sc.hdrs
	if own != nil && len(hs) == 0 {
		return append(dst, ownLists[own.set]...)
	}
	start := len(dst)
	name := func(dst []byte, n string) []byte {
		if len(dst) > start {
			dst = append(dst, ';')
		}
		return append(dst, n...)
	}
	i := 0
	for k := 0; own != nil && k < numOwn; k++ {
		if own.set&(1<<k) == 0 {
			continue
		}
		for ; i < len(hs) && string(sc.name(&hs[i])) < ownNames[k]; i++ {
			dst = name(dst, string(sc.name(&hs[i])))
		}
		dst = name(dst, ownNames[k])
	}
	for ; i < len(hs); i++ {
		dst = name(dst, string(sc.name(&hs[i])))
	}
	return dst
}

// canonicalRawQuery reports whether a raw query is a canonical query as it
// stands, and returns its last key: every parameter k=v with a non-empty
// key, only unreserved characters and %XX escapes (upper-case hex) of bytes
// that are not unreserved, sorted by key, then value. A query that is not
// is re-encoded and sorted instead.
func canonicalRawQuery(raw string) (lastKey string, ok bool) {
	var prevK, prevV string
	for start := 0; ; {
		eq, ok := scanEncoded(raw, start)
		if !ok || eq == start || eq == len(raw) || raw[eq] != '=' {
			return "", false
		}
		end, ok := scanEncoded(raw, eq+1)
		if !ok || (end < len(raw) && raw[end] != '&') {
			return "", false
		}
		k, v := raw[start:eq], raw[eq+1:end]
		if start > 0 && k[0] <= prevK[0] && (k < prevK || (k == prevK && v < prevV)) {
			return "", false
		}
		if end == len(raw) {
			return k, true
		}
		prevK, prevV, start = k, v, end+1
	}
}

// scanEncoded skips, from s[i], unreserved characters and %XX escapes as
// SigV4 writes them (upper-case hex, of a byte that is not unreserved). It
// returns where it stopped, and false at any other escape.
func scanEncoded(s string, i int) (int, bool) {
	for i < len(s) {
		i = skipSafe(&unreservedSet, s, i)
		if i == len(s) || s[i] != '%' {
			return i, true
		}
		if i+2 >= len(s) {
			return i, false
		}
		hi, lo := upperHexVal[s[i+1]], upperHexVal[s[i+2]]
		if hi|lo > 15 || unreserved[hi<<4|lo] {
			return i, false
		}
		i += 3
	}
	return i, true
}

// upperHexVal maps 0-9 and A-F to their value and every other byte to 0xff.
var upperHexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[upperHex[i]] = byte(i)
	}
	return t
}()

// addQuery splits a raw query and adds its parameters, re-encoded. With
// skipAuth, the presigning parameters (X-Amz-Signature and the like) are
// left out.
func (sc *scratch) addQuery(raw string, skipAuth bool) {
	qb, qs := sc.qb, sc.qs
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
		q.kOff = len(qb)
		qb = appendReencoded(qb, k)
		q.kLen = len(qb) - q.kOff
		q.vOff = len(qb)
		qb = appendReencoded(qb, v)
		q.vLen = len(qb) - q.vOff
		qs = append(qs, q)
	}
	sc.qb, sc.qs = qb, qs
}

func isAuthParam(k string) bool {
	switch k {
	case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
		"X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature":
		return true
	}
	return false
}

func (sc *scratch) qkey(q *qpair) string { return string(sc.qb[q.kOff : q.kOff+q.kLen]) }
func (sc *scratch) qval(q *qpair) string { return string(sc.qb[q.vOff : q.vOff+q.vLen]) }

// appendQuery sorts the parameters and appends the canonical query to dst.
func (sc *scratch) appendQuery(dst []byte) []byte { return sc.appendQueryMerged(dst, nil) }

func (sc *scratch) qless(a, b *qpair) bool {
	ka, kb := sc.qkey(a), sc.qkey(b)
	return ka < kb || (ka == kb && sc.qval(a) < sc.qval(b))
}

// appendQueryMerged sorts sc.qs and appends the canonical query of sc.qs
// and extra, which is sorted already, to dst.
func (sc *scratch) appendQueryMerged(dst []byte, extra []qpair) []byte {
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
			dst = append(dst, '&')
		}
		dst = append(dst, sc.qb[q.kOff:q.kOff+q.kLen]...)
		dst = append(dst, '=')
		dst = append(dst, sc.qb[q.vOff:q.vOff+q.vLen]...)
	}
	return dst
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

// stringToSign hashes the canonical request and builds the string to sign
// in sc.sts.
func (sc *scratch) stringToSign(region, service string) {
	var scope [128]byte
	appendStringToSign(sc, Algorithm, appendScope(scope[:0], sc.date[:], region, service))
}

// appendStringToSign is stringToSign with the algorithm and credential
// scope given.
func appendStringToSign[T string | []byte](sc *scratch, alg string, scope T) {
	crHash := sum256(sc.cr)
	sts := append(sc.sts, alg...)
	sts = append(sts, '\n')
	sts = append(sts, sc.date[:]...)
	sts = append(sts, '\n')
	sts = append(sts, scope...)
	sts = append(sts, '\n')
	n := len(sts)
	sts = append(sts, make([]byte, 64)...)
	hexEncode(sts[n:], &crHash)
	sc.sts = sts
}

// hexTable maps a byte to its two lower-case hex digits, as a
// little-endian uint16.
var hexTable = func() (t [256]uint16) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = uint16(digits[i>>4]) | uint16(digits[i&15])<<8
	}
	return t
}()

// hexEncode writes the 64 lower-case hex digits of src to dst.
func hexEncode(dst []byte, src *[32]byte) {
	_ = dst[63]
	for i := 0; i < 32; i += 4 {
		v := uint64(hexTable[src[i]]) | uint64(hexTable[src[i+1]])<<16 |
			uint64(hexTable[src[i+2]])<<32 | uint64(hexTable[src[i+3]])<<48
		binary.LittleEndian.PutUint64(dst[2*i:], v)
	}
}

// finish builds the string to sign and writes the hex signature into
// sc.sig.
func (sc *scratch) finish(ks *keyState) {
	appendStringToSign(sc, Algorithm, ks.scope)
	var mac [32]byte
	ks.sum(&mac, sc.sts)
	hexEncode(sc.sig[:], &mac)
	sc.sigN = 64
}

// appendScopeV4a appends date/service/aws4_request, the SigV4a
// credential scope, which names no region.
func appendScopeV4a(dst []byte, date []byte, service string) []byte {
	dst = append(dst, date[:8]...)
	dst = append(dst, '/')
	dst = append(dst, service...)
	return append(dst, "/aws4_request"...)
}

// finishV4a builds the SigV4a string to sign for scope and writes the hex
// ASN.1 ECDSA signature of its SHA-256 into sc.sig.
func (sc *scratch) finishV4a(k *ecKey, scope []byte) error {
	appendStringToSign(sc, AlgorithmV4a, scope)
	digest := sum256(sc.sts)
	der, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		return fmt.Errorf("sigv4a: sign: %w", err)
	}
	if 2*len(der) > len(sc.sig) {
		return fmt.Errorf("sigv4a: signature of %d bytes, want at most %d", len(der), len(sc.sig)/2)
	}
	sc.sigN = hex.Encode(sc.sig[:], der)
	return nil
}

// regionSetValue is X-Amz-Region-Set's value; o has been checked.
func (o *Options) regionSetValue() string {
	if len(o.RegionSet) == 1 {
		return o.RegionSet[0]
	}
	return strings.Join(o.RegionSet, ",")
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
	if u.RawPath == "" && u.Path == "/" {
		return "/" // what EscapedPath returns, without its scan
	}
	return u.EscapedPath()
}

// appendRequestLine appends the method and canonical URI lines.
func appendRequestLine(dst []byte, method, wirePath string, o *Options) []byte {
	dst = append(dst, method...)
	if method == "" {
		dst = append(dst, "GET"...)
	}
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, wirePath, !o.DisablePathNormalization, !o.DisableURIPathEscaping)
	return append(dst, '\n')
}

// Sign adds X-Amz-Date, Authorization and, for temporary credentials,
// X-Amz-Security-Token (and X-Amz-Content-Sha256 for S3) to req, and with
// o.Algorithm SigV4a X-Amz-Region-Set. It signs the host, content-length
// when known, and every header of req except Authorization, User-Agent,
// X-Amzn-Trace-Id, Expect, Transfer-Encoding and Connection. Signing
// again replaces what an earlier signature added: a SigV4 signature drops
// the X-Amz-Region-Set of a SigV4a one.
func (s *Signer) Sign(req *http.Request, c creds.Credentials, o Options) error {
	if err := o.check(&c); err != nil {
		return err
	}
	if o.PayloadHash == "" {
		o.PayloadHash = EmptyPayloadHash
	}
	contentHash := o.ContentSHA256Header || isS3(o.Service)

	sc := getScratch()
	defer putScratch(sc)
	sc.setDate(o.Time)
	var (
		ks       *keyState
		ek       *ecKey
		scopeBuf [128]byte
		scope    []byte // SigV4a
	)
	if o.Algorithm == SigV4a {
		var err error
		if ek, err = s.keys().ecKey(c.AccessKeyID, c.SecretAccessKey); err != nil {
			return err
		}
		sc.v4a = true
		scope = appendScopeV4a(scopeBuf[:0], sc.date[:], o.Service)
	} else {
		ks = sc.keyFor(s, &c, &o)
	}

	// Send the Host that is signed: without a default port.
	host := hostOf(req)
	req.Host = host
	var own ownHeaders
	own.set |= 1 << ownHost
	own.str[ownHost] = host
	var nb [20]byte
	if req.ContentLength > 0 {
		own.set |= 1 << ownLength
		own.raw[ownLength] = strconv.AppendInt(nb[:0], req.ContentLength, 10)
	}
	own.set |= 1 << ownDate
	own.raw[ownDate] = sc.date[:]
	if sc.v4a {
		own.set |= 1 << ownRegionSet
		own.str[ownRegionSet] = o.regionSetValue()
	}
	if c.SessionToken != "" && !o.UnsignedSessionToken {
		own.set |= 1 << ownToken
		own.str[ownToken] = c.SessionToken
	}
	if contentHash {
		own.set |= 1 << ownContentHash
		own.str[ownContentHash] = o.PayloadHash
	}
	// Set the headers the signature adds first, X-Amz-Date and
	// Authorization without their values yet: then a map holding no more
	// keys than those has no header to sign, and needs no walk.
	vals := sc.setHeaders(req, &c, &o, contentHash)
	if len(req.Header) > len(vals) {
		if !sc.v4a {
			// Left from a SigV4a signature: SigV4 sends no region set.
			delete(req.Header, "X-Amz-Region-Set")
		}
		if sc.collectAll(req.Header, contentHash) && c.SessionToken == "" {
			delete(req.Header, "X-Amz-Security-Token") // left from other credentials
		}
		sc.sortHeaders()
	}

	cr := appendRequestLine(sc.cr, req.Method, wirePath(req), &o)
	if raw := req.URL.RawQuery; raw != "" {
		if _, ok := canonicalRawQuery(raw); ok {
			cr = append(cr, raw...)
		} else {
			sc.addQuery(raw, false)
			cr = sc.appendQuery(cr)
		}
	}
	cr = append(cr, '\n')
	cr = sc.appendHeaders(cr, &own)
	cr = append(cr, '\n')
	sc.cr = append(cr, o.PayloadHash...)
	if ek != nil {
		if err := sc.finishV4a(ek, scope); err != nil {
			return err
		}
	} else {
		sc.finish(ks)
	}

	// One allocation holds the date and the Authorization value. It is
	// built in sc.sts, free once the signature is made, then copied.
	b := append(sc.sts[:0], sc.date[:]...)
	if ek != nil {
		b = append(b, AlgorithmV4a+" Credential="...)
		b = append(b, c.AccessKeyID...)
		b = append(b, '/')
		b = append(b, scope...)
		b = append(b, ", SignedHeaders="...)
	} else {
		b = append(b, ks.authPrefix...)
	}
	b = append(b, sc.cr[sc.shOff:sc.shEnd]...)
	b = append(b, ", Signature="...)
	b = append(b, sc.sig[:sc.sigN]...)
	all := string(b)
	sc.sts = b[:0]
	vals[0], vals[1] = all[:len(sc.date)], all[len(sc.date):]
	return nil
}

// setHeaders sets X-Amz-Date, Authorization and, as needed,
// X-Amz-Security-Token, X-Amz-Content-Sha256 and (SigV4a)
// X-Amz-Region-Set on req, and returns their
// values, held in one slice: those of X-Amz-Date and Authorization, first,
// are left for the caller to fill.
func (sc *scratch) setHeaders(req *http.Request, c *creds.Credentials, o *Options, contentHash bool) []string {
	n := 2
	if c.SessionToken != "" {
		n++
	}
	if contentHash {
		n++
	}
	if sc.v4a {
		n++
	}
	if len(sc.vals) < n {
		sc.vals = make([]string, valsChunk)
	}
	vals := sc.vals[:n:n]
	sc.vals = sc.vals[n:]
	h := req.Header
	if h == nil {
		h = make(http.Header, 4)
		req.Header = h
	}
	h["X-Amz-Date"] = vals[0:1:1]
	h["Authorization"] = vals[1:2:2]
	i := 2
	if c.SessionToken != "" {
		vals[i] = c.SessionToken
		h["X-Amz-Security-Token"] = vals[i : i+1 : i+1]
		i++
	}
	if contentHash {
		vals[i] = o.PayloadHash
		h["X-Amz-Content-Sha256"] = vals[i : i+1 : i+1]
		i++
	}
	if sc.v4a {
		vals[i] = o.regionSetValue()
		h["X-Amz-Region-Set"] = vals[i : i+1 : i+1]
	}
	return vals
}

// Presign returns req's URL with a SigV4 (or, with o.Algorithm SigV4a,
// SigV4a and X-Amz-Region-Set) signature in its query string.
// It signs the host and every header of req (the client must send them). The session token, if any,
// is signed unless o.UnsignedSessionToken.
func (s *Signer) Presign(req *http.Request, c creds.Credentials, o Options) (string, error) {
	scheme := req.URL.Scheme
	if scheme == "" {
		scheme = "https"
	}
	t := Target{
		Method: req.Method, Scheme: scheme, Host: hostOf(req), Path: wirePath(req),
		RawQuery: req.URL.RawQuery, Header: req.Header, ContentLength: req.ContentLength,
	}
	return s.presign(&t, &c, &o)
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
	return s.presign(&t, &c, &o)
}

// authParams locates the presigning parameters, written by
// appendAuthParams into scratch.qb in canonical order. The URL has them in
// another order, botocore's: the session token after the signed headers.
type authParams struct {
	start    int    // X-Amz-Algorithm ...
	fourEnd  int    // ... to the end of X-Amz-Expires (or X-Amz-Region-Set)
	tok      [2]int // X-Amz-Security-Token=..., when signed
	sh       [2]int // X-Amz-SignedHeaders=...
	unsigned [2]int // &X-Amz-Security-Token=..., when not signed (not canonical)
	pairs    [7]qpair
	n        int // len(pairs) in use
}

// appendAuthParams writes the presigning parameters into sc.qb, '&'
// separated and in canonical order, and returns where they are.
//
// alg and credential (encoded) are those of SigV4 or SigV4a; regionSet,
// for SigV4a only, is X-Amz-Region-Set's value.
func (sc *scratch) appendAuthParams(alg, credential, regionSet string, c *creds.Credentials, o *Options, own *ownHeaders, signToken bool) (a authParams) {
	b := sc.qb
	a.start = len(b)
	param := func(b []byte, k string) []byte {
		if len(b) > a.start {
			b = append(b, '&')
		}
		a.pairs[a.n] = qpair{kOff: len(b), kLen: len(k), vOff: len(b) + len(k) + 1}
		b = append(b, k...)
		return append(b, '=')
	}
	end := func(b []byte) {
		q := &a.pairs[a.n]
		q.vLen = len(b) - q.vOff
		a.n++
	}
	b = param(b, "X-Amz-Algorithm")
	b = append(b, alg...)
	end(b)
	b = param(b, "X-Amz-Credential")
	b = append(b, credential...)
	end(b)
	b = param(b, "X-Amz-Date")
	b = append(b, sc.date[:]...)
	end(b)
	b = param(b, "X-Amz-Expires")
	b = strconv.AppendInt(b, int64(o.Expires/time.Second), 10)
	end(b)
	if regionSet != "" {
		b = param(b, "X-Amz-Region-Set")
		b = appendEncoded(b, regionSet, false)
		end(b)
	}
	a.fourEnd = len(b)
	if signToken {
		b = param(b, "X-Amz-Security-Token")
		a.tok[0] = a.pairs[a.n].kOff
		b = appendEncoded(b, c.SessionToken, false)
		end(b)
		a.tok[1] = len(b)
	}
	b = param(b, "X-Amz-SignedHeaders")
	a.sh[0] = a.pairs[a.n].kOff
	var list [256]byte
	b = appendEncoded(b, sc.appendSignedHeaders(list[:0], own), false)
	end(b)
	a.sh[1] = len(b)
	if c.SessionToken != "" && !signToken {
		a.unsigned[0] = len(b)
		b = append(b, "&X-Amz-Security-Token="...)
		b = appendEncoded(b, c.SessionToken, false)
		a.unsigned[1] = len(b)
	}
	sc.qb = b
	return a
}

// presign implements Presign and PresignTarget; t, c and o are copies it
// may change.
func (s *Signer) presign(t *Target, c *creds.Credentials, o *Options) (string, error) {
	method, host, path, rawQuery := t.Method, t.Host, t.Path, t.RawQuery
	if t.Scheme != "" {
		host = stripDefaultPort(host, t.Scheme) // as clients send it
	}
	if path == "" {
		path = "/"
	}
	if err := o.check(c); err != nil {
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
	var (
		ks       *keyState
		ek       *ecKey
		scopeBuf [128]byte
		scope    []byte // SigV4a
	)
	alg, credential, regionSet := Algorithm, "", ""
	if o.Algorithm == SigV4a {
		var err error
		if ek, err = s.keys().ecKey(c.AccessKeyID, c.SecretAccessKey); err != nil {
			return "", err
		}
		scope = appendScopeV4a(scopeBuf[:0], sc.date[:], o.Service)
		var credBuf [192]byte
		cb := appendEncoded(credBuf[:0], c.AccessKeyID, false)
		cb = appendEncoded(cb, "/", false)
		alg, credential, regionSet = AlgorithmV4a, string(appendEncoded(cb, scope, false)), o.regionSetValue()
	} else {
		ks = sc.keyFor(s, c, o)
		credential = ks.credential
	}

	var own ownHeaders
	own.set |= 1 << ownHost
	own.str[ownHost] = host
	var nb [20]byte
	if t.ContentLength > 0 {
		own.set |= 1 << ownLength
		own.raw[ownLength] = strconv.AppendInt(nb[:0], t.ContentLength, 10)
	}
	if len(t.Header) > 0 {
		sc.collectHeaders(t.Header, false)
		sc.sortHeaders()
	}

	auth := sc.appendAuthParams(alg, credential, regionSet, c, o, &own, signToken)

	cr := appendRequestLine(sc.cr, method, path, o)
	// When the request's own parameters are canonical already and all sort
	// before the auth parameters (as any key starting with A to W does),
	// the canonical query is they, as they stand, then the auth parameters.
	lastKey, fast := "", rawQuery == ""
	if !fast {
		lastKey, fast = canonicalRawQuery(rawQuery)
		fast = fast && lastKey < "X-Amz-Algorithm"
	}
	if fast {
		if rawQuery != "" {
			cr = append(cr, rawQuery...)
			cr = append(cr, '&')
		}
		cr = append(cr, sc.qb[auth.start:auth.sh[1]]...)
	} else {
		sc.addQuery(rawQuery, true)
		cr = sc.appendQueryMerged(cr, auth.pairs[:auth.n])
	}
	cr = append(cr, '\n')
	cr = sc.appendHeaders(cr, &own)
	cr = append(cr, '\n')
	sc.cr = append(cr, o.PayloadHash...)
	if ek != nil {
		if err := sc.finishV4a(ek, scope); err != nil {
			return "", err
		}
	} else {
		sc.finish(ks)
	}

	// URL: prefix host path ? own-params & auth-params & X-Amz-Signature.
	prefix := ""
	if t.Scheme != "" {
		prefix = "://"
	}
	// Built in sc.sts, free once the signature is made, then copied.
	b := append(sc.sts[:0], t.Scheme...)
	b = append(b, prefix...)
	b = append(b, host...)
	b = append(b, path...)
	b = append(b, '?')
	if rawQuery != "" {
		n := len(b)
		if fast {
			b = append(b, rawQuery...)
		} else {
			b = appendOwnParams(b, rawQuery)
		}
		if len(b) > n {
			b = append(b, '&')
		}
	}
	b = append(b, sc.qb[auth.start:auth.fourEnd]...)
	b = append(b, '&')
	b = append(b, sc.qb[auth.sh[0]:auth.sh[1]]...)
	if signToken {
		b = append(b, '&')
		b = append(b, sc.qb[auth.tok[0]:auth.tok[1]]...)
	}
	b = append(b, sc.qb[auth.unsigned[0]:auth.unsigned[1]]...)
	b = append(b, "&X-Amz-Signature="...)
	b = append(b, sc.sig[:sc.sigN]...)
	presigned := string(b)
	sc.sts = b[:0]
	return presigned, nil
}

// appendOwnParams appends the raw query's parameters except auth
// parameters.
func appendOwnParams(dst []byte, raw string) []byte {
	n := len(dst)
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
		if len(dst) > n {
			dst = append(dst, '&')
		}
		dst = append(dst, p...)
	}
	return dst
}
