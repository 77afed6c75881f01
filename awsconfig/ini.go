package awsconfig

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reads one INI file the way botocore does: Python's
// configparser.RawConfigParser with its defaults (strict, "=" and ":" as
// delimiters, "#" and ";" as full-line comment prefixes only, no inline
// comments, empty lines allowed inside values, a [DEFAULT] section whose keys
// every other section inherits), followed by botocore's own step that turns
// an indented block under an empty value into a nested map.

// entry is one key of a section.
type entry struct {
	key    string            // lower case
	value  string            // the value, "" when nested
	nested map[string]string // non-nil for a nested block; sub-keys keep their case
	subPos map[string]Position
	pos    Position // the key's line
	kind   FileKind // the file it came from
}

// iniSection is one [section] of one file.
type iniSection struct {
	name    string
	pos     Position // the header line
	kind    FileKind
	entries map[string]*entry
}

// iniFile is one parsed file.
type iniFile struct {
	sections []*iniSection // in file order, without [DEFAULT]
	defaults *iniSection   // [DEFAULT], nil when absent
	warnings []Warning
}

// pending collects the lines of a value until the file has been read.
type pending struct {
	e         *entry
	inDefault bool     // a key of [DEFAULT]
	parts     []string // first the value on the key's line, then continuation lines
	lines     []int
}

// maxErrors bounds how many malformed lines one error reports.
const maxErrors = 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseINI reads data, the contents of the file shown as file. Errors and
// warnings name lines and keys, never values.
func parseINI(data []byte, file string, kind FileKind) (*iniFile, error) {
	f := &iniFile{}
	at := func(line int) Position { return Position{File: file, Line: line} }

	if bytes.HasPrefix(data, utf8BOM) {
		data = data[len(utf8BOM):]
		f.warn(at(1), "the file starts with a UTF-8 byte order mark: credkit skips it, "+
			"but the AWS CLI and boto3 cannot parse the file and aws-sdk-go-v2 ignores its first section header")
	}
	lines := splitLines(string(data))
	for i, l := range lines {
		if !utf8.ValidString(l) {
			return nil, &ParseError{Pos: at(i + 1), Msg: "not valid UTF-8 text"}
		}
	}

	var (
		errs        []*ParseError
		cur         *iniSection
		opt         *pending
		pendings    []*pending
		indentLevel int
		byName      = map[string]*iniSection{}
	)
	fail := func(line int, format string, args ...any) error {
		errs = append(errs, &ParseError{Pos: at(line), Msg: fmt.Sprintf(format, args...)})
		return joinParseErrors(errs)
	}
	for i, raw := range lines {
		n := i + 1
		s := pyStrip(raw)
		if s == "" {
			// An empty line inside a value is kept (configparser's
			// empty_lines_in_values); trailing ones are trimmed later.
			if cur != nil && opt != nil {
				opt.parts = append(opt.parts, "")
				opt.lines = append(opt.lines, n)
			}
			continue
		}
		if s[0] == '#' || s[0] == ';' {
			continue // a comment, even when indented; it never ends a value
		}
		indent := leadingSpaces(raw)
		if cur != nil && opt != nil && indent > indentLevel {
			// Indented deeper than the key: the value continues.
			opt.parts = append(opt.parts, s)
			opt.lines = append(opt.lines, n)
			continue
		}
		indentLevel = indent

		if name, ok := sectionHeader(s); ok {
			opt = nil
			if name == "DEFAULT" {
				if f.defaults == nil {
					f.defaults = &iniSection{name: name, pos: at(n), kind: kind, entries: map[string]*entry{}}
				}
				cur = f.defaults
				continue
			}
			if prev, dup := byName[name]; dup {
				return nil, fail(n, "section [%s] is already defined at line %d (the AWS CLI rejects duplicate sections)", name, prev.pos.Line)
			}
			cur = &iniSection{name: name, pos: at(n), kind: kind, entries: map[string]*entry{}}
			byName[name] = cur
			f.sections = append(f.sections, cur)
			continue
		}
		if cur == nil {
			if s[0] == '[' {
				return nil, fail(n, "%s", describeLine(s))
			}
			return nil, fail(n, "text before the first [section] header")
		}
		d := strings.IndexAny(s, "=:")
		if d < 0 {
			// configparser keeps the previous key open here: deeper
			// indented lines that follow still continue its value.
			errs = append(errs, &ParseError{Pos: at(n), Msg: describeLine(s)})
			continue
		}
		name := pyRStrip(s[:d])
		if name == "" {
			errs = append(errs, &ParseError{Pos: at(n), Msg: "a value with no key name before the " + string(s[d]) + " sign"})
			opt = nil
			continue
		}
		key := strings.ToLower(name)
		if prev, dup := cur.entries[key]; dup {
			return nil, fail(n, "key %s is already set in [%s] at line %d (the AWS CLI rejects duplicate keys)", key, cur.name, prev.pos.Line)
		}
		if strings.HasPrefix(key, "[") {
			f.warn(at(n), fmt.Sprintf("key %s starts with [: is it a section header with a missing ]? The AWS CLI reads it as a key of [%s]", key, cur.name))
		}
		e := &entry{key: key, pos: at(n), kind: kind}
		cur.entries[key] = e
		opt = &pending{e: e, parts: []string{pyStrip(s[d+1:])}, lines: []int{n}, inDefault: cur == f.defaults}
		pendings = append(pendings, opt)
	}

	for _, p := range pendings {
		// botocore parses a nested block of [DEFAULT] only where a section
		// inherits it: in a file without other sections it is never read.
		if err := p.finish(file, f); err != nil && (!p.inDefault || len(f.sections) > 0) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, joinParseErrors(errs)
	}
	return f, nil
}

