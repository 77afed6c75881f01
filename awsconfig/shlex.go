package awsconfig

import (
	"errors"
	"strings"
)

// shlexSpace separates words.
const shlexSpace = " \t\r\n"

// Errors of SplitWords.
var (
	ErrNoClosingQuote = errors.New("no closing quotation")
	ErrNoEscaped      = errors.New("no escaped character after a final backslash")
)

// SplitWords splits s as Python's shlex.split(s) does (POSIX mode, no
// comments): the rule botocore applies to section names and to
// credential_process command lines.
func SplitWords(s string) ([]string, error) { return shlexSplit(s) }

// shlexSplit splits s like Python's shlex.split(s) (POSIX mode, no
// comments), which botocore uses on section names such as
// [profile "my profile"]: words split on spaces, tabs and newlines; '...'
// is literal; inside "..." a backslash escapes only " and \; outside
// quotes a backslash escapes any character; quotes join with the text
// around them, and ” is an empty word.
func shlexSplit(s string) ([]string, error) { return shlexAppend(nil, s) }

// shlexAppend appends the words of s, as shlexSplit splits them, to out.
func shlexAppend(out []string, s string) ([]string, error) {
	if !strings.ContainsAny(s, `\'"`) {
		// Without quotes or backslashes the words are the runs of text
		// between spaces, tabs and newlines, and substrings of s.
		for {
			s = strings.TrimLeft(s, shlexSpace)
			if s == "" {
				return out, nil
			}
			i := strings.IndexAny(s, shlexSpace)
			if i < 0 {
				return append(out, s), nil
			}
			out, s = append(out, s[:i]), s[i:]
		}
	}
	var (
		word   []rune
		inWord bool
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case ' ', '\t', '\r', '\n':
			if inWord {
				out = append(out, string(word))
				word, inWord = word[:0], false
			}
		case '\\':
			if i+1 >= len(rs) {
				return nil, ErrNoEscaped
			}
			i++
			word, inWord = append(word, rs[i]), true
		case '\'':
			inWord = true
			for i++; ; i++ {
				if i >= len(rs) {
					return nil, ErrNoClosingQuote
				}
				if rs[i] == '\'' {
					break
				}
				word = append(word, rs[i])
			}
		case '"':
			inWord = true
			for i++; ; i++ {
				if i >= len(rs) {
					return nil, ErrNoClosingQuote
				}
				if rs[i] == '"' {
					break
				}
				if rs[i] == '\\' {
					if i+1 >= len(rs) {
						return nil, ErrNoEscaped
					}
					if rs[i+1] == '"' || rs[i+1] == '\\' {
						i++
					}
				}
				word = append(word, rs[i])
			}
		default:
			word, inWord = append(word, c), true
		}
	}
	if inWord {
		out = append(out, string(word))
	}
	return out, nil
}
