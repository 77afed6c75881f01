package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind is the kind of a policy document: it decides which elements a
// statement must have and which it must not.
type Kind int

const (
	Identity Kind = iota // identity-based policy attached to a user, group or role
	Resource             // resource-based policy (bucket policy, key policy, ...)
	Trust                // a role's trust policy (a resource policy on the role)
	Boundary             // permissions boundary
	Session              // session policy passed to AssumeRole or GetFederationToken
	SCP                  // service control policy
	RCP                  // resource control policy
)

var kindNames = [...]string{"identity", "resource", "trust", "boundary", "session", "SCP", "RCP"}

// kindPhrase names a kind in a sentence, as AWS's messages do.
var kindPhrase = [...]string{"an identity-based policy", "a resource-based policy", "a trust policy", "a permissions boundary", "a session policy", "a service control policy", "a resource control policy"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Effect is a statement's Effect element.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Versions of the policy language. Policy variables are substituted only
// in version 2012-10-17 documents; in 2008-10-17 (the default when
// Version is absent) "${aws:username}" is a literal string.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed and validated policy document.
type Policy struct {
	Version    string // "" when absent
	ID         string
	Statements []Statement
	// listForm is whether Statement was a list (it decides JSON paths).
	listForm bool
}

// Statement is one statement. Exactly one of Action and NotAction is set,
// at most one of Resource and NotResource, at most one of Principal and
// NotPrincipal.
type Statement struct {
	Sid          string
	Effect       Effect
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Principal    *Principal
	NotPrincipal *Principal
	Conditions   []Condition // sorted by operator, then key
}

// Principal is a Principal or NotPrincipal element: "*" (All), or a map
// from principal type ("AWS", "Service", "Federated", "CanonicalUser") to
// its values.
type Principal struct {
	All    bool
	Values map[string][]string
}

// Condition is one key of one operator block of a Condition element:
// "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b"]}.
type Condition struct {
	Operator string // as written: "ForAnyValue:StringLikeIfExists"
	Op       string // the base operator: "StringLike"
	IfExists bool
	Set      SetOp
	Key      string
	Values   []string
}

// SetOp is a condition operator's set prefix.
type SetOp int

const (
	Single       SetOp = iota // no prefix
	ForAllValues              // ForAllValues:
	ForAnyValue               // ForAnyValue:
)

// Error is a problem in a policy document at a JSON path such as
// "$.Statement[1].Condition.StringLike".
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Parse parses a policy document of the given kind and validates it. The
// error, if any, joins one *Error per problem found, in document order
// (keys of a JSON object taken in sorted order).
func Parse(doc []byte, kind Kind) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Path: "$", Msg: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return nil, &Error{Path: "$", Msg: "not valid JSON: data after the document"}
	}
	p := &parser{kind: kind}
	pol := p.policy(v)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return pol, nil
}

type parser struct {
	kind Kind
	errs []error
}

func (p *parser) fail(path, format string, args ...any) {
	p.errs = append(p.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (p *parser) policy(v any) *Policy {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail("$", "a policy must be a JSON object, not %s", typeName(v))
		return nil
	}
	pol := &Policy{}
	for _, k := range sortedKeys(m) {
		path := "$." + k
		switch k {
		case "Version":
			s, ok := m[k].(string)
			switch {
			case !ok:
				p.fail(path, "must be a string, not %s", typeName(m[k]))
			case s != Version2012 && s != Version2008:
				p.fail(path, "unknown version %q (want %q or %q)", s, Version2012, Version2008)
			}
			pol.Version = s
		case "Id":
			s, ok := m[k].(string)
			if !ok {
				p.fail(path, "must be a string, not %s", typeName(m[k]))
			}
			pol.ID = s
		case "Statement":
			switch st := m[k].(type) {
			case map[string]any:
				if s, ok := p.statement(path, st); ok {
					pol.Statements = append(pol.Statements, s)
				}
			case []any:
				pol.listForm = true
				if len(st) == 0 {
					p.fail(path, "must hold at least one statement")
				}
				for i, e := range st {
					ep := fmt.Sprintf("%s[%d]", path, i)
					o, ok := e.(map[string]any)
					if !ok {
						p.fail(ep, "a statement must be an object, not %s", typeName(e))
						continue
					}
					if s, ok := p.statement(ep, o); ok {
						pol.Statements = append(pol.Statements, s)
					}
				}
			default:
				p.fail(path, "must be an object or a list of objects, not %s", typeName(m[k]))
			}
		default:
			p.fail(path, "unknown element %q (want Version, Id or Statement)", k)
		}
	}
	if _, ok := m["Statement"]; !ok {
		p.fail("$", "missing Statement")
	}
	sids := map[string]bool{}
	for _, s := range pol.Statements {
		if s.Sid != "" && sids[s.Sid] && p.kind != Identity && p.kind != Boundary && p.kind != Session {
			// IAM requires unique Sids in resource-based policies; it
			// tolerates duplicates in identity-based ones.
			p.fail("$.Statement", "duplicate Sid %q", s.Sid)
		}
		sids[s.Sid] = true
	}
	return pol
}

// stringList reads a string or a list of strings (AWS accepts both
// wherever a list is meant).
func (p *parser) stringList(path string, v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		if len(t) == 0 {
			p.fail(path, "must not be an empty list")
			return nil, false
		}
		out := make([]string, 0, len(t))
		ok := true
		for i, e := range t {
			s, isStr := e.(string)
			if !isStr {
				p.fail(fmt.Sprintf("%s[%d]", path, i), "must be a string, not %s", typeName(e))
				ok = false
				continue
			}
			out = append(out, s)
		}
		return out, ok
	}
	p.fail(path, "must be a string or a list of strings, not %s", typeName(v))
	return nil, false
}

