package policy

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a string in which "*" matches any run of characters and
// "?" any one character. Patterns that come out of policy-variable
// substitution may hold escaped characters: "\x" matches x literally
// (so "${*}" can stand for a literal "*").

// glob reports whether s matches pattern. With fold, letters compare
// case-insensitively.
func glob(pattern, s string, fold bool) bool {
	// Iterative matching with one backtrack point: linear in practice.
	var px, sx, starP, starS = 0, 0, -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			c, n := utf8.DecodeRuneInString(pattern[px:])
			switch c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, sn := utf8.DecodeRuneInString(s[sx:])
				px += n
				sx += sn
				continue
			case '\\':
				if px+1 < len(pattern) {
					px++
					c, n = utf8.DecodeRuneInString(pattern[px:])
				}
			}
			r, sn := utf8.DecodeRuneInString(s[sx:])
			if c == r || (fold && equalFoldRune(c, r)) {
				px += n
				sx += sn
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := utf8.DecodeRuneInString(s[starS:])
		starS += sn
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

func equalFoldRune(a, b rune) bool {
	return strings.EqualFold(string(a), string(b))
}

// unescape turns a substituted pattern back into the literal string it
// stands for (for operators without wildcards).
func unescape(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// escape makes a literal string into a pattern that matches only itself.
func escape(s string) string {
	if !strings.ContainsAny(s, `*?\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// literal makes policy text into a pattern: its wildcards keep their
// meaning, its backslashes are literal.
func literal(s string) string {
	return strings.ReplaceAll(s, `\`, `\\`)
}

// matchAction reports whether an Action pattern ("s3:Get*", "*") matches
// an action: case-insensitive, with wildcards.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
func matchAction(pattern, action string) bool {
	return glob(pattern, action, true)
}

// matchARN reports whether an ARN pattern matches an ARN. Both are split
// into their six colon-separated parts and each part is matched on its
// own, case-sensitively, so a wildcard never spans a colon outside the
// resource part; the resource part (the sixth) takes the rest, colons and
// slashes included. A pattern of "*" matches anything.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
func matchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	ap := strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return glob(pattern, arn, false)
	}
	for i := range pp {
		if !glob(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}

// arnAccount returns the account part of an ARN, or "".
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// substitute replaces the policy variables in s with their values from
// ctx and returns a pattern (wildcards in s keep their meaning; values
// and the literal variables ${*}, ${?}, ${$} are escaped). ok is false
// when a variable has no value and no default: AWS then treats the
// statement as not applying ("any attempt to match it fails and causes the
// statement to be invalid").
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
func substitute(s string, ctx context) (pattern string, ok bool) {
	if !strings.Contains(s, "${") {
		return literal(s), true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(literal(s))
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(literal(s))
			return b.String(), true
		}
		b.WriteString(literal(s[:i]))
		body := s[i+2 : i+j]
		s = s[i+j+1:]
		switch body {
		case "*", "?", "$":
			b.WriteString(escape(body))
			continue
		}
		key, def, hasDef := strings.Cut(body, ",")
		key = strings.TrimSpace(key)
		if hasDef {
			def = strings.TrimSpace(def)
			if len(def) >= 2 && def[0] == '\'' && def[len(def)-1] == '\'' {
				def = def[1 : len(def)-1]
			}
		}
		vals := ctx.get(key)
		switch {
		case len(vals) == 1:
			b.WriteString(escape(vals[0]))
		case hasDef:
			b.WriteString(escape(def))
		default:
			return "", false
		}
	}
}

// context is a request's condition keys with lower-cased names.
type context map[string][]string

func newContext(m map[string][]string) context {
	c := make(context, len(m))
	for k, v := range m {
		c[strings.ToLower(k)] = v
	}
	return c
}

func (c context) get(key string) []string {
	if v, ok := c[key]; ok {
		return v
	}
	return c[strings.ToLower(key)]
}
