package awsconfig

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Values of credential_source.
const (
	CredentialSourceEnvironment  = "Environment"
	CredentialSourceEC2Metadata  = "Ec2InstanceMetadata"
	CredentialSourceECSContainer = "EcsContainer"
)

// Setting is the value of one key of a profile, without surrounding white
// space, and where it was set. The zero Setting is a key that is not set.
type Setting struct {
	Value string
	Pos   Position
}

// IsSet reports whether the key has a value.
func (s Setting) IsSet() bool { return s.Value != "" }

// setting reads key of p.
func setting(p *Profile, key string) Setting {
	v, ok := p.Get(key)
	if !ok {
		return Setting{}
	}
	return Setting{Value: strings.TrimSpace(v), Pos: p.Pos(key)}
}

// Origin is the profile a root comes from and the position of the key that
// made it the root.
type Origin struct {
	Profile string
	Pos     Position
}

// Root is where a chain's credentials start: *StaticKeysRoot,
// *StoredKeysRoot, *CredentialSourceRoot, *WebIdentityRoot, *SSORoot,
// *LoginSessionRoot or *ProcessRoot.
type Root interface {
	Origin() Origin
}

// StaticKeysRoot is a profile's aws_access_key_id and
// aws_secret_access_key, both from one file (the credentials file when it
// has either key, else the config file), with the session token and
// account id of that file. String and GoString never show the secrets
// (SecretAccessKey and SessionToken themselves must never be printed).
type StaticKeysRoot struct {
	From Origin // Pos is aws_access_key_id's
	File FileKind
	// AccessKeyID, SecretAccessKey, SessionToken (optional) and AccountID
	// (optional).
	AccessKeyID, SecretAccessKey, SessionToken, AccountID Setting
}

// StoredKeysRoot is a profile whose keys are kept outside the files (see
// ResolveOptions.StoredKeys).
type StoredKeysRoot struct {
	From Origin // Pos is zero: no key of the files made it the root
	// MFAProcess is the profile's mfa_process.
	MFAProcess Setting
}

// CredentialSourceRoot is role credentials signed with the environment's,
// the instance's or the container's credentials.
type CredentialSourceRoot struct {
	From Origin // Pos is credential_source's
	// Source is credential_source: CredentialSourceEnvironment,
	// CredentialSourceEC2Metadata or CredentialSourceECSContainer.
	Source Setting
}

// WebIdentityRoot is AssumeRoleWithWebIdentity with the token in a file.
type WebIdentityRoot struct {
	From            Origin // Pos is web_identity_token_file's
	RoleARN         Setting
	TokenFile       Setting
	RoleSessionName Setting // optional
}

// SSORoot is IAM Identity Center role credentials. With an sso_session,
// StartURL and Region are those of its [sso-session NAME] section.
type SSORoot struct {
	From      Origin  // Pos is sso_session's, or sso_start_url's for a legacy profile
	Session   Setting // sso_session; unset for a legacy profile
	StartURL  Setting
	Region    Setting
	AccountID Setting
	RoleName  Setting
}

// LoginSessionRoot is the credentials of an `aws login` session: the
// profile's login_session (an ARN) names the cache file that holds them.
type LoginSessionRoot struct {
	From    Origin  // Pos is login_session's
	Session Setting // login_session
}

// ProcessRoot is credentials printed by a credential_process command.
type ProcessRoot struct {
	From      Origin // Pos is credential_process's
	Command   Setting
	AccountID Setting // aws_account_id, for output without AccountId
}

func (r *StaticKeysRoot) Origin() Origin       { return r.From }
func (r *StoredKeysRoot) Origin() Origin       { return r.From }
func (r *CredentialSourceRoot) Origin() Origin { return r.From }
func (r *WebIdentityRoot) Origin() Origin      { return r.From }
func (r *SSORoot) Origin() Origin              { return r.From }
func (r *LoginSessionRoot) Origin() Origin     { return r.From }
func (r *ProcessRoot) Origin() Origin          { return r.From }

