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
	TrustPolicy        Policy
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
	root := "arn:aws:iam::" + DefaultAccount + ":root"
	trust := func(conds ...Condition) Policy {
		return Policy{Statements: []Statement{{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Principal: map[string][]string{"AWS": {root}}, Conditions: conds}}}
	}
	host := strings.TrimPrefix(DefaultIssuer, "https://")
	return &Seed{
		AccountID: DefaultAccount,
		Users:     []SeedUser{{Name: DefaultUser, AccessKeys: []AccessKey{{id, secret}}, MFASecret: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mfa)}},
		Roles: []SeedRole{
			{Name: DefaultRole, TrustPolicy: trust()},
			{Name: DefaultExternalRole, TrustPolicy: trust(Condition{"StringEquals", "sts:ExternalId", []string{DefaultExternalID}})},
			{Name: DefaultMFARole, TrustPolicy: trust(Condition{"Bool", "aws:MultiFactorAuthPresent", []string{"true"}})},
			{Name: DefaultWebRole, TrustPolicy: Policy{Statements: []Statement{{
				Effect: "Allow", Action: []string{"sts:AssumeRoleWithWebIdentity"},
				Principal:  map[string][]string{"Federated": {"arn:aws:iam::" + DefaultAccount + ":oidc-provider/" + host}},
				Conditions: []Condition{{"StringEquals", host + ":aud", []string{"sts.amazonaws.com"}}},
			}}}},
		},
	}
}

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
	m := w.object(seedPath{}, v, "account_id", "users", "roles", "oidc", "instance_role", "sso")
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
		um := w.object(p, u, "name", "access_keys", "mfa_secret", "require_mfa")
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
		rm := w.object(p, r, "name", "trust_policy", "max_session_duration")
		if rm == nil {
			break
		}
		role := SeedRole{Name: w.str(p.key("name"), rm["name"], true)}
		if role.Name != "" && !nameRE().MatchString(role.Name) {
			w.fail(p.key("name"), "%q is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)", role.Name)
		}
		for _, o := range s.Roles {
			if o.Name == role.Name {
				w.fail(p.key("name"), "role %q is defined twice", role.Name)
			}
		}
		if d := rm["max_session_duration"]; d != nil {
			n := w.integer(p.key("max_session_duration"), d)
			if w.err == nil && (n < 3600 || n > 43200) {
				w.fail(p.key("max_session_duration"), "%d seconds is outside IAM's range 3600 to 43200", n)
			}
			role.MaxSessionDuration = time.Duration(n) * time.Second
		}
		tp := rm["trust_policy"]
		if doc, ok := tp.(string); ok { // a policy document as a JSON string
			var parsed any
			dec := json.NewDecoder(strings.NewReader(doc))
			dec.UseNumber()
			if err := dec.Decode(&parsed); err != nil {
				w.fail(p.key("trust_policy"), "is a string but not a JSON policy document: %v", err)
			}
			tp = parsed
		}
		if tp == nil {
			w.fail(p.key("trust_policy"), "is required")
		} else {
			role.TrustPolicy = w.policy(p.key("trust_policy"), tp)
		}
		s.Roles = append(s.Roles, role)
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

func (w *walker) policy(path seedPath, v any) Policy {
	var p Policy
	m := w.object(path, v, "Version", "Id", "Statement")
	if m == nil {
		return p
	}
	if ver := w.str(path.key("Version"), m["Version"], false); ver != "" && ver != "2012-10-17" && ver != "2008-10-17" {
		w.fail(path.key("Version"), "%q is not a policy language version (2012-10-17)", ver)
	}
	stmts := m["Statement"]
	_, one := stmts.(map[string]any) // one statement, not in a list
	if one {
		stmts = []any{stmts}
	}
	if stmts == nil {
		w.fail(path.key("Statement"), "is required")
	}
	for i, st := range w.list(path.key("Statement"), stmts) {
		sp := path.key("Statement")
		if !one {
			sp = sp.index(i)
		}
		sm := w.object(sp, st, "Sid", "Effect", "Action", "Principal", "Condition")
		if sm == nil {
			break
		}
		s := Statement{Sid: w.str(sp.key("Sid"), sm["Sid"], false), Effect: w.str(sp.key("Effect"), sm["Effect"], true)}
		if s.Effect != "" && s.Effect != "Allow" && s.Effect != "Deny" {
			w.fail(sp.key("Effect"), `must be "Allow" or "Deny", not %q`, s.Effect)
		}
		if sm["Action"] == nil {
			w.fail(sp.key("Action"), "is required (e.g. \"sts:AssumeRole\")")
		} else {
			s.Action = w.strings(sp.key("Action"), sm["Action"])
		}
		s.Principal = w.principal(sp.key("Principal"), sm["Principal"])
		if c := sm["Condition"]; c != nil {
			cm := w.object(sp.key("Condition"), c, conditionOps...)
			for _, op := range slices.Sorted(maps.Keys(cm)) {
				keys, ok := cm[op].(map[string]any)
				if !ok {
					w.fail(sp.key("Condition").key(op), "must be an object of condition keys, not %s", kind(cm[op]))
					continue
				}
				for _, k := range slices.Sorted(maps.Keys(keys)) {
					s.Conditions = append(s.Conditions, Condition{Op: op, Key: k, Values: w.strings(sp.key("Condition").key(op).key(k), keys[k])})
				}
			}
		}
		p.Statements = append(p.Statements, s)
	}
	return p
}

