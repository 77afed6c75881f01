package policy

import (
	"encoding/json"
	"reflect"
	"testing"
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
