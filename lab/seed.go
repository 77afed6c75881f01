package lab

import (
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/credkit/credkit/policy"
)

// Seed is the lab's account: who exists, with which keys, and which roles
// they may assume. Read one with LoadSeed or ParseSeed, or start from
// DefaultSeed.
type Seed struct {
	AccountID string
	Users     []SeedUser
	Roles     []SeedRole
	// OIDC is the identity provider whose tokens AssumeRoleWithWebIdentity
	// accepts (the lab signs them).
	OIDC OIDCProvider
	// InstanceRole is the role whose credentials the instance metadata and
	// container endpoints serve; "" means the first role.
	InstanceRole string
	// SSO is the Identity Center the lab plays (see SSOSeed).
	SSO SSOSeed
	// SCPs are the service control policies of the account's
	// organization, per level from the root down to the account; nil
	// means the account is in no organization.
	SCPs [][]*policy.Policy
}

// SeedUser is an IAM user.
type SeedUser struct {
	Name       string
	AccessKeys []AccessKey
	// MFASecret is the base32 seed of the user's virtual MFA device
	// (serial arn:aws:iam::ACCOUNT:mfa/NAME); "" means no MFA device.
	MFASecret string
	// RequireMFA gives the user the usual "no IAM without MFA" policy:
	// IAM calls signed with the user's keys, or with a session made
	// without MFA, are refused with AccessDenied (explicit deny).
	RequireMFA bool
	// Policies are the user's identity-based policies; none means the
	// user may call nothing that needs a permission.
	Policies            []*policy.Policy
	PermissionsBoundary *policy.Policy
}

// AccessKey is a long-term access key.
type AccessKey struct {
	AccessKeyID, SecretAccessKey string
}

// SeedRole is an IAM role.
type SeedRole struct {
	Name string
	// MaxSessionDuration bounds DurationSeconds (1 to 12 hours; 0 means 1
	// hour, as IAM's default).
	MaxSessionDuration time.Duration
	TrustPolicy        *policy.Policy
	// Path is the role's path ("/" when empty): its ARN is
	// arn:aws:iam::ACCOUNT:role/PATH/NAME, and AssumeRole must name it so.
	Path                string
	Policies            []*policy.Policy // identity-based policies of its sessions
	PermissionsBoundary *policy.Policy
}

// OIDCProvider is the web identity provider the lab plays.
type OIDCProvider struct {
	Issuer    string   // the tokens' iss; "" means DefaultIssuer
	ClientIDs []string // accepted aud values; none means sts.amazonaws.com
}

// DefaultIssuer is the iss of the lab's web identity tokens. It is not a
// resolvable host (.invalid): the lab serves the discovery document and
// the JWKS itself, at /.well-known/openid-configuration and
// /_lab/jwks.json, and a seed stays valid whatever port the lab listens on.
const DefaultIssuer = "https://oidc.lab.invalid"

// Names of the built-in seed's users and roles.
const (
	DefaultUser         = "lab-user"
	DefaultRole         = "lab-role"         // assumable by anyone in the account
	DefaultExternalRole = "lab-partner-role" // needs sts:ExternalId DefaultExternalID
	DefaultMFARole      = "lab-mfa-role"     // needs an MFA session or code
	DefaultWebRole      = "lab-web-role"     // AssumeRoleWithWebIdentity from the lab's issuer
	DefaultExternalID   = "lab-external-id"
)

