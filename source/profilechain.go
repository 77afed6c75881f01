package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// ChainRules picks whose reading of role profiles FromProfile follows where
// aws-sdk-go-v2 and botocore (the AWS CLI, boto3) differ.
//
// Both SDKs agree on the plain cases: a profile with role_arn and
// source_profile assumes its role with the credentials of the source
// profile, recursively; a profile with role_arn and credential_source
// assumes it with the environment's, the instance's or the container's
// credentials; source_profile and credential_source together are an error;
// a profile whose source_profile names itself uses its own static keys as
// the source of its role; a profile with role_arn and
// web_identity_token_file gets its credentials from
// AssumeRoleWithWebIdentity and ends a chain.
//
// They differ (checked against aws-sdk-go-v2 config v1.33 and botocore
// 1.43, config/shared_config.go setFromIniSections and
// config/resolve_credentials.go resolveCredsFromProfile, and
// botocore/credentials.py AssumeRoleProvider) on:
//
//   - A source profile (not the first of the chain) with static keys and
//     role_arn. aws-sdk-go-v2 assumes that profile's role with its keys
//     and ignores its source_profile; botocore uses the keys alone and
//     ignores its role_arn (_resolve_credentials_from_profile treats any
//     profile with a key as a leaf).
//   - The first profile with static keys, role_arn and no source_profile or
//     credential_source. aws-sdk-go-v2 assumes the role with the keys;
//     botocore refuses it (source_profile or credential_source is needed;
//     the keys count only through source_profile = the profile itself).
//     With source_profile naming another profile both ignore the keys.
//   - role_arn with no source at all. aws-sdk-go-v2 signs with the
//     container's or the instance's credentials (its last fallbacks);
//     botocore refuses. credkit refuses under both rules (ErrNoRoleSource)
//     and says what aws-sdk-go-v2 would do.
//   - A role profile whose own credentials are SSO or credential_process.
//     aws-sdk-go-v2 assumes the role with them; botocore needs
//     source_profile or credential_source.
//   - Two sources of different kinds (source_profile or credential_source
//     together with credential_process or web_identity_token_file).
//     aws-sdk-go-v2 refuses ("only one credential type may be specified
//     per profile"); botocore picks web identity first, then the role.
//   - source_profile, credential_source or web_identity_token_file without
//     role_arn: aws-sdk-go-v2 refuses; botocore ignores those keys.
//   - A loop back to a profile that has static keys (a -> b -> a).
//     aws-sdk-go-v2 takes the revisited profile's keys and assumes b's and
//     then a's role; botocore reports an infinite loop. credkit reports
//     ErrSourceProfileCycle under both rules: only a profile naming itself
//     is allowed.
//   - The order of a leaf profile's own credentials: aws-sdk-go-v2 takes
//     static keys, credential_source, web identity, SSO, credential_process;
//     botocore web identity, SSO, keys of the credentials file,
//     credential_process, keys of the config file.
//
// Partial static keys (one of the two) are an error under both rules,
// where the SDKs would silently look elsewhere.
type ChainRules int

const (
	// GoSDKRules follows aws-sdk-go-v2 (the default).
	GoSDKRules ChainRules = iota
	// BotocoreRules follows botocore, as the AWS CLI and boto3 do.
	BotocoreRules
)

