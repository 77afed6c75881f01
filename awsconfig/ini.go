package awsconfig

import (
	"bytes"
	"fmt"
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
	name string
	pos  Position // the header line
	kind FileKind
	list []entry // the keys in file order; a key appears once
	// keyLines maps each key to its line once a section has more than
	// maxScan keys, for the duplicate check while the file is read; smaller
	// sections are scanned.
	keyLines map[string]int
}

// entries yields the keys of s with their entries, in file order:
// for k, e := range s.entries { ... }.
func (s *iniSection) entries(yield func(string, *entry) bool) {
	for i := range s.list {
		if !yield(s.list[i].key, &s.list[i]) {
			return
		}
	}
}

// iniFile is one parsed file.
type iniFile struct {
	sections []*iniSection          // in file order, without [DEFAULT]
	defaults *iniSection            // [DEFAULT], nil when absent
	byName   map[string]*iniSection // sections by name, without [DEFAULT]
	warnings []Warning
}

// maxErrors bounds how many malformed lines one error reports.
const maxErrors = 10

// maxScan is the number of keys up to which the duplicate check scans a
// section's keys rather than keep a map.
const maxScan = 16

// minBlock is the smallest number of entries or sections allocated at once.
const minBlock = 64

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parser holds the state of parseINI.
type parser struct {
	f     *iniFile
	file  string
	kind  FileKind
	errs  []*ParseError
	late  []lateError // errors of nested blocks, reported after the others
	cur   *iniSection // the current section, nil before the first header
	total int         // entries so far, to size the next block

	// run holds the entries of cur read since its header. They go to
	// cur.list when the section ends (closeRun), and the rest of run's
	// block is used for the next section: a file takes a few large
	// allocations, not a few per section. A run never moves once its
	// section has ended, so entries can be pointed to.
	run []entry
	// sections is the current block of sections, handed out the same way.
	sections []iniSection

	// The value of the last entry of run while it may still continue:
	// first the text after the delimiter, then continuation lines ("" for
	// an empty one), and their line numbers. The buffers are reused.
	open      bool
	inDefault bool // the entry is a key of [DEFAULT]
	parts     []string
	lines     []int
}

// lateError is an error found in a nested block. botocore parses a nested
// block of [DEFAULT] only where a section inherits it: in a file without
// other sections it is never read, so whether it counts is known at the end.
type lateError struct {
	err       *ParseError
	inDefault bool
}

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
	// Keys, values and names are substrings of text: a key costs no copy.
	text := string(data)
	if !utf8.ValidString(text) {
		for i, l := range splitLines(text) {
			if !utf8.ValidString(l) {
				return nil, &ParseError{Pos: at(i + 1), Msg: "not valid UTF-8 text"}
			}
		}
	}

	// A section header is a line with a [: the lesser of the two counts
	// bounds the number of sections, and sizes the map and the slices
	// without growing them.
	maxSections := min(strings.Count(text, "["), strings.Count(text, "\n")+strings.Count(text, "\r")+1)
	f.byName = make(map[string]*iniSection, maxSections)
	f.sections = make([]*iniSection, 0, maxSections)
	p := &parser{f: f, file: file, kind: kind, sections: make([]iniSection, 0, maxSections)}
	fail := func(line int, format string, args ...any) error {
		p.errs = append(p.errs, &ParseError{Pos: at(line), Msg: fmt.Sprintf(format, args...)})
		return joinParseErrors(p.errs)
	}
	indentLevel := 0
	lr := lineReader{rest: text, cr: strings.IndexByte(text, '\r') >= 0}
	for n := 1; ; n++ {
		raw, ok := lr.next()
		if !ok {
			break
		}
		indent := pySpaceLen(raw)
		s := pyRStrip(raw[indent:])
		if s == "" {
			// An empty line inside a value is kept (configparser's
			// empty_lines_in_values); trailing ones are trimmed later.
			if p.open {
				p.parts = append(p.parts, "")
				p.lines = append(p.lines, n)
			}
			continue
		}
		if s[0] == '#' || s[0] == ';' {
			continue // a comment, even when indented; it never ends a value
		}
		if indent > 0 {
			// Indentation is counted in characters, not bytes.
			indent = utf8.RuneCountInString(raw[:indent])
		}
		if p.open && indent > indentLevel {
			// Indented deeper than the key: the value continues.
			p.parts = append(p.parts, s)
			p.lines = append(p.lines, n)
			continue
		}
		indentLevel = indent

		if name, ok := sectionHeader(s); ok {
			p.finish()
			p.closeRun()
			if name == "DEFAULT" {
				if f.defaults == nil {
					f.defaults = p.newSection(name, n)
				}
				p.cur = f.defaults
				continue
			}
			if prev, dup := f.byName[name]; dup {
				return nil, fail(n, "section [%s] is already defined at line %d (the AWS CLI rejects duplicate sections)", name, prev.pos.Line)
			}
			p.cur = p.newSection(name, n)
			f.byName[name] = p.cur
			f.sections = append(f.sections, p.cur)
			continue
		}
		if p.cur == nil {
			if s[0] == '[' {
				return nil, fail(n, "%s", describeLine(s))
			}
			return nil, fail(n, "text before the first [section] header")
		}
		d := delimiter(s)
		if d < 0 {
			// configparser keeps the previous key open here: deeper
			// indented lines that follow still continue its value.
			p.errs = append(p.errs, &ParseError{Pos: at(n), Msg: describeLine(s)})
			continue
		}
		name := pyRStrip(s[:d])
		if name == "" {
			p.errs = append(p.errs, &ParseError{Pos: at(n), Msg: "a value with no key name before the " + string(s[d]) + " sign"})
			p.finish()
			continue
		}
		key := strings.ToLower(name)
		if line, dup := p.keyLine(key); dup {
			return nil, fail(n, "key %s is already set in [%s] at line %d (the AWS CLI rejects duplicate keys)", key, p.cur.name, line)
		}
		if strings.HasPrefix(key, "[") {
			f.warn(at(n), fmt.Sprintf("key %s starts with [: is it a section header with a missing ]? The AWS CLI reads it as a key of [%s]", key, p.cur.name))
		}
		p.finish()
		p.add(entry{key: key, pos: at(n), kind: kind})
		p.open = true
		p.inDefault = p.cur == f.defaults
		p.parts = append(p.parts[:0], pyStrip(s[d+1:]))
		p.lines = append(p.lines[:0], n)
	}
	p.finish()
	p.closeRun()

	errs := p.errs
	for _, l := range p.late {
		if !l.inDefault || len(f.sections) > 0 {
			errs = append(errs, l.err)
		}
	}
	if len(errs) > 0 {
		return nil, joinParseErrors(errs)
	}
	return f, nil
}