// principal reads "*" or {"AWS"|"Federated"|"Service": string or list}.
func (w *walker) principal(path seedPath, v any) map[string][]string {
	switch x := v.(type) {
	case nil:
		w.fail(path, `is required (e.g. {"AWS": "arn:aws:iam::123456789012:root"})`)
		return nil
	case string:
		if x != "*" {
			w.fail(path, `must be "*" or an object such as {"AWS": ...}, not %q`, x)
		}
		return map[string][]string{"*": {"*"}}
	}
	m := w.object(path, v, "AWS", "Federated", "Service")
	out := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[k] = w.strings(path.key(k), m[k])
	}
	if m != nil && len(out) == 0 {
		w.fail(path, "names no principal")
	}
	return out
}

// MarshalJSON writes the seed as the JSON document ParseSeed reads.
func (s *Seed) MarshalJSON() ([]byte, error) {
	type key struct {
		ID     string `json:"access_key_id"`
		Secret string `json:"secret_access_key"`
	}
	type user struct {
		Name string `json:"name"`
		Keys []key  `json:"access_keys,omitempty"`
		MFA  string `json:"mfa_secret,omitempty"`
		Req  bool   `json:"require_mfa,omitempty"`
	}
	type role struct {
		Name  string `json:"name"`
		Max   int64  `json:"max_session_duration,omitempty"`
		Trust any    `json:"trust_policy"`
	}
	out := struct {
		Account  string        `json:"account_id"`
		Users    []user        `json:"users"`
		Roles    []role        `json:"roles"`
		OIDC     *OIDCProvider `json:"oidc,omitempty"`
		Instance string        `json:"instance_role,omitempty"`
	}{Account: s.AccountID, Instance: s.InstanceRole}
	if s.OIDC.Issuer != "" || len(s.OIDC.ClientIDs) > 0 {
		out.OIDC = &s.OIDC
	}
	for _, u := range s.Users {
		uu := user{Name: u.Name, MFA: u.MFASecret, Req: u.RequireMFA}
		for _, k := range u.AccessKeys {
			uu.Keys = append(uu.Keys, key{k.AccessKeyID, k.SecretAccessKey})
		}
		out.Users = append(out.Users, uu)
	}
	for _, r := range s.Roles {
		out.Roles = append(out.Roles, role{Name: r.Name, Max: int64(r.MaxSessionDuration / time.Second), Trust: r.TrustPolicy.document()})
	}
	return json.Marshal(out)
}

// MarshalJSON writes the OIDC provider as in a seed file.
func (o OIDCProvider) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"issuer": o.Issuer, "client_ids": o.ClientIDs})
}

// document is the policy as an IAM JSON policy document.
func (p Policy) document() map[string]any {
	var stmts []any
	for _, s := range p.Statements {
		st := map[string]any{"Effect": s.Effect, "Action": s.Action}
		if s.Sid != "" {
			st["Sid"] = s.Sid
		}
		if _, star := s.Principal["*"]; star {
			st["Principal"] = "*"
		} else {
			st["Principal"] = s.Principal
		}
		if len(s.Conditions) > 0 {
			c := map[string]map[string][]string{}
			for _, x := range s.Conditions {
				if c[x.Op] == nil {
					c[x.Op] = map[string][]string{}
				}
				c[x.Op][x.Key] = x.Values
			}
			st["Condition"] = c
		}
		stmts = append(stmts, st)
	}
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}
