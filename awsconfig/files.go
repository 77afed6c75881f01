package awsconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/credkit/credkit/internal/awsenv"
)

// Environment variables that move the files.
const (
	EnvConfigFile      = awsenv.ConfigFileVar
	EnvCredentialsFile = awsenv.CredentialsFileVar
)

// Options says which files Load reads. The zero Options reads the files the
// AWS SDKs read.
type Options struct {
	// ConfigFile and CredentialsFile are the paths to read. Empty means
	// $AWS_CONFIG_FILE / $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config /
	// ~/.aws/credentials. A leading ~/ is the home directory.
	ConfigFile, CredentialsFile string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// HomeDir is the home directory; empty means HOME as Getenv reads it,
	// else os.UserHomeDir() (see awsenv.Home).
	HomeDir string
}

// FileKind tells the two files apart.
type FileKind int

const (
	// KindConfig is the shared config file, ~/.aws/config.
	KindConfig FileKind = iota + 1
	// KindCredentials is the shared credentials file, ~/.aws/credentials.
	KindCredentials
)

// String is "shared config file" or "shared credentials file".
func (k FileKind) String() string {
	switch k {
	case KindConfig:
		return "shared config file"
	case KindCredentials:
		return "shared credentials file"
	}
	return "unknown file"
}

// FileInfo describes one of the two files.
type FileInfo struct {
	Kind FileKind
	// Path is the path that was read.
	Path string
	// Display is Path as shown in messages, with the home directory
	// abbreviated to ~ (e.g. "~/.aws/config").
	Display string
	// From says where the path came from: "Options", the environment
	// variable's name, or "default location".
	From string
	// Exists is false when the file does not exist (which is not an error).
	Exists bool
}

// Files is the content of the shared config and credentials files.
type Files struct {
	config, credentials FileInfo

	cfg, cred *iniFile
	// profiles as the config file defines them (by profile name, the later
	// of two sections for the same name), and as the credentials file does.
	cfgProfiles, credProfiles map[string]*iniSection
	ssoSessions, services     map[string]*iniSection
	others                    map[string]*iniSection // other sections of the config file
	warnings                  []Warning
}

// Load reads the shared config and credentials files. A file that does not
// exist is recorded as absent; one that cannot be read or is malformed is an
// error, and a malformed line is reported as file:line.
func Load(opts Options) (*Files, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	home := opts.HomeDir
	var homeErr error
	if home == "" {
		home, homeErr = awsenv.Home(getenv)
	}
	locate := func(kind FileKind, opt string, sf awsenv.SharedFile) (FileInfo, error) {
		fi := FileInfo{Kind: kind}
		if opt != "" {
			fi.Path, fi.From = opt, "Options"
		} else {
			fi.Path, fi.From = sf.Locate(getenv, home)
			if fi.From == awsenv.FromDefaultLocation && homeErr != nil {
				return fi, fmt.Errorf("locate the %s: no home directory for ~/.aws/%s: %w", kind, sf.Base, homeErr)
			}
		}
		p, err := awsenv.ExpandHome(fi.Path, func() (string, error) { return home, homeErr })
		if err != nil {
			return fi, fmt.Errorf("locate the %s %s (from %s): %w", kind, fi.Path, fi.From, err)
		}
		fi.Path = p
		fi.Display = abbreviateHome(fi.Path, home)
		return fi, nil
	}

	f := &Files{}
	var err error
	if f.config, err = locate(KindConfig, opts.ConfigFile, awsenv.ConfigFile); err != nil {
		return nil, err
	}
	if f.credentials, err = locate(KindCredentials, opts.CredentialsFile, awsenv.CredentialsFile); err != nil {
		return nil, err
	}
	if f.cfg, err = readFile(&f.config); err != nil {
		return nil, err
	}
	if f.cred, err = readFile(&f.credentials); err != nil {
		return nil, err
	}
	f.index()
	return f, nil
}

