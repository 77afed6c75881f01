package source

import (
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// Environment variables read by Env, as aws-sdk-go-v2 reads them.
const (
	EnvAccessKeyID       = "AWS_ACCESS_KEY_ID"
	EnvAccessKeyIDLegacy = "AWS_ACCESS_KEY" // read when AWS_ACCESS_KEY_ID is unset
	EnvSecretAccessKey   = "AWS_SECRET_ACCESS_KEY"
	EnvSecretKeyLegacy   = "AWS_SECRET_KEY" // read when AWS_SECRET_ACCESS_KEY is unset
	EnvSessionToken      = "AWS_SESSION_TOKEN"
	EnvExpiration        = "AWS_CREDENTIAL_EXPIRATION"
	EnvAccountID         = "AWS_ACCOUNT_ID"
	EnvRegion            = "AWS_REGION"
	EnvDefaultRegion     = "AWS_DEFAULT_REGION"
	EnvProfile           = "AWS_PROFILE"
	EnvDefaultProfile    = "AWS_DEFAULT_PROFILE"
)

// SourceEnvironment is the Source of credentials from Env.
const SourceEnvironment = "environment"

// ErrPartialCredentials is wrapped by the error for an access key id without
// a secret, or a secret without an access key id.
var ErrPartialCredentials = awsconfig.ErrPartialCredentials

func orEnv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return os.Getenv
	}
	return getenv
}

// firstSet returns the first of the variables that is set to a non-empty
// value, and its name.
func firstSet(getenv func(string) string, names ...string) (value, name string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// Env returns the credentials in the environment: AWS_ACCESS_KEY_ID (or
// AWS_ACCESS_KEY) and AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY), with
// AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION (RFC 3339) and AWS_ACCOUNT_ID
// when set. ok is false, with no error, when neither key is set. Only one of
// the two keys, or an expiration that is not RFC 3339, is an error.
func Env(getenv func(string) string) (c creds.Credentials, ok bool, err error) {
	getenv = orEnv(getenv)
	id, idVar := firstSet(getenv, EnvAccessKeyID, EnvAccessKeyIDLegacy)
	secret, secretVar := firstSet(getenv, EnvSecretAccessKey, EnvSecretKeyLegacy)
	switch {
	case id == "" && secret == "":
		return creds.Credentials{}, false, nil
	case secret == "":
		return creds.Credentials{}, false, fmt.Errorf("environment: %s is set but %s (or %s) is not: %w",
			idVar, EnvSecretAccessKey, EnvSecretKeyLegacy, ErrPartialCredentials)
	case id == "":
		return creds.Credentials{}, false, fmt.Errorf("environment: %s is set but %s (or %s) is not: %w",
			secretVar, EnvAccessKeyID, EnvAccessKeyIDLegacy, ErrPartialCredentials)
	}
	c = creds.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    getenv(EnvSessionToken),
		AccountID:       getenv(EnvAccountID),
		Source:          SourceEnvironment,
	}
	if v := getenv(EnvExpiration); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return creds.Credentials{}, false, fmt.Errorf("environment: %s=%q is not an RFC 3339 time such as 2006-01-02T15:04:05Z", EnvExpiration, truncate(v, 40))
		}
		c.Expires = t
	}
	return c, true, nil
}

// truncate shortens s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
