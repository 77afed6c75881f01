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
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
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

// Server is a running loopback HTTP server.
type Server struct {
	URL string // http://127.0.0.1:PORT
	ln  net.Listener
	srv *http.Server
	err chan error
}

// Listen starts h on addr, which must be a loopback address ("" means
// 127.0.0.1 on a random port).
func Listen(addr string, h http.Handler) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen address %q is not loopback: credential endpoints serve this machine only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		ln:  ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute},
		err: make(chan error, 1),
	}
	go func() { s.err <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the listener's address (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting up to the context's deadline for
// requests in flight.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.srv.Close()
	}
	return err
}

// guard holds the checks both endpoints share.
type guard struct {
	stats *Stats
}

// jsonError answers with a JSON error body, as the container endpoint's
// clients expect ({"code","message"}).
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// local refuses requests that are not from loopback or that name another
// host (a page using DNS rebinding would send its own host name).
func (g *guard) local(w http.ResponseWriter, r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !isLoopbackIP(host) {
		g.stats.Refused.Add(1)
		jsonError(w, http.StatusForbidden, "AccessDenied", "credentials are served to this machine only")
		return false
	}
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	if h != "localhost" && !isLoopbackIP(h) {
		g.stats.Refused.Add(1)
		jsonError(w, http.StatusForbidden, "AccessDenied", "unexpected Host header: this endpoint answers to 127.0.0.1 and localhost only")
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

// Header names as stored in http.Header (canonical), so that looking them
// up does not canonicalise, and allocate, on every request.
const (
	headerAuthorization = "Authorization"
	headerIMDSToken     = "X-Aws-Ec2-Metadata-Token" // X-aws-ec2-metadata-token
)

// headerValue is r.Header.Get(key) for a canonical key.
func headerValue(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// encoded is a JSON answer kept for as long as the values it was made of
// stay the same: servers answer the same cached credentials many times
// over, and encoding them is most of a handler's work.
type encoded struct {
	c    creds.Credentials // the fields the body shows
	sec  int64             // IMDS: the second of LastUpdated
	body []byte
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

// writeJSON answers 200 with a JSON body made earlier.
func writeJSON(w http.ResponseWriter, body []byte, noStore bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if noStore {
		h.Set("Cache-Control", "no-store")
	}
	w.Write(body)
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
}

// Handler returns the HTTP handler.
func (e *ECS) Handler() http.Handler {
	g := &guard{stats: &e.Stats}
	path := e.Path
	if path == "" {
		path = "/credentials"
	}
	var last atomic.Pointer[encoded] // the last answer, for the next one
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.local(w, r) {
			return
		}
		if r.URL.Path != path {
			jsonError(w, http.StatusNotFound, "NotFound", "credentials are served at "+path)
			return
		}
		if r.Method != http.MethodGet {
			jsonError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
			return
		}
		if !equalSecret(headerValue(r, headerAuthorization), e.Token) {
			e.Stats.Refused.Add(1)
			jsonError(w, http.StatusUnauthorized, "Unauthorized", "missing or wrong Authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN)")
			return
		}
		c, err := e.Provider.Retrieve(r.Context())
		if err != nil {
			e.Stats.Failed.Add(1)
			jsonError(w, http.StatusServiceUnavailable, "CredentialsUnavailable", err.Error())
			return
		}
		e.Stats.Served.Add(1)
		enc := last.Load()
		if enc == nil || !enc.same(c) {
			enc = &encoded{c: c, body: encodeJSON(containerBody(c))}
			last.Store(enc)
		}
		writeJSON(w, enc.body, true)
	})
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
	tokens map[string]time.Time // session token -> expiry
}

// MaxTokenTTL is the longest IMDSv2 session token, as on EC2.
const MaxTokenTTL = 6 * time.Hour

func (m *IMDS) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Handler returns the HTTP handler.
func (m *IMDS) Handler() http.Handler {
	g := &guard{stats: &m.Stats}
	role := m.Role
	if role == "" {
		role = "credkit"
	}
	credsPath := "/latest/meta-data/iam/security-credentials/" + role
	var last atomic.Pointer[encoded] // the last credentials answer
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.local(w, r) {
			return
		}
		if r.URL.Path == "/latest/api/token" {
			m.token(w, r)
			return
		}
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if !m.validToken(headerValue(r, headerIMDSToken)) {
			m.Stats.Refused.Add(1)
			w.WriteHeader(http.StatusUnauthorized) // IMDSv2 only: no token, no answer
			return
		}
		switch p := r.URL.Path; p {
		case "/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials":
			fmt.Fprint(w, role)
		case credsPath:
			c, err := m.Provider.Retrieve(r.Context())
			if err != nil {
				m.Stats.Failed.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				json.NewEncoder(w).Encode(map[string]string{"Code": "CredentialsUnavailable", "Message": err.Error(), "LastUpdated": m.now().UTC().Format(time.RFC3339)})
				return
			}
			m.Stats.Served.Add(1)
			// LastUpdated (and the made-up expiry of credentials that do
			// not expire) count in seconds: one encoding per second at
			// most for the same credentials.
			now := m.now()
			sec := now.Unix()
			enc := last.Load()
			if enc == nil || enc.sec != sec || !enc.same(c) {
				enc = &encoded{c: c, sec: sec, body: encodeJSON(imdsBody(c, now))}
				last.Store(enc)
			}
			writeJSON(w, enc.body, false)
		case "/latest/dynamic/instance-identity/document":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"region": m.Region, "accountId": m.AccountID, "instanceId": "i-credkit", "availabilityZone": m.Region + "a"})
		case "/latest/meta-data/placement/region":
			fmt.Fprint(w, m.Region)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
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

func (m *IMDS) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		m.Stats.Refused.Add(1)
		w.WriteHeader(http.StatusForbidden) // as IMDS: a proxied token request
		return
	}
	ttlHeader := r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
	var ttl int
	if _, err := fmt.Sscanf(ttlHeader, "%d", &ttl); err != nil || ttl < 1 || time.Duration(ttl)*time.Second > MaxTokenTTL || strings.TrimSpace(ttlHeader) != fmt.Sprint(ttl) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	tok, err := NewToken()
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	now := m.now()
	m.mu.Lock()
	if m.tokens == nil {
		m.tokens = map[string]time.Time{}
	}
	for t, exp := range m.tokens {
		if !now.Before(exp) {
			delete(m.tokens, t)
		}
	}
	m.tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
	m.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", ttlHeader)
	fmt.Fprint(w, tok)
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
