package server

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/credkit/credkit/creds"
)

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

var _ http.Handler = (*ECS)(nil)

// ServeHTTP answers a GET of Path from loopback, to the endpoint's own
// address, with the token in Authorization.
func (e *ECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := localRefusal(r); why != "" {
		e.Stats.Refused.Add(1)
		jsonError(w, http.StatusForbidden, "AccessDenied", why)
		return
	}
	path := e.Path
	if path == "" {
		path = "/credentials"
	}
	if r.URL.Path != path {
		jsonError(w, http.StatusNotFound, "NotFound", "credentials are served at "+path)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		jsonError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
		return
	}
	if !equalSecret(r.Header.Get("Authorization"), e.Token) {
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
	enc := e.last.Load()
	if enc == nil || !enc.same(c) {
		enc = &encoded{c: c, body: encodeJSON(containerBody(c))}
		e.last.Store(enc)
	}
	w.Header().Set("Cache-Control", "no-store")
	write(w, http.StatusOK, contentJSON, enc.body)
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

// encoded is a JSON answer kept for as long as the values it was made of
// stay the same: servers answer the same cached credentials many times
// over, and encoding them is most of a handler's work.
type encoded struct {
	c    creds.Credentials // the fields the body shows
	sec  int64             // IMDS: the second of LastUpdated
	body []byte            // shared by every answer made from it: never modified
}

// same reports whether e encodes c: the fields an answer shows, compared
// as values.
func (e *encoded) same(c creds.Credentials) bool {
	return e.c.AccessKeyID == c.AccessKeyID && e.c.SecretAccessKey == c.SecretAccessKey &&
		e.c.SessionToken == c.SessionToken && e.c.AccountID == c.AccountID && e.c.Expires.Equal(c.Expires)
}
