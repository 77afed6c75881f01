package lab

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
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

// SeedError says where a seed file is wrong: the file, the JSON path (or
// line and column for a syntax error) and what is wrong.
type SeedError struct {
	File string
	Path string // e.g. $.roles[1].trust_policy.Statement[0].Effect
	Line int    // set for syntax errors
	Col  int
	Msg  string
}

func (e *SeedError) Error() string {
	where := e.File
	if where == "" {
		where = "seed"
	}
	if e.Line > 0 {
		where += fmt.Sprintf(":%d:%d", e.Line, e.Col)
	}
	if e.Path != "" {
		where += ": " + e.Path
	}
	return where + ": " + e.Msg
}

// LoadSeed reads a seed file: JSON, or the YAML subset described in the
// package documentation when the name ends in .yaml or .yml.
func LoadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".yaml" || ext == ".yml" {
		v, err := parseYAML(b)
		if err != nil {
			var se *SeedError
			if errors.As(err, &se) {
				se.File = name
			}
			return nil, err
		}
		return seedFromValue(name, v)
	}
	return ParseSeed(name, b)
}

// ParseSeed reads a JSON seed; name appears in errors.
func ParseSeed(name string, data []byte) (*Seed, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset - 1 // the offending character
		}
		msg := err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			msg, off = "unexpected end of file", int64(len(data))
		}
		line, col := lineCol(data, off)
		return nil, &SeedError{File: name, Line: line, Col: col, Msg: msg}
	}
	if dec.More() {
		line, col := lineCol(data, dec.InputOffset())
		return nil, &SeedError{File: name, Line: line, Col: col, Msg: "text after the seed's JSON object"}
	}
	return seedFromValue(name, v)
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// walker reads a decoded JSON (or YAML) value, recording the first error
// with its path.
type walker struct {
	file string
	err  *SeedError
}

