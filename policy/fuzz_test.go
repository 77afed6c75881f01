package policy

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
	`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},"Null":{"k":"true"}}}]}`,
	`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/R"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
	`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2026-01-01"}}}}`,
	`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}}`,
	`{"Statement":[]}`,
	`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}}`,
}

// FuzzParse checks that Parse never panics, that its answer does not
// depend on anything but the input, and that a document that parses
// writes back to a document that parses to the same Policy.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		for k := Identity; k <= RCP; k++ {
			f.Add([]byte(s), uint8(k))
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte, k uint8) {
		kind := Kind(k % uint8(RCP+1))
		p, err := Parse(doc, kind)
		p2, err2 := Parse(doc, kind)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two parses differ: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := Parse(out, kind)
		if err != nil {
			t.Fatalf("%s parsed, but its rewrite %s does not: %v", doc, out, err)
		}
		if !reflect.DeepEqual(p, back) {
			t.Fatalf("rewrite changed the policy:\n%s\n%s\n%+v\n%+v", doc, out, p, back)
		}
		_ = p2
	})
}

// globRegexp is a second implementation of glob, by regexp.
func globRegexp(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)")
	if fold {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+n < len(pattern) {
				i += n
				r, n = utf8.DecodeRuneInString(pattern[i:])
			}
			b.WriteString(regexp.QuoteMeta(string(r)))
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += n
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// FuzzGlob compares glob with a regexp translation of the pattern.
func FuzzGlob(f *testing.F) {
	f.Add("s3:Get*", "s3:GetObject", true)
	f.Add("a*b?c", "aXXbYc", false)
	f.Add(`a\*b`, "a*b", false)
	f.Add("*a*a*a*", "aaaa", false)
	f.Add("Straße", "STRASSE", true)
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) || len(pattern) > 64 || len(s) > 256 {
			return
		}
		want := globRegexp(pattern, fold).MatchString(s)
		if got := glob(pattern, s, fold); got != want {
			t.Fatalf("glob(%q, %q, %v) = %v, regexp says %v", pattern, s, fold, got, want)
		}
	})
}
