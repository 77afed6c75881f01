// Package rdsauth builds RDS IAM database authentication tokens.
//
// A token is a SigV4-presigned URL without its scheme:
//
//	host:port/?Action=connect&DBUser=USER&X-Amz-Algorithm=...&X-Amz-Signature=...
//
// for service "rds-db", valid 15 minutes, with the session token signed
// when the credentials are temporary. The database checks it as the
// password of a TLS connection (MySQL clients need the cleartext plugin).
// BuildToken produces exactly what botocore's generate_db_auth_token does
// for the same inputs and time; aws-sdk-go-v2's BuildAuthToken differs only
// in the order of the query parameters.
package rdsauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
)

// Service is the SigV4 service name of RDS IAM authentication.
const Service = "rds-db"

// Lifetime is how long RDS accepts a token.
const Lifetime = 15 * time.Minute

// ErrEndpoint reports an endpoint that is not host:port.
var ErrEndpoint = errors.New("endpoint must be host:port, for example mydb.abc123.us-east-1.rds.amazonaws.com:5432")

// Request says what a token is for.
type Request struct {
	// Endpoint is host:port of the database; a scheme such as
	// "postgres://" is stripped. The port is required: it is signed.
	Endpoint string
	Region   string
	User     string
	// Time is the signing time; zero means now.
	Time time.Time
}

// Builder builds tokens; the zero value is ready and shares sigv4's
// signing-key cache.
type Builder struct {
	Signer sigv4.Signer
}

// BuildToken returns a token for r signed with c.
func BuildToken(r Request, c creds.Credentials) (string, error) {
	var b Builder
	return b.Token(r, c)
}

// Token returns a token for r signed with c.
func (b *Builder) Token(r Request, c creds.Credentials) (string, error) {
	host, err := Endpoint(r.Endpoint)
	if err != nil {
		return "", err
	}
	if err := sigv4.CheckRegion(r.Region); err != nil {
		return "", err
	}
	if r.User == "" {
		return "", errors.New("no database user: the token is bound to one DBUser")
	}
	return b.Signer.PresignTarget(sigv4.Target{
		Host:     host,
		RawQuery: "Action=connect&DBUser=" + sigv4.EncodeQueryComponent(r.User),
	}, c, sigv4.Options{
		Service:     Service,
		Region:      r.Region,
		Time:        r.Time,
		Expires:     Lifetime,
		PayloadHash: sigv4.EmptyPayloadHash,
	})
}

// Endpoint checks and normalizes a database endpoint to host:port. A URL
// form (postgres://user:password@host:port/db) is accepted for its host and
// port; its user information never appears in errors.
func Endpoint(endpoint string) (string, error) {
	if plainHostPort(endpoint) {
		return endpoint, nil // what checkEndpoint returns for it
	}
	return checkEndpoint(endpoint)
}

func checkEndpoint(endpoint string) (string, error) {
	e := strings.TrimSpace(endpoint)
	shown := e
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%w: the URL given has no host", ErrEndpoint)
		}
		u.User = nil
		shown = u.Redacted()
		e = u.Host // a database name in the path does not matter to the token
	} else if strings.IndexByte(e, '@') >= 0 { // IndexByte is the quick test
		e = e[strings.LastIndexByte(e, '@')+1:] // user@host:port
		shown = e
	}
	e = strings.TrimSuffix(e, "/")
	if e == "" {
		return "", fmt.Errorf("%w: it is empty", ErrEndpoint)
	}
	host, port, err := net.SplitHostPort(e)
	if err != nil {
		if strings.ContainsAny(e, "/?#") {
			return "", fmt.Errorf("%w: %q is not host:port", ErrEndpoint, shown)
		}
		return "", fmt.Errorf("%w: %q has no port", ErrEndpoint, shown)
	}
	if host == "" {
		return "", fmt.Errorf("%w: %q has no host", ErrEndpoint, shown)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%w: port %q is not 1 to 65535", ErrEndpoint, port)
	}
	return e, nil
}

// plainHostPort reports whether e is host:port in its plain form: a host
// of letters, digits, '-', '.' and '_', and a port of 1 to 65535 in at most
// five digits.
func plainHostPort(e string) bool {
	i := strings.LastIndexByte(e, ':')
	if i <= 0 || len(e)-i-1 < 1 || len(e)-i-1 > 5 {
		return false
	}
	for j := 0; j < i; j++ {
		c := e[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	port := 0
	for j := i + 1; j < len(e); j++ {
		c := e[j]
		if c < '0' || c > '9' {
			return false
		}
		port = port*10 + int(c-'0')
	}
	return port >= 1 && port <= 65535
}
