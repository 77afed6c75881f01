package dbproxy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
)

func TestTokenCacheRules(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := dbproxy.TokenRequest{Host: "db.abc.us-east-1.rds.amazonaws.com", Port: 5432, Region: "us-east-1", User: "app"}
	p := &provider{c: sessionCreds(now.Add(time.Hour))}
	tk := &dbproxy.Tokens{Credentials: p, Now: func() time.Time { return now }}
	get := func(r dbproxy.TokenRequest, refresh bool) dbproxy.Token {
		t.Helper()
		tok, err := tk.Token(context.Background(), r, refresh)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first := get(req, false)
	if first.Cached || !first.Expires.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("first token: cached %v, expires %v", first.Cached, first.Expires)
	}
	now = now.Add(13 * time.Minute)
	if tok := get(req, false); !tok.Cached || tok.Value != first.Value {
		t.Error("a token with 2 minutes left was not reused")
	}
	now = now.Add(90 * time.Second) // 30 s left
	if tok := get(req, false); tok.Cached || tok.Value == first.Value {
		t.Error("a token with 30 s left was reused")
	}
	second := get(req, false)
	if !second.Cached {
		t.Error("the new token was not cached")
	}
	other := req
	other.User = "report"
	if tok := get(other, false); tok.Cached {
		t.Error("a token for another user was reused")
	}
	// New credentials from the chain: a new token at once.
	p.set(sessionCreds(now.Add(time.Hour)))
	if tok := get(req, false); tok.Cached || tok.Value == second.Value {
		t.Error("a token signed by the previous credentials was reused")
	}
	third := get(req, false)
	if !third.Cached {
		t.Error("not cached")
	}
	// (Signed at the same instant with the same keys, a new token is
	// byte-identical: Cached tells them apart.)
	if refreshed := get(req, true); refreshed.Cached {
		t.Error("refresh reused the cached token")
	}
	if p.invalidated != 1 {
		t.Errorf("refresh invalidated the provider %d times, want 1", p.invalidated)
	}
	// Credentials that expire in 10 minutes: the token dies with them.
	p.set(sessionCreds(now.Add(10 * time.Minute)))
	tok := get(req, false)
	if !tok.Expires.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("token expires %v, want the credentials' expiry %v", tok.Expires, now.Add(10*time.Minute))
	}
	// Credentials the chain returns already expired sign nothing.
	p.set(sessionCreds(now.Add(-time.Second)))
	if _, err := tk.Token(context.Background(), req, false); !errors.Is(err, dbproxy.ErrExpiredSigner) {
		t.Errorf("expired credentials: err = %v, want ErrExpiredSigner", err)
	}
	// Static keys never expire: the token lives 15 minutes.
	p.set(creds.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "s"})
	if tok := get(req, false); !tok.Expires.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("static keys: token expires %v", tok.Expires)
	}
}