func (w *walker) fail(path, format string, args ...any) {
	if w.err == nil {
		w.err = &SeedError{File: w.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64, int:
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
func (w *walker) object(path string, v any, fields ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		w.fail(path, "must be an object, not %s", kind(v))
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(fields, k) {
			w.fail(path+"."+k, "unknown field (known: %s)", strings.Join(fields, ", "))
		}
	}
	return m
}

func (w *walker) str(path string, v any, required bool) string {
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

func (w *walker) list(path string, v any) []any {
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
func (w *walker) strings(path string, v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				w.fail(fmt.Sprintf("%s[%d]", path, i), "must be a string, not %s", kind(e))
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			w.fail(path, "must not be empty")
		}
		return out
	case bool: // Bool conditions are often written unquoted
		return []string{fmt.Sprint(x)}
	}
	w.fail(path, "must be a string or a list of strings, not %s", kind(v))
	return nil
}

func (w *walker) integer(path string, v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			w.fail(path, "must be a whole number, not %s", n)
		}
		return i
	case int:
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

func seedFromValue(file string, v any) (*Seed, error) {
	w := &walker{file: file}
	s := w.seed(v)
	if w.err != nil {
		return nil, w.err
	}
	return s, nil
}

func (w *walker) seed(v any) *Seed {
	m := w.object("$", v, "account_id", "users", "roles", "oidc", "instance_role")
	if m == nil {
		return nil
	}
	s := &Seed{AccountID: w.str("$.account_id", m["account_id"], false)}
	if s.AccountID == "" {
		s.AccountID = DefaultAccount
	} else if !accountRE().MatchString(s.AccountID) {
		w.fail("$.account_id", "must be 12 digits, not %q", s.AccountID)
	}
	keys := map[string]string{}
	for i, u := range w.list("$.users", m["users"]) {
		p := fmt.Sprintf("$.users[%d]", i)
		um := w.object(p, u, "name", "access_keys", "mfa_secret", "require_mfa")
		if um == nil {
			break
		}
		user := SeedUser{Name: w.str(p+".name", um["name"], true), MFASecret: w.str(p+".mfa_secret", um["mfa_secret"], false)}
		if user.Name != "" && !nameRE().MatchString(user.Name) {
			w.fail(p+".name", "%q is not a valid IAM user name (1-64 of letters, digits and +=,.@_-)", user.Name)
		}
		for _, o := range s.Users {
			if o.Name == user.Name {
				w.fail(p+".name", "user %q is defined twice", user.Name)
			}
		}
		switch v := um["require_mfa"].(type) {
		case nil:
		case bool:
			user.RequireMFA = v
		default:
			w.fail(p+".require_mfa", "must be true or false, not %v", v)
		}
		if user.RequireMFA && user.MFASecret == "" {
			w.fail(p+".require_mfa", "user %q has no MFA device (mfa_secret) to satisfy it", user.Name)
		}
		if user.MFASecret != "" {
			if _, err := decodeBase32(user.MFASecret); err != nil {
				w.fail(p+".mfa_secret", "must be a base32 TOTP secret: %v", err)
			}
		}
		ks := w.list(p+".access_keys", um["access_keys"])
		if len(ks) > maxKeysPerUser {
			w.fail(p+".access_keys", "has %d keys; IAM allows %d per user", len(ks), maxKeysPerUser)
		}
		for j, k := range ks {
			kp := fmt.Sprintf("%s.access_keys[%d]", p, j)
			km := w.object(kp, k, "access_key_id", "secret_access_key")
			if km == nil {
				break
			}
			key := AccessKey{w.str(kp+".access_key_id", km["access_key_id"], true), w.str(kp+".secret_access_key", km["secret_access_key"], true)}
			if key.AccessKeyID != "" && !keyIDRE().MatchString(key.AccessKeyID) {
				w.fail(kp+".access_key_id", "%q is not a long-term access key id (AKIA followed by at least 12 upper-case letters or digits)", key.AccessKeyID)
			}
			if prev, dup := keys[key.AccessKeyID]; dup {
				w.fail(kp+".access_key_id", "%s is already a key of user %q", key.AccessKeyID, prev)
			}
			keys[key.AccessKeyID] = user.Name
			user.AccessKeys = append(user.AccessKeys, key)
		}
		s.Users = append(s.Users, user)
	}
	if o := m["oidc"]; o != nil {
		om := w.object("$.oidc", o, "issuer", "client_ids")
		if om != nil {
			s.OIDC.Issuer = w.str("$.oidc.issuer", om["issuer"], false)
			if s.OIDC.Issuer != "" && !strings.HasPrefix(s.OIDC.Issuer, "https://") {
				w.fail("$.oidc.issuer", "must be an https:// URL, as IAM requires of OIDC providers, not %q", s.OIDC.Issuer)
			}
			if om["client_ids"] != nil {
				s.OIDC.ClientIDs = w.strings("$.oidc.client_ids", om["client_ids"])
			}
		}
	}
	for i, r := range w.list("$.roles", m["roles"]) {
		p := fmt.Sprintf("$.roles[%d]", i)
		rm := w.object(p, r, "name", "trust_policy", "max_session_duration")
		if rm == nil {
			break
		}
		role := SeedRole{Name: w.str(p+".name", rm["name"], true)}
		if role.Name != "" && !nameRE().MatchString(role.Name) {
			w.fail(p+".name", "%q is not a valid IAM role name (1-64 of letters, digits and +=,.@_-)", role.Name)
		}
		for _, o := range s.Roles {
			if o.Name == role.Name {
				w.fail(p+".name", "role %q is defined twice", role.Name)
			}
		}
		if d := rm["max_session_duration"]; d != nil {
			n := w.integer(p+".max_session_duration", d)
			if w.err == nil && (n < 3600 || n > 43200) {
				w.fail(p+".max_session_duration", "%d seconds is outside IAM's range 3600 to 43200", n)
			}
			role.MaxSessionDuration = time.Duration(n) * time.Second
		}
		tp := rm["trust_policy"]
		if doc, ok := tp.(string); ok { // a policy document as a JSON string
			var parsed any
			dec := json.NewDecoder(strings.NewReader(doc))
			dec.UseNumber()
			if err := dec.Decode(&parsed); err != nil {
				w.fail(p+".trust_policy", "is a string but not a JSON policy document: %v", err)
			}
			tp = parsed
		}
		if tp == nil {
			w.fail(p+".trust_policy", "is required")
		} else {
			role.TrustPolicy = w.policy(p+".trust_policy", tp)
		}
		s.Roles = append(s.Roles, role)
	}
	s.InstanceRole = w.str("$.instance_role", m["instance_role"], false)
	if s.InstanceRole != "" && w.err == nil {
		found := false
		for _, r := range s.Roles {
			found = found || r.Name == s.InstanceRole
		}
		if !found {
			w.fail("$.instance_role", "role %q is not among $.roles", s.InstanceRole)
		}
	}
	return s
}

func (w *walker) policy(path string, v any) Policy {
	var p Policy
	m := w.object(path, v, "Version", "Id", "Statement")
	if m == nil {
		return p
	}
	if ver := w.str(path+".Version", m["Version"], false); ver != "" && ver != "2012-10-17" && ver != "2008-10-17" {
		w.fail(path+".Version", "%q is not a policy language version (2012-10-17)", ver)
	}
	stmts := m["Statement"]
	if _, one := stmts.(map[string]any); one {
		stmts = []any{stmts}
	}
	if stmts == nil {
		w.fail(path+".Statement", "is required")
	}
	for i, st := range w.list(path+".Statement", stmts) {
		sp := fmt.Sprintf("%s.Statement[%d]", path, i)
		sm := w.object(sp, st, "Sid", "Effect", "Action", "Principal", "Condition")
		if sm == nil {
			break
		}
		s := Statement{Sid: w.str(sp+".Sid", sm["Sid"], false), Effect: w.str(sp+".Effect", sm["Effect"], true)}
		if s.Effect != "" && s.Effect != "Allow" && s.Effect != "Deny" {
			w.fail(sp+".Effect", `must be "Allow" or "Deny", not %q`, s.Effect)
		}
		if sm["Action"] == nil {
			w.fail(sp+".Action", "is required (e.g. \"sts:AssumeRole\")")
		} else {
			s.Action = w.strings(sp+".Action", sm["Action"])
		}
		s.Principal = w.principal(sp+".Principal", sm["Principal"])
		if c := sm["Condition"]; c != nil {
			cm := w.object(sp+".Condition", c, conditionOps...)
			for _, op := range slices.Sorted(maps.Keys(cm)) {
				keys, ok := cm[op].(map[string]any)
				if !ok {
					w.fail(sp+".Condition."+op, "must be an object of condition keys, not %s", kind(cm[op]))
					continue
				}
				for _, k := range slices.Sorted(maps.Keys(keys)) {
					s.Conditions = append(s.Conditions, Condition{Op: op, Key: k, Values: w.strings(sp+".Condition."+op+"."+k, keys[k])})
				}
			}
		}
		p.Statements = append(p.Statements, s)
	}
	return p
}

// principal reads "*" or {"AWS"|"Federated"|"Service": string or list}.
func (w *walker) principal(path string, v any) map[string][]string {
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
		out[k] = w.strings(path+"."+k, m[k])
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