func (r ChainRules) String() string {
	if r == BotocoreRules {
		return "botocore"
	}
	return "aws-sdk-go-v2"
}

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
	// Rules picks aws-sdk-go-v2's or botocore's reading of role chains.
	Rules ChainRules
	// InstanceMetadata and Container make the providers for
	// credential_source = Ec2InstanceMetadata and EcsContainer. nil makes
	// such a profile an error.
	InstanceMetadata func() (creds.Provider, error)
	Container        func() (creds.Provider, error)
	// CredentialProcess makes the provider of a profile with
	// credential_process. nil makes such a root an error.
	CredentialProcess func(profile *awsconfig.Profile) (creds.Provider, error)
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
// identity, SSO or credential_process (through opts.CredentialProcess).
// opts.Rules picks aws-sdk-go-v2's or botocore's reading where they differ
// (see ChainRules).
//
// Nothing is called while building: configuration errors come first, with
// the file and line of the keys involved: a source_profile loop
// (ErrSourceProfileCycle, listing the profiles), a source_profile naming a
// profile that does not exist (awsconfig.ErrProfileNotFound), a role with
// nothing to assume it with (ErrNoRoleSource), both source_profile and
// credential_source (ErrConflictingSources).
func FromProfile(files *awsconfig.Files, name string, opts ProfileOptions) (*ProfileChain, error) {
	p, err := files.Profile(name)
	if err != nil {
		// A profile may live in the key store only.
		if errors.Is(err, awsconfig.ErrProfileNotFound) && opts.Keys != nil {
			if c, ok, kerr := storedOnly(files, name, opts); kerr != nil || ok {
				return c, kerr
			}
		}
		return nil, err
	}
	b := &chainBuilder{files: files, opts: opts, getenv: orEnv(opts.Getenv), top: name}
	b.sts = b.stsOptions(name, p)
	root, err := b.walk(name, p)
	if err != nil {
		if len(b.path) > 1 {
			return nil, fmt.Errorf("profile %s (source_profile chain %s): %w", name, strings.Join(b.path, " -> "), err)
		}
		return nil, err
	}
	c := &ProfileChain{Profile: name, Root: root.provider, RootKind: root.kind, RootProfile: root.profile, RootPos: root.pos, Rules: opts.Rules}
	// b.hops is top-down; calls go bottom-up.
	for i := len(b.hops) - 1; i >= 0; i-- {
		h := b.hops[i]
		if len(c.Hops) == 0 {
			h.Source = root.provider
		} else {
			h.Source = c.Hops[len(c.Hops)-1]
		}
		c.Hops = append(c.Hops, h)
	}
	if root.stored && opts.Sessions != nil {
		mfaFrom := func(prof *awsconfig.Profile) MFAPrompt {
			if cmd := profileValue(prof, keyMFAProcess); cmd != "" {
				return &MFAProcess{Command: cmd, Stderr: opts.MFAProcessStderr}
			}
			return nil
		}
		sopts := b.sts
		if m := mfaFrom(p); m != nil {
			sopts.MFA = m
		}
		var rootMFA MFAPrompt
		if rp, err := files.Profile(c.RootProfile); err == nil {
			rootMFA = mfaFrom(rp)
		}
		withStoredSessions(c, opts.Sessions, sopts, profileValue(p, keyMFASerial), rootMFA, opts.OnSessionStoreError)
	}
	return c, nil
}

// chainRoot is where a chain starts.
type chainRoot struct {
	provider creds.Provider
	kind     string
	profile  string
	pos      awsconfig.Position
	stored   bool // keys from opts.Keys
}

type chainBuilder struct {
	files  *awsconfig.Files
	opts   ProfileOptions
	getenv func(string) string
	top    string
	sts    STSOptions
	path   []string      // profiles visited, in order
	hops   []*AssumeRole // roles, top-down
}

// stsOptions fills the region and endpoint of opts.STS from the
// environment and the profile.
func (b *chainBuilder) stsOptions(name string, p *awsconfig.Profile) STSOptions {
	return resolveSTSOptions(b.opts, b.getenv, b.files, name, p)
}

// resolveSTSOptions fills the region and endpoint of opts.STS.
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

// walk follows source_profile links from name.
func (b *chainBuilder) walk(name string, p *awsconfig.Profile) (*chainRoot, error) {
	cur, first := name, true
	for {
		b.path = append(b.path, cur)
		var (
			next string
			root *chainRoot
			err  error
		)
		if b.opts.Rules == BotocoreRules {
			next, root, err = b.stepBotocore(cur, p, first)
		} else {
			next, root, err = b.stepGo(cur, p, first)
		}
		if err != nil || root != nil {
			return root, err
		}
		for i, seen := range b.path {
			if seen == next {
				return nil, b.cycle(i, next)
			}
		}
		np, err := b.files.Profile(next)
		if err != nil {
			return nil, fmt.Errorf("profile %s: source_profile at %s: %w", cur, p.Pos(awsconfig.KeySourceProfile), err)
		}
		cur, p, first = next, np, false
	}
}

// cycle describes a loop back to b.path[i].
func (b *chainBuilder) cycle(i int, next string) error {
	var where []string
	for _, n := range b.path[i:] {
		if p, err := b.files.Profile(n); err == nil {
			where = append(where, fmt.Sprintf("%s at %s", n, p.Pos(awsconfig.KeySourceProfile)))
		}
	}
	loop := append(append([]string(nil), b.path[i:]...), next)
	return fmt.Errorf("%w: %s (source_profile of %s); only a profile with static keys may name itself",
		ErrSourceProfileCycle, strings.Join(loop, " -> "), strings.Join(where, ", "))
}

// profileValue is a key's value, trimmed.
func profileValue(p *awsconfig.Profile, key string) string {
	v, _ := p.Get(key)
	return strings.TrimSpace(v)
}

