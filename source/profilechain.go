package source

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// ChainRules picks whose reading of role profiles FromProfile follows
// where aws-sdk-go-v2 and botocore differ; see awsconfig.Rules.
type ChainRules = awsconfig.Rules

const (
	// GoSDKRules follows aws-sdk-go-v2 (the default).
	GoSDKRules = awsconfig.GoSDKRules
	// BotocoreRules follows botocore, as the AWS CLI and boto3 do.
	BotocoreRules = awsconfig.BotocoreRules
)

// ProfileOptions configures FromProfile, WebIdentityFromProfile and
// SSOFromProfile.
type ProfileOptions struct {
	// Getenv reads the environment (region, endpoints, and the keys of
	// credential_source = Environment); nil means os.Getenv.
	Getenv func(string) string
	// STS configures the STS clients. An empty Region is taken from
	// AWS_REGION, AWS_DEFAULT_REGION or the profile (see Region), else
	// DefaultSTSRegion; an empty Endpoint from AWS_ENDPOINT_URL_STS,
	// AWS_ENDPOINT_URL, the profile's [services] section or its
	// endpoint_url. All hops of a chain use the first profile's region and
	// endpoint, as both SDKs do.
	STS STSOptions
	// SSO configures the SSO portal client of an SSO root.
	SSO SSOOptions
	// Login configures the provider of a login_session root.
	Login LoginSessionOptions
	// Rules picks aws-sdk-go-v2's or botocore's reading of role chains.
	Rules ChainRules
	// InstanceMetadata and Container make the providers for
	// credential_source = Ec2InstanceMetadata and EcsContainer. nil makes
	// such a profile an error.
	InstanceMetadata func() (creds.Provider, error)
	Container        func() (creds.Provider, error)
	// CredentialProcess makes the provider of a credential_process root.
	// nil makes such a root an error.
	CredentialProcess func(root *awsconfig.ProcessRoot) (creds.Provider, error)
	// Keys, if set, holds long-term keys of profiles that have none in
	// the files (aws-sdk-go-v2's and botocore's rules never look there).
	Keys KeyStore
	// Sessions, if set, caches the STS sessions of chains rooted in
	// Keys: such a chain signs with a GetSessionToken session (with the
	// MFA device of the chain) instead of the long-term keys.
	Sessions SessionStore
	// OnSessionStoreError receives failures to cache a session.
	OnSessionStoreError func(error)
	// MFAProcessStderr receives mfa_process's stderr (nil: the parent's).
	MFAProcessStderr io.Writer
}

// ProfileChain is the Provider of a profile: a root source of credentials
// and the roles assumed from it, in call order. A profile without role_arn
// is a chain without hops.
type ProfileChain struct {
	// Profile is the profile the chain was built for.
	Profile string
	// Root provides the credentials that sign the first hop.
	Root creds.Provider
	// RootKind says what the root is: "static keys", "credential_source
	// Environment", "web identity", "SSO", "credential_process", ...
	RootKind string
	// RootProfile is the profile the root comes from, and RootPos the
	// position of the key that made it the root.
	RootProfile string
	RootPos     awsconfig.Position
	// Hops are the roles assumed, in call order: Hops[0] is signed with
	// the root's credentials, Hops[i] with those of Hops[i-1]; the last
	// one's credentials are the chain's.
	Hops []*AssumeRole
	// Rules are the rules the chain was built by.
	Rules ChainRules
	// final, if set, replaces the last hop (a cached session of it).
	final creds.Provider
	// rootSession describes the session the root's keys are turned into.
	rootSession string
}

// Retrieve returns the credentials of the last hop (of the root when there
// are none). Every call goes through the whole chain.
func (c *ProfileChain) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if len(c.Hops) == 0 {
		if c.Root == nil {
			return creds.Credentials{}, fmt.Errorf("profile %s: no credentials provider", c.Profile)
		}
		return c.Root.Retrieve(ctx)
	}
	if c.final != nil {
		return c.final.Retrieve(ctx)
	}
	return c.Hops[len(c.Hops)-1].Retrieve(ctx)
}

