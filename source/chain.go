package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/awsenv"
)

// ChainOptions configures DefaultChain.
type ChainOptions struct {
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Files are the shared config files (awsconfig.Load).
	Files *awsconfig.Files
	// Profile is a profile chosen explicitly (a --profile flag). As with
	// aws-sdk-go-v2's WithSharedConfigProfile, it wins over environment
	// keys; a profile named by AWS_PROFILE does not.
	Profile string
	// Now is the clock of caches and STS calls; nil means time.Now.
	Now func() time.Time
	// HTTPClient, if set, sends the STS and SSO calls.
	HTTPClient *http.Client
	// MFA asks for MFA codes.
	MFA MFAPrompt
	// ProcessStderr receives credential_process's stderr (nil: the
	// parent's, for prompts).
	ProcessStderr io.Writer
	// Rules picks aws-sdk-go-v2's (default) or botocore's reading of
	// profiles where they differ.
	Rules ChainRules
	// Keys and Sessions: a store of long-term keys (credkit's vault) for
	// profiles with no keys in the files, and a cache of the STS sessions
	// made from them (see ProfileOptions).
	Keys                KeyStore
	Sessions            SessionStore
	OnSessionStoreError func(error)
	// Container and IMDS tune those sources (timeouts, test clients).
	Container ContainerOptions
	IMDS      IMDSOptions
}

// Link names in a trace.
const (
	LinkEnvironment = "environment"
	LinkWebIdentity = "web identity (environment)"
	LinkContainer   = "container endpoint"
	LinkIMDS        = "EC2 instance metadata"
)

// ProfileLink is the name of the default chain's link for profile name,
// as a creds.Trace reports it (Trace.Chosen, Step.Source).
func ProfileLink(name string) string { return "profile " + name }