// hop appends the role of profile name.
func (b *chainBuilder) hop(name string, p *awsconfig.Profile) error {
	h := &AssumeRole{
		RoleARN:         profileValue(p, awsconfig.KeyRoleARN),
		ExternalID:      profileValue(p, keyExternalID),
		RoleSessionName: profileValue(p, keyRoleSessionName),
		MFASerial:       profileValue(p, keyMFASerial),
		Via:             "profile " + name,
		Options:         b.sts,
	}
	if cmd := profileValue(p, keyMFAProcess); cmd != "" {
		h.Options.MFA = &MFAProcess{Command: cmd, Stderr: b.opts.MFAProcessStderr}
	}
	if d := profileValue(p, keyDurationSeconds); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return fmt.Errorf("profile %s: %s at %s is not a whole number of seconds", name, keyDurationSeconds, p.Pos(keyDurationSeconds))
		}
		h.Duration = time.Duration(n) * time.Second
	}
	b.hops = append(b.hops, h)
	return nil
}

// stepGo reads one profile of the chain by aws-sdk-go-v2's rules. It
// returns the next profile to visit, or the root.
func (b *chainBuilder) stepGo(name string, p *awsconfig.Profile, first bool) (string, *chainRoot, error) {
	role := profileValue(p, awsconfig.KeyRoleARN)
	sp := profileValue(p, awsconfig.KeySourceProfile)
	if role == "" {
		for _, k := range []string{awsconfig.KeySourceProfile, awsconfig.KeyCredentialSource, awsconfig.KeyWebIdentityTokenFile} {
			if profileValue(p, k) != "" {
				return "", nil, fmt.Errorf("profile %s: %s at %s needs role_arn: %w", name, k, p.Pos(k), ErrNoRoleSource)
			}
		}
	}
	// A source profile with keys ends the chain; its own role, if any, is
	// assumed with them and its source_profile is ignored.
	if !first {
		root, err := b.staticRoot(name, p, 0)
		if err != nil {
			return "", nil, err
		}
		if root != nil {
			if role != "" {
				if err := b.hop(name, p); err != nil {
					return "", nil, err
				}
			}
			return "", root, nil
		}
	}
	if err := b.oneSourceGo(name, p); err != nil {
		return "", nil, err
	}
	if sp != "" {
		if err := b.hop(name, p); err != nil {
			return "", nil, err
		}
		if sp != name {
			return sp, nil, nil
		}
		// source_profile names the profile itself: its own credentials
		// (keys, else SSO) are the source.
		root, err := b.ownGo(name, p, true)
		if err != nil || root != nil {
			return "", root, err
		}
		return "", nil, b.cycle(len(b.path)-1, name)
	}
	root, err := b.ownGo(name, p, false)
	if err != nil {
		return "", nil, err
	}
	if root == nil {
		if role != "" {
			return "", nil, b.noRoleSource(name, p,
				"; aws-sdk-go-v2 would sign with container or instance metadata credentials, botocore refuses")
		}
		return "", nil, b.noCredentials(name, p)
	}
	if role != "" && root.kind != "web identity" {
		if err := b.hop(name, p); err != nil {
			return "", nil, err
		}
	}
	return "", root, nil
}

// oneSourceGo is aws-sdk-go-v2's validateCredentialType: at most one of
// source_profile, credential_source, credential_process and
// web_identity_token_file.
func (b *chainBuilder) oneSourceGo(name string, p *awsconfig.Profile) error {
	var set []string
	for _, k := range []string{awsconfig.KeySourceProfile, awsconfig.KeyCredentialSource, awsconfig.KeyCredentialProcess, awsconfig.KeyWebIdentityTokenFile} {
		if profileValue(p, k) != "" {
			set = append(set, fmt.Sprintf("%s (%s)", k, p.Pos(k)))
		}
	}
	if len(set) > 1 {
		list := "both " + strings.Join(set, " and ")
		if len(set) > 2 {
			list = strings.Join(set[:len(set)-1], ", ") + " and " + set[len(set)-1]
		}
		return fmt.Errorf("profile %s: %s are set; a profile may have one source of credentials: %w",
			name, list, ErrConflictingSources)
	}
	return nil
}

// ownGo is a profile's own credentials in aws-sdk-go-v2's order: static
// keys, credential_source, web identity, SSO, credential_process. self is
// true for a profile that names itself as source_profile, where only keys
// and SSO count. It returns nil when the profile has none.
func (b *chainBuilder) ownGo(name string, p *awsconfig.Profile, self bool) (*chainRoot, error) {
	if root, err := b.staticRoot(name, p, 0); err != nil || root != nil {
		return root, err
	}
	if !self && profileValue(p, awsconfig.KeyCredentialSource) != "" {
		return b.credentialSource(name, p)
	}
	if !self && profileValue(p, awsconfig.KeyWebIdentityTokenFile) != "" {
		return b.webIdentityRoot(name, p)
	}
	if hasSSO(p) {
		return b.ssoRoot(name, p)
	}
	if !self && profileValue(p, awsconfig.KeyCredentialProcess) != "" {
		return b.processRoot(name, p)
	}
	return nil, nil
}