func (p *parser) statement(path string, m map[string]any) (Statement, bool) {
	n := len(p.errs)
	var s Statement
	for _, k := range sortedKeys(m) {
		kp := path + "." + k
		v := m[k]
		switch k {
		case "Sid":
			str, ok := v.(string)
			if !ok {
				p.fail(kp, "must be a string, not %s", typeName(v))
			}
			s.Sid = str
		case "Effect":
			str, ok := v.(string)
			switch {
			case !ok:
				p.fail(kp, "must be a string, not %s", typeName(v))
			case str != string(Allow) && str != string(Deny):
				p.fail(kp, "must be \"Allow\" or \"Deny\", not %q", str)
			}
			s.Effect = Effect(str)
		case "Action", "NotAction", "Resource", "NotResource":
			check, dst := checkAction, &s.Action
			switch k {
			case "NotAction":
				dst = &s.NotAction
			case "Resource":
				check, dst = checkResource, &s.Resource
			case "NotResource":
				check, dst = checkResource, &s.NotResource
			}
			list, ok := p.stringList(kp, v)
			if ok {
				for i, e := range list {
					if msg := check(e); msg != "" {
						p.fail(elemPath(kp, v, i), "%s", msg)
					}
				}
			}
			*dst = list
		case "Principal", "NotPrincipal":
			pr := p.principal(kp, v)
			if k == "Principal" {
				s.Principal = pr
			} else {
				s.NotPrincipal = pr
			}
		case "Condition":
			s.Conditions = p.conditions(kp, v)
		default:
			p.fail(kp, "unknown element %q", k)
		}
	}
	has := func(k string) bool { _, ok := m[k]; return ok }
	if !has("Effect") {
		p.fail(path, "missing Effect")
	}
	switch {
	case has("Action") && has("NotAction"):
		p.fail(path, "has both Action and NotAction")
	case !has("Action") && !has("NotAction"):
		p.fail(path, "missing Action or NotAction")
	}
	if has("Resource") && has("NotResource") {
		p.fail(path, "has both Resource and NotResource")
	}
	if has("Principal") && has("NotPrincipal") {
		p.fail(path, "has both Principal and NotPrincipal")
	}
	hasPrincipal := has("Principal") || has("NotPrincipal")
	hasResource := has("Resource") || has("NotResource")
	switch p.kind {
	case Identity, Boundary, Session, SCP:
		if hasPrincipal {
			p.fail(path, "%s must not have Principal or NotPrincipal", kindPhrase[p.kind])
		}
		if !hasResource && p.kind != SCP {
			p.fail(path, "missing Resource or NotResource")
		}
	case Resource:
		if !hasPrincipal {
			p.fail(path, "missing Principal or NotPrincipal")
		}
	case Trust:
		if !hasPrincipal {
			p.fail(path, "missing Principal or NotPrincipal")
		}
		if hasResource {
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html:
			// a trust policy does not specify a Resource.
			p.fail(path, "a trust policy must not have Resource or NotResource")
		}
	case RCP:
		// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html:
		// Principal must be "*", NotPrincipal is not supported.
		if has("NotPrincipal") {
			p.fail(path+".NotPrincipal", "an RCP must not have NotPrincipal")
		}
		if pr := s.Principal; !has("Principal") || (pr != nil && !pr.All) {
			p.fail(path, "an RCP statement must have \"Principal\": \"*\"")
		}
		if !hasResource {
			p.fail(path, "missing Resource or NotResource")
		}
	}
	return s, len(p.errs) == n
}

// elemPath is the path of the i-th value of an element that may be a
// single string (then the path is the element's own).
func elemPath(path string, v any, i int) string {
	if _, ok := v.([]any); ok {
		return fmt.Sprintf("%s[%d]", path, i)
	}
	return path
}

// checkAction says what is wrong with an action name, or "".
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Sprintf("action %q must be \"*\" or \"service:action\"", a)
	}
	if strings.ContainsAny(svc, "*?") {
		return fmt.Sprintf("action %q: the service prefix must not hold a wildcard", a)
	}
	return ""
}