// readFile reads and parses one file; a missing file gives an empty one.
func readFile(fi *FileInfo) (*iniFile, error) {
	data, err := os.ReadFile(fi.Path)
	switch {
	case err == nil:
		fi.Exists = true
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return &iniFile{}, nil
	default:
		if st, serr := os.Stat(fi.Path); serr == nil && st.IsDir() {
			return nil, fmt.Errorf("read the %s %s (from %s): it is a directory", fi.Kind, fi.Display, fi.From)
		}
		return nil, fmt.Errorf("read the %s %s (from %s): %w", fi.Kind, fi.Display, fi.From, err)
	}
	d, err := parseINI(data, fi.Display, fi.Kind)
	if err != nil {
		return nil, err
	}
	if key := d.secretKey(); key != "" && runtime.GOOS != "windows" {
		if st, err := os.Stat(fi.Path); err == nil && st.Mode().Perm()&0o077 != 0 {
			d.warn(Position{File: fi.Display}, fmt.Sprintf("the file holds %s and others can read it (mode %04o): chmod 600 %s",
				key, st.Mode().Perm(), fi.Display))
		}
	}
	return d, nil
}

// abbreviateHome shows a path under home as ~/...
func abbreviateHome(path, home string) string {
	if home == "" {
		return path
	}
	home = filepath.Clean(home)
	if rel, ok := strings.CutPrefix(filepath.Clean(path), home+string(filepath.Separator)); ok {
		return "~" + string(filepath.Separator) + rel
	}
	return path
}

// Known top-level sections of the config file that are not profiles.
var knownOtherSections = map[string]bool{"preview": true, "plugins": true}

// index maps sections to profiles, SSO sessions and services the way
// botocore's build_profile_map does for the config file, and takes every
// section of the credentials file as a profile of the same name.
func (f *Files) index() {
	f.cfgProfiles = make(map[string]*iniSection, len(f.cfg.sections))
	// Every section of the credentials file is the profile of its name,
	// and the parser has mapped them by name already.
	f.credProfiles = f.cred.byName
	f.ssoSessions = map[string]*iniSection{}
	f.services = map[string]*iniSection{}
	f.others = map[string]*iniSection{}
	f.warnings = append(f.warnings, f.cfg.warnings...)
	f.warnings = append(f.warnings, f.cred.warnings...)

	for _, d := range []*iniFile{f.cfg, f.cred} {
		if d.defaults != nil {
			f.warn(d.defaults.pos, "[DEFAULT]: the AWS CLI and boto3 add its keys to every section of this file; aws-sdk-go-v2 ignores it")
		}
	}

	kinds := []struct {
		prefix string
		what   string
		into   map[string]*iniSection
	}{
		{"profile", "profile", f.cfgProfiles},
		{"sso-session", "SSO session", f.ssoSessions},
		{"services", "services section", f.services},
	}
	put := func(into map[string]*iniSection, what, name string, s *iniSection) {
		if prev, ok := into[name]; ok {
			f.warn(s.pos, fmt.Sprintf("[%s] defines %s %q again (first at line %d): the AWS CLI and boto3 use this later one%s",
				s.name, what, name, prev.pos.Line, goSDKDefaultNote(what, name, prev, s)))
		}
		into[name] = s
	}
	var words [4]string // room for shlexAppend's words, without an allocation
sections:
	for _, s := range f.cfg.sections {
		for _, k := range kinds {
			if !strings.HasPrefix(s.name, k.prefix) {
				continue
			}
			parts, err := shlexAppend(words[:0], s.name)
			if err != nil || len(parts) != 2 {
				f.warn(s.pos, fmt.Sprintf("[%s] is ignored: a %s section is [%s NAME] with one name (quote a name with spaces)", s.name, k.what, k.prefix))
				continue sections
			}
			if parts[0] != k.prefix {
				f.warn(s.pos, fmt.Sprintf("[%s]: the AWS CLI and boto3 read this as %s %q, aws-sdk-go-v2 ignores it; write [%s %s]", s.name, k.what, parts[1], k.prefix, parts[1]))
			}
			put(k.into, k.what, parts[1], s)
			continue sections
		}
		if s.name == "default" {
			put(f.cfgProfiles, "profile", "default", s)
			continue
		}
		f.others[s.name] = s
		if !knownOtherSections[s.name] {
			f.warn(s.pos, fmt.Sprintf("[%s] is not a profile: in the config file a profile section is [profile %s]", s.name, s.name))
		}
	}
	for _, s := range f.cred.sections {
		if rest, ok := strings.CutPrefix(s.name, "profile "); ok {
			f.warn(s.pos, fmt.Sprintf("[%s] is a profile named %q: the credentials file takes section names as they are (write [%s]); aws-sdk-go-v2 ignores it", s.name, s.name, rest))
		}
	}
	// Config file first, then the credentials file, each by line.
	sort.SliceStable(f.warnings, func(i, j int) bool {
		a, b := f.warnings[i].Pos, f.warnings[j].Pos
		if ka, kb := a.File == f.credentials.Display, b.File == f.credentials.Display; ka != kb {
			return kb
		}
		return a.Line < b.Line
	})
}

