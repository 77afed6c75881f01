// Package server serves credentials to local programs over the two
// protocols the AWS SDKs already speak: the ECS container credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN) and EC2 instance metadata, IMDSv2
// (AWS_EC2_METADATA_SERVICE_ENDPOINT). A program that asks the endpoint on
// every refresh never holds expired credentials: the endpoint asks its
// creds.Provider (a refresh-ahead cache) each time.
//
// The endpoints listen on loopback only and refuse, with a JSON error and
// no credentials: a peer that is not loopback, a Host header that is not
// the listener's own (DNS rebinding), a missing or wrong authorization
// token (compared in constant time), an IMDS GET without a session token,
// and an IMDS token PUT carrying X-Forwarded-For (a proxied request).
//
// # The HTTP server
//
// Listen serves a Handler (*ECS, *IMDS) with a small HTTP/1.1 server
// written for these endpoints on package net, not with net/http, for two
// reasons:
//
//   - Cost per request. With 256 keep-alive clients on a 2-CPU virtual
//     machine (load_test.go, ECS endpoint, its lean "raw" client; medians
//     of about ten runs), net/http spent 30 us of CPU per request at full
//     load (39,000 req/s) and 47 us at 20,000 req/s, where the p99
//     latency was 5.8 ms; this server spends 15 us at full load (61,000
//     req/s) and 29 us at 20,000 req/s, p99 1.8 ms. What is left is
//     nearly all system calls (two reads, one write and about one
//     epoll_wait per request) and the scheduler's wake-ups. A connection
//     reads into one buffer, answers every request of one read with one
//     write, keeps its Request and Response, reuses the strings of header
//     values that repeat from one request to the next, and moves its idle
//     and write deadlines only once they are 1/16 of their timeout behind:
//     serving cached credentials allocates nothing.
//   - Start-up. A program that links this package does not link net/http,
//     crypto/tls and what they need: a program that starts a listener and
//     closes it ran in 8.3 ms from exec to exit instead of 10.4 ms when
//     this package used net/http (an empty Go program: 4.0 ms), and is
//     4.1 MB instead of 8.7 MB.
//
// Package server/nethttp serves a Handler from net/http instead, for
// programs that put the endpoints on an http.ServeMux.
//
// The server keeps connections alive (HTTP/1.1 unless "Connection:
// close"; HTTP/1.0 with "Connection: keep-alive"), answers pipelined
// requests in order, reads and drops request bodies with a Content-Length
// (MaxBodyBytes at most, else 413), sends "100 Continue" to a client that
// waits for it before sending a body, bounds the request line and headers
// (MaxHeaderBytes, else 431), closes connections idle for
// DefaultIdleTimeout and those whose request has not all arrived within
// DefaultHeaderTimeout of its first byte, and gives every answer a
// Content-Length. Header names are matched ignoring case; of a header
// handlers read that comes more than once, the first counts. Handlers see
// the path without the query, percent-decoded. It deliberately does not:
//
//   - read bodies sent with Transfer-Encoding (chunked): 501, and the
//     connection is closed; handlers never get a body at all;
//   - tolerate malformed requests, not even where RFC 9112 allows it:
//     lines that end in a bare LF or CR, continuation lines (obs-fold),
//     space before a header name's colon, two Host headers or none on
//     HTTP/1.1, control characters in header values, a target that is not
//     origin-form or absolute-form http(s) without user info, or that
//     holds non-ASCII bytes, a fragment or a bad %-escape: 400, and the
//     connection is closed;
//   - answer a request that timed out: the connection is closed, as
//     net/http does;
//   - cancel a handler whose client went away: handlers get the server's
//     context, which ends when Close stops waiting;
//   - speak TLS, HTTP/2 or Upgrade, send chunked or compressed answers,
//     or support HEAD beyond leaving out the body (the endpoints answer
//     it 405).
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credkit/credkit/creds"
)

// NewToken returns a fresh 256-bit token, hex-encoded.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Stats counts what an endpoint served.
type Stats struct {
	Served  atomic.Int64 // credentials handed out
	Refused atomic.Int64 // requests refused (auth, host, peer)
	Failed  atomic.Int64 // provider errors
}

// Content types of the answers.
const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
)

// jsonError answers with a JSON error body, as the container endpoint's
// clients expect ({"code","message"}).
func jsonError(w *Response, status int, code, msg string) {
	w.Status = status
	w.ContentType = contentJSON
	w.Body = encodeJSON(map[string]string{"code": code, "message": msg})
}

// local refuses requests that are not from loopback or that name another
// host (a page using DNS rebinding would send its own host name).
func local(stats *Stats, w *Response, r *Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !isLoopbackIP(host) {
		stats.Refused.Add(1)
		jsonError(w, 403, "AccessDenied", "credentials are served to this machine only")
		return false
	}
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if h != "localhost" && !isLoopbackIP(h) {
		stats.Refused.Add(1)
		jsonError(w, 403, "AccessDenied", "unexpected Host header: this endpoint answers to 127.0.0.1 and localhost only")
		return false
	}
	return true
}