// newSection starts a section whose header is on line n.
func (p *parser) newSection(name string, n int) *iniSection {
	if len(p.sections) == cap(p.sections) {
		// parseINI sizes the first block for all the sections the file
		// can hold; should it fill up all the same, a new block leaves
		// the sections handed out so far where they are.
		p.sections = make([]iniSection, 0, max(minBlock, len(p.f.sections)))
	}
	p.sections = append(p.sections, iniSection{name: name, pos: Position{File: p.file, Line: n}, kind: p.kind})
	return &p.sections[len(p.sections)-1]
}

// add appends e, a key of the current section, to the run.
func (p *parser) add(e entry) {
	if len(p.run) == cap(p.run) {
		// The block is full: move the run to a new one, as large as all
		// the entries so far, so that blocks grow with the file.
		block := make([]entry, len(p.run), max(minBlock, p.total, 2*len(p.run)))
		copy(block, p.run)
		p.run = block
	}
	p.run = append(p.run, e)
	p.total++
	s := p.cur
	switch n := len(s.list) + len(p.run); {
	case s.keyLines != nil:
		s.keyLines[e.key] = e.pos.Line
	case n > maxScan:
		s.keyLines = make(map[string]int, 2*n)
		for _, l := range [][]entry{s.list, p.run} {
			for i := range l {
				s.keyLines[l[i].key] = l[i].pos.Line
			}
		}
	}
}

// keyLine returns the line where the current section already sets key.
func (p *parser) keyLine(key string) (int, bool) {
	s := p.cur
	if s.keyLines != nil {
		line, ok := s.keyLines[key]
		return line, ok
	}
	for _, l := range [][]entry{s.list, p.run} {
		for i := range l {
			if l[i].key == key {
				return l[i].pos.Line, true
			}
		}
	}
	return 0, false
}

// closeRun ends the current section's run: its entries join the section.
func (p *parser) closeRun() {
	if p.cur == nil {
		return
	}
	// The full slice expression caps run at its length, so that no append
	// to the section's list can write over the next section's entries.
	run := p.run[:len(p.run):len(p.run)]
	if p.cur.list == nil {
		p.cur.list = run
	} else {
		p.cur.list = append(p.cur.list, run...) // [DEFAULT] again
	}
	p.run = p.run[len(p.run):]
}