// String is "static keys AKID... of profile NAME (FILE:LINE)"; the secret
// and the token are never shown.
func (r *StaticKeysRoot) String() string {
	return fmt.Sprintf("static keys %s of profile %s (%s)", r.AccessKeyID.Value, r.From.Profile, r.From.Pos)
}

// GoString is String, so that %#v hides the secret too.
func (r *StaticKeysRoot) GoString() string { return r.String() }

// RoleHop is a role assumed by a profile with role_arn, with the
// credentials of the hop before it.
type RoleHop struct {
	// Profile is the profile whose role_arn this is.
	Profile         string
	RoleARN         Setting
	ExternalID      Setting
	MFASerial       Setting
	MFAProcess      Setting
	RoleSessionName Setting
	// DurationSeconds is duration_seconds as written, Duration its
	// value (0 when it is not set).
	DurationSeconds Setting
	Duration        time.Duration
	// SourceProfile is the profile's source_profile (unset for a role
	// assumed with its own credentials or credential_source).
	SourceProfile Setting
}

// Chain is a profile resolved into where its credentials start and the
// roles assumed from there.
type Chain struct {
	// Profile is the profile resolved, Rules the rules it was resolved by.
	Profile string
	Rules   Rules
	// Root is where the credentials start.
	Root Root
	// Roles are the roles assumed, in call order: Roles[0] with the
	// root's credentials, Roles[i] with those of Roles[i-1].
	Roles []*RoleHop
	// Path lists the profiles visited along source_profile, from
	// Profile.
	Path []string
	// MFASerial and MFAProcess are those of Profile, which a session made
	// from stored keys uses.
	MFASerial, MFAProcess Setting
}

// Wrap puts the source_profile chain in front of an error about one of
// the chain's profiles: "profile a (source_profile chain a -> b): ...".
// A chain of one profile leaves err as it is.
func (c *Chain) Wrap(err error) error {
	if err == nil || len(c.Path) < 2 {
		return err
	}
	return &ResolveError{Profile: c.Profile, Path: c.Path, Err: err}
}

// ResolveError is an error of Resolve. Err names the profile at fault,
// the key and its file and line; it wraps ErrSourceProfileCycle,
// ErrNoRoleSource, ErrConflictingSources, ErrNoCredentials,
// ErrPartialCredentials or ErrProfileNotFound where one of them is the
// cause.
type ResolveError struct {
	// Profile is the profile resolved and Path the profiles visited
	// along source_profile from it.
	Profile string
	Path    []string
	// At is the profile at fault, Key the key at fault ("" when the
	// profile as a whole is) and Pos where Key is set. They are empty in
	// the error of Chain.Wrap, whose Err says what was wrong.
	At  string
	Key string
	Pos Position
	Err error
}

func (e *ResolveError) Error() string {
	if len(e.Path) > 1 {
		return fmt.Sprintf("profile %s (source_profile chain %s): %v", e.Profile, strings.Join(e.Path, " -> "), e.Err)
	}
	return e.Err.Error()
}

func (e *ResolveError) Unwrap() error { return e.Err }

// ResolveOptions configures Resolve.
type ResolveOptions struct {
	// Rules picks aws-sdk-go-v2's (the default) or botocore's reading.
	Rules Rules
	// StoredKeys, if set, reports whether keys of a profile that has none
	// in the files are kept elsewhere (credkit's vault); such a profile
	// resolves to a *StoredKeysRoot as if its keys were in the files.
	// It is asked under GoSDKRules only. Its error is ignored for a
	// profile with other credential settings, which does not depend on
	// the stored keys.
	StoredKeys func(profile string) (bool, error)
}

