package source

import (
	"errors"
	"fmt"
	"strings"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// ErrNotStatic is wrapped by the error for a profile that gets its
// credentials some other way than static keys (assume role, SSO,
// credential_process, web identity). errors.As gives a *NotStaticError.
var ErrNotStatic = errors.New("only static keys (aws_access_key_id and aws_secret_access_key) are supported for now")

// ErrNoCredentials is creds.ErrNoCredentials, wrapped by the error for a
// place that holds no credentials at all: a profile without keys, or, from
// Find, the environment and the profile together.
//
// Deprecated: use creds.ErrNoCredentials; this is the same value.
var ErrNoCredentials = creds.ErrNoCredentials

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
// at all gives an error wrapping creds.ErrNoCredentials; one with only one of the
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
	layer, kind := keyLayer(files, name)
	if layer == nil {
		if kind, key := otherKind(p); kind != "" {
			return creds.Credentials{}, &NotStaticError{Profile: name, Kind: kind, Key: key, Pos: p.Pos(key)}
		}
		return creds.Credentials{}, fmt.Errorf("%w in profile %s (%s): it has no %s and %s, %s, %s, %s or %s",
			creds.ErrNoCredentials, name, joinPositions(p.Defined()),
			awsconfig.KeyAccessKeyID, awsconfig.KeySecretAccessKey, awsconfig.KeyRoleARN,
			awsconfig.KeySSOSession, awsconfig.KeyCredentialProcess, awsconfig.KeyWebIdentityTokenFile)
	}

	return keysOf(files, name, layer, kind)
}

// keyLayer returns the profile as the file that holds its keys defines it:
// the credentials file if the profile has either key there, else the config
// file if it has either key there, else nil.
func keyLayer(files *awsconfig.Files, name string) (*awsconfig.Profile, awsconfig.FileKind) {
	for _, kind := range []awsconfig.FileKind{awsconfig.KindCredentials, awsconfig.KindConfig} {
		p, ok := files.ProfileIn(kind, name)
		if !ok {
			continue
		}
		_, hasID := p.Get(awsconfig.KeyAccessKeyID)
		_, hasSecret := p.Get(awsconfig.KeySecretAccessKey)
		if hasID || hasSecret {
			return p, kind
		}
	}
	return nil, 0
}

// partialKeys explains a profile whose file holds only one of the two keys,
// or an empty one. It names keys and lines, never values.
func partialKeys(files *awsconfig.Files, name string, layer *awsconfig.Profile, kind awsconfig.FileKind) error {
	idKey, secretKey := awsconfig.KeyAccessKeyID, awsconfig.KeySecretAccessKey
	id, hasID := layer.Get(idKey)
	secret, hasSecret := layer.Get(secretKey)
	var msg string
	switch {
	case hasID && id == "":
		msg = fmt.Sprintf("%s at %s is empty", idKey, layer.Pos(idKey))
	case hasSecret && secret == "":
		msg = fmt.Sprintf("%s at %s is empty", secretKey, layer.Pos(secretKey))
	case !hasSecret:
		msg = fmt.Sprintf("%s at %s has no %s next to it in the %s", idKey, layer.Pos(idKey), secretKey, kind)
	default:
		msg = fmt.Sprintf("%s at %s has no %s next to it in the %s", secretKey, layer.Pos(secretKey), idKey, kind)
	}
	// Keys are never combined across the two files; say so when the
	// missing one is in the other file.
	other := awsconfig.KindConfig
	if kind == awsconfig.KindConfig {
		other = awsconfig.KindCredentials
	}
	if op, ok := files.ProfileIn(other, name); ok {
		missing := secretKey
		if !hasID || id == "" {
			missing = idKey
		}
		if _, ok := op.Get(missing); ok {
			msg += fmt.Sprintf(" (the %s at %s is not used with keys from the %s)", missing, op.Pos(missing), kind)
		}
	}
	return fmt.Errorf("profile %s: %s: %w", name, msg, ErrPartialCredentials)
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

func joinPositions(ps []awsconfig.Position) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " and ")
}