// finish joins the lines of a value like configparser and parses a nested
// block like botocore (_parse_nested).
func (p *pending) finish(file string, f *iniFile) *ParseError {
	e := p.e
	joined := pyRStrip(strings.Join(p.parts, "\n"))
	if !strings.HasPrefix(joined, "\n") {
		e.value = joined
		if strings.Contains(joined, "\n") {
			for i := 1; i < len(p.parts); i++ {
				if p.parts[i] != "" {
					f.warn(Position{File: file, Line: p.lines[i]}, fmt.Sprintf(
						"this indented line continues the value of %s (line %d), as in the AWS CLI; aws-sdk-go-v2 reads it as a separate key",
						e.key, e.pos.Line))
					break
				}
			}
		}
		first := p.parts[0]
		for _, c := range []string{" #", "\t#", " ;", "\t;"} {
			if strings.Contains(first, c) {
				f.warn(e.pos, fmt.Sprintf(
					"the value of %s contains %q: the AWS CLI and boto3 keep it as part of the value, aws-sdk-go-v2 drops it and what follows as a comment",
					e.key, strings.TrimSpace(c)))
				break
			}
		}
		if len(first) >= 2 && (first[0] == '"' || first[0] == '\'') && first[len(first)-1] == first[0] && len(p.parts) == 1 {
			f.warn(e.pos, fmt.Sprintf(
				"the value of %s is in quotes: the AWS CLI and boto3 keep the quotes, aws-sdk-go-v2 removes them", e.key))
		}
		return nil
	}
	e.nested = map[string]string{}
	e.subPos = map[string]Position{}
	for i := 1; i < len(p.parts); i++ {
		part := p.parts[i]
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return &ParseError{Pos: Position{File: file, Line: p.lines[i]}, Msg: fmt.Sprintf(
				"in the nested block of %s (line %d): expected name = value", e.key, e.pos.Line)}
		}
		k = pyStrip(k)
		e.nested[k] = pyStrip(v)
		e.subPos[k] = Position{File: file, Line: p.lines[i]}
	}
	return nil
}

func (f *iniFile) warn(pos Position, msg string) {
	f.warnings = append(f.warnings, Warning{Pos: pos, Msg: msg})
}

// secretKey returns the name of a secret key that the file sets, or "".
func (f *iniFile) secretKey() string {
	all := f.sections
	if f.defaults != nil {
		all = append([]*iniSection{f.defaults}, all...)
	}
	for _, s := range all {
		for _, k := range sortedKeys(s.entries) {
			if secretKeys[k] {
				return k
			}
		}
	}
	return ""
}

// effective returns the entries of s with those of [DEFAULT] it inherits,
// the way configparser's options() and get() see them.
func (f *iniFile) effective(s *iniSection) map[string]*entry {
	out := make(map[string]*entry, len(s.entries))
	if f.defaults != nil {
		for k, e := range f.defaults.entries {
			out[k] = e
		}
	}
	for k, e := range s.entries {
		out[k] = e
	}
	return out
}

// describeLine says what is wrong with a line that is neither a comment, a
// section header nor a key = value line, without repeating its text: the
// line may hold a secret.
func describeLine(s string) string {
	if s[0] == '[' {
		if !strings.Contains(s[1:], "]") {
			return "unterminated section header: no closing ]"
		}
		return "empty section name []"
	}
	return "not a key = value line (no = or :)"
}

// sectionHeader matches configparser's SECTCRE, \[(?P<header>.+)\], against
// a stripped line: the name runs from the first [ to the last ], anything
// after the last ] is ignored, and the name is not trimmed.
func sectionHeader(s string) (string, bool) {
	if s[0] != '[' {
		return "", false
	}
	j := strings.LastIndexByte(s, ']')
	if j < 2 {
		return "", false
	}
	return s[1:j], true
}

// splitLines splits like Python's universal newlines: \r\n, \r and \n.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return out
}

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string  { return strings.TrimFunc(s, isPySpace) }
func pyRStrip(s string) string { return strings.TrimRightFunc(s, isPySpace) }

// leadingSpaces counts the whitespace characters (not bytes) that start s.
func leadingSpaces(s string) int {
	n := 0
	for _, r := range s {
		if !isPySpace(r) {
			break
		}
		n++
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