// Resolve follows the profile name's role_arn and source_profile links
// (any depth) to where its credentials start: static keys, stored keys,
// credential_source, web identity, SSO or credential_process. opts.Rules
// picks aws-sdk-go-v2's or botocore's reading where they differ (see
// Rules).
//
// A profile that is in neither file gives a *ProfileNotFoundError. Any
// other error is a *ResolveError naming the profile, key and file:line: a
// source_profile loop (ErrSourceProfileCycle, listing the profiles), a
// source_profile naming a profile that does not exist
// (ErrProfileNotFound), a role with nothing to assume it with
// (ErrNoRoleSource), more than one source (ErrConflictingSources), a
// profile without credentials (ErrNoCredentials), one of the two static
// keys (ErrPartialCredentials), a malformed duration_seconds,
// credential_source or SSO configuration.
func (f *Files) Resolve(name string, opts ResolveOptions) (*Chain, error) {
	p, err := f.Profile(name)
	if err != nil {
		return nil, err
	}
	r := &resolver{f: f, opts: opts}
	root, err := r.walk(name, p)
	if err != nil {
		var e *ResolveError
		if errors.As(err, &e) {
			e.Profile, e.Path = name, r.path
		}
		return nil, err
	}
	// r.hops is top-down; calls go bottom-up.
	slices.Reverse(r.hops)
	return &Chain{Profile: name, Rules: opts.Rules, Root: root, Roles: r.hops, Path: r.path,
		MFASerial: setting(p, KeyMFASerial), MFAProcess: setting(p, KeyMFAProcess)}, nil
}

type resolver struct {
	f    *Files
	opts ResolveOptions
	path []string   // profiles visited, in order
	hops []*RoleHop // roles, top-down
}

// fail is the error of profile name at key.
func fail(name, key string, pos Position, err error) *ResolveError {
	return &ResolveError{At: name, Key: key, Pos: pos, Err: err}
}

// walk follows source_profile links from name.
func (r *resolver) walk(name string, p *Profile) (Root, error) {
	cur, first := name, true
	for {
		r.path = append(r.path, cur)
		var (
			next string
			root Root
			err  error
		)
		if r.opts.Rules == BotocoreRules {
			next, root, err = r.stepBotocore(cur, p, first)
		} else {
			next, root, err = r.stepGo(cur, p, first)
		}
		if err != nil || root != nil {
			return root, err
		}
		for i, seen := range r.path {
			if seen == next {
				return nil, r.cycle(i, next)
			}
		}
		np, err := r.f.Profile(next)
		if err != nil {
			pos := p.Pos(KeySourceProfile)
			return nil, fail(cur, KeySourceProfile, pos, fmt.Errorf("profile %s: source_profile at %s: %w", cur, pos, err))
		}
		cur, p, first = next, np, false
	}
}

// cycle describes a loop back to r.path[i].
func (r *resolver) cycle(i int, next string) error {
	var where []string
	var first Position
	for _, n := range r.path[i:] {
		if p, err := r.f.Profile(n); err == nil {
			pos := p.Pos(KeySourceProfile)
			if !first.IsValid() {
				first = pos
			}
			where = append(where, fmt.Sprintf("%s at %s", n, pos))
		}
	}
	loop := append(append([]string(nil), r.path[i:]...), next)
	return fail(r.path[i], KeySourceProfile, first, fmt.Errorf("%w: %s (source_profile of %s); only a profile with static keys may name itself",
		ErrSourceProfileCycle, strings.Join(loop, " -> "), strings.Join(where, ", ")))
}

// hop appends the role of profile name.
func (r *resolver) hop(name string, p *Profile) error {
	h := &RoleHop{
		Profile:         name,
		RoleARN:         setting(p, KeyRoleARN),
		ExternalID:      setting(p, KeyExternalID),
		MFASerial:       setting(p, KeyMFASerial),
		MFAProcess:      setting(p, KeyMFAProcess),
		RoleSessionName: setting(p, KeyRoleSessionName),
		DurationSeconds: setting(p, KeyDurationSeconds),
		SourceProfile:   setting(p, KeySourceProfile),
	}
	if d := h.DurationSeconds; d.IsSet() {
		n, err := strconv.Atoi(d.Value)
		if err != nil || n <= 0 {
			return fail(name, KeyDurationSeconds, d.Pos, fmt.Errorf("profile %s: %s at %s is not a whole number of seconds", name, KeyDurationSeconds, d.Pos))
		}
		h.Duration = time.Duration(n) * time.Second
	}
	r.hops = append(r.hops, h)
	return nil
}