// checkResource says what is wrong with a Resource value, or "". An ARN
// has six parts "arn:partition:service:region:account:resource" (the
// resource part may hold more colons).
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	parts := strings.SplitN(r, ":", 6)
	if parts[0] != "arn" {
		return fmt.Sprintf("resource %q must be \"*\" or an ARN", r)
	}
	if len(parts) < 6 {
		return fmt.Sprintf("ARN %q has %d parts, want 6 (arn:partition:service:region:account:resource)", r, len(parts))
	}
	if parts[1] == "" || parts[2] == "" {
		return fmt.Sprintf("ARN %q has an empty partition or service", r)
	}
	return ""
}

var principalTypes = []string{"AWS", "CanonicalUser", "Federated", "Service"}

func (p *parser) principal(path string, v any) *Principal {
	switch t := v.(type) {
	case string:
		if t != "*" {
			p.fail(path, "must be \"*\" or an object such as {\"AWS\": ...}, not %q", t)
			return nil
		}
		return &Principal{All: true}
	case map[string]any:
		if len(t) == 0 {
			p.fail(path, "must not be an empty object")
			return nil
		}
		pr := &Principal{Values: map[string][]string{}}
		for _, k := range sortedKeys(t) {
			kp := path + "." + k
			if !slices.Contains(principalTypes, k) {
				p.fail(kp, "unknown principal type %q (want AWS, Service, Federated or CanonicalUser)", k)
				continue
			}
			list, ok := p.stringList(kp, t[k])
			if !ok {
				continue
			}
			if k == "AWS" {
				for i, a := range list {
					if msg := checkAWSPrincipal(a); msg != "" {
						p.fail(elemPath(kp, t[k], i), "%s", msg)
					}
				}
			}
			pr.Values[k] = list
		}
		return pr
	}
	p.fail(path, "must be \"*\" or an object, not %s", typeName(v))
	return nil
}

// checkAWSPrincipal says what is wrong with an "AWS" principal value: it
// is "*", a 12-digit account id, an ARN or an IAM unique id.
func checkAWSPrincipal(a string) string {
	if a == "*" || isAccountID(a) || IsUniqueID(a) {
		return ""
	}
	if strings.HasPrefix(a, "arn:") {
		return checkResource(a)
	}
	return fmt.Sprintf("AWS principal %q must be \"*\", a 12-digit account id, an ARN or an IAM unique id (AIDA..., AROA...)", a)
}

// IsUniqueID reports whether s is an IAM unique id of a user (AIDA...) or
// a role (AROA...). IAM shows a principal of a stored policy by its
// unique id once the principal is deleted, and accepts such policies:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_policy-examples.html
// ("if you delete the role or user, then the relationship is broken ...
// the principal ID shows up in the console because AWS can no longer map
// it back to an ARN"). An id names no caller: callers are named by ARN,
// so a statement naming only ids allows no one.
func IsUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 32 || (!strings.HasPrefix(s, "AIDA") && !strings.HasPrefix(s, "AROA")) {
		return false
	}
	for _, c := range s[4:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (p *parser) conditions(path string, v any) []Condition {
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(path, "must be an object, not %s", typeName(v))
		return nil
	}
	var out []Condition
	for _, opName := range sortedKeys(m) {
		op := path + "." + opName
		c, err := parseOperator(opName)
		if err != "" {
			p.fail(op, "%s", err)
			continue
		}
		block, ok := m[opName].(map[string]any)
		if !ok {
			p.fail(op, "must be an object of condition keys, not %s", typeName(m[opName]))
			continue
		}
		for _, key := range sortedKeys(block) {
			kp := op + "." + key
			vals, ok := p.conditionValues(kp, block[key])
			if !ok {
				continue
			}
			cc := c
			cc.Key = key
			cc.Values = vals
			for i, val := range vals {
				if msg := checkConditionValue(cc.Op, val); msg != "" {
					p.fail(elemPath(kp, block[key], i), "%s", msg)
				}
			}
			out = append(out, cc)
		}
	}
	return out
}

// conditionValues reads a condition's values: a string, number or
// boolean, or a list of them.
func (p *parser) conditionValues(path string, v any) ([]string, bool) {
	scalar := func(path string, v any) (string, bool) {
		switch t := v.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		p.fail(path, "must be a string, number or boolean, not %s", typeName(v))
		return "", false
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			p.fail(path, "must not be an empty list")
			return nil, false
		}
		out := make([]string, 0, len(list))
		good := true
		for i, e := range list {
			s, ok := scalar(fmt.Sprintf("%s[%d]", path, i), e)
			good = good && ok
			out = append(out, s)
		}
		return out, good
	}
	s, ok := scalar(path, v)
	return []string{s}, ok
}
