package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	// Statement as an object, single strings, keys in any order.
	one, err := Parse([]byte(`{"Statement": {"Resource": "arn:aws:s3:::b/*", "Action": "s3:GetObject", "Effect": "Allow"}, "Version": "2012-10-17"}`), Identity)
	if err != nil {
		t.Fatal(err)
	}
	// The same statement as a list with lists.
	list, err := Parse([]byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]}`), Identity)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one.Statements, list.Statements) {
		t.Errorf("object form %+v != list form %+v", one.Statements, list.Statements)
	}
	want := Statement{Effect: Allow, Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/*"}}
	if !reflect.DeepEqual(one.Statements[0], want) {
		t.Errorf("got %+v, want %+v", one.Statements[0], want)
	}
}

func TestParsePrincipalForms(t *testing.T) {
	tests := []struct {
		principal string
		want      *Principal
	}{
		{`"*"`, &Principal{All: true}},
		{`{"AWS": "*"}`, &Principal{Values: map[string][]string{"AWS": {"*"}}}},
		{`{"AWS": ["123456789012", "arn:aws:iam::123456789012:role/R"]}`, &Principal{Values: map[string][]string{"AWS": {"123456789012", "arn:aws:iam::123456789012:role/R"}}}},
		{`{"Service": "ec2.amazonaws.com"}`, &Principal{Values: map[string][]string{"Service": {"ec2.amazonaws.com"}}}},
		{`{"Federated": "cognito-identity.amazonaws.com"}`, &Principal{Values: map[string][]string{"Federated": {"cognito-identity.amazonaws.com"}}}},
		{`{"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, &Principal{Values: map[string][]string{"CanonicalUser": {"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.principal, func(t *testing.T) {
			doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + tt.principal + `,"Action":"sts:AssumeRole"}}`
			p, err := Parse([]byte(doc), Trust)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Statements[0].Principal; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseConditionForms(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{
		"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b"]},
		"NumericLessThan":{"s3:max-keys":10},
		"Bool":{"aws:SecureTransport":true}}}}`
	p, err := Parse([]byte(doc), Identity)
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{
		{Operator: "Bool", Op: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
		{Operator: "ForAnyValue:StringLikeIfExists", Op: "StringLike", IfExists: true, Set: ForAnyValue, Key: "aws:TagKeys", Values: []string{"a*", "b"}},
		{Operator: "NumericLessThan", Op: "NumericLessThan", Key: "s3:max-keys", Values: []string{"10"}},
	}
	if got := p.Statements[0].Conditions; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	const allow = `"Effect":"Allow","Action":"s3:GetObject","Resource":"*"`
	tests := []struct {
		name string
		kind Kind
		doc  string
		// want are "path: message fragment" pairs, all of which must be
		// in the error.
		want []string
	}{
		{"not JSON", Identity, `{`, []string{"$: not valid JSON"}},
		{"not an object", Identity, `[]`, []string{"$: a policy must be a JSON object"}},
		{"unknown top element", Identity, `{"Statement":{` + allow + `},"Foo":1}`, []string{`$.Foo: unknown element "Foo"`}},
		{"missing Statement", Identity, `{"Version":"2012-10-17"}`, []string{"$: missing Statement"}},
		{"bad version", Identity, `{"Version":"2012-10-18","Statement":{` + allow + `}}`, []string{`$.Version: unknown version "2012-10-18"`}},
		{"unknown statement element", Identity, `{"Statement":[{` + allow + `},{` + allow + `,"Resources":"*"}]}`, []string{`$.Statement[1].Resources: unknown element "Resources"`}},
		{"missing Effect", Identity, `{"Statement":{"Action":"s3:*","Resource":"*"}}`, []string{"$.Statement: missing Effect"}},
		{"bad Effect", Identity, `{"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}`, []string{`$.Statement.Effect: must be "Allow" or "Deny", not "allow"`}},
		{"Action and NotAction", Identity, `{"Statement":[{` + allow + `,"NotAction":"s3:PutObject"}]}`, []string{"$.Statement[0]: has both Action and NotAction"}},
		{"no Action", Identity, `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, []string{"$.Statement[0]: missing Action or NotAction"}},
		{"Resource and NotResource", Identity, `{"Statement":[{` + allow + `,"NotResource":"*"}]}`, []string{"$.Statement[0]: has both Resource and NotResource"}},
		{"wrong type Action", Identity, `{"Statement":{"Effect":"Allow","Action":5,"Resource":"*"}}`, []string{"$.Statement.Action: must be a string or a list of strings, not a number"}},
		{"wrong type in list", Identity, `{"Statement":{"Effect":"Allow","Action":["s3:GetObject",true],"Resource":"*"}}`, []string{"$.Statement.Action[1]: must be a string, not a boolean"}},
		{"bad action", Identity, `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, []string{`$.Statement.Action: action "GetObject" must be`}},
		{"ARN with too few parts", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":["*","arn:aws:s3:bucket"]}}`, []string{`$.Statement.Resource[1]: ARN "arn:aws:s3:bucket" has 4 parts, want 6`}},
		{"Principal in identity policy", Identity, `{"Statement":{` + allow + `,"Principal":"*"}}`, []string{"$.Statement: an identity-based policy must not have Principal"}},
		{"Principal in SCP", SCP, `{"Statement":{` + allow + `,"Principal":"*"}}`, []string{"$.Statement: a service control policy must not have Principal"}},
		{"no Principal in resource policy", Resource, `{"Statement":{` + allow + `}}`, []string{"$.Statement: missing Principal or NotPrincipal"}},
		{"Resource in trust policy", Trust, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`, []string{"$.Statement: a trust policy must not have Resource"}},
		{"RCP principal not star", RCP, `{"Statement":{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}}`, []string{`$.Statement: an RCP statement must have "Principal": "*"`}},
		{"unknown principal type", Resource, `{"Statement":{` + allow + `,"Principal":{"Aws":"*"}}}`, []string{`$.Statement.Principal.Aws: unknown principal type "Aws"`}},
		{"bad AWS principal", Resource, `{"Statement":{` + allow + `,"Principal":{"AWS":["123456789012","bob"]}}}`, []string{`$.Statement.Principal.AWS[1]: AWS principal "bob"`}},
		{"principal string not star", Resource, `{"Statement":{` + allow + `,"Principal":"123456789012"}}`, []string{`$.Statement.Principal: must be "*" or an object`}},
		{"unknown operator", Identity, `{"Statement":[{` + allow + `},{` + allow + `,"Condition":{"StringLikes":{"aws:username":"a"}}}]}`, []string{`$.Statement[1].Condition.StringLikes: unknown condition operator "StringLikes"`}},
		{"unknown set operator", Identity, `{"Statement":{` + allow + `,"Condition":{"ForSomeValues:StringLike":{"aws:TagKeys":"a"}}}}`, []string{`$.Statement.Condition.ForSomeValues:StringLike: unknown set operator "ForSomeValues"`}},
		{"Null IfExists", Identity, `{"Statement":{` + allow + `,"Condition":{"NullIfExists":{"aws:TagKeys":"true"}}}}`, []string{`$.Statement.Condition.NullIfExists: Null takes neither IfExists`}},
		{"non-numeric NumericEquals", Identity, `{"Statement":{` + allow + `,"Condition":{"NumericEquals":{"s3:max-keys":["10","ten"]}}}}`, []string{`$.Statement.Condition.NumericEquals.s3:max-keys[1]: NumericEquals needs a number, not "ten"`}},
		{"number too large", Identity, `{"Statement":{` + allow + `,"Condition":{"NumericLessThan":{"s3:max-keys":"1e999999999"}}}}`, []string{`NumericLessThan needs a number, not "1e999999999"`}},
		{"bad date", Identity, `{"Statement":{` + allow + `,"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2026-13-01T00:00:00Z"}}}}`, []string{`$.Statement.Condition.DateGreaterThan.aws:CurrentTime: DateGreaterThan needs a date`}},
		{"bad CIDR", Identity, `{"Statement":{` + allow + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, []string{`$.Statement.Condition.IpAddress.aws:SourceIp: IpAddress needs an IP address or CIDR block, not "10.0.0.0/33"`}},
		{"bad Bool", Identity, `{"Statement":{` + allow + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, []string{`$.Statement.Condition.Bool.aws:SecureTransport: Bool needs true or false`}},
		{"bad ARN condition", Identity, `{"Statement":{` + allow + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns"}}}}`, []string{`$.Statement.Condition.ArnLike.aws:SourceArn: ArnLike needs an ARN`}},
		{"condition value object", Identity, `{"Statement":{` + allow + `,"Condition":{"StringEquals":{"aws:username":{"a":1}}}}}`, []string{`$.Statement.Condition.StringEquals.aws:username: must be a string, number or boolean, not an object`}},
		{"condition block not object", Identity, `{"Statement":{` + allow + `,"Condition":{"StringEquals":"a"}}}`, []string{`$.Statement.Condition.StringEquals: must be an object of condition keys, not a string`}},
		{"duplicate Sid in resource policy", Resource, `{"Statement":[{"Sid":"A",` + allow + `,"Principal":"*"},{"Sid":"A",` + allow + `,"Principal":"*"}]}`, []string{`$.Statement: duplicate Sid "A"`}},
		{"several problems at once", Identity, `{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"},{"Action":"s3:*"}]}`, []string{
			`$.Statement[0].Effect: must be "Allow" or "Deny"`, "$.Statement[1]: missing Effect", "$.Statement[1]: missing Resource or NotResource"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want errors %q", p, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not an *Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseValidAcrossKinds(t *testing.T) {
	tests := []struct {
		kind Kind
		doc  string
	}{
		{Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:iam::*:*"}}`},
		{SCP, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}}`},
		{RCP, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":"false"}}}}`},
		{Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:o/r:*"}}}}`},
		{Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}}`},
		{Identity, `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":["2026-01-02","1767312000","2026-01-02T03:04:05.123+02:00"]},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::1"]},"BinaryEquals":{"k":"aGVsbG8="},"Null":{"aws:TokenIssueTime":"true"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			if _, err := Parse([]byte(tt.doc), tt.kind); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	doc := `{"Id":"i","Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"NotAction":"s3:Put*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":5},"Bool":{"aws:SecureTransport":false}}}]}`
	p, err := Parse([]byte(doc), Resource)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Id":"i","Statement":[{"Sid":"S","Effect":"Deny","NotPrincipal":{"AWS":["123456789012"]},"NotAction":["s3:Put*"],"Resource":["*"],"Condition":{"Bool":{"aws:SecureTransport":["false"]},"NumericLessThan":{"s3:max-keys":["5"]}}}]}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	back, err := Parse(out, Resource)
	if err != nil || !reflect.DeepEqual(p, back) {
		t.Errorf("reparse: %v\n%+v\n%+v", err, p, back)
	}
}