// stepGo reads one profile of the chain by aws-sdk-go-v2's rules. It
// returns the next profile to visit, or the root.
func (r *resolver) stepGo(name string, p *Profile, first bool) (string, Root, error) {
	role := setting(p, KeyRoleARN)
	sp := setting(p, KeySourceProfile).Value
	if !role.IsSet() {
		for _, k := range []string{KeySourceProfile, KeyCredentialSource, KeyWebIdentityTokenFile} {
			if s := setting(p, k); s.IsSet() {
				return "", nil, fail(name, k, s.Pos, fmt.Errorf("profile %s: %s at %s needs role_arn: %w", name, k, s.Pos, ErrNoRoleSource))
			}
		}
	}
	// A source profile with keys ends the chain; its own role, if any, is
	// assumed with them and its source_profile is ignored.
	if !first {
		root, err := r.staticRoot(name, p, 0)
		if err != nil {
			return "", nil, err
		}
		if root != nil {
			if role.IsSet() {
				if err := r.hop(name, p); err != nil {
					return "", nil, err
				}
			}
			return "", root, nil
		}
	}
	if err := oneSourceGo(name, p); err != nil {
		return "", nil, err
	}
	if sp != "" {
		if err := r.hop(name, p); err != nil {
			return "", nil, err
		}
		if sp != name {
			return sp, nil, nil
		}
		// source_profile names the profile itself: its own credentials
		// (keys, else SSO) are the source.
		root, err := r.ownGo(name, p, true)
		if err != nil || root != nil {
			return "", root, err
		}
		return "", nil, r.cycle(len(r.path)-1, name)
	}
	root, err := r.ownGo(name, p, false)
	if err != nil {
		return "", nil, err
	}
	if ls, ok := root.(*LoginSessionRoot); ok && !first {
		// aws-sdk-go-v2's hasCredentials does not count login_session.
		return "", nil, fail(name, KeyLoginSession, ls.From.Pos, fmt.Errorf("profile %s: its login_session at %s cannot be the source of a role: aws-sdk-go-v2 refuses it (botocore takes it); name the login_session profile itself instead",
			name, ls.From.Pos))
	}
	if root == nil {
		if role.IsSet() {
			return "", nil, noRoleSource(name, p,
				"; aws-sdk-go-v2 would sign with container or instance metadata credentials, botocore refuses")
		}
		return "", nil, noCredentials(name, p)
	}
	if _, web := root.(*WebIdentityRoot); role.IsSet() && !web {
		if err := r.hop(name, p); err != nil {
			return "", nil, err
		}
	}
	return "", root, nil
}

// oneSourceGo is aws-sdk-go-v2's validateCredentialType: at most one of
// source_profile, credential_source, credential_process and
// web_identity_token_file.
func oneSourceGo(name string, p *Profile) error {
	var set []string
	var second struct {
		key string
		pos Position
	}
	for _, k := range []string{KeySourceProfile, KeyCredentialSource, KeyCredentialProcess, KeyWebIdentityTokenFile} {
		if s := setting(p, k); s.IsSet() {
			if len(set) == 1 {
				second.key, second.pos = k, s.Pos
			}
			set = append(set, fmt.Sprintf("%s (%s)", k, s.Pos))
		}
	}
	if len(set) > 1 {
		list := "both " + strings.Join(set, " and ")
		if len(set) > 2 {
			list = strings.Join(set[:len(set)-1], ", ") + " and " + set[len(set)-1]
		}
		return fail(name, second.key, second.pos, fmt.Errorf("profile %s: %s are set; a profile may have one source of credentials: %w",
			name, list, ErrConflictingSources))
	}
	return nil
}

