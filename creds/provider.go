package creds

import (
	"context"
	"errors"
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

// Static is a Provider of fixed credentials (which may still carry an
// expiry: Retrieve refuses them once it has passed, given a clock).
type Static struct {
	Creds Credentials
}

// Retrieve returns the fixed credentials.
func (s Static) Retrieve(context.Context) (Credentials, error) { return s.Creds, nil }

// ErrExpired reports credentials whose expiry has passed.
var ErrExpired = errors.New("credentials expired")
