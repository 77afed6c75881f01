package awsconfig

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that any input either parses with every key's position
// on a line that holds that key, or fails with errors whose lines exist.
func FuzzParse(f *testing.F) {
	for _, tc := range botocoreCases {
		f.Add([]byte(tc.config))
		f.Add([]byte(tc.creds))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := splitLines(strings.TrimPrefix(string(data), "\ufeff"))
		d, err := parseINI(data, "f", KindConfig)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("not a *ParseError: %v", err)
			}
			if pe.Pos.Line < 1 || pe.Pos.Line > len(lines) {
				t.Fatalf("error at line %d of %d: %v", pe.Pos.Line, len(lines), err)
			}
			return
		}
		check := func(s *iniSection) {
			if s.pos.Line < 1 || s.pos.Line > len(lines) || !strings.Contains(lines[s.pos.Line-1], "[") {
				t.Fatalf("section %q at line %d", s.name, s.pos.Line)
			}
			for k, e := range s.entries {
				if e.pos.Line < 1 || e.pos.Line > len(lines) {
					t.Fatalf("key %q at line %d of %d", k, e.pos.Line, len(lines))
				}
				if !strings.Contains(strings.ToLower(lines[e.pos.Line-1]), k) {
					t.Fatalf("key %q at line %d, which is %q", k, e.pos.Line, lines[e.pos.Line-1])
				}
				for sk, sp := range e.subPos {
					if !strings.Contains(lines[sp.Line-1], sk) {
						t.Fatalf("sub-key %q at line %d, which is %q", sk, sp.Line, lines[sp.Line-1])
					}
				}
			}
		}
		for _, s := range d.sections {
			check(s)
		}
		if d.defaults != nil {
			check(d.defaults)
		}
	})
}