// ownGo is a profile's own credentials in aws-sdk-go-v2's order: static
// keys, credential_source, web identity, SSO, login_session,
// credential_process. self is true for a profile that names itself as
// source_profile, where only keys and SSO count. It returns nil when the profile has none.
func (r *resolver) ownGo(name string, p *Profile, self bool) (Root, error) {
	if root, err := r.staticRoot(name, p, 0); err != nil || root != nil {
		return root, err
	}
	if !self && setting(p, KeyCredentialSource).IsSet() {
		return credentialSource(name, p)
	}
	if !self && setting(p, KeyWebIdentityTokenFile).IsSet() {
		return r.webIdentityRoot(name, p)
	}
	if hasSSO(p) {
		return r.ssoRoot(name, p)
	}
	if ls := setting(p, KeyLoginSession); !self && ls.IsSet() {
		return loginSessionRoot(name, ls), nil
	}
	if !self && setting(p, KeyCredentialProcess).IsSet() {
		return processRoot(name, p), nil
	}
	return nil, nil
}

// stepBotocore reads one profile of the chain by botocore's rules.
func (r *resolver) stepBotocore(name string, p *Profile, first bool) (string, Root, error) {
	assumes := setting(p, KeyRoleARN).IsSet() && !setting(p, KeyWebIdentityTokenFile).IsSet()
	_, keyKind := r.f.keyLayer(name)
	if !assumes || (!first && keyKind != 0) {
		root, err := r.ownBotocore(name, p)
		if err != nil {
			return "", nil, err
		}
		if root == nil {
			return "", nil, noCredentials(name, p)
		}
		return "", root, nil
	}
	sp, cs := setting(p, KeySourceProfile), setting(p, KeyCredentialSource)
	switch {
	case sp.IsSet() && cs.IsSet():
		return "", nil, fail(name, KeyCredentialSource, cs.Pos, fmt.Errorf("profile %s: both source_profile (%s) and credential_source (%s) are set; a role takes its source credentials from one of them: %w",
			name, sp.Pos, cs.Pos, ErrConflictingSources))
	case !sp.IsSet() && !cs.IsSet():
		return "", nil, noRoleSource(name, p, "")
	}
	if err := r.hop(name, p); err != nil {
		return "", nil, err
	}
	if cs.IsSet() {
		root, err := credentialSource(name, p)
		return "", root, err
	}
	if sp.Value != name {
		return sp.Value, nil, nil
	}
	if keyKind == 0 {
		return "", nil, r.cycle(len(r.path)-1, name)
	}
	root, err := r.ownBotocore(name, p)
	return "", root, err
}

// ownBotocore is a profile's own credentials in botocore's order (its
// profile provider chain): web identity, SSO, keys of the credentials
// file, login_session, credential_process, keys of the config file. It returns nil when
// the profile has none.
func (r *resolver) ownBotocore(name string, p *Profile) (Root, error) {
	if setting(p, KeyRoleARN).IsSet() && setting(p, KeyWebIdentityTokenFile).IsSet() {
		return r.webIdentityRoot(name, p)
	}
	if hasSSO(p) {
		return r.ssoRoot(name, p)
	}
	if root, err := r.staticRoot(name, p, KindCredentials); err != nil || root != nil {
		return root, err
	}
	if ls := setting(p, KeyLoginSession); ls.IsSet() {
		return loginSessionRoot(name, ls), nil
	}
	if setting(p, KeyCredentialProcess).IsSet() {
		return processRoot(name, p), nil
	}
	return r.staticRoot(name, p, KindConfig)
}

func noRoleSource(name string, p *Profile, note string) error {
	pos := p.Pos(KeyRoleARN)
	return fail(name, KeyRoleARN, pos, fmt.Errorf("profile %s: role_arn at %s has nothing to assume it with: set source_profile or credential_source (or web_identity_token_file)%s: %w",
		name, pos, note, ErrNoRoleSource))
}

func noCredentials(name string, p *Profile) error {
	return fail(name, "", Position{}, fmt.Errorf("%w in profile %s (%s): it has no %s and %s, %s, %s, %s or %s",
		ErrNoCredentials, name, p.DefinedAt(),
		KeyAccessKeyID, KeySecretAccessKey, KeyRoleARN, KeySSOSession, KeyLoginSession, KeyCredentialProcess))
}