// DefaultSeed is the built-in account: one user (lab-user) with a random
// key and a virtual MFA device, and four roles: lab-role (assumable by the
// account), lab-partner-role (needs ExternalId lab-external-id),
// lab-mfa-role (needs MFA) and lab-web-role (web identity tokens of the
// lab's issuer with aud sts.amazonaws.com).
func DefaultSeed() *Seed {
	id, secret := NewKey("AKIA")
	mfa := make([]byte, 20)
	randRead(mfa)
	trust := func(cond string) *policy.Policy {
		return mustPolicy(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
			"Principal": {"AWS": "arn:aws:iam::`+DefaultAccount+`:root"}`+cond+`}]}`, policy.Trust)
	}
	host := strings.TrimPrefix(DefaultIssuer, "https://")
	// What every caller of the built-in account could do before policies
	// were enforced: STS and IAM, all of it.
	all := []*policy.Policy{mustPolicy(DefaultPolicy, policy.Identity)}
	return &Seed{
		AccountID: DefaultAccount,
		Users:     []SeedUser{{Name: DefaultUser, AccessKeys: []AccessKey{{id, secret}}, MFASecret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mfa), Policies: all}},
		Roles: []SeedRole{
			{Name: DefaultRole, TrustPolicy: trust(""), Policies: all},
			{Name: DefaultExternalRole, TrustPolicy: trust(`, "Condition": {"StringEquals": {"sts:ExternalId": "` + DefaultExternalID + `"}}`), Policies: all},
			{Name: DefaultMFARole, TrustPolicy: trust(`, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}`), Policies: all},
			{Name: DefaultWebRole, Policies: all, TrustPolicy: mustPolicy(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
				"Principal": {"Federated": "arn:aws:iam::`+DefaultAccount+`:oidc-provider/`+host+`"},
				"Condition": {"StringEquals": {"`+host+`:aud": "sts.amazonaws.com"}}}]}`, policy.Trust)},
		},
	}
}

// DefaultPolicy is the identity-based policy of the built-in account's
// user and roles: every STS and IAM action the lab serves.
const DefaultPolicy = `{"Version": "2012-10-17", "Statement": [{"Sid": "LabDefault", "Effect": "Allow", "Action": ["sts:*", "iam:*"], "Resource": "*"}]}`

// SeedError says where a seed file is wrong: the file, the line, the
// path of the value (for a value that is wrong rather than a syntax
// error) and what is wrong.
type SeedError struct {
	File string
	Line int    // 1-based; 0 when not known
	Path string // e.g. $.roles[1].trust_policy.Statement[0].Effect; "" for a syntax error
	Msg  string
}

func (e *SeedError) Error() string {
	where := e.File
	if where == "" {
		where = "seed"
	}
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Path != "" {
		where += ": " + e.Path
	}
	return where + ": " + e.Msg
}

// LoadSeed reads a seed file, YAML or JSON (see the package
// documentation); errors name the file by its base name.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // names the path and what went wrong
	}
	return ParseSeed(filepath.Base(path), b)
}

// ParseSeed reads a seed in YAML or JSON (a JSON document is YAML too);
// name appears in errors.
func ParseSeed(name string, data []byte) (*Seed, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(name, err)
	}
	var docs []*ast.DocumentNode
	for _, d := range file.Docs {
		if d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, &SeedError{File: name, Line: 1, Msg: "the seed is empty"}
	}
	if len(docs) > 1 {
		return nil, &SeedError{File: name, Line: docs[1].Body.GetToken().Position.Line, Msg: "a second YAML document: a seed is one document"}
	}
	var v any
	if err := yaml.NodeToValue(docs[0].Body, &v); err != nil {
		return nil, yamlError(name, err)
	}
	w := &walker{}
	s := w.seed(v)
	if w.err != nil {
		w.err.File = name
		w.err.Line = lineOf(file, w.errPath)
		return nil, w.err
	}
	return s, nil
}

// yamlError is a syntax or decoding error of go-yaml as a SeedError: its
// message and line, without go-yaml's source excerpt.
func yamlError(name string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return &SeedError{File: name, Line: ye.GetToken().Position.Line, Msg: ye.GetMessage()}
	}
	return &SeedError{File: name, Msg: err.Error()}
}