// String describes the chain: "static keys of profile base
// (~/.aws/credentials:2) -> assume role arn:... (from profile dev)".
func (c *ProfileChain) String() string {
	s := c.RootKind + " of profile " + c.RootProfile
	if c.RootPos.IsValid() {
		s += " (" + c.RootPos.String() + ")"
	}
	if c.rootSession != "" {
		s += " -> " + c.rootSession
	}
	for _, h := range c.Hops {
		s += " -> " + h.what()
	}
	return s
}

// FromProfile builds the Provider of the profile name: its static keys, or
// the chain of roles its role_arn and source_profile links describe (any
// depth), rooted in static keys, credential_source (Environment,
// Ec2InstanceMetadata or EcsContainer through the factories of opts), web
// identity, SSO, login_session or credential_process (through
// opts.CredentialProcess).
// The profile graph is read by awsconfig.Files.Resolve; opts.Rules picks
// aws-sdk-go-v2's or botocore's reading where they differ (see
// awsconfig.Rules).
//
// Nothing is called while building: configuration errors come first, with
// the file and line of the keys involved (an *awsconfig.ResolveError): a
// source_profile loop (ErrSourceProfileCycle, listing the profiles), a
// source_profile naming a profile that does not exist
// (awsconfig.ErrProfileNotFound), a role with nothing to assume it with
// (ErrNoRoleSource), both source_profile and credential_source
// (ErrConflictingSources).
func FromProfile(files *awsconfig.Files, name string, opts ProfileOptions) (*ProfileChain, error) {
	// Providers of stored keys, by profile, as Resolve finds them.
	stored := map[string]creds.Provider{}
	ropts := awsconfig.ResolveOptions{Rules: opts.Rules}
	if opts.Keys != nil {
		ropts.StoredKeys = func(profile string) (bool, error) {
			keys, ok, err := opts.Keys.StoredKeys(profile)
			if err != nil {
				return false, fmt.Errorf("%s: %w", opts.Keys.StoreName(), err)
			}
			if ok {
				stored[profile] = keys
			}
			return ok, nil
		}
	}
	rc, err := files.Resolve(name, ropts)
	if err != nil {
		// A profile may live in the key store only.
		var nf *awsconfig.ProfileNotFoundError
		if errors.As(err, &nf) && nf.Name == name && opts.Keys != nil {
			if c, ok, kerr := storedOnly(files, name, opts); kerr != nil || ok {
				return c, kerr
			}
		}
		return nil, err
	}
	p, err := files.Profile(name)
	if err != nil {
		return nil, err
	}
	getenv := orEnv(opts.Getenv)
	sts := resolveSTSOptions(opts, getenv, files, name, p)
	root, kind, err := rootProvider(files, rc.Root, opts, getenv, sts, stored)
	if err != nil {
		return nil, rc.Wrap(err)
	}
	o := rc.Root.Origin()
	c := &ProfileChain{Profile: name, Root: root, RootKind: kind, RootProfile: o.Profile, RootPos: o.Pos, Rules: opts.Rules}
	for _, r := range rc.Roles {
		h := &AssumeRole{
			RoleARN:         r.RoleARN.Value,
			ExternalID:      r.ExternalID.Value,
			RoleSessionName: r.RoleSessionName.Value,
			MFASerial:       r.MFASerial.Value,
			Duration:        r.Duration,
			Via:             "profile " + r.Profile,
			Options:         sts,
			Source:          root,
		}
		if len(c.Hops) > 0 {
			h.Source = c.Hops[len(c.Hops)-1]
		}
		if m := mfaProcess(r.MFAProcess, opts); m != nil {
			h.Options.MFA = m
		}
		c.Hops = append(c.Hops, h)
	}
	if sr, ok := rc.Root.(*awsconfig.StoredKeysRoot); ok && opts.Sessions != nil {
		sopts := sts
		if m := mfaProcess(rc.MFAProcess, opts); m != nil {
			sopts.MFA = m
		}
		var rootMFA MFAPrompt
		if m := mfaProcess(sr.MFAProcess, opts); m != nil {
			rootMFA = m
		}
		withStoredSessions(c, opts.Sessions, sopts, rc.MFASerial.Value, rootMFA, opts.OnSessionStoreError)
	}
	return c, nil
}

// mfaProcess is the MFAPrompt of an mfa_process setting, or nil.
func mfaProcess(s awsconfig.Setting, opts ProfileOptions) *MFAProcess {
	if !s.IsSet() {
		return nil
	}
	return &MFAProcess{Command: s.Value, Stderr: opts.MFAProcessStderr}
}