// staticRoot is the root of a profile's static keys, or nil when it has
// none (in the file of kind only, when kind is not 0). Partial keys are an
// error. With kind 0, a profile with no keys in the files may have stored
// ones.
func (r *resolver) staticRoot(name string, p *Profile, kind FileKind) (Root, error) {
	layer, k := r.f.keyLayer(name)
	if layer == nil && kind == 0 && r.opts.StoredKeys != nil {
		ok, err := r.opts.StoredKeys(name)
		if err != nil && p.HasCredentialSettings() {
			// A profile with its own source (SSO, a role, ...) does not
			// depend on the stored keys; an unusable store is not its
			// error.
			ok, err = false, nil
		}
		if err != nil {
			return nil, fail(name, "", Position{}, fmt.Errorf("profile %s: %w", name, err))
		}
		if ok {
			return &StoredKeysRoot{From: Origin{Profile: name}, MFAProcess: setting(p, KeyMFAProcess)}, nil
		}
	}
	if layer == nil || (kind != 0 && k != kind) {
		return nil, nil
	}
	root, err := r.f.keysOf(name, layer, k)
	if err != nil {
		return nil, err
	}
	return root, nil
}

// credentialSource is the root of credential_source.
func credentialSource(name string, p *Profile) (Root, error) {
	cs := setting(p, KeyCredentialSource)
	switch cs.Value {
	case CredentialSourceEnvironment, CredentialSourceEC2Metadata, CredentialSourceECSContainer:
		return &CredentialSourceRoot{From: Origin{Profile: name, Pos: cs.Pos}, Source: cs}, nil
	}
	value := strconv.Quote(cs.Value)
	if len(cs.Value) > 40 {
		value = fmt.Sprintf("a %d-byte value", len(cs.Value))
	}
	return nil, fail(name, KeyCredentialSource, cs.Pos, fmt.Errorf("profile %s: credential_source at %s is %s; it must be %s, %s or %s",
		name, cs.Pos, value, CredentialSourceEnvironment, CredentialSourceEC2Metadata, CredentialSourceECSContainer))
}

// webIdentityRoot and ssoRoot give a nil Root, not a nil pointer in one,
// on error.
func (r *resolver) webIdentityRoot(name string, p *Profile) (Root, error) {
	root, err := webIdentityRoot(name, p)
	if err != nil {
		return nil, err
	}
	return root, nil
}

func (r *resolver) ssoRoot(name string, p *Profile) (Root, error) {
	root, err := r.f.ssoRoot(name, p)
	if err != nil {
		return nil, err
	}
	return root, nil
}

func loginSessionRoot(name string, ls Setting) *LoginSessionRoot {
	return &LoginSessionRoot{From: Origin{Profile: name, Pos: ls.Pos}, Session: ls}
}

func processRoot(name string, p *Profile) *ProcessRoot {
	cmd := setting(p, KeyCredentialProcess)
	return &ProcessRoot{From: Origin{Profile: name, Pos: cmd.Pos}, Command: cmd, AccountID: setting(p, KeyAccountID)}
}

// ResolveWebIdentity returns the web identity settings of a profile with
// web_identity_token_file, role_arn and optionally role_session_name.
func (f *Files) ResolveWebIdentity(name string) (*WebIdentityRoot, error) {
	p, err := f.Profile(name)
	if err != nil {
		return nil, err
	}
	return webIdentityRoot(name, p)
}

