package source

import (
	"errors"
	"fmt"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// ErrNotStatic is wrapped by the error for a profile that gets its
// credentials some other way than static keys (assume role, SSO,
// credential_process, web identity). errors.As gives a *NotStaticError.
var ErrNotStatic = errors.New("only static keys (aws_access_key_id and aws_secret_access_key) are supported for now")

// ErrNoCredentials is wrapped by the error for a place that holds no
// credentials at all: a profile without keys, or, from Find, the
// environment and the profile together.
var ErrNoCredentials = awsconfig.ErrNoCredentials

// NotStaticError says how a profile that does not hold static keys gets its
// credentials. It wraps ErrNotStatic.
type NotStaticError struct {
	Profile string
	// Kind is how the profile gets credentials, in words: "assume role",
	// "assume role with source_profile base", "web identity", "SSO",
	// "credential_process", ...
	Kind string
	// Key is the key that makes it so, and Pos where it is set.
	Key string
	Pos awsconfig.Position
}

func (e *NotStaticError) Error() string {
	return fmt.Sprintf("profile %s gets its credentials by %s (%s at %s): %v", e.Profile, e.Kind, e.Key, e.Pos, ErrNotStatic)
}

func (e *NotStaticError) Unwrap() error { return ErrNotStatic }

// Profile returns the static keys of a profile, with its session token when
// it has one. The keys come from one file: the credentials file when the
// profile has a key there, else the config file.
//
// A profile that assumes a role or uses SSO, credential_process or web
// identity gives a *NotStaticError (ErrNotStatic); one with no credentials
// at all gives an error wrapping ErrNoCredentials; one with only one of the
// two keys an error naming the file and line of the other (wrapping
// ErrPartialCredentials); one that does not exist an error wrapping
// awsconfig.ErrProfileNotFound.
func Profile(files *awsconfig.Files, name string) (creds.Credentials, error) {
	p, err := files.Profile(name)
	if err != nil {
		return creds.Credentials{}, err
	}
	// As in aws-sdk-go-v2: role_arn means a role is assumed, whatever other
	// keys the profile has; otherwise static keys win over the rest.
	if kind, key := roleKind(p); kind != "" {
		return creds.Credentials{}, &NotStaticError{Profile: name, Kind: kind, Key: key, Pos: p.Pos(key)}
	}
	keys, ok, err := files.StaticKeys(name)
	switch {
	case err != nil:
		return creds.Credentials{}, err
	case ok:
		return staticCreds(keys), nil
	}
	if kind, key := otherKind(p); kind != "" {
		return creds.Credentials{}, &NotStaticError{Profile: name, Kind: kind, Key: key, Pos: p.Pos(key)}
	}
	return creds.Credentials{}, fmt.Errorf("%w in profile %s (%s): it has no %s and %s, %s, %s, %s or %s",
		ErrNoCredentials, name, p.DefinedAt(),
		awsconfig.KeyAccessKeyID, awsconfig.KeySecretAccessKey, awsconfig.KeyRoleARN,
		awsconfig.KeySSOSession, awsconfig.KeyCredentialProcess, awsconfig.KeyWebIdentityTokenFile)
}

func has(p *awsconfig.Profile, key string) bool {
	v, ok := p.Get(key)
	return ok && v != ""
}

// roleKind is the kind of a profile that assumes a role.
func roleKind(p *awsconfig.Profile) (kind, key string) {
	switch {
	case !has(p, awsconfig.KeyRoleARN):
		return "", ""
	case has(p, awsconfig.KeyWebIdentityTokenFile):
		return "web identity", awsconfig.KeyWebIdentityTokenFile
	case has(p, awsconfig.KeySourceProfile):
		return "assume role with source_profile " + p.SourceProfile(), awsconfig.KeyRoleARN
	case has(p, awsconfig.KeyCredentialSource):
		return "assume role with credential_source " + p.CredentialSource(), awsconfig.KeyRoleARN
	}
	return "assume role", awsconfig.KeyRoleARN
}

// otherKind is the kind of a profile without role_arn or static keys, in the
// order aws-sdk-go-v2 checks them.
func otherKind(p *awsconfig.Profile) (kind, key string) {
	for _, c := range []struct{ key, kind string }{
		{awsconfig.KeyCredentialSource, "credential_source without role_arn"},
		{awsconfig.KeyWebIdentityTokenFile, "web identity"},
		{awsconfig.KeySSOSession, "SSO"},
		{awsconfig.KeySSOStartURL, "legacy SSO"},
		{awsconfig.KeySSOAccountID, "SSO"},
		{awsconfig.KeySSORoleName, "SSO"},
		{awsconfig.KeyLoginSession, "console login session"},
		{awsconfig.KeyCredentialProcess, "credential_process"},
	} {
		if has(p, c.key) {
			return c.kind, c.key
		}
	}
	return "", ""
}