// isLoopbackIP reports whether s is an IP address (net.ParseIP's syntax)
// on loopback. "127.0.0.1", what every request to the endpoints carries,
// is answered without parsing (net.ParseIP allocates).
func isLoopbackIP(s string) bool {
	if s == "127.0.0.1" {
		return true
	}
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}

// equalSecret compares a presented secret with the expected one in time
// that depends on their lengths only; an empty secret never matches.
// (crypto/subtle's compare on strings, without copying them to slices).
func equalSecret(a, b string) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// encoded is a JSON answer kept for as long as the values it was made of
// stay the same: servers answer the same cached credentials many times
// over, and encoding them is most of a handler's work.
type encoded struct {
	c    creds.Credentials // the fields the body shows
	sec  int64             // IMDS: the second of LastUpdated
	body []byte            // shared by every answer made from it: never modified
}

// same reports whether e encodes c: the fields an answer shows, compared
// as values (equal strings from the same cache share their bytes, so this
// is cheap).
func (e *encoded) same(c creds.Credentials) bool {
	return e.c.AccessKeyID == c.AccessKeyID && e.c.SecretAccessKey == c.SecretAccessKey &&
		e.c.SessionToken == c.SessionToken && e.c.AccountID == c.AccountID && e.c.Expires.Equal(c.Expires)
}

// encodeJSON is json.NewEncoder(&buf).Encode(v)'s output.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	return buf.Bytes()
}

// ECS serves the container credentials protocol.
type ECS struct {
	Provider creds.Provider
	// Token is the value clients send in Authorization (from
	// AWS_CONTAINER_AUTHORIZATION_TOKEN or its _FILE).
	Token string
	// Path the credentials are served at; "" means "/credentials".
	Path  string
	Stats Stats

	last atomic.Pointer[encoded] // the last answer, for the next one
}

// Serve answers one request: GET of Path with the token in Authorization.
func (e *ECS) Serve(ctx context.Context, w *Response, r *Request) {
	if !local(&e.Stats, w, r) {
		return
	}
	path := e.Path
	if path == "" {
		path = "/credentials"
	}
	if r.Path != path {
		jsonError(w, 404, "NotFound", "credentials are served at "+path)
		return
	}
	if r.Method != "GET" {
		jsonError(w, 405, "MethodNotAllowed", "use GET")
		return
	}
	if !equalSecret(r.Authorization, e.Token) {
		e.Stats.Refused.Add(1)
		jsonError(w, 401, "Unauthorized", "missing or wrong Authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN)")
		return
	}
	c, err := e.Provider.Retrieve(ctx)
	if err != nil {
		e.Stats.Failed.Add(1)
		jsonError(w, 503, "CredentialsUnavailable", err.Error())
		return
	}
	e.Stats.Served.Add(1)
	enc := e.last.Load()
	if enc == nil || !enc.same(c) {
		enc = &encoded{c: c, body: encodeJSON(containerBody(c))}
		e.last.Store(enc)
	}
	w.ContentType = contentJSON
	w.CacheControl = "no-store"
	w.Body = enc.body
}

type containerCreds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

func containerBody(c creds.Credentials) containerCreds {
	out := containerCreds{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken, AccountID: c.AccountID}
	if c.CanExpire() {
		out.Expiration = c.Expires.UTC().Format(time.RFC3339)
	}
	return out
}

// IMDS serves the credentials part of EC2 instance metadata, IMDSv2 only.
type IMDS struct {
	Provider creds.Provider
	// Role is the role name shown under iam/security-credentials/.
	Role string
	// Region and AccountID fill the instance identity document.
	Region, AccountID string
	Now               func() time.Time
	Stats             Stats

	mu     sync.Mutex
	tokens map[string]time.Time    // session token -> expiry
	last   atomic.Pointer[encoded] // the last credentials answer
}

// MaxTokenTTL is the longest IMDSv2 session token, as on EC2.
const MaxTokenTTL = 6 * time.Hour

// MaxTokens bounds the IMDSv2 session tokens an IMDS endpoint keeps, so
// that a local program asking for tokens in a loop cannot grow it without
// end; past it, the token closest to expiry is dropped.
const MaxTokens = 4096

func (m *IMDS) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

const (
	imdsTokenPath = "/latest/api/token"
	imdsCredsDir  = "/latest/meta-data/iam/security-credentials/"
)