// goSDKDefaultNote explains that aws-sdk-go-v2 prefers [profile default].
func goSDKDefaultNote(what, name string, prev, s *iniSection) string {
	if what != "profile" || name != "default" || prev.name == s.name {
		return ""
	}
	return "; aws-sdk-go-v2 uses [profile default]"
}

func (f *Files) warn(pos Position, msg string) {
	f.warnings = append(f.warnings, Warning{Pos: pos, Msg: msg})
}

// ConfigFile describes the shared config file.
func (f *Files) ConfigFile() FileInfo {
	if f == nil {
		return FileInfo{Kind: KindConfig}
	}
	return f.config
}

// CredentialsFile describes the shared credentials file.
func (f *Files) CredentialsFile() FileInfo {
	if f == nil {
		return FileInfo{Kind: KindCredentials}
	}
	return f.credentials
}

// Warnings lists what the files do that credkit, the AWS CLI and the AWS
// SDKs read differently, or that looks like a mistake. None of them stops
// Load.
func (f *Files) Warnings() []Warning {
	if f == nil {
		return nil
	}
	return append([]Warning(nil), f.warnings...)
}

// ProfileNames lists the profiles of both files, sorted.
func (f *Files) ProfileNames() []string {
	if f == nil {
		return nil
	}
	seen := map[string]bool{}
	for n := range f.cfgProfiles {
		seen[n] = true
	}
	for n := range f.credProfiles {
		seen[n] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// ProfileSources says where a profile is defined: the position of its
// section header in the config file, then in the credentials file, for those
// that define it. It is empty for a profile that does not exist.
func (f *Files) ProfileSources(name string) []Position {
	if f == nil {
		return nil
	}
	var out []Position
	if s, ok := f.cfgProfiles[name]; ok {
		out = append(out, s.pos)
	}
	if s, ok := f.credProfiles[name]; ok {
		out = append(out, s.pos)
	}
	return out
}

// Profile returns a profile with the keys of both files: a key in the
// credentials file wins over the same key in the config file. A profile
// that is in neither file gives a *ProfileNotFoundError (errors.Is
// ErrProfileNotFound).
func (f *Files) Profile(name string) (*Profile, error) {
	if f == nil {
		return nil, &ProfileNotFoundError{Name: name}
	}
	cs, inCfg := f.cfgProfiles[name]
	rs, inCred := f.credProfiles[name]
	if !inCfg && !inCred {
		return nil, f.notFound(name)
	}
	p := &Profile{Section: Section{Name: name, entries: map[string]*entry{}}}
	if inCfg {
		for k, e := range f.cfg.effective(cs) {
			p.entries[k] = e
		}
		p.defined = append(p.defined, cs.pos)
	}
	if inCred {
		for k, e := range f.cred.effective(rs) {
			p.entries[k] = e
		}
		p.defined = append(p.defined, rs.pos)
	}
	return p, nil
}

// ProfileIn returns a profile as one file alone defines it (with what that
// file's [DEFAULT] adds), or false when that file does not define it.
func (f *Files) ProfileIn(kind FileKind, name string) (*Profile, bool) {
	if f == nil {
		return nil, false
	}
	var s *iniSection
	var d *iniFile
	switch kind {
	case KindConfig:
		s, d = f.cfgProfiles[name], f.cfg
	case KindCredentials:
		s, d = f.credProfiles[name], f.cred
	}
	if s == nil {
		return nil, false
	}
	return &Profile{Section: Section{Name: name, entries: d.effective(s), defined: []Position{s.pos}}}, true
}

// SSOSessionNames lists the [sso-session NAME] sections of the config file,
// sorted.
func (f *Files) SSOSessionNames() []string {
	if f == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(f.ssoSessions))
}

// ServicesNames lists the [services NAME] sections of the config file,
// sorted.
func (f *Files) ServicesNames() []string {
	if f == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(f.services))
}