func webIdentityRoot(name string, p *Profile) (*WebIdentityRoot, error) {
	file := setting(p, KeyWebIdentityTokenFile)
	if !file.IsSet() {
		return nil, fail(name, KeyWebIdentityTokenFile, Position{}, fmt.Errorf("profile %s (%s) has no %s", name, p.DefinedAt(), KeyWebIdentityTokenFile))
	}
	role := setting(p, KeyRoleARN)
	if !role.IsSet() {
		return nil, fail(name, KeyRoleARN, file.Pos, fmt.Errorf("profile %s: %s at %s needs role_arn: %w",
			name, KeyWebIdentityTokenFile, file.Pos, ErrNoRoleSource))
	}
	return &WebIdentityRoot{From: Origin{Profile: name, Pos: file.Pos}, RoleARN: role, TokenFile: file, RoleSessionName: setting(p, KeyRoleSessionName)}, nil
}

// ssoKeys are the keys that make a profile an SSO profile (as
// aws-sdk-go-v2 decides).
var ssoKeys = []string{KeySSOSession, KeySSOStartURL, KeySSOAccountID, KeySSORoleName, KeySSORegion}

// hasSSO reports whether a profile is configured for SSO: sso_session, or
// any of the legacy keys.
func hasSSO(p *Profile) bool {
	for _, k := range ssoKeys {
		if setting(p, k).IsSet() {
			return true
		}
	}
	return false
}

// ResolveSSO returns the SSO settings of a profile: one with sso_session
// (naming an [sso-session NAME] section with sso_region and
// sso_start_url), sso_account_id and sso_role_name, or a legacy one with
// sso_start_url, sso_region, sso_account_id and sso_role_name. A missing
// key or section, or a profile's sso_region or sso_start_url that differs
// from its session's, is an error naming the file and line.
func (f *Files) ResolveSSO(name string) (*SSORoot, error) {
	p, err := f.Profile(name)
	if err != nil {
		return nil, err
	}
	if !hasSSO(p) {
		return nil, fail(name, "", Position{}, fmt.Errorf("profile %s (%s) is not an SSO profile: it has no %s or %s",
			name, p.DefinedAt(), KeySSOSession, KeySSOStartURL))
	}
	return f.ssoRoot(name, p)
}

func (f *Files) ssoRoot(name string, p *Profile) (*SSORoot, error) {
	s := &SSORoot{
		Session:   setting(p, KeySSOSession),
		StartURL:  setting(p, KeySSOStartURL),
		Region:    setting(p, KeySSORegion),
		AccountID: setting(p, KeySSOAccountID),
		RoleName:  setting(p, KeySSORoleName),
	}
	s.From = Origin{Profile: name, Pos: s.StartURL.Pos}
	var missing []string
	if s.Session.IsSet() {
		s.From.Pos = s.Session.Pos
		sec, ok := f.SSOSession(s.Session.Value)
		if !ok {
			found := "none are defined"
			if names := f.SSOSessionNames(); len(names) > 0 {
				found = "found: " + strings.Join(names, ", ")
			}
			return nil, fail(name, KeySSOSession, s.Session.Pos, fmt.Errorf("profile %s: sso_session at %s names [sso-session %s], which is not in the config file (%s)",
				name, s.Session.Pos, s.Session.Value, found))
		}
		for _, k := range []struct {
			key string
			dst *Setting
		}{{KeySSORegion, &s.Region}, {KeySSOStartURL, &s.StartURL}} {
			v, _ := sec.Get(k.key)
			v = strings.TrimSpace(v)
			switch {
			case v == "":
				missing = append(missing, fmt.Sprintf("%s in [sso-session %s] (%s)", k.key, s.Session.Value, sec.DefinedAt()))
			case k.dst.IsSet() && k.dst.Value != v:
				return nil, fail(name, k.key, k.dst.Pos, fmt.Errorf("profile %s: %s at %s differs from the one of [sso-session %s] at %s; they must match",
					name, k.key, k.dst.Pos, s.Session.Value, sec.Pos(k.key)))
			default:
				*k.dst = Setting{Value: v, Pos: sec.Pos(k.key)}
			}
		}
	} else {
		for _, k := range []struct {
			key string
			s   Setting
		}{{KeySSOStartURL, s.StartURL}, {KeySSORegion, s.Region}} {
			if !k.s.IsSet() {
				missing = append(missing, k.key)
			}
		}
	}
	if !s.AccountID.IsSet() {
		missing = append(missing, KeySSOAccountID)
	}
	if !s.RoleName.IsSet() {
		missing = append(missing, KeySSORoleName)
	}
	if len(missing) > 0 {
		return nil, fail(name, "", Position{}, fmt.Errorf("profile %s (%s) is configured for SSO but lacks %s",
			name, p.DefinedAt(), strings.Join(missing, ", ")))
	}
	return s, nil
}

