package lab

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The YAML seed reader. credkit's dependency rules admit no YAML library,
// and a seed needs little of YAML, so this reads a strict subset and
// refuses the rest with the line, rather than guess:
//
//   - block mappings (key: value) and block sequences (- item), indented
//     with spaces; a sequence may sit at its key's indentation;
//   - plain scalars (true/false, null/~ and whole numbers are typed as in
//     YAML 1.2's core schema; everything else is a string), 'single' and
//     "double" quoted scalars (with \" \\ \n \t \/ escapes);
//   - comments (# at the start of a line or after a space).
//
// Not supported, each an error: flow collections ([a, b], {a: b}), block
// scalars (| and >), anchors, aliases and tags (&, *, !), multiple
// documents (---, ...), tabs in indentation, duplicate keys.

type yamlLine struct {
	n      int // 1-based line number
	indent int
	text   string // without indentation and comment
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

func yamlErr(line int, format string, args ...any) error {
	return &SeedError{Line: line, Col: 1, Msg: fmt.Sprintf(format, args...)}
}

// parseYAML reads a YAML document of the subset into the values
// encoding/json would produce with UseNumber.
func parseYAML(data []byte) (any, error) {
	p := &yamlParser{}
	for i, raw := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		n := i + 1
		body := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(body, "\t") {
			return nil, yamlErr(n, "a tab in indentation; YAML indents with spaces")
		}
		text, err := stripComment(body, n)
		if err != nil {
			return nil, err
		}
		if text == "" {
			continue
		}
		if (text == "---" || text == "...") && len(raw) == len(body) {
			if len(p.lines) == 0 && text == "---" {
				continue // an explicit start of the one document
			}
			return nil, yamlErr(n, "multiple YAML documents are not supported")
		}
		p.lines = append(p.lines, yamlLine{n: n, indent: len(raw) - len(body), text: text})
	}
	if len(p.lines) == 0 {
		return nil, yamlErr(1, "the document is empty")
	}
	v, err := p.block(p.lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.lines) {
		l := p.lines[p.pos]
		return nil, yamlErr(l.n, "unexpected indentation (%d spaces)", l.indent)
	}
	return v, nil
}

