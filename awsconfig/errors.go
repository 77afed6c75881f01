package awsconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrProfileNotFound is wrapped by the error of a profile that is defined in
// neither file. Check it with errors.Is; errors.As gives a
// *ProfileNotFoundError with the details.
var ErrProfileNotFound = errors.New("profile not found")

// Position is where something was read: a file, as shown to people (the home
// directory abbreviated to ~), and a 1-based line. The zero Position means
// "not from a file".
type Position struct {
	File string
	Line int
}

// IsValid reports whether p names a file.
func (p Position) IsValid() bool { return p.File != "" }

// String is "file:line", "file" when the line is unknown, or "" for the zero
// Position.
func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	if p.Line <= 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// ParseError is a malformed line. Its message names the line and, where
// there is one, the key, but never repeats the line's text, which may hold a
// secret.
type ParseError struct {
	Pos Position
	Msg string
}

func (e *ParseError) Error() string { return e.Pos.String() + ": " + e.Msg }

// joinParseErrors returns a *ParseError for one error and a joined error
// (one per line, the first maxErrors of them) for several; errors.As finds
// the first *ParseError in either.
func joinParseErrors(errs []*ParseError) error {
	if len(errs) == 1 {
		return errs[0]
	}
	var out []error
	for i, e := range errs {
		if i == maxErrors {
			out = append(out, fmt.Errorf("%s: and %d more malformed lines", e.Pos.File, len(errs)-maxErrors))
			break
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Warning is something the files do that credkit reads one way while an AWS
// SDK or the AWS CLI reads it another, or that is probably a mistake. A
// warning never repeats a value.
type Warning struct {
	Pos Position
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": " + w.Msg }

// ProfileNotFoundError is the error of Files.Profile for a profile that is
// in neither file. It wraps ErrProfileNotFound.
type ProfileNotFoundError struct {
	Name     string
	Files    []FileInfo // the files that were looked at
	Existing []string   // names of the profiles that do exist, sorted
	Hints    []string   // near misses, e.g. "[dev] in ~/.aws/config is not a profile there; write [profile dev]"
}

// maxListed bounds how many existing profile names the message lists.
const maxListed = 30

func (e *ProfileNotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %q not found in ", e.Name)
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(f.Display)
		if !f.Exists {
			b.WriteString(" (absent)")
		}
	}
	if len(e.Files) == 0 {
		b.WriteString("any file (no shared config or credentials file)")
	}
	switch n := len(e.Existing); {
	case n == 0:
		b.WriteString("; no profiles are defined")
	case n <= maxListed:
		b.WriteString("; profiles found: " + strings.Join(e.Existing, ", "))
	default:
		fmt.Fprintf(&b, "; profiles found: %s and %d more", strings.Join(e.Existing[:maxListed], ", "), n-maxListed)
	}
	for _, h := range e.Hints {
		b.WriteString("; " + h)
	}
	return b.String()
}

func (e *ProfileNotFoundError) Unwrap() error { return ErrProfileNotFound }