// StaticKeys returns the static keys of a profile as Resolve reads them,
// whatever else the profile has: ok is false when neither file gives it
// aws_access_key_id or aws_secret_access_key. One key without the other,
// or an empty one, is an error wrapping ErrPartialCredentials.
func (f *Files) StaticKeys(name string) (root *StaticKeysRoot, ok bool, err error) {
	layer, kind := f.keyLayer(name)
	if layer == nil {
		return nil, false, nil
	}
	root, err = f.keysOf(name, layer, kind)
	return root, err == nil, err
}

// keyLayer returns the profile as the file that holds its keys defines it:
// the credentials file if the profile has either key there, else the config
// file if it has either key there, else nil.
func (f *Files) keyLayer(name string) (*Profile, FileKind) {
	for _, kind := range []FileKind{KindCredentials, KindConfig} {
		p, ok := f.ProfileIn(kind, name)
		if !ok {
			continue
		}
		_, hasID := p.Get(KeyAccessKeyID)
		_, hasSecret := p.Get(KeySecretAccessKey)
		if hasID || hasSecret {
			return p, kind
		}
	}
	return nil, 0
}

// keysOf reads the static keys of a profile's key layer.
func (f *Files) keysOf(name string, layer *Profile, kind FileKind) (*StaticKeysRoot, error) {
	id, secret := setting(layer, KeyAccessKeyID), setting(layer, KeySecretAccessKey)
	if !id.IsSet() || !secret.IsSet() {
		return nil, f.partialKeys(name, layer, kind)
	}
	return &StaticKeysRoot{
		From: Origin{Profile: name, Pos: id.Pos}, File: kind,
		AccessKeyID: id, SecretAccessKey: secret,
		SessionToken: setting(layer, KeySessionToken), AccountID: setting(layer, KeyAccountID),
	}, nil
}

// partialKeys explains a profile whose file holds only one of the two keys,
// or an empty one. It names keys and lines, never values.
func (f *Files) partialKeys(name string, layer *Profile, kind FileKind) error {
	idKey, secretKey := KeyAccessKeyID, KeySecretAccessKey
	id, hasID := layer.Get(idKey)
	secret, hasSecret := layer.Get(secretKey)
	var msg, key string
	switch {
	case hasID && id == "":
		key, msg = idKey, fmt.Sprintf("%s at %s is empty", idKey, layer.Pos(idKey))
	case hasSecret && secret == "":
		key, msg = secretKey, fmt.Sprintf("%s at %s is empty", secretKey, layer.Pos(secretKey))
	case !hasSecret:
		key, msg = idKey, fmt.Sprintf("%s at %s has no %s next to it in the %s", idKey, layer.Pos(idKey), secretKey, kind)
	default:
		key, msg = secretKey, fmt.Sprintf("%s at %s has no %s next to it in the %s", secretKey, layer.Pos(secretKey), idKey, kind)
	}
	// Keys are never combined across the two files; say so when the
	// missing one is in the other file.
	other := KindConfig
	if kind == KindConfig {
		other = KindCredentials
	}
	if op, ok := f.ProfileIn(other, name); ok {
		missing := secretKey
		if !hasID || id == "" {
			missing = idKey
		}
		if _, ok := op.Get(missing); ok {
			msg += fmt.Sprintf(" (the %s at %s is not used with keys from the %s)", missing, op.Pos(missing), kind)
		}
	}
	return fail(name, key, layer.Pos(key), fmt.Errorf("profile %s: %s: %w", name, msg, ErrPartialCredentials))
}