// lineOf is the line of the value at p in file, or of its closest
// ancestor there (a missing field is reported at its object; a value
// inside a policy given as a JSON string, at the string).
func lineOf(file *ast.File, p seedPath) int {
	for ; len(p) > 0; p = p[:len(p)-1] {
		b := (&yaml.PathBuilder{}).Root()
		for _, seg := range p {
			switch seg := seg.(type) {
			case string:
				b = b.Child(seg)
			case int:
				b = b.Index(uint(seg))
			}
		}
		if n, err := b.Build().FilterFile(file); err == nil && n != nil {
			return n.GetToken().Position.Line
		}
	}
	if len(file.Docs) > 0 && file.Docs[0].Body != nil {
		return file.Docs[0].Body.GetToken().Position.Line
	}
	return 1
}

// seedPath is where a value is in a seed: object keys (string) and list
// indexes (int) from the top.
type seedPath []any

func (p seedPath) key(k string) seedPath { return append(p[:len(p):len(p)], k) }
func (p seedPath) index(i int) seedPath  { return append(p[:len(p):len(p)], i) }

// String is the path as the errors show it: $.roles[1].name.
func (p seedPath) String() string {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range p {
		switch seg := seg.(type) {
		case string:
			b.WriteString("." + seg)
		case int:
			fmt.Fprintf(&b, "[%d]", seg)
		}
	}
	return b.String()
}

// walker reads a decoded seed, recording the first error with its path.
type walker struct {
	err     *SeedError
	errPath seedPath
}

func (w *walker) fail(path seedPath, format string, args ...any) {
	if w.err == nil {
		w.err = &SeedError{Path: path.String(), Msg: fmt.Sprintf(format, args...)}
		w.errPath = path
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64, int, int64, uint64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// object checks that v is an object with only the given fields.
func (w *walker) object(path seedPath, v any, fields ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		w.fail(path, "must be an object, not %s", kind(v))
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(fields, k) {
			w.fail(path.key(k), "unknown field (known: %s)", strings.Join(fields, ", "))
		}
	}
	return m
}

func (w *walker) str(path seedPath, v any, required bool) string {
	if v == nil {
		if required {
			w.fail(path, "is required")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.fail(path, "must be a string, not %s", kind(v))
	}
	return s
}

func (w *walker) list(path seedPath, v any) []any {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		w.fail(path, "must be a list, not %s", kind(v))
	}
	return l
}

// strings reads a string or a list of strings, as IAM policies allow.
func (w *walker) strings(path seedPath, v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				w.fail(path.index(i), "must be a string, not %s", kind(e))
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			w.fail(path, "must not be empty")
		}
		return out
	case bool: // Bool conditions are often written unquoted
		return []string{strconv.FormatBool(x)}
	}
	w.fail(path, "must be a string or a list of strings, not %s", kind(v))
	return nil
}

func (w *walker) integer(path seedPath, v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			w.fail(path, "must be a whole number, not %s", n)
		}
		return i
	case int64:
		return n
	case uint64:
		if n > math.MaxInt64 {
			w.fail(path, "%d is too large", n)
		}
		return int64(n)
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			w.fail(path, "must be a whole number, not %v", n)
		}
		return int64(n)
	}
	w.fail(path, "must be a number, not %s", kind(v))
	return 0
}

