package dbproxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

// MinTokenLife is how long a cached token must still be valid for a
// login to reuse it.
const MinTokenLife = 60 * time.Second

// MinSignerLife is how long credentials must still be valid to sign a
// token, or for a token they signed to be reused: a login takes well
// under it.
const MinSignerLife = 5 * time.Second

// Token is an IAM authentication token and what it was signed with.
type Token struct {
	// Value is the password; it never appears in logs or errors.
	Value string
	// Expires is when RDS stops accepting the token: 15 minutes after
	// signing, or the signing credentials' expiry if that comes first.
	Expires time.Time
	// Signed is when it was signed.
	Signed time.Time
	// Signer describes the signing credentials (String redacts secrets).
	Signer creds.Credentials
	// Cached reports whether the token came from the cache.
	Cached bool
}

// TokenRequest says what a token is for.
type TokenRequest struct {
	Host   string
	Port   int
	Region string
	User   string
}

// tokenKey is the cache key: the target and the signing credentials'
// identity (a digest of the key pair and session token, so that two
// sessions sharing an access key id never share a token).
type tokenKey struct {
	host   string
	port   int
	region string
	user   string
	signer [sha256.Size]byte
}

// Invalidator is implemented by credential providers that can drop what
// they cache (creds.Cache does); the token cache calls it before the
// retry that follows an upstream authentication failure.
type Invalidator interface {
	Invalidate()
}

// Tokens mints and caches IAM tokens. It asks Credentials at every login,
// so credentials that changed (a laptop that slept, a rotated sidecar
// session) are picked up at once; a cached token is reused only while its
// 15 minutes have MinTokenLife left and the credentials that signed it
// are the ones the chain returns now, valid for MinSignerLife more.
type Tokens struct {
	Credentials creds.Provider
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnMint and OnHit, when set, are called for metrics.
	OnMint, OnHit func()

	builder rdsauth.Builder
	mu      sync.Mutex
	cache   map[tokenKey]Token
}

// ErrExpiredSigner reports credentials from the chain that have already
// expired (or expire within MinSignerLife): a token they sign is refused.
var ErrExpiredSigner = errors.New("the credentials from the chain have expired")

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now().Round(0)
	}
	return time.Now().Round(0)
}

// Token returns a token for r. With refresh, it first invalidates the
// credential provider's cache (when it has one) and ignores cached tokens.
func (t *Tokens) Token(ctx context.Context, r TokenRequest, refresh bool) (Token, error) {
	if refresh {
		if inv, ok := t.Credentials.(Invalidator); ok {
			inv.Invalidate()
		}
	}
	c, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		return Token{}, fmt.Errorf("resolving credentials for the IAM token: %w", err)
	}
	now := t.now()
	if c.CanExpire() && c.Expires.Sub(now) < MinSignerLife {
		return Token{Signer: c}, fmt.Errorf("%w: %v", ErrExpiredSigner, c)
	}
	k := tokenKey{host: r.Host, port: r.Port, region: r.Region, user: r.User, signer: signerID(c)}
	if !refresh {
		t.mu.Lock()
		tok, ok := t.cache[k]
		t.mu.Unlock()
		if ok && tok.Signed.Add(rdsauth.Lifetime).Sub(now) >= MinTokenLife {
			if t.OnHit != nil {
				t.OnHit()
			}
			tok.Cached = true
			return tok, nil
		}
	}
	v, err := t.builder.Token(rdsauth.Request{
		Endpoint: net.JoinHostPort(r.Host, strconv.Itoa(r.Port)),
		Region:   r.Region, User: r.User, Time: now,
	}, c)
	if err != nil {
		return Token{}, err
	}
	tok := Token{Value: v, Signed: now, Expires: now.Add(rdsauth.Lifetime), Signer: c}
	if c.CanExpire() && c.Expires.Before(tok.Expires) {
		tok.Expires = c.Expires
	}
	if t.OnMint != nil {
		t.OnMint()
	}
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[tokenKey]Token{}
	}
	for key, old := range t.cache { // drop what can no longer be used
		if old.Expires.Sub(now) < MinSignerLife || old.Signed.Add(rdsauth.Lifetime).Sub(now) < MinTokenLife {
			delete(t.cache, key)
		}
	}
	t.cache[k] = tok
	t.mu.Unlock()
	return tok, nil
}

func signerID(c creds.Credentials) [sha256.Size]byte {
	h := sha256.New()
	for _, s := range []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}