// SSOSession returns the [sso-session NAME] section of the config file.
func (f *Files) SSOSession(name string) (*Section, bool) {
	return f.namedSection(name, func(f *Files) map[string]*iniSection { return f.ssoSessions })
}

// Services returns the [services NAME] section of the config file.
func (f *Files) Services(name string) (*Section, bool) {
	return f.namedSection(name, func(f *Files) map[string]*iniSection { return f.services })
}

func (f *Files) namedSection(name string, m func(*Files) map[string]*iniSection) (*Section, bool) {
	if f == nil {
		return nil, false
	}
	s, ok := m(f)[name]
	if !ok {
		return nil, false
	}
	return &Section{Name: name, entries: f.cfg.effective(s), defined: []Position{s.pos}}, true
}

// notFound builds the error for a missing profile, with near misses.
func (f *Files) notFound(name string) error {
	e := &ProfileNotFoundError{
		Name:     name,
		Files:    []FileInfo{f.config, f.credentials},
		Existing: f.ProfileNames(),
	}
	if s, ok := f.others[name]; ok {
		e.Hints = append(e.Hints, fmt.Sprintf("%s has [%s], which the config file does not read as a profile: write [profile %s]", s.pos, name, name))
	}
	if s, ok := f.credProfiles["profile "+name]; ok {
		e.Hints = append(e.Hints, fmt.Sprintf("%s has [profile %s], a profile named %q: in the credentials file write [%s]", s.pos, name, s.name, name))
	}
	for _, n := range e.Existing {
		if n != name && strings.EqualFold(n, name) {
			e.Hints = append(e.Hints, fmt.Sprintf("profile names are case-sensitive: did you mean %q?", n))
		}
	}
	return e
}

// Section is a section of the files: a profile, an SSO session or a services
// section. Keys are case-insensitive; the sub-keys of a nested block keep
// their case, as in botocore.
type Section struct {
	Name    string
	entries map[string]*entry
	defined []Position
}

func (s *Section) lookup(key string) (*entry, bool) {
	if s == nil {
		return nil, false
	}
	e, ok := s.entries[strings.ToLower(key)]
	return e, ok
}

// Get returns the value of key. A key with a nested block has the value ""
// (see Nested).
func (s *Section) Get(key string) (value string, ok bool) {
	e, ok := s.lookup(key)
	if !ok {
		return "", false
	}
	return e.value, true
}

// Nested returns the nested block of key (a key with an empty value followed
// by indented "name = value" lines), or false when key has none.
func (s *Section) Nested(key string) (map[string]string, bool) {
	e, ok := s.lookup(key)
	if !ok || e.nested == nil {
		return nil, false
	}
	m := make(map[string]string, len(e.nested))
	for k, v := range e.nested {
		m[k] = v
	}
	return m, true
}

// Pos is where key was set, or the zero Position when it is not set.
func (s *Section) Pos(key string) Position {
	e, ok := s.lookup(key)
	if !ok {
		return Position{}
	}
	return e.pos
}

// NestedPos is where sub-key sub of key's nested block was set.
func (s *Section) NestedPos(key, sub string) Position {
	e, ok := s.lookup(key)
	if !ok || e.subPos == nil {
		return Position{}
	}
	return e.subPos[sub]
}

// Origin says which file key came from.
func (s *Section) Origin(key string) (FileKind, bool) {
	e, ok := s.lookup(key)
	if !ok {
		return 0, false
	}
	return e.kind, true
}

// Keys lists the section's keys (lower case), sorted.
func (s *Section) Keys() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.entries))
}

// Defined lists the positions of the section headers that define this
// section: for a profile, the config file's first, then the credentials
// file's.
func (s *Section) Defined() []Position {
	if s == nil {
		return nil
	}
	return append([]Position(nil), s.defined...)
}