// DefaultChain is the credential chain of the AWS SDKs, in their order:
// environment keys; web identity from the environment; the profile
// (static keys, role chains, web identity, SSO, credential_process); the
// container endpoint; EC2 instance metadata. An explicit opts.Profile
// goes first. The first configured source is used; refreshable sources are
// wrapped in a refresh-ahead creds.Cache.
func DefaultChain(opts ChainOptions) *creds.Chain {
	getenv := orEnv(opts.Getenv)
	files := opts.Files
	name, from := profileName(getenv, opts.Profile)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	cache := func(p creds.Provider) creds.Provider {
		return creds.NewCache(p, creds.CacheOptions{Now: now})
	}
	stsOpts := STSOptions{HTTPClient: opts.HTTPClient, Now: now, MFA: opts.MFA}

	imdsOpts := opts.IMDS
	if imdsOpts.Now == nil {
		imdsOpts.Now = now
	}
	if files != nil {
		if p, err := files.Profile(name); err == nil {
			if v, ok := p.Get("ec2_metadata_service_endpoint"); ok && imdsOpts.Endpoint == "" {
				imdsOpts.Endpoint = v
			}
			if v, ok := p.Get("ec2_metadata_service_endpoint_mode"); ok && imdsOpts.EndpointMode == "" {
				imdsOpts.EndpointMode = v
			}
			if v, ok := p.Get("ec2_metadata_v1_disabled"); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
				imdsOpts.V1Disabled = true
			}
		}
	}
	newIMDS := func() (creds.Provider, error) {
		m, ok, err := NewIMDS(getenv, imdsOpts)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotConfigured, m.Reason())
		}
		return m, nil
	}
	newContainer := func() (creds.Provider, error) {
		c, ok, err := NewContainer(getenv, opts.Container)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNotConfigured, c.Reason())
		}
		return c, nil
	}
	profileOpts := ProfileOptions{
		Getenv: getenv, STS: stsOpts, Rules: opts.Rules,
		SSO:              SSOOptions{HTTPClient: opts.HTTPClient, Now: now, CacheDir: SSOCacheDirOf(getenv)},
		Login:            LoginSessionOptions{HTTPClient: opts.HTTPClient, Now: now, CacheDir: LoginCacheDirOf(getenv)},
		InstanceMetadata: newIMDS,
		Container:        newContainer,
		Keys:             opts.Keys, Sessions: opts.Sessions, OnSessionStoreError: opts.OnSessionStoreError,
		MFAProcessStderr: opts.ProcessStderr,
		CredentialProcess: func(r *awsconfig.ProcessRoot) (creds.Provider, error) {
			return NewProcess(r.Command.Value, ProcessOptions{Stderr: opts.ProcessStderr, AccountID: r.AccountID.Value, Now: now}), nil
		},
	}

	env := creds.Link{
		Name: LinkEnvironment,
		Configured: func() (bool, string, error) {
			_, ok, err := Env(getenv)
			if err != nil {
				return false, "", err
			}
			if !ok {
				return false, EnvAccessKeyID + " and " + EnvSecretAccessKey + " not set", nil
			}
			return true, EnvAccessKeyID + " is set", nil
		},
		Provider: func() (creds.Provider, error) {
			c, _, err := Env(getenv)
			// Not creds.Static, which refuses credentials whose
			// AWS_CREDENTIAL_EXPIRATION has passed: the SDKs use them
			// anyway, and Warnings says why they fail.
			return creds.ProviderFunc(func(context.Context) (creds.Credentials, error) { return c, nil }), err
		},
	}
	webIdentity := creds.Link{
		Name: LinkWebIdentity,
		Configured: func() (bool, string, error) {
			_, ok, err := WebIdentityFromEnv(getenv, stsOpts)
			if err != nil || !ok {
				return false, EnvWebIdentityTokenFile + " not set", err
			}
			return true, EnvWebIdentityTokenFile + "=" + getenv(EnvWebIdentityTokenFile), nil
		},
		Provider: func() (creds.Provider, error) {
			w, _, err := WebIdentityFromEnv(getenv, stsOpts)
			if err != nil {
				return nil, err
			}
			return cache(w), nil
		},
	}
	var chain *ProfileChain
	profile := creds.Link{
		Name: ProfileLink(name),
		Configured: func() (bool, string, error) {
			if files == nil {
				return false, "no shared config files loaded", nil
			}
			p, err := files.Profile(name)
			if err != nil && errors.Is(err, awsconfig.ErrProfileNotFound) && opts.Keys != nil {
				if c, ok, kerr := storedOnly(files, name, profileOpts); kerr != nil || ok {
					if kerr != nil {
						return false, "", kerr
					}
					chain = c
					return true, c.String(), nil
				}
			}
			if err != nil {
				if errors.Is(err, awsconfig.ErrProfileNotFound) && from == awsenv.FromDefault {
					return false, "no [default] profile in " + files.CredentialsFile().Display + " or " + files.ConfigFile().Display, nil
				}
				return false, "", fmt.Errorf("%s names a profile that cannot be used: %w", from, err)
			}
			if !p.HasCredentialSettings() && !storedKeys(opts.Keys, name) {
				return false, "profile " + name + " has no credential settings", nil
			}
			c, err := FromProfile(files, name, profileOpts)
			if err != nil {
				return false, "", err
			}
			chain = c
			return true, c.String(), nil
		},
		Provider: func() (creds.Provider, error) {
			if len(chain.Hops) == 0 && chain.RootKind == "static keys" {
				return chain, nil
			}
			return cache(chain), nil
		},
	}
	container := creds.Link{
		Name: LinkContainer,
		Configured: func() (bool, string, error) {
			c, ok, err := NewContainer(getenv, opts.Container)
			if err != nil {
				return false, "", err
			}
			if !ok {
				return false, c.Reason(), nil
			}
			return true, c.Source(), nil
		},
		Provider: func() (creds.Provider, error) {
			p, err := newContainer()
			if err != nil {
				return nil, err
			}
			return cache(p), nil
		},
	}
	imds := creds.Link{
		Name: LinkIMDS,
		Configured: func() (bool, string, error) {
			m, ok, err := NewIMDS(getenv, imdsOpts)
			if err != nil {
				return false, "", err
			}
			if !ok {
				return false, m.Reason(), nil
			}
			u, _ := m.Endpoint()
			return true, "not disabled; asks " + u, nil
		},
		Provider: func() (creds.Provider, error) {
			p, err := newIMDS()
			if err != nil {
				return nil, err
			}
			return cache(p), nil
		},
	}
	links := []creds.Link{env, webIdentity, profile, container, imds}
	if opts.Profile != "" {
		links = []creds.Link{profile, env, webIdentity, container, imds}
	}
	return &creds.Chain{Links: links}
}

// storedKeys reports whether keys holds keys for profile.
func storedKeys(keys KeyStore, profile string) bool {
	if keys == nil {
		return false
	}
	_, ok, err := keys.StoredKeys(profile)
	// An unusable vault does not make a profile without credential
	// settings fail: the chain goes on to the container and IMDS.
	return ok && err == nil
}
