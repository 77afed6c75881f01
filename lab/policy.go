package lab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Policy is a role's trust policy: an IAM JSON policy document reduced to
// what decides an AssumeRole call.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a trust policy.
type Statement struct {
	Sid    string
	Effect string   // "Allow" or "Deny"
	Action []string // e.g. "sts:AssumeRole", "sts:*"
	// Principal maps a principal type ("AWS", "Federated", "Service") to
	// its values; a Principal of "*" is {"*": ["*"]}.
	Principal  map[string][]string
	Conditions []Condition
}

// Condition is one test of a Condition block: Op (StringEquals,
// StringNotEquals, StringLike, Bool) applied to a context key.
type Condition struct {
	Op, Key string
	Values  []string
}

// conditionOps are the condition operators the lab evaluates.
var conditionOps = []string{"StringEquals", "StringNotEquals", "StringLike", "Bool"}

// request is what a trust policy is evaluated against.
type request struct {
	action string
	// principals are the caller's identities by principal type: for an
	// IAM user its ARN, its account root and account id.
	principals map[string][]string
	context    map[string]string // condition keys, lower-cased
}

// decide evaluates the policy as IAM does for a trust policy: an explicit
// Deny wins, then an Allow; otherwise the call is denied. The explanation
// says which statement decided, or why none allowed.
func (p *Policy) decide(req request) (allowed bool, why string) {
	var misses []string
	var allow string
	for i, s := range p.Statements {
		name := fmt.Sprintf("statement %d", i)
		if s.Sid != "" {
			name += " (" + s.Sid + ")"
		}
		if miss := s.match(req); miss != "" {
			misses = append(misses, name+": "+miss)
			continue
		}
		if s.Effect == "Deny" {
			return false, name + " denies it explicitly"
		}
		if allow == "" {
			allow = name + " allows it"
		}
	}
	if allow != "" {
		return true, allow
	}
	if len(misses) == 0 {
		return false, "the trust policy has no statements"
	}
	return false, "no statement allows it: " + strings.Join(misses, "; ")
}

// match returns "" when the statement applies to req, or why not.
func (s *Statement) match(req request) string {
	if !anyGlob(s.Action, req.action, true) {
		return fmt.Sprintf("action %s is not in %v", req.action, s.Action)
	}
	if !s.principalMatches(req) {
		return fmt.Sprintf("principal %s does not match the caller %s", formatPrincipal(s.Principal), formatPrincipal(req.principals))
	}
	for _, c := range s.Conditions {
		if miss := c.eval(req.context); miss != "" {
			return miss
		}
	}
	return ""
}

func (s *Statement) principalMatches(req request) bool {
	if _, ok := s.Principal["*"]; ok {
		return true
	}
	for typ, vals := range s.Principal {
		for _, v := range vals {
			for _, c := range req.principals[typ] {
				if v == "*" || v == c {
					return true
				}
			}
		}
	}
	return false
}

func formatPrincipal(p map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+":"+strings.Join(p[k], ","))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func (c *Condition) eval(ctx map[string]string) string {
	got, ok := ctx[strings.ToLower(c.Key)]
	fail := func() string {
		shown := fmt.Sprintf("%q", got)
		if !ok {
			shown = "absent"
		}
		return fmt.Sprintf("condition %s %s %v is not met (the request's value: %s)", c.Op, c.Key, c.Values, shown)
	}
	switch c.Op {
	case "StringEquals":
		if !ok || !slices.Contains(c.Values, got) {
			return fail()
		}
	case "StringNotEquals":
		if ok && slices.Contains(c.Values, got) {
			return fail()
		}
	case "StringLike":
		if !ok || !anyGlob(c.Values, got, false) {
			return fail()
		}
	case "Bool":
		if !ok {
			return fail()
		}
		match := false
		for _, v := range c.Values {
			match = match || strings.EqualFold(v, got)
		}
		if !match {
			return fail()
		}
	}
	return ""
}

// anyGlob reports whether s matches one of the patterns (* and ? as in
// IAM).
func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if glob(p, s) {
			return true
		}
	}
	return false
}

func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}