// DefinedAt lists the positions of Defined joined with " and ":
// "~/.aws/config:3 and ~/.aws/credentials:1".
func (s *Section) DefinedAt() string {
	var b strings.Builder
	for i, p := range s.Defined() {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Profile is a named profile.
type Profile struct {
	Section
}

// HasCredentialSettings reports whether a profile says how to get
// credentials: static keys, role_arn, credential_source,
// web_identity_token_file, credential_process, SSO keys or login_session.
func (p *Profile) HasCredentialSettings() bool {
	for _, k := range []string{KeyAccessKeyID, KeySecretAccessKey, KeyRoleARN,
		KeyCredentialSource, KeyWebIdentityTokenFile, KeyCredentialProcess,
		KeySSOSession, KeySSOStartURL, KeySSOAccountID, KeySSORoleName, KeyLoginSession} {
		if _, ok := p.Get(k); ok {
			return true
		}
	}
	return false
}

func (p *Profile) str(key string) string {
	if p == nil {
		return ""
	}
	v, _ := p.Get(key)
	return v
}

// Keys of a profile that credkit reads.
const (
	KeyAccessKeyID          = "aws_access_key_id"
	KeySecretAccessKey      = "aws_secret_access_key"
	KeySessionToken         = "aws_session_token"
	KeyAccountID            = "aws_account_id"
	KeyRegion               = "region"
	KeyRoleARN              = "role_arn"
	KeySourceProfile        = "source_profile"
	KeyCredentialSource     = "credential_source"
	KeyCredentialProcess    = "credential_process"
	KeyWebIdentityTokenFile = "web_identity_token_file"
	KeySSOSession           = "sso_session"
	KeySSOStartURL          = "sso_start_url"
	KeySSOAccountID         = "sso_account_id"
	KeySSORoleName          = "sso_role_name"
	KeySSORegion            = "sso_region"
	KeyLoginSession         = "login_session"
	KeyEndpointURL          = "endpoint_url"
	KeyExternalID           = "external_id"
	KeyRoleSessionName      = "role_session_name"
	KeyDurationSeconds      = "duration_seconds"
	KeyMFASerial            = "mfa_serial"
	// KeyMFAProcess names a command that prints the current MFA code
	// (credkit's own key).
	KeyMFAProcess = "mfa_process"
)

// isSecretKey reports whether key, in lower case, holds a secret.
func isSecretKey(key string) bool {
	switch key {
	case KeySecretAccessKey, KeySessionToken, "aws_security_token":
		return true
	}
	return false
}

// IsSecretKey reports whether key holds a secret, whose value must never
// reach a message.
func IsSecretKey(key string) bool { return isSecretKey(strings.ToLower(key)) }

// AccessKeyID is aws_access_key_id.
func (p *Profile) AccessKeyID() string { return p.str(KeyAccessKeyID) }

// SecretAccessKey is aws_secret_access_key.
func (p *Profile) SecretAccessKey() string { return p.str(KeySecretAccessKey) }

// SessionToken is aws_session_token.
func (p *Profile) SessionToken() string { return p.str(KeySessionToken) }

// Region is region.
func (p *Profile) Region() string { return p.str(KeyRegion) }

// RoleARN is role_arn.
func (p *Profile) RoleARN() string { return p.str(KeyRoleARN) }

// SourceProfile is source_profile.
func (p *Profile) SourceProfile() string { return p.str(KeySourceProfile) }

// CredentialSource is credential_source.
func (p *Profile) CredentialSource() string { return p.str(KeyCredentialSource) }

// CredentialProcess is credential_process.
func (p *Profile) CredentialProcess() string { return p.str(KeyCredentialProcess) }

// WebIdentityTokenFile is web_identity_token_file.
func (p *Profile) WebIdentityTokenFile() string { return p.str(KeyWebIdentityTokenFile) }

// SSOSession is sso_session.
func (p *Profile) SSOSession() string { return p.str(KeySSOSession) }

// EndpointURL is endpoint_url.
func (p *Profile) EndpointURL() string { return p.str(KeyEndpointURL) }
