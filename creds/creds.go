// Package creds holds credkit's credentials value type.
//
// A Credentials value is what every source produces and every signer
// consumes. It never prints its secret: String, GoString and Format show the
// access key id and "(redacted)", so a credential that reaches a log line or
// an error message through %v, %+v, %#v or %s leaks nothing. Code that needs
// the secret reads the field by name.
//
// The package is standard library only; it is imported by the signer, the
// sources and the CLI.
package creds

import (
	"fmt"
	"time"
)

// Credentials is a set of AWS credentials and what is known about them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials (STS sessions,
	// instance profiles, SSO); empty for an IAM user's long-term keys.
	SessionToken string

	// Expires is when temporary credentials stop working; zero when unknown
	// or when they do not expire.
	Expires time.Time
	// Source names where the credentials came from, in words a person
	// understands, e.g. "environment" or "shared credentials file (profile dev)".
	Source string
	// AccountID is set when the source knows it.
	AccountID string
}

// HasKeys reports whether both the access key id and the secret are set.
func (c Credentials) HasKeys() bool {
	return c.AccessKeyID != "" && c.SecretAccessKey != ""
}

// Temporary reports whether these are session credentials (they carry a
// session token).
func (c Credentials) Temporary() bool { return c.SessionToken != "" }

// CanExpire reports whether an expiry time is known.
func (c Credentials) CanExpire() bool { return !c.Expires.IsZero() }

// Expired reports whether the credentials have expired at now.
func (c Credentials) Expired(now time.Time) bool {
	return c.CanExpire() && !now.Before(c.Expires)
}

// TimeLeft is the time until expiry at now; it is negative once expired and
// zero when the credentials do not expire.
func (c Credentials) TimeLeft(now time.Time) time.Duration {
	if !c.CanExpire() {
		return 0
	}
	return c.Expires.Sub(now)
}

// String shows the access key id and never the secret or the token.
func (c Credentials) String() string {
	s := RedactKeyID(c.AccessKeyID) + " (secret redacted"
	if c.SessionToken != "" {
		s += ", session token redacted"
	}
	s += ")"
	if c.Source != "" {
		s += " from " + c.Source
	}
	if c.CanExpire() {
		s += ", expires " + c.Expires.UTC().Format(time.RFC3339)
	}
	return s
}

// GoString is used by %#v; it redacts like String.
func (c Credentials) GoString() string { return "creds.Credentials{" + c.String() + "}" }

// Format makes every verb (%v, %+v, %s, %q, ...) print the redacted form.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		fmt.Fprint(f, c.String())
	}
}

// RedactKeyID shows an access key id in full: it is an identifier, not a
// secret, and AWS prints it in its own error messages. An empty id reads
// "(no access key)".
func RedactKeyID(id string) string {
	if id == "" {
		return "(no access key)"
	}
	return id
}
