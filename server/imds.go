package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credkit/credkit/creds"
)

// IMDS serves the credentials part of EC2 instance metadata, IMDSv2 only.
type IMDS struct {
	Provider creds.Provider
	// Role is the role name shown under iam/security-credentials/; ""
	// means "credkit".
	Role string
	// Region and AccountID fill the instance identity document.
	Region, AccountID string
	Now               func() time.Time
	Stats             Stats

	mu     sync.Mutex
	tokens map[string]time.Time    // session token -> expiry
	last   atomic.Pointer[encoded] // the last credentials answer
}

var _ http.Handler = (*IMDS)(nil)

// MaxTokenTTL is the longest IMDSv2 session token, as on EC2.
const MaxTokenTTL = 6 * time.Hour

// MaxTokens bounds the IMDSv2 session tokens an IMDS endpoint keeps, so
// that a local program asking for tokens in a loop cannot grow it without
// end; past it, the token closest to expiry is dropped.
const MaxTokens = 4096

const (
	imdsTokenPath = "/latest/api/token"
	imdsCredsDir  = "/latest/meta-data/iam/security-credentials/"
)

func (m *IMDS) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *IMDS) role() string {
	if m.Role == "" {
		return "credkit"
	}
	return m.Role
}

// ServeHTTP answers a PUT of a session token, then GETs of the role's
// credentials and of a few other documents with that token.
func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := localRefusal(r); why != "" {
		m.Stats.Refused.Add(1)
		jsonError(w, http.StatusForbidden, "AccessDenied", why)
		return
	}
	// AWS_EC2_METADATA_SERVICE_ENDPOINT ends with "/" (some botocore
	// releases need it), and SDKs that add "/latest/..." to it ask for
	// "//latest/...": the same path.
	p := r.URL.Path
	for len(p) > 1 && p[1] == '/' {
		p = p[1:]
	}
	if p == imdsTokenPath {
		m.putToken(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		write(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	if !m.validToken(r.Header.Get("X-Aws-Ec2-Metadata-Token")) {
		m.Stats.Refused.Add(1)
		write(w, http.StatusUnauthorized, "", nil) // IMDSv2 only: no token, no answer
		return
	}
	role := m.role()
	switch {
	case p == imdsCredsDir || p == strings.TrimSuffix(imdsCredsDir, "/"):
		write(w, http.StatusOK, contentText, []byte(role))
	case p == imdsCredsDir+role:
		m.credentials(w, r)
	case p == "/latest/dynamic/instance-identity/document":
		write(w, http.StatusOK, contentJSON, encodeJSON(map[string]string{"region": m.Region, "accountId": m.AccountID, "instanceId": "i-credkit", "availabilityZone": m.Region + "a"}))
	case p == "/latest/meta-data/placement/region":
		write(w, http.StatusOK, contentText, []byte(m.Region))
	default:
		write(w, http.StatusNotFound, "", nil)
	}
}

// credentials answers the role's credentials document.
func (m *IMDS) credentials(w http.ResponseWriter, r *http.Request) {
	c, err := m.Provider.Retrieve(r.Context())
	if err != nil {
		m.Stats.Failed.Add(1)
		write(w, http.StatusServiceUnavailable, contentJSON, encodeJSON(map[string]string{"Code": "CredentialsUnavailable", "Message": err.Error(), "LastUpdated": m.now().UTC().Format(time.RFC3339)}))
		return
	}
	m.Stats.Served.Add(1)
	// LastUpdated (and the made-up expiry of credentials that do not
	// expire) count in seconds: one encoding per second at most for the
	// same credentials.
	now := m.now()
	sec := now.Unix()
	enc := m.last.Load()
	if enc == nil || enc.sec != sec || !enc.same(c) {
		enc = &encoded{c: c, sec: sec, body: encodeJSON(imdsBody(c, now))}
		m.last.Store(enc)
	}
	write(w, http.StatusOK, contentJSON, enc.body)
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

// parseTTL reads a token lifetime in seconds: a decimal number from 1 to
// MaxTokenTTL's seconds, without sign or leading zeros.
func parseTTL(s string) (time.Duration, bool) {
	if s == "" || s[0] == '0' || s[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, false
	}
	ttl := time.Duration(n) * time.Second
	return ttl, ttl <= MaxTokenTTL
}

func (m *IMDS) putToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		write(w, http.StatusMethodNotAllowed, "", nil)
		return
	}
	if _, proxied := r.Header["X-Forwarded-For"]; proxied {
		m.Stats.Refused.Add(1)
		write(w, http.StatusForbidden, "", nil) // as IMDS: a proxied token request
		return
	}
	ttlHeader := r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds")
	ttl, ok := parseTTL(ttlHeader)
	if !ok {
		write(w, http.StatusBadRequest, "", nil)
		return
	}
	tok, err := m.NewSessionToken(ttl)
	if err != nil {
		write(w, http.StatusInternalServerError, "", nil)
		return
	}
	w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttlHeader)
	write(w, http.StatusOK, contentText, []byte(tok))
}

// NewSessionToken issues an IMDSv2 session token living ttl (at most
// MaxTokenTTL), as a token PUT does. The lab uses it to answer IMDSv1
// requests.
func (m *IMDS) NewSessionToken(ttl time.Duration) (string, error) {
	ttl = min(ttl, MaxTokenTTL)
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
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
	return tok, nil
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