// stepBotocore reads one profile of the chain by botocore's rules.
func (b *chainBuilder) stepBotocore(name string, p *awsconfig.Profile, first bool) (string, *chainRoot, error) {
	role := profileValue(p, awsconfig.KeyRoleARN)
	assumes := role != "" && profileValue(p, awsconfig.KeyWebIdentityTokenFile) == ""
	_, keyKind := keyLayer(b.files, name)
	if !assumes || (!first && keyKind != 0) {
		root, err := b.ownBotocore(name, p)
		if err != nil {
			return "", nil, err
		}
		if root == nil {
			return "", nil, b.noCredentials(name, p)
		}
		return "", root, nil
	}
	sp := profileValue(p, awsconfig.KeySourceProfile)
	cs := profileValue(p, awsconfig.KeyCredentialSource)
	switch {
	case sp != "" && cs != "":
		return "", nil, fmt.Errorf("profile %s: both source_profile (%s) and credential_source (%s) are set; a role takes its source credentials from one of them: %w",
			name, p.Pos(awsconfig.KeySourceProfile), p.Pos(awsconfig.KeyCredentialSource), ErrConflictingSources)
	case sp == "" && cs == "":
		return "", nil, b.noRoleSource(name, p, "")
	}
	if err := b.hop(name, p); err != nil {
		return "", nil, err
	}
	if cs != "" {
		root, err := b.credentialSource(name, p)
		return "", root, err
	}
	if sp != name {
		return sp, nil, nil
	}
	if keyKind == 0 {
		return "", nil, b.cycle(len(b.path)-1, name)
	}
	root, err := b.ownBotocore(name, p)
	return "", root, err
}

// ownBotocore is a profile's own credentials in botocore's order (its
// profile provider chain): web identity, SSO, keys of the credentials
// file, credential_process, keys of the config file.
func (b *chainBuilder) ownBotocore(name string, p *awsconfig.Profile) (*chainRoot, error) {
	if profileValue(p, awsconfig.KeyRoleARN) != "" && profileValue(p, awsconfig.KeyWebIdentityTokenFile) != "" {
		return b.webIdentityRoot(name, p)
	}
	if hasSSO(p) {
		return b.ssoRoot(name, p)
	}
	if root, err := b.staticRoot(name, p, awsconfig.KindCredentials); err != nil || root != nil {
		return root, err
	}
	if profileValue(p, awsconfig.KeyCredentialProcess) != "" {
		return b.processRoot(name, p)
	}
	return b.staticRoot(name, p, awsconfig.KindConfig)
}

func (b *chainBuilder) noRoleSource(name string, p *awsconfig.Profile, note string) error {
	return fmt.Errorf("profile %s: role_arn at %s has nothing to assume it with: set source_profile or credential_source (or web_identity_token_file)%s: %w",
		name, p.Pos(awsconfig.KeyRoleARN), note, ErrNoRoleSource)
}

func (b *chainBuilder) noCredentials(name string, p *awsconfig.Profile) error {
	return fmt.Errorf("%w in profile %s (%s): it has no %s and %s, %s, %s or %s",
		ErrNoCredentials, name, joinPositions(p.Defined()),
		awsconfig.KeyAccessKeyID, awsconfig.KeySecretAccessKey, awsconfig.KeyRoleARN,
		awsconfig.KeySSOSession, awsconfig.KeyCredentialProcess)
}

// staticRoot is the root of a profile's static keys, or nil when it has
// none (in the file of kind only, when kind is not 0). Partial keys are an
// error.
func (b *chainBuilder) staticRoot(name string, p *awsconfig.Profile, kind awsconfig.FileKind) (*chainRoot, error) {
	layer, k := keyLayer(b.files, name)
	if layer == nil && kind == 0 && b.opts.Keys != nil {
		keys, ok, err := b.opts.Keys.StoredKeys(name)
		if err != nil && hasCredentialSettings(p) {
			// A profile with its own source (SSO, a role, ...) does not
			// depend on the vault; an unusable vault is not its error.
			ok, err = false, nil
		}
		if err != nil {
			return nil, fmt.Errorf("profile %s: %s: %w", name, b.opts.Keys.StoreName(), err)
		}
		if ok {
			return &chainRoot{provider: keys, kind: b.opts.Keys.StoreName(), profile: name, stored: true}, nil
		}
	}
	if layer == nil || (kind != 0 && k != kind) {
		return nil, nil
	}
	c, err := keysOf(b.files, name, layer, k)
	if err != nil {
		return nil, err
	}
	return &chainRoot{provider: creds.Static{Creds: c}, kind: "static keys", profile: name, pos: layer.Pos(awsconfig.KeyAccessKeyID)}, nil
}