// resolveSTSOptions fills the region and endpoint of opts.STS from the
// environment and the profile.
func resolveSTSOptions(opts ProfileOptions, getenv func(string) string, files *awsconfig.Files, name string, p *awsconfig.Profile) STSOptions {
	o := opts.STS
	if o.Region == "" {
		o.Region, _ = Region(getenv, files, name)
	}
	if o.Endpoint == "" {
		o.Endpoint = serviceEndpoint(getenv, files, p, EnvEndpointURLSTS, "sts")
	}
	return o
}

// rootProvider is the Provider of a chain's root and what it is in words:
// "static keys", "credential_source Environment", "web identity", "SSO",
// "credential_process" or the key store's name.
func rootProvider(files *awsconfig.Files, root awsconfig.Root, opts ProfileOptions, getenv func(string) string, sts STSOptions, stored map[string]creds.Provider) (creds.Provider, string, error) {
	switch r := root.(type) {
	case *awsconfig.StaticKeysRoot:
		return creds.Static{Creds: staticCreds(r)}, "static keys", nil
	case *awsconfig.StoredKeysRoot:
		return stored[r.From.Profile], opts.Keys.StoreName(), nil
	case *awsconfig.CredentialSourceRoot:
		p, err := credentialSource(r, opts, getenv)
		return p, "credential_source " + r.Source.Value, err
	case *awsconfig.WebIdentityRoot:
		return newWebIdentity(r, sts), "web identity", nil
	case *awsconfig.SSORoot:
		s, err := newSSO(files, r, opts, getenv)
		if err != nil {
			return nil, "", err
		}
		return s, "SSO", nil
	case *awsconfig.LoginSessionRoot:
		l, err := newLoginSession(files, r, opts, getenv, sts.Region)
		if err != nil {
			return nil, "", err
		}
		return l, "login session " + r.Session.Value, nil
	case *awsconfig.ProcessRoot:
		name, pos := r.From.Profile, r.From.Pos
		if opts.CredentialProcess == nil {
			return nil, "", fmt.Errorf("profile %s: credential_process at %s: no credential_process runner is configured", name, pos)
		}
		p, err := opts.CredentialProcess(r)
		if err != nil {
			return nil, "", fmt.Errorf("profile %s: credential_process at %s: %w", name, pos, err)
		}
		return p, "credential_process", nil
	}
	return nil, "", fmt.Errorf("profile %s: a root of type %T cannot be used", root.Origin().Profile, root)
}

// staticCreds are the credentials of static keys.
func staticCreds(r *awsconfig.StaticKeysRoot) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     r.AccessKeyID.Value,
		SecretAccessKey: r.SecretAccessKey.Value,
		SessionToken:    r.SessionToken.Value,
		AccountID:       r.AccountID.Value,
		Source:          fmt.Sprintf("%s (profile %s)", r.File, r.From.Profile),
	}
}

// credentialSource is the Provider of credential_source.
func credentialSource(r *awsconfig.CredentialSourceRoot, opts ProfileOptions, getenv func(string) string) (creds.Provider, error) {
	cs, name, pos := r.Source.Value, r.From.Profile, r.From.Pos
	var factory func() (creds.Provider, error)
	switch cs {
	case CredentialSourceEnvironment:
		return creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
			c, ok, err := Env(getenv)
			if err != nil {
				return creds.Credentials{}, fmt.Errorf("credential_source %s (profile %s, %s): %w", cs, name, pos, err)
			}
			if !ok {
				return creds.Credentials{}, fmt.Errorf("credential_source %s (profile %s, %s): %s and %s are not set: %w",
					cs, name, pos, EnvAccessKeyID, EnvSecretAccessKey, ErrNoCredentials)
			}
			return c, nil
		}), nil
	case CredentialSourceEC2Metadata:
		factory = opts.InstanceMetadata
	case CredentialSourceECSContainer:
		factory = opts.Container
	}
	if factory == nil {
		return nil, fmt.Errorf("profile %s: credential_source %s at %s: no provider for it is configured", name, cs, pos)
	}
	prov, err := factory()
	if err != nil {
		return nil, fmt.Errorf("profile %s: credential_source %s at %s: %w", name, cs, pos, err)
	}
	return prov, nil
}