// Serve answers one request: PUT of a session token, then GETs of the
// role's credentials and of a few other documents with that token.
func (m *IMDS) Serve(ctx context.Context, w *Response, r *Request) {
	if !local(&m.Stats, w, r) {
		return
	}
	// AWS_EC2_METADATA_SERVICE_ENDPOINT ends with "/" (some botocore
	// releases need it), and SDKs that add "/latest/..." to it ask for
	// "//latest/...": the same path.
	for len(r.Path) > 1 && r.Path[1] == '/' {
		r.Path = r.Path[1:]
	}
	if r.Path == imdsTokenPath {
		m.token(w, r)
		return
	}
	if r.Method != "GET" {
		w.Status = 405
		return
	}
	if !m.validToken(r.IMDSToken) {
		m.Stats.Refused.Add(1)
		w.Status = 401 // IMDSv2 only: no token, no answer
		return
	}
	role := m.Role
	if role == "" {
		role = "credkit"
	}
	switch p := r.Path; {
	case p == imdsCredsDir || p == imdsCredsDir[:len(imdsCredsDir)-1]:
		w.ContentType = contentText
		w.Body = []byte(role)
	case len(p) == len(imdsCredsDir)+len(role) && p[:len(imdsCredsDir)] == imdsCredsDir && p[len(imdsCredsDir):] == role:
		c, err := m.Provider.Retrieve(ctx)
		if err != nil {
			m.Stats.Failed.Add(1)
			w.Status = 503
			w.ContentType = contentJSON
			w.Body = encodeJSON(map[string]string{"Code": "CredentialsUnavailable", "Message": err.Error(), "LastUpdated": m.now().UTC().Format(time.RFC3339)})
			return
		}
		m.Stats.Served.Add(1)
		// LastUpdated (and the made-up expiry of credentials that do
		// not expire) count in seconds: one encoding per second at
		// most for the same credentials.
		now := m.now()
		sec := now.Unix()
		enc := m.last.Load()
		if enc == nil || enc.sec != sec || !enc.same(c) {
			enc = &encoded{c: c, sec: sec, body: encodeJSON(imdsBody(c, now))}
			m.last.Store(enc)
		}
		w.ContentType = contentJSON
		w.Body = enc.body
	case p == "/latest/dynamic/instance-identity/document":
		w.ContentType = contentJSON
		w.Body = encodeJSON(map[string]string{"region": m.Region, "accountId": m.AccountID, "instanceId": "i-credkit", "availabilityZone": m.Region + "a"})
	case p == "/latest/meta-data/placement/region":
		w.ContentType = contentText
		w.Body = []byte(m.Region)
	default:
		w.Status = 404
	}
}

// imdsBody is the credentials document of IMDS at now.
func imdsBody(c creds.Credentials, now time.Time) map[string]string {
	body := map[string]string{
		"Code": "Success", "LastUpdated": now.UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
		"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "Token": c.SessionToken,
	}
	if c.CanExpire() {
		body["Expiration"] = c.Expires.UTC().Format(time.RFC3339)
	} else {
		body["Expiration"] = now.Add(time.Hour).UTC().Format(time.RFC3339)
	}
	return body
}

// parseTTL reads a token lifetime in seconds: a positive decimal number
// without sign or leading zeros, at most MaxTokenTTL.
func parseTTL(s string) (time.Duration, bool) {
	if len(s) == 0 || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	ttl := time.Duration(n) * time.Second
	return ttl, ttl <= MaxTokenTTL
}

func (m *IMDS) token(w *Response, r *Request) {
	if r.Method != "PUT" {
		w.Status = 405
		return
	}
	if r.ForwardedFor {
		m.Stats.Refused.Add(1)
		w.Status = 403 // as IMDS: a proxied token request
		return
	}
	ttl, ok := parseTTL(r.IMDSTokenTTL)
	if !ok {
		w.Status = 400
		return
	}
	tok, err := NewToken()
	if err != nil {
		w.Status = 500
		return
	}
	now := m.now()
	m.mu.Lock()
	if m.tokens == nil {
		m.tokens = map[string]time.Time{}
	}
	if len(m.tokens) >= MaxTokens {
		// Expired tokens go first; if all are live, the one that would
		// expire soonest (its client asks for a new one on a 401, as
		// after any expiry).
		var soonest string
		var soonestExp time.Time
		for t, exp := range m.tokens {
			if !now.Before(exp) {
				delete(m.tokens, t)
			} else if soonest == "" || exp.Before(soonestExp) {
				soonest, soonestExp = t, exp
			}
		}
		if len(m.tokens) >= MaxTokens {
			delete(m.tokens, soonest)
		}
	}
	m.tokens[tok] = now.Add(ttl)
	m.mu.Unlock()
	w.ContentType = contentText
	w.TokenTTL = r.IMDSTokenTTL
	w.Body = []byte(tok)
}

func (m *IMDS) validToken(tok string) bool {
	if tok == "" {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.tokens[tok]
	return ok && m.now().Before(exp)
}