// keysOf reads the static keys of a profile's key layer, as Profile does
// (which refuses profiles with role_arn).
func keysOf(files *awsconfig.Files, name string, layer *awsconfig.Profile, kind awsconfig.FileKind) (creds.Credentials, error) {
	id, _ := layer.Get(awsconfig.KeyAccessKeyID)
	secret, _ := layer.Get(awsconfig.KeySecretAccessKey)
	if id == "" || secret == "" {
		return creds.Credentials{}, partialKeys(files, name, layer, kind)
	}
	token, _ := layer.Get(awsconfig.KeySessionToken)
	account, _ := layer.Get(awsconfig.KeyAccountID)
	return creds.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    token,
		AccountID:       account,
		Source:          fmt.Sprintf("%s (profile %s)", kind, name),
	}, nil
}

// credentialSource is the root of credential_source.
func (b *chainBuilder) credentialSource(name string, p *awsconfig.Profile) (*chainRoot, error) {
	cs := profileValue(p, awsconfig.KeyCredentialSource)
	pos := p.Pos(awsconfig.KeyCredentialSource)
	root := &chainRoot{kind: "credential_source " + cs, profile: name, pos: pos}
	var factory func() (creds.Provider, error)
	switch cs {
	case CredentialSourceEnvironment:
		getenv := b.getenv
		root.provider = creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
			c, ok, err := Env(getenv)
			if err != nil {
				return creds.Credentials{}, fmt.Errorf("credential_source %s (profile %s, %s): %w", cs, name, pos, err)
			}
			if !ok {
				return creds.Credentials{}, fmt.Errorf("credential_source %s (profile %s, %s): %s and %s are not set: %w",
					cs, name, pos, EnvAccessKeyID, EnvSecretAccessKey, ErrNoCredentials)
			}
			return c, nil
		})
		return root, nil
	case CredentialSourceEC2Metadata:
		factory = b.opts.InstanceMetadata
	case CredentialSourceECSContainer:
		factory = b.opts.Container
	default:
		return nil, fmt.Errorf("profile %s: credential_source at %s is %q; it must be %s, %s or %s",
			name, pos, truncate(cs, 40), CredentialSourceEnvironment, CredentialSourceEC2Metadata, CredentialSourceECSContainer)
	}
	if factory == nil {
		return nil, fmt.Errorf("profile %s: credential_source %s at %s: no provider for it is configured", name, cs, pos)
	}
	prov, err := factory()
	if err != nil {
		return nil, fmt.Errorf("profile %s: credential_source %s at %s: %w", name, cs, pos, err)
	}
	root.provider = prov
	return root, nil
}

func (b *chainBuilder) webIdentityRoot(name string, p *awsconfig.Profile) (*chainRoot, error) {
	w, err := webIdentityFromProfile(name, p, b.sts)
	if err != nil {
		return nil, err
	}
	return &chainRoot{provider: w, kind: "web identity", profile: name, pos: p.Pos(awsconfig.KeyWebIdentityTokenFile)}, nil
}

func (b *chainBuilder) ssoRoot(name string, p *awsconfig.Profile) (*chainRoot, error) {
	s, err := ssoFromProfile(b.files, name, p, b.opts, b.getenv)
	if err != nil {
		return nil, err
	}
	key := awsconfig.KeySSOSession
	if s.Session == "" {
		key = awsconfig.KeySSOStartURL
	}
	return &chainRoot{provider: s, kind: "SSO", profile: name, pos: p.Pos(key)}, nil
}

func (b *chainBuilder) processRoot(name string, p *awsconfig.Profile) (*chainRoot, error) {
	pos := p.Pos(awsconfig.KeyCredentialProcess)
	if b.opts.CredentialProcess == nil {
		return nil, fmt.Errorf("profile %s: credential_process at %s: no credential_process runner is configured", name, pos)
	}
	prov, err := b.opts.CredentialProcess(p)
	if err != nil {
		return nil, fmt.Errorf("profile %s: credential_process at %s: %w", name, pos, err)
	}
	return &chainRoot{provider: prov, kind: "credential_process", profile: name, pos: pos}, nil
}
