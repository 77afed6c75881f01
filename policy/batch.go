package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Case is one request with the policies that apply to it, in the JSON
// form `credkit policy eval --batch` reads, one case per line:
//
//	{"id": "any", "principal": "arn:aws:sts::111111111111:assumed-role/dev/s", "action": "s3:GetObject",
//	 "resource": "arn:aws:s3:::bucket/key", "resourceAccount": "111111111111",
//	 "context": {"aws:SourceIp": "10.0.0.5", "aws:TagKeys": ["env", "team"]},
//	 "identityPolicies": [{...}], "resourcePolicy": {...}, "permissionsBoundary": {...},
//	 "scps": [[{...}, {...}], [{...}]], "rcps": [[{...}]], "sessionPolicy": {...}}
//
// For an sts:AssumeRole* request, "trustPolicy" holds the role's trust
// policy (Policies.Trust) and "resource" the role's ARN. An absent or
// null policy means none. SCPs and RCPs are levels from the
// organization root down to the account, each a list of policies; absent
// or empty SCPs mean the account is in no organization. A context value
// is a string or a list of strings.
type Case struct {
	ID                  string              `json:"id"`
	Principal           string              `json:"principal"`
	Action              string              `json:"action"`
	Resource            string              `json:"resource"`
	ResourceAccount     string              `json:"resourceAccount,omitempty"`
	Context             map[string][]string `json:"context,omitempty"`
	IdentityPolicies    []json.RawMessage   `json:"identityPolicies,omitempty"`
	ResourcePolicy      json.RawMessage     `json:"resourcePolicy,omitempty"`
	TrustPolicy         json.RawMessage     `json:"trustPolicy,omitempty"`
	PermissionsBoundary json.RawMessage     `json:"permissionsBoundary,omitempty"`
	SessionPolicy       json.RawMessage     `json:"sessionPolicy,omitempty"`
	SCPs                [][]json.RawMessage `json:"scps,omitempty"`
	RCPs                [][]json.RawMessage `json:"rcps,omitempty"`
}

// Answer is the result of a Case in the JSON form `--batch` writes:
//
//	{"id": "any", "decision": "ImplicitlyDenied", "message": "...",
//	 "statements": [{"policy": "identity[0]", "index": 2, "sid": "...", "effect": "Deny", "why": "..."}]}
//
// A case that cannot be evaluated has only its id and Error.
type Answer struct {
	ID         string            `json:"id"`
	Decision   string            `json:"decision,omitempty"` // an Outcome's name
	Message    string            `json:"message,omitempty"`
	Statements []AnswerStatement `json:"statements,omitempty"`
	Error      string            `json:"error,omitempty"`
}

// AnswerStatement is one deciding statement of an Answer.
type AnswerStatement struct {
	Policy string `json:"policy"` // the policy's label: "identity[0]", "resource", "scp[0][1]", ...
	Index  int    `json:"index"`
	Sid    string `json:"sid,omitempty"`
	Effect string `json:"effect"`
	Why    string `json:"why"`
}

// caseFields are the JSON names of a Case, in the order errors list them.
var caseFields = []string{"id", "principal", "action", "resource", "resourceAccount", "context",
	"identityPolicies", "resourcePolicy", "trustPolicy", "permissionsBoundary", "sessionPolicy", "scps", "rcps"}

// ParseCase reads one case. Errors name the JSON path of the problem,
// such as `$.context.aws:TagKeys[1]: must be a string, not a number`.
// The policies are kept as they are; Evaluate parses them.
func ParseCase(line []byte) (Case, error) {
	var c Case
	err := c.UnmarshalJSON(line)
	return c, err
}

