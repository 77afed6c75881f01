package policy

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

// operators maps each base operator to its family and whether it is a
// negation of a positive test ("NotEquals", "NotLike", NotIpAddress).
var operators = map[string]struct {
	family  string
	negated bool
}{
	"StringEquals":              {"string", false},
	"StringNotEquals":           {"string", true},
	"StringEqualsIgnoreCase":    {"stringfold", false},
	"StringNotEqualsIgnoreCase": {"stringfold", true},
	"StringLike":                {"like", false},
	"StringNotLike":             {"like", true},
	"NumericEquals":             {"num=", false},
	"NumericNotEquals":          {"num=", true},
	"NumericLessThan":           {"num<", false},
	"NumericLessThanEquals":     {"num<=", false},
	"NumericGreaterThan":        {"num>", false},
	"NumericGreaterThanEquals":  {"num>=", false},
	"DateEquals":                {"date=", false},
	"DateNotEquals":             {"date=", true},
	"DateLessThan":              {"date<", false},
	"DateLessThanEquals":        {"date<=", false},
	"DateGreaterThan":           {"date>", false},
	"DateGreaterThanEquals":     {"date>=", false},
	"Bool":                      {"bool", false},
	"BinaryEquals":              {"binary", false},
	"IpAddress":                 {"ip", false},
	"NotIpAddress":              {"ip", true},
	"ArnEquals":                 {"arn", false},
	"ArnLike":                   {"arn", false},
	"ArnNotEquals":              {"arn", true},
	"ArnNotLike":                {"arn", true},
	"Null":                      {"null", false},
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts,
// or says what is wrong with it.
func parseOperator(name string) (Condition, string) {
	c := Condition{Operator: name}
	rest := name
	if p, r, ok := strings.Cut(name, ":"); ok {
		switch p {
		case "ForAllValues":
			c.Set = ForAllValues
		case "ForAnyValue":
			c.Set = ForAnyValue
		default:
			return c, fmt.Sprintf("unknown set operator %q (want ForAllValues or ForAnyValue)", p)
		}
		rest = r
	}
	if base, ok := strings.CutSuffix(rest, "IfExists"); ok {
		c.IfExists = true
		rest = base
	}
	if _, ok := operators[rest]; !ok {
		return c, fmt.Sprintf("unknown condition operator %q", name)
	}
	if rest == "Null" && (c.IfExists || c.Set != Single) {
		return c, fmt.Sprintf("Null takes neither IfExists nor a set prefix: %q", name)
	}
	c.Op = rest
	return c, ""
}

// checkConditionValue says what is wrong with a policy value for op, or
// "". Values holding a policy variable are checked after substitution.
func checkConditionValue(op, v string) string {
	if strings.Contains(v, "${") {
		return ""
	}
	switch operators[op].family {
	case "num=", "num<", "num<=", "num>", "num>=":
		if _, ok := parseNumber(v); !ok {
			return fmt.Sprintf("%s needs a number, not %q", op, v)
		}
	case "date=", "date<", "date<=", "date>", "date>=":
		if _, ok := parseDate(v); !ok {
			return fmt.Sprintf("%s needs a date (ISO 8601 such as 2026-01-02T15:04:05Z, or epoch seconds), not %q", op, v)
		}
	case "bool", "null":
		if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return fmt.Sprintf("%s needs true or false, not %q", op, v)
		}
	case "binary":
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			return fmt.Sprintf("%s needs base64, not %q", op, v)
		}
	case "ip":
		if _, ok := parsePrefix(v); !ok {
			return fmt.Sprintf("%s needs an IP address or CIDR block, not %q", op, v)
		}
	case "arn":
		if v != "*" && checkResource(v) != "" {
			return fmt.Sprintf("%s needs an ARN, not %q", op, v)
		}
	}
	return ""
}

