package policy

import (
	"fmt"
	"testing"
)

// TestConditions pins each operator and the rules for missing keys,
// multi-valued keys and set operators. Sources:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
func TestConditions(t *testing.T) {
	ctx := map[string][]string{
		"aws:username":          {"bob"},
		"aws:PrincipalTag/team": {"blue"},
		"s3:max-keys":           {"10"},
		"aws:CurrentTime":       {"2026-06-01T12:00:00Z"},
		"aws:EpochTime":         {"1780315200"},
		"aws:SecureTransport":   {"true"},
		"aws:SourceIp":          {"203.0.113.7"},
		"aws:SourceArn":         {"arn:aws:sns:us-east-1:123456789012:topic"},
		"aws:TagKeys":           {"env", "team"},
		"aws:EmptySet":          {},
		"k:bin":                 {"aGVsbG8="},
		"k:backslash":           {`a\b`},
	}
	tests := []struct {
		op, key string
		values  []string
		want    bool
	}{
		// Strings.
		{"StringEquals", "aws:username", []string{"alice", "bob"}, true}, // values are ORed
		{"StringEquals", "AWS:UserName", []string{"bob"}, true},          // key names are case-insensitive
		{"StringEquals", "aws:username", []string{"Bob"}, false},         // values are not
		{"StringEqualsIgnoreCase", "aws:username", []string{"BOB"}, true},
		{"StringNotEquals", "aws:username", []string{"alice"}, true},
		{"StringNotEquals", "aws:username", []string{"alice", "bob"}, false},
		{"StringNotEqualsIgnoreCase", "aws:username", []string{"BOB"}, false},
		{"StringLike", "aws:username", []string{"b?b"}, true},
		{"StringLike", "aws:username", []string{"a*"}, false},
		{"StringNotLike", "aws:username", []string{"a*"}, true},
		{"StringEquals", "aws:username", []string{"${aws:username}"}, true},
		{"StringEquals", "aws:username", []string{"${aws:PrincipalTag/team}"}, false},
		{"StringLike", "aws:username", []string{"${*}"}, false}, // a literal *
		// A variable without a value fails its comparison: a positive
		// operator can still match another value, a negated one fails;
		// a missing key is decided before the variable.
		{"StringEquals", "aws:username", []string{"${aws:NoSuchKey}", "bob"}, true},
		{"StringEquals", "aws:username", []string{"${aws:NoSuchKey}"}, false},
		{"StringNotEquals", "aws:username", []string{"${aws:NoSuchKey}"}, false},
		{"StringNotEquals", "aws:username", []string{"${aws:NoSuchKey}", "alice"}, false},
		{"StringNotLikeIfExists", "aws:username", []string{"${aws:NoSuchKey}"}, false},
		{"StringNotEquals", "aws:missing", []string{"${aws:NoSuchKey}"}, true},
		{"StringEqualsIfExists", "aws:missing", []string{"${aws:NoSuchKey}"}, true},
		{"StringNotEquals", "aws:username", []string{"${aws:NoSuchKey, 'bob'}"}, false}, // the default is the value
		{"StringNotEquals", "aws:username", []string{"${aws:NoSuchKey, 'al'}"}, true},
		{"StringLike", "k:backslash", []string{`a\b`}, true}, // a backslash is literal
		{"StringLike", "k:backslash", []string{`a\?`}, true},
		{"StringEquals", "k:backslash", []string{`a\b`}, true},
		// Numbers.
		{"NumericEquals", "s3:max-keys", []string{"10.0"}, true},
		{"NumericNotEquals", "s3:max-keys", []string{"10"}, false},
		{"NumericLessThan", "s3:max-keys", []string{"10"}, false},
		{"NumericLessThanEquals", "s3:max-keys", []string{"10"}, true},
		{"NumericGreaterThan", "s3:max-keys", []string{"9"}, true},
		{"NumericGreaterThanEquals", "s3:max-keys", []string{"11"}, false},
		// Dates, ISO 8601 and epoch seconds compare as instants.
		{"DateGreaterThan", "aws:CurrentTime", []string{"2026-01-01T00:00:00Z"}, true},
		{"DateLessThan", "aws:CurrentTime", []string{"2026-01-01"}, false},
		{"DateEquals", "aws:CurrentTime", []string{"2026-06-01T14:00:00+02:00"}, true},
		{"DateNotEquals", "aws:CurrentTime", []string{"1780315200"}, false},
		{"DateLessThanEquals", "aws:EpochTime", []string{"2026-06-01T12:00:00Z"}, true},
		{"DateGreaterThanEquals", "aws:EpochTime", []string{"2026-06-01T12:00:01Z"}, false},
		// Bool, Binary.
		{"Bool", "aws:SecureTransport", []string{"true"}, true},
		{"Bool", "aws:SecureTransport", []string{"false"}, false},
		{"BinaryEquals", "k:bin", []string{"aGVsbG8="}, true},
		{"BinaryEquals", "k:bin", []string{"aGVsbG9="}, false},
		// IP addresses.
		{"IpAddress", "aws:SourceIp", []string{"203.0.113.0/24"}, true},
		{"IpAddress", "aws:SourceIp", []string{"10.0.0.0/8", "203.0.113.7"}, true},
		{"IpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, false},
		{"NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8"}, true},
		{"NotIpAddress", "aws:SourceIp", []string{"203.0.113.0/24"}, false},
		// ARNs.
		{"ArnEquals", "aws:SourceArn", []string{"arn:aws:sns:us-east-1:123456789012:topic"}, true},
		// ArnEquals takes wildcards per part just as ArnLike does.
		{"ArnEquals", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:topic"}, true},
		{"ArnEquals", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:top"}, false},
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:sns:*:123456789012:*"}, true},
		{"ArnLike", "aws:SourceArn", []string{"arn:aws:sns:*:210987654321:*"}, false},
		{"ArnNotLike", "aws:SourceArn", []string{"arn:aws:sns:*:210987654321:*"}, true},
		{"ArnNotEquals", "aws:SourceArn", []string{"arn:aws:sns:us-east-1:123456789012:topic"}, false},
		// Null.
		{"Null", "aws:missing", []string{"true"}, true},
		{"Null", "aws:username", []string{"true"}, false},
		{"Null", "aws:username", []string{"false"}, true},
		{"Null", "aws:missing", []string{"false"}, false},
		// A missing key fails a positive operator and satisfies a
		// negated one; IfExists makes any operator hold.
		{"StringEquals", "aws:missing", []string{"x"}, false},
		{"StringLike", "aws:missing", []string{"*"}, false},
		{"NumericLessThan", "aws:missing", []string{"1"}, false},
		{"StringNotEquals", "aws:missing", []string{"x"}, true},
		{"StringNotLike", "aws:missing", []string{"*"}, true},
		{"NotIpAddress", "aws:missing", []string{"10.0.0.0/8"}, true},
		{"ArnNotLike", "aws:missing", []string{"arn:aws:sns:*:*:*"}, true},
		{"StringEqualsIfExists", "aws:missing", []string{"x"}, true},
		{"BoolIfExists", "aws:missing", []string{"true"}, true},
		{"StringEqualsIfExists", "aws:username", []string{"alice"}, false}, // present: tested
		// Multi-valued keys with set operators.
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "team", "owner"}, true},
		{"ForAllValues:StringEquals", "aws:TagKeys", []string{"env"}, false},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"team"}, true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"owner"}, false},
		{"ForAllValues:StringLike", "aws:TagKeys", []string{"e*", "t*"}, true},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", []string{"env"}, true}, // "team" is not env
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"owner"}, true},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", []string{"env"}, false},
		// ForAllValues holds on a missing key or an empty set; ForAnyValue
		// does not.
		{"ForAllValues:StringEquals", "aws:missing", []string{"x"}, true},
		{"ForAllValues:StringEquals", "aws:EmptySet", []string{"x"}, true},
		{"ForAnyValue:StringEquals", "aws:missing", []string{"x"}, false},
		{"ForAnyValue:StringNotEquals", "aws:missing", []string{"x"}, false},
		{"ForAnyValue:StringEquals", "aws:EmptySet", []string{"x"}, false},
		{"ForAnyValue:StringEqualsIfExists", "aws:missing", []string{"x"}, true},
		// A single-valued operator on a multi-valued key.
		{"StringEquals", "aws:TagKeys", []string{"team"}, true},
		{"StringNotEquals", "aws:TagKeys", []string{"team"}, false},
	}
	c := newContext(ctx)
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s %v", tt.op, tt.key, tt.values)
		t.Run(name, func(t *testing.T) {
			cond, msg := parseOperator(tt.op)
			if msg != "" {
				t.Fatal(msg)
			}
			cond.Key, cond.Values = tt.key, tt.values
			for _, v := range tt.values {
				if msg := checkConditionValue(cond.Op, v); msg != "" {
					t.Fatalf("value rejected: %s", msg)
				}
			}
			got, why := evalCondition(cond, c, true)
			if got != tt.want {
				t.Errorf("got %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

// In a policy without Version 2012-10-17, "${aws:username}" is literal.
func TestConditionNoSubstitutionIn2008(t *testing.T) {
	cond := Condition{Operator: "StringEquals", Op: "StringEquals", Key: "k", Values: []string{"${aws:username}"}}
	ctx := newContext(map[string][]string{"k": {"${aws:username}"}, "aws:username": {"bob"}})
	if ok, why := evalCondition(cond, ctx, false); !ok {
		t.Errorf("literal value did not match: %s", why)
	}
	if ok, _ := evalCondition(cond, ctx, true); ok {
		t.Errorf("substituted value matched the literal")
	}
	// Wildcards keep their meaning without substitution.
	like := Condition{Operator: "StringLike", Op: "StringLike", Key: "aws:username", Values: []string{"b*"}}
	if ok, why := evalCondition(like, ctx, false); !ok {
		t.Errorf("StringLike b* without substitution: %s", why)
	}
}