// stripComment removes a comment, minding quotes, and trailing spaces.
func stripComment(s string, n int) (string, error) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			if quote == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			quote = 0
		case quote == 0 && (c == '"' || c == '\'') && (i == 0 || strings.ContainsRune(" -:[{,", rune(s[i-1]))):
			quote = c
		case quote == 0 && c == '#' && (i == 0 || s[i-1] == ' '):
			return strings.TrimRight(s[:i], " "), nil
		}
	}
	return strings.TrimRight(s, " "), nil
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// block reads the mapping or sequence starting at the current line.
func (p *yamlParser) block(indent int) (any, error) {
	l := p.lines[p.pos]
	if isSeqItem(l.text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *yamlParser) sequence(indent int) (any, error) {
	out := []any{}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent || !isSeqItem(l.text) {
			break
		}
		if l.indent > indent {
			return nil, yamlErr(l.n, "unexpected indentation (%d spaces, the list is at %d)", l.indent, indent)
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" { // the item is the block below
			p.pos++
			if p.pos >= len(p.lines) || p.lines[p.pos].indent <= indent {
				out = append(out, nil)
				continue
			}
			v, err := p.block(p.lines[p.pos].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		if _, _, isKey, err := splitKey(rest, l.n); err != nil {
			return nil, err
		} else if isKey || isSeqItem(rest) {
			// "- key: value" opens a mapping whose keys are indented
			// like this one: read it as if it stood on its own line.
			p.lines[p.pos] = yamlLine{n: l.n, indent: l.indent + len(l.text) - len(rest), text: rest}
			v, err := p.block(p.lines[p.pos].indent)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		v, err := scalar(rest, l.n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.pos++
	}
	return out, nil
}

func (p *yamlParser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent || (l.indent == indent && isSeqItem(l.text)) {
			break
		}
		if l.indent > indent {
			return nil, yamlErr(l.n, "unexpected indentation (%d spaces, the mapping is at %d)", l.indent, indent)
		}
		key, rest, isKey, err := splitKey(l.text, l.n)
		if err != nil {
			return nil, err
		}
		if !isKey {
			return nil, yamlErr(l.n, "expected \"key: value\", found %q", l.text)
		}
		if _, dup := out[key]; dup {
			return nil, yamlErr(l.n, "key %q appears twice in this mapping", key)
		}
		p.pos++
		if rest != "" {
			v, err := scalar(rest, l.n)
			if err != nil {
				return nil, err
			}
			out[key] = v
			continue
		}
		switch {
		case p.pos < len(p.lines) && p.lines[p.pos].indent > indent:
			v, err := p.block(p.lines[p.pos].indent)
			if err != nil {
				return nil, err
			}
			out[key] = v
		case p.pos < len(p.lines) && p.lines[p.pos].indent == indent && isSeqItem(p.lines[p.pos].text):
			v, err := p.sequence(indent)
			if err != nil {
				return nil, err
			}
			out[key] = v
		default:
			out[key] = nil
		}
	}
	return out, nil
}

// splitKey splits "key: rest" (the key plain or quoted); isKey is false
// when the text is not a mapping entry.
func splitKey(text string, n int) (key, rest string, isKey bool, err error) {
	if text[0] == '"' || text[0] == '\'' {
		k, after, err := quoted(text, n)
		if err != nil {
			return "", "", false, err
		}
		after = strings.TrimLeft(after, " ")
		if after == ":" || strings.HasPrefix(after, ": ") {
			return k, strings.TrimSpace(after[1:]), true, nil
		}
		return "", "", false, nil
	}
	i := strings.Index(text, ": ")
	if strings.HasSuffix(text, ":") && (i < 0 || i == len(text)-1) {
		i = len(text) - 1
	}
	if i < 0 {
		return "", "", false, nil
	}
	return strings.TrimRight(text[:i], " "), strings.TrimSpace(text[i+1:]), true, nil
}

var (
	yamlInt   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[-+]?[0-9]+$`) })
	yamlFloat = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`) })
)

// scalar reads a value on one line.
func scalar(s string, n int) (any, error) {
	switch s[0] {
	case '"', '\'':
		v, after, err := quoted(s, n)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(after) != "" {
			return nil, yamlErr(n, "text after a quoted string: %q", after)
		}
		return v, nil
	case '[', '{':
		return nil, yamlErr(n, "flow collections (%c...) are not supported; write a block list (- item) or mapping (key: value), one per line", s[0])
	case '|', '>':
		return nil, yamlErr(n, "block scalars (%c) are not supported; write the value on one line, quoted if needed", s[0])
	case '&', '*':
		return nil, yamlErr(n, "anchors and aliases (%c) are not supported", s[0])
	case '!':
		return nil, yamlErr(n, "tags (!) are not supported")
	case '@', '`', '%':
		return nil, yamlErr(n, "a plain value cannot start with %c; quote it", s[0])
	}
	if strings.Contains(s, ": ") {
		return nil, yamlErr(n, "a mapping is not allowed here (%q); quote the value if it is text", s)
	}
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	case "null", "Null", "NULL", "~":
		return nil, nil
	}
	if yamlInt().MatchString(s) || yamlFloat().MatchString(s) {
		return json.Number(strings.TrimPrefix(s, "+")), nil
	}
	return s, nil
}

// quoted reads a quoted scalar at the start of s and returns the rest.
func quoted(s string, n int) (string, string, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if q == '\'' && c == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		if q == '"' && c == '"' {
			return b.String(), s[i+1:], nil
		}
		if q == '"' && c == '\\' {
			if i+1 >= len(s) {
				break
			}
			i++
			switch s[i] {
			case '"', '\\', '/':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return "", "", yamlErr(n, "escape \\%c is not supported in this reader", s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return "", "", yamlErr(n, "unterminated %c-quoted string", q)
}
