package policy

import "testing"

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"s3:GetObject", "s3:GetObject", true},
		{"s3:getobject", "S3:GetObject", true}, // case-insensitive
		{"s3:Get*", "s3:GetObjectAcl", true},
		{"s3:Get*", "s3:PutObject", false},
		{"*", "iam:CreateUser", true},
		{"s3:*Object", "s3:GetObject", true},
		{"s3:*Object", "s3:GetObjectAcl", false},
		{"ec2:Describe?nstances", "ec2:DescribeInstances", true},
		{"ec2:Describe?nstances", "ec2:DescribeXXnstances", false},
		{"s3:GetObject", "s3:GetObjectAcl", false},
		{"s3:*", "s3express:CreateSession", false},
	}
	for _, tt := range tests {
		if got := matchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("matchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestMatchARN(t *testing.T) {
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "arn:aws:s3:::b/k", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/dir/key", true},
		{"arn:aws:s3:::b/*", "arn:aws:s3:::B/key", false}, // case-sensitive
		{"arn:aws:s3:::b", "arn:aws:s3:::b/key", false},
		{"arn:aws:s3:::*", "arn:aws:s3:::b/k:with:colons", true},
		// A wildcard stays within its segment: "*" in the region does not
		// swallow the account.
		{"arn:aws:ec2:*:123456789012:instance/*", "arn:aws:ec2:eu-west-1:123456789012:instance/i-1", true},
		{"arn:aws:ec2:*:123456789012:instance/*", "arn:aws:ec2:eu-west-1:210987654321:instance/i-1", false},
		{"arn:aws:ec2:eu-*:*:*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", false},
		{"arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:role/r", false},
		{"arn:aws:iam::123456789012:user/????", "arn:aws:iam::123456789012:user/bobb", true},
		{"arn:aws:iam::123456789012:user/????", "arn:aws:iam::123456789012:user/bob", false},
		{"arn:aws:sqs:*:*:queue1", "arn:aws:sqs:us-east-1:123456789012:queue1", true},
		{"arn:aws:*:*:*:*", "arn:aws-cn:s3:::b", false},
	}
	for _, tt := range tests {
		if got := matchARN(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("matchARN(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	ctx := newContext(map[string][]string{
		"aws:username":          {"bob"},
		"aws:PrincipalTag/team": {"a*b"},
		"aws:TagKeys":           {"x", "y"},
	})
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/bob/*", true},
		{"${AWS:UserName}", "bob", true}, // key names are case-insensitive
		{"${aws:principaltag/team}", `a\*b`, true},
		{"a${*}b${?}c${$}", `a\*b\?c$`, true},
		{"${aws:missing, 'dflt'}", "dflt", true},
		{"${aws:username, 'dflt'}", "bob", true},
		{"${aws:missing}", "", false},
		{"${aws:TagKeys}", "", false}, // multi-valued keys do not substitute
		{"no variables *", "no variables *", true},
		{`back\slash ${aws:username}`, `back\\slash bob`, true},
	}
	for _, tt := range tests {
		got, ok := substitute(tt.in, ctx)
		if got != tt.want || ok != tt.ok {
			t.Errorf("substitute(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	// A substituted "*" is literal, an unsubstituted one a wildcard.
	if p, _ := substitute("a${*}", ctx); glob(p, "abc", false) || !glob(p, "a*", false) {
		t.Errorf("${*} must match only a literal *")
	}
}