// finish closes the open value: it joins the lines of the value like
// configparser and parses a nested block like botocore (_parse_nested).
func (p *parser) finish() {
	if !p.open {
		return
	}
	p.open = false
	e := &p.run[len(p.run)-1]
	file, f := p.file, p.f
	// configparser joins the lines with \n and strips the end of the
	// result. Every line is stripped already, so that only drops the
	// empty lines at the end.
	parts := p.parts
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if parts[0] == "" && len(parts) > 1 {
		// The value starts with a line break: a nested block.
		e.nested = map[string]string{}
		e.subPos = map[string]Position{}
		for i := 1; i < len(parts); i++ {
			part := parts[i]
			if part == "" {
				continue
			}
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				p.late = append(p.late, lateError{inDefault: p.inDefault, err: &ParseError{Pos: Position{File: file, Line: p.lines[i]}, Msg: fmt.Sprintf(
					"in the nested block of %s (line %d): expected name = value", e.key, e.pos.Line)}})
				return
			}
			k = pyStrip(k)
			e.nested[k] = pyStrip(v)
			e.subPos[k] = Position{File: file, Line: p.lines[i]}
		}
		return
	}
	if len(parts) == 1 {
		e.value = parts[0]
	} else {
		e.value = strings.Join(parts, "\n")
		for i := 1; i < len(parts); i++ {
			if parts[i] != "" {
				f.warn(Position{File: file, Line: p.lines[i]}, fmt.Sprintf(
					"this indented line continues the value of %s (line %d), as in the AWS CLI; aws-sdk-go-v2 reads it as a separate key",
					e.key, e.pos.Line))
				break
			}
		}
	}
	first := parts[0]
	if strings.IndexByte(first, '#') >= 0 || strings.IndexByte(first, ';') >= 0 {
		for _, c := range []string{" #", "\t#", " ;", "\t;"} {
			if strings.Contains(first, c) {
				f.warn(e.pos, fmt.Sprintf(
					"the value of %s contains %q: the AWS CLI and boto3 keep it as part of the value, aws-sdk-go-v2 drops it and what follows as a comment",
					e.key, strings.TrimSpace(c)))
				break
			}
		}
	}
	// len(p.parts), not len(parts): a value followed by an empty line (or
	// a continuation line) gets no warning, even at the end of a section.
	if len(first) >= 2 && (first[0] == '"' || first[0] == '\'') && first[len(first)-1] == first[0] && len(p.parts) == 1 {
		f.warn(e.pos, fmt.Sprintf(
			"the value of %s is in quotes: the AWS CLI and boto3 keep the quotes, aws-sdk-go-v2 removes them", e.key))
	}
}

func (f *iniFile) warn(pos Position, msg string) {
	f.warnings = append(f.warnings, Warning{Pos: pos, Msg: msg})
}

// secretKey returns the name of a secret key that the file sets, or "": of
// the first section that sets one ([DEFAULT] first), the first in sorted
// order.
func (f *iniFile) secretKey() string {
	least := func(s *iniSection) string {
		k := ""
		for i := range s.list {
			if key := s.list[i].key; isSecretKey(key) && (k == "" || key < k) {
				k = key
			}
		}
		return k
	}
	if f.defaults != nil {
		if k := least(f.defaults); k != "" {
			return k
		}
	}
	for _, s := range f.sections {
		if k := least(s); k != "" {
			return k
		}
	}
	return ""
}

// effective returns the entries of s with those of [DEFAULT] it inherits,
// the way configparser's options() and get() see them.
func (f *iniFile) effective(s *iniSection) map[string]*entry {
	out := make(map[string]*entry, len(s.list))
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

// delimiter returns the index of the first = or : in s, or -1.
func delimiter(s string) int {
	if i := strings.IndexByte(s, '='); i >= 0 {
		if j := strings.IndexByte(s[:i], ':'); j >= 0 {
			return j
		}
		return i
	}
	return strings.IndexByte(s, ':')
}

// lineReader hands out the lines of a text one at a time, split like
// Python's universal newlines: \r\n, \r and \n.
type lineReader struct {
	rest string
	cr   bool // rest may hold a \r; without one, the faster IndexByte finds the ends
}

func (r *lineReader) next() (string, bool) {
	if len(r.rest) == 0 {
		return "", false
	}
	var i int
	if r.cr {
		i = strings.IndexAny(r.rest, "\r\n")
	} else {
		i = strings.IndexByte(r.rest, '\n')
	}
	if i < 0 {
		line := r.rest
		r.rest = ""
		return line, true
	}
	line := r.rest[:i]
	if r.rest[i] == '\r' && i+1 < len(r.rest) && r.rest[i+1] == '\n' {
		i++
	}
	r.rest = r.rest[i+1:]
	return line, true
}

// splitLines splits like Python's universal newlines: \r\n, \r and \n.
func splitLines(s string) []string {
	var out []string
	r := lineReader{rest: s, cr: true}
	for {
		l, ok := r.next()
		if !ok {
			return out
		}
		out = append(out, l)
	}
}

// isPySpace is Python's str.isspace for one character.
func isPySpace(r rune) bool {
	if uint32(r) < utf8.RuneSelf {
		return asciiSpace[r]
	}
	return unicode.IsSpace(r)
}

// asciiSpace is isPySpace for ASCII: unicode.IsSpace's \t \n \v \f \r and
// space, and the separators \x1c to \x1f.
var asciiSpace = [utf8.RuneSelf]bool{
	'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true,
	0x1c: true, 0x1d: true, 0x1e: true, 0x1f: true,
}

// pySpaceLen returns the length in bytes of the whitespace that starts s.
func pySpaceLen(s string) int {
	i := 0
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isPySpace(r) {
			break
		}
		i += n
	}
	return i
}

func pyStrip(s string) string { return pyRStrip(s[pySpaceLen(s):]) }

func pyRStrip(s string) string {
	for len(s) > 0 {
		if c := s[len(s)-1]; c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			s = s[:len(s)-1]
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s)
		if !isPySpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}