var (
	accountRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{12}$`) })
	nameRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{1,64}$`) })
	keyIDRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^AKIA[A-Z0-9]{12,124}$`) })
)

func (w *walker) seed(v any) *Seed {
	m := w.object(seedPath{}, v, "account_id", "users", "roles", "oidc", "instance_role", "scps", "sso")
	if m == nil {
		return nil
	}
	s := &Seed{AccountID: w.str(seedPath{}.key("account_id"), m["account_id"], false)}
	if s.AccountID == "" {
		s.AccountID = DefaultAccount
	} else if !accountRE().MatchString(s.AccountID) {
		w.fail(seedPath{}.key("account_id"), "must be 12 digits, not %q", s.AccountID)
	}
	keys := map[string]string{}
	for i, u := range w.list(seedPath{}.key("users"), m["users"]) {
		p := seedPath{}.key("users").index(i)
		um := w.object(p, u, "name", "access_keys", "mfa_secret", "require_mfa", "policies", "permissions_boundary")
		if um == nil {
			break
		}
		user := SeedUser{Name: w.str(p.key("name"), um["name"], true), MFASecret: w.str(p.key("mfa_secret"), um["mfa_secret"], false)}
		if user.Name != "" && !nameRE().MatchString(user.Name) {
			w.fail(p.key("name"), "%q is not a valid IAM user name (1-64 of letters, digits and +=,.@_-)", user.Name)
		}
		for _, o := range s.Users {
			if o.Name == user.Name {
				w.fail(p.key("name"), "user %q is defined twice", user.Name)
			}
		}
		switch v := um["require_mfa"].(type) {
		case nil:
		case bool:
			user.RequireMFA = v
		default:
			w.fail(p.key("require_mfa"), "must be true or false, not %v", v)
		}
		if user.RequireMFA && user.MFASecret == "" {
			w.fail(p.key("require_mfa"), "user %q has no MFA device (mfa_secret) to satisfy it", user.Name)
		}
		if user.MFASecret != "" {
			if _, err := decodeBase32(user.MFASecret); err != nil {
				w.fail(p.key("mfa_secret"), "must be a base32 TOTP secret: %v", err)
			}
		}
		ks := w.list(p.key("access_keys"), um["access_keys"])
		if len(ks) > maxKeysPerUser {
			w.fail(p.key("access_keys"), "has %d keys; IAM allows %d per user", len(ks), maxKeysPerUser)
		}
		for j, k := range ks {
			kp := p.key("access_keys").index(j)
			km := w.object(kp, k, "access_key_id", "secret_access_key")
			if km == nil {
				break
			}
			key := AccessKey{w.str(kp.key("access_key_id"), km["access_key_id"], true), w.str(kp.key("secret_access_key"), km["secret_access_key"], true)}
			if key.AccessKeyID != "" && !keyIDRE().MatchString(key.AccessKeyID) {
				w.fail(kp.key("access_key_id"), "%q is not a long-term access key id (AKIA followed by at least 12 upper-case letters or digits)", key.AccessKeyID)
			}
			if prev, dup := keys[key.AccessKeyID]; dup {
				w.fail(kp.key("access_key_id"), "%s is already a key of user %q", key.AccessKeyID, prev)
			}
			keys[key.AccessKeyID] = user.Name
			user.AccessKeys = append(user.AccessKeys, key)
		}
		user.Policies, user.PermissionsBoundary = w.identity(p, um)
		s.Users = append(s.Users, user)
	}
	if o := m["oidc"]; o != nil {
		om := w.object(seedPath{}.key("oidc"), o, "issuer", "client_ids")
		if om != nil {
			s.OIDC.Issuer = w.str(seedPath{}.key("oidc").key("issuer"), om["issuer"], false)
			if s.OIDC.Issuer != "" && !strings.HasPrefix(s.OIDC.Issuer, "https://") {
				w.fail(seedPath{}.key("oidc").key("issuer"), "must be an https:// URL, as IAM requires of OIDC providers, not %q", s.OIDC.Issuer)
			}
			if om["client_ids"] != nil {
				s.OIDC.ClientIDs = w.strings(seedPath{}.key("oidc").key("client_ids"), om["client_ids"])
			}
		}
	}
	for i, r := range w.list(seedPath{}.key("roles"), m["roles"]) {
		p := seedPath{}.key("roles").index(i)
		rm := w.object(p, r, "name", "path", "trust_policy", "max_session_duration", "policies", "permissions_boundary")
		if rm == nil {
			break
		}
		role := SeedRole{Name: w.str(p.key("name"), rm["name"], true)}
		if role.Name != "" && !nameRE().MatchString(role.Name) {
			w.fail(p.key("name"), "%q is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)", role.Name)
		}
		for _, o := range s.Roles {
			if strings.EqualFold(o.Name, role.Name) { // IAM role names are unique ignoring case
				w.fail(p.key("name"), "role %q is defined twice (IAM role names are unique ignoring case)", role.Name)
			}
		}
		if d := rm["max_session_duration"]; d != nil {
			n := w.integer(p.key("max_session_duration"), d)
			if w.err == nil && (n < 3600 || n > 43200) {
				w.fail(p.key("max_session_duration"), "%d seconds is outside IAM's range 3600 to 43200", n)
			}
			role.MaxSessionDuration = time.Duration(n) * time.Second
		}
		role.TrustPolicy = w.document(p.key("trust_policy"), rm["trust_policy"], policy.Trust)
		role.Path = w.str(p.key("path"), rm["path"], false)
		if role.Path != "" && (len(role.Path) > 512 || !rolePathRE().MatchString(role.Path)) {
			w.fail(p.key("path"), "%q is not an IAM path (\"/\" or \"/a/b/\": starts and ends with a slash, at most 512 characters)", role.Path)
		}
		role.Policies, role.PermissionsBoundary = w.identity(p, rm)
		s.Roles = append(s.Roles, role)
	}
	for i, level := range w.list(seedPath{}.key("scps"), m["scps"]) {
		s.SCPs = append(s.SCPs, w.documents(seedPath{}.key("scps").index(i), level, policy.SCP))
	}
	s.InstanceRole = w.str(seedPath{}.key("instance_role"), m["instance_role"], false)
	if s.InstanceRole != "" && w.err == nil {
		found := false
		for _, r := range s.Roles {
			found = found || r.Name == s.InstanceRole
		}
		if !found {
			w.fail(seedPath{}.key("instance_role"), "role %q is not among $.roles", s.InstanceRole)
		}
	}
	if m["sso"] != nil {
		s.SSO = w.ssoSeed(s, m["sso"])
	}
	return s
}

// MarshalJSON writes the seed as the JSON document ParseSeed reads.
func (s *Seed) MarshalJSON() ([]byte, error) {
	type key struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	type user struct {
		Name string           `json:"name"`
		Keys []key            `json:"access_keys,omitempty"`
		MFA  string           `json:"mfa_secret,omitempty"`
		Req  bool             `json:"require_mfa,omitempty"`
		Pol  []*policy.Policy `json:"policies,omitempty"`
		Bnd  *policy.Policy   `json:"permissions_boundary,omitempty"`
	}
	type role struct {
		Name  string           `json:"name"`
		Max   int64            `json:"max_session_duration,omitempty"`
		Path  string           `json:"path,omitempty"`
		Trust *policy.Policy   `json:"trust_policy"`
		Pol   []*policy.Policy `json:"policies,omitempty"`
		Bnd   *policy.Policy   `json:"permissions_boundary,omitempty"`
	}
	out := struct {
		Account  string             `json:"account_id"`
		Users    []user             `json:"users"`
		Roles    []role             `json:"roles"`
		OIDC     *OIDCProvider      `json:"oidc,omitempty"`
		Instance string             `json:"instance_role,omitempty"`
		SCPs     [][]*policy.Policy `json:"scps,omitempty"`
	}{SCPs: s.SCPs, Account: s.AccountID, Instance: s.InstanceRole}
	if s.OIDC.Issuer != "" || len(s.OIDC.ClientIDs) > 0 {
		out.OIDC = &s.OIDC
	}
	for _, u := range s.Users {
		uu := user{Name: u.Name, MFA: u.MFASecret, Req: u.RequireMFA, Pol: u.Policies, Bnd: u.PermissionsBoundary}
		for _, k := range u.AccessKeys {
			uu.Keys = append(uu.Keys, key{k.AccessKeyID, k.SecretAccessKey})
		}
		out.Users = append(out.Users, uu)
	}
	for _, r := range s.Roles {
		out.Roles = append(out.Roles, role{Name: r.Name, Path: r.Path, Max: int64(r.MaxSessionDuration / time.Second), Trust: r.TrustPolicy, Pol: r.Policies, Bnd: r.PermissionsBoundary})
	}
	return json.Marshal(out)
}

// MarshalJSON writes the OIDC provider as in a seed file.
func (o OIDCProvider) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"issuer": o.Issuer, "client_ids": o.ClientIDs})
}