// UnmarshalJSON reads a case as ParseCase does.
func (c *Case) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &Error{Path: "$", Msg: "a case must be a JSON object, not " + jsonKind(te.Value)}
		}
		return &Error{Path: "$", Msg: "not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &Error{Path: "$", Msg: "not valid JSON: data after the case"}
	}
	if m == nil {
		return &Error{Path: "$", Msg: "a case must be a JSON object, not null"}
	}
	var errs []error
	fail := func(path, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(caseFields, k) {
			fail("$."+k, "unknown field %q (want one of %s)", k, strings.Join(caseFields, ", "))
		}
	}
	*c = Case{}
	str := func(name string, dst *string, required bool) {
		raw, ok := m[name]
		if !ok || isNull(raw) {
			if required {
				fail("$", "missing %q", name)
			}
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			fail("$."+name, "must be a string, not %s", jsonKind(raw))
		}
	}
	str("id", &c.ID, false)
	str("principal", &c.Principal, true)
	str("action", &c.Action, true)
	str("resource", &c.Resource, true)
	str("resourceAccount", &c.ResourceAccount, false)

	if raw, ok := m["context"]; ok && !isNull(raw) {
		var ctx map[string]json.RawMessage
		if err := json.Unmarshal(raw, &ctx); err != nil {
			fail("$.context", "must be an object of condition keys, not %s", jsonKind(raw))
		}
		for _, k := range sortedKeys(ctx) {
			path := "$.context." + k
			v := ctx[k]
			var s string
			if json.Unmarshal(v, &s) == nil {
				c.setContext(k, []string{s})
				continue
			}
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil || isNull(v) {
				fail(path, "must be a string or a list of strings, not %s", jsonKind(v))
				continue
			}
			vals := make([]string, 0, len(list))
			for i, e := range list {
				if json.Unmarshal(e, &s) != nil || isNull(e) {
					fail(fmt.Sprintf("%s[%d]", path, i), "must be a string, not %s", jsonKind(e))
					continue
				}
				vals = append(vals, s)
			}
			c.setContext(k, vals)
		}
	}

	doc := func(path string, raw json.RawMessage) json.RawMessage {
		if isNull(raw) {
			return nil
		}
		if len(raw) > 0 && raw[0] != '{' {
			fail(path, "a policy must be a JSON object, not %s", jsonKind(raw))
			return nil
		}
		return raw
	}
	list := func(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			fail(path, "must be a list, not %s", jsonKind(raw))
			return nil, false
		}
		return l, true
	}
	if raw, ok := m["identityPolicies"]; ok && !isNull(raw) {
		l, _ := list("$.identityPolicies", raw)
		for i, p := range l {
			if d := doc(fmt.Sprintf("$.identityPolicies[%d]", i), p); d != nil {
				c.IdentityPolicies = append(c.IdentityPolicies, d)
			} else if isNull(p) {
				fail(fmt.Sprintf("$.identityPolicies[%d]", i), "a policy must be a JSON object, not null")
			}
		}
	}
	c.ResourcePolicy = doc("$.resourcePolicy", m["resourcePolicy"])
	c.TrustPolicy = doc("$.trustPolicy", m["trustPolicy"])
	c.PermissionsBoundary = doc("$.permissionsBoundary", m["permissionsBoundary"])
	c.SessionPolicy = doc("$.sessionPolicy", m["sessionPolicy"])
	levels := func(name string) [][]json.RawMessage {
		raw, ok := m[name]
		if !ok || isNull(raw) {
			return nil
		}
		ls, ok := list("$."+name, raw)
		if !ok {
			return nil
		}
		out := make([][]json.RawMessage, 0, len(ls))
		for i, lv := range ls {
			lp := fmt.Sprintf("$.%s[%d]", name, i)
			ps, ok := list(lp, lv)
			if !ok {
				continue
			}
			level := make([]json.RawMessage, 0, len(ps))
			for j, p := range ps {
				pp := fmt.Sprintf("%s[%d]", lp, j)
				if d := doc(pp, p); d != nil {
					level = append(level, d)
				} else if isNull(p) {
					fail(pp, "a policy must be a JSON object, not null")
				}
			}
			out = append(out, level)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	c.SCPs = levels("scps")
	c.RCPs = levels("rcps")
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

func (c *Case) setContext(k string, v []string) {
	if c.Context == nil {
		c.Context = map[string][]string{}
	}
	c.Context[k] = v
}

// Build parses the case's policies, each with its Kind and labelled as
// answers name it: "identity[0]", "resource", "boundary", "session",
// "scp[0][1]" (level, then policy), "rcp[0][0]". Errors name the label
// and the JSON path in the case, such as
// `identity[1]: $.identityPolicies[1].Statement[0].Effect: ...`.
func (c Case) Build() (Policies, Request, error) {
	req := Request{Principal: c.Principal, Action: c.Action, Resource: c.Resource,
		ResourceAccount: c.ResourceAccount, Context: c.Context}
	var ps Policies
	var errs []error
	parse := func(label, path string, doc json.RawMessage, kind Kind) *Labeled {
		p, err := Parse(doc, kind)
		if err != nil {
			errs = append(errs, relabel(label, path, err))
			return nil
		}
		return &Labeled{Label: label, Policy: p}
	}
	for i, d := range c.IdentityPolicies {
		if l := parse(fmt.Sprintf("identity[%d]", i), fmt.Sprintf("$.identityPolicies[%d]", i), d, Identity); l != nil {
			ps.Identity = append(ps.Identity, *l)
		}
	}
	if c.ResourcePolicy != nil {
		ps.Resource = parse("resource", "$.resourcePolicy", c.ResourcePolicy, Resource)
	}
	if c.TrustPolicy != nil {
		ps.Trust = parse("trust", "$.trustPolicy", c.TrustPolicy, Trust)
	}
	if c.PermissionsBoundary != nil {
		ps.Boundary = parse("boundary", "$.permissionsBoundary", c.PermissionsBoundary, Boundary)
	}
	if c.SessionPolicy != nil {
		if l := parse("session", "$.sessionPolicy", c.SessionPolicy, Session); l != nil {
			ps.Session = []Labeled{*l}
		}
	}
	levels := func(name, field string, kind Kind, in [][]json.RawMessage) [][]Labeled {
		if len(in) == 0 {
			return nil
		}
		out := make([][]Labeled, len(in))
		for i, level := range in {
			out[i] = []Labeled{}
			for j, d := range level {
				label := fmt.Sprintf("%s[%d][%d]", name, i, j)
				if l := parse(label, fmt.Sprintf("$.%s[%d][%d]", field, i, j), d, kind); l != nil {
					out[i] = append(out[i], *l)
				}
			}
		}
		return out
	}
	ps.SCPs = levels("scp", "scps", SCP, c.SCPs)
	ps.RCPs = levels("rcp", "rcps", RCP, c.RCPs)
	if len(errs) > 0 {
		return Policies{}, Request{}, errors.Join(errs...)
	}
	return ps, req, nil
}

// relabel turns Parse's errors ("$.Statement[0].Effect: ...") into ones
// that name the policy and its place in the case, on one line.
func relabel(label, path string, err error) error {
	var parts []string
	for _, e := range flatten(err) {
		var pe *Error
		if errors.As(e, &pe) {
			parts = append(parts, path+strings.TrimPrefix(pe.Path, "$")+": "+pe.Msg)
		} else {
			parts = append(parts, path+": "+e.Error())
		}
	}
	return fmt.Errorf("%s: %s", label, strings.Join(parts, "; "))
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Evaluate parses the case's policies (see Build) and decides the
// request. A policy that does not parse gives an Answer with only the id
// and Error.
func (c Case) Evaluate() Answer {
	ps, req, err := c.Build()
	if err != nil {
		return Answer{ID: c.ID, Error: strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return NewAnswer(c.ID, Evaluate(ps, req))
}

// NewAnswer is the Answer for a decision: its outcome, message and
// deciding statements.
func NewAnswer(id string, d Decision) Answer {
	a := Answer{ID: id, Decision: d.Outcome.String(), Message: d.Message}
	for _, r := range d.Deciding {
		a.Statements = append(a.Statements, AnswerStatement{Policy: r.Policy, Index: r.Index, Sid: r.Sid, Effect: string(r.Effect), Why: r.Why})
	}
	return a
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// jsonKind names the JSON type of a raw value or of a type name
// encoding/json reports ("number", "array", ...).
func jsonKind(v any) string {
	var s string
	switch t := v.(type) {
	case json.RawMessage:
		b := bytes.TrimSpace(t)
		if len(b) == 0 {
			return "nothing"
		}
		switch b[0] {
		case '{':
			return "an object"
		case '[':
			return "a list"
		case '"':
			return "a string"
		case 't', 'f':
			return "a boolean"
		case 'n':
			return "null"
		}
		return "a number"
	case string:
		s = t
	}
	switch s {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a " + s
}