// parseNumber reads a number as float64 (strconv, not math/big: a value
// such as "1e999999999" must not cost time or memory).
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// valueMatch reports whether one request value satisfies the positive
// form of op against one policy value (a pattern after substitution).
func valueMatch(op, pattern, got string) bool {
	want := unescape(pattern)
	switch f := operators[op].family; f {
	case "string":
		return want == got
	case "stringfold":
		return strings.EqualFold(want, got)
	case "like":
		return glob(pattern, got, false)
	case "num=", "num<", "num<=", "num>", "num>=":
		a, ok1 := parseNumber(got)
		b, ok2 := parseNumber(want)
		if !ok1 || !ok2 {
			return false
		}
		return compare(f[3:], cmp.Compare(a, b))
	case "date=", "date<", "date<=", "date>", "date>=":
		a, ok1 := parseDate(got)
		b, ok2 := parseDate(want)
		if !ok1 || !ok2 {
			return false
		}
		return compare(f[4:], a.Compare(b))
	case "bool":
		return strings.EqualFold(want, got)
	case "binary":
		return want == got
	case "ip":
		pfx, ok := parsePrefix(want)
		addr, err := netip.ParseAddr(got)
		return ok && err == nil && pfx.Contains(addr.Unmap())
	case "arn":
		// ArnEquals and ArnLike are the same test: each of the six
		// parts is matched on its own, wildcards allowed.
		return matchARN(pattern, got)
	}
	return false
}

func compare(rel string, c int) bool {
	switch rel {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// evalCondition reports whether a condition holds for the request
// context, and why it does or does not.
//
// The rules, from
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
// and the condition operators page:
//   - the policy's values are ORed: one matching value is enough;
//   - a missing key fails a positive operator and satisfies a negated
//     one; with IfExists a missing key satisfies any operator;
//   - ForAnyValue holds when at least one request value satisfies the
//     operator; a missing key or an empty set does not;
//   - ForAllValues holds when every request value satisfies it, and so
//     holds for a missing key or an empty set;
//   - Null "true" holds when the key is missing, "false" when present;
//   - a value holding a policy variable without a value (and without a
//     default) fails its comparison: it matches nothing for a positive
//     operator and makes a negated one fail when the key is present
//     (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html:
//     "any attempt to match it fails and causes the statement to be
//     invalid").
func evalCondition(c Condition, ctx context, subst bool) (bool, string) {
	got, present := ctx[strings.ToLower(c.Key)]
	if c.Op == "Null" {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") == !present {
				return true, fmt.Sprintf("%s %s %v: key present=%v", c.Operator, c.Key, c.Values, present)
			}
		}
		return false, fmt.Sprintf("%s %s %v: key present=%v", c.Operator, c.Key, c.Values, present)
	}
	var patterns []string
	unresolved := ""
	for _, v := range c.Values {
		if !subst {
			patterns = append(patterns, literal(v))
			continue
		}
		p, ok := substitute(v, ctx)
		if !ok {
			unresolved = v
			continue
		}
		patterns = append(patterns, p)
	}
	negated := operators[c.Op].negated
	// any reports whether request value g matches one of the values.
	any := func(g string) bool {
		for _, p := range patterns {
			if valueMatch(c.Op, p, g) {
				return true
			}
		}
		return false
	}
	// holds is the operator applied to one request value.
	holds := func(g string) bool { return any(g) != negated }
	why := func(ok bool) (bool, string) {
		shown := "missing"
		if present {
			shown = quoteList(got)
		}
		verb := "is not met"
		if ok {
			verb = "is met"
		}
		return ok, c.Operator + " " + c.Key + " " + quoteList(c.Values) + " " + verb + " (request value: " + shown + ")"
	}
	if !present || (len(got) == 0 && c.Set == Single) {
		switch {
		case c.IfExists:
			return why(true)
		case c.Set == ForAllValues:
			return why(true)
		case c.Set == ForAnyValue:
			return why(false)
		}
		return why(negated)
	}
	if unresolved != "" && negated {
		// Comparing with a variable that has no value fails ("any
		// attempt to match it fails"): a negated operator needs every
		// comparison, so it fails; a positive one needs only one of the
		// other values.
		return false, c.Operator + " " + c.Key + " " + quoteList(c.Values) + " is not met: the policy variable in " + strconv.Quote(unresolved) + " has no value in the request"
	}
	switch c.Set {
	case ForAllValues:
		for _, g := range got {
			if !holds(g) {
				return why(false)
			}
		}
		return why(true)
	case ForAnyValue:
		for _, g := range got {
			if holds(g) {
				return why(true)
			}
		}
		return why(false)
	}
	// A single-valued operator on a key with several values: the positive
	// form holds if any value matches, the negated form if none does.
	for _, g := range got {
		if any(g) {
			return why(!negated)
		}
	}
	return why(negated)
}
