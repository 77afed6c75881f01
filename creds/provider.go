package creds

import (
	"context"
	"errors"
	"time"
)

// Provider retrieves credentials. Implementations are safe for concurrent
// use. A client that asks its Provider on every use gets refreshed
// credentials; one that keeps the result of a single Retrieve holds a
// snapshot that dies with the session.
type Provider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// ProviderFunc adapts a function to Provider.
type ProviderFunc func(ctx context.Context) (Credentials, error)

// Retrieve calls f.
func (f ProviderFunc) Retrieve(ctx context.Context) (Credentials, error) { return f(ctx) }

// Static is a Provider of fixed credentials. They may carry an expiry
// (a session copied from somewhere): Retrieve refuses them once it has
// passed. Credentials without an expiry never expire.
//
// The expiry is checked against the wall clock (time.Now). Static holds no
// clock so that it stays comparable: providers are compared with ==, and a
// func field would make that panic. A program with its own clock checks
// Credentials.Expired itself, as a refreshing Cache does.
type Static struct {
	Creds Credentials
}

// Retrieve returns the fixed credentials, or, once their expiry has
// passed, an error wrapping ErrExpired that names the access key id and
// when it expired.
func (s Static) Retrieve(context.Context) (Credentials, error) {
	if s.Creds.Expired(time.Now()) {
		what := "static credentials " + RedactKeyID(s.Creds.AccessKeyID)
		if s.Creds.Source != "" {
			what += " from " + s.Creds.Source
		}
		return Credentials{}, expiredError{what: what, at: s.Creds.Expires}
	}
	return s.Creds, nil
}

// ErrExpired reports credentials whose expiry has passed.
var ErrExpired = errors.New("credentials expired")
