package explain

import (
	"errors"
	"testing"
)

// Each wording AWS has used, with and without the SDK's prefix.
func TestParseWordings(t *testing.T) {
	for _, c := range []struct {
		name, text                       string
		caller, action, resource, policy string
		kind                             CallerKind
		explicit                         bool
		policyARN                        string
	}{
		{"old wording", "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key",
			"arn:aws:iam::111122223333:user/dev", "s3:GetObject", "arn:aws:s3:::bucket/key", "", IAMUser, false, ""},
		{"no identity-based policy", "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/dev because no identity-based policy allows the iam:CreateAccessKey action",
			"arn:aws:iam::000000000000:user/dev", "iam:CreateAccessKey", "arn:aws:iam::000000000000:user/dev", "identity-based policy", IAMUser, false, ""},
		{"explicit deny in an SCP with its ARN, CLI prefix", "An error occurred (AccessDenied) when calling the ListBuckets operation: User: arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/jane is not authorized to perform: s3:ListAllMyBuckets with an explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-xyz",
			"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ReadOnly_0123456789abcdef/jane", "s3:ListAllMyBuckets", "", "service control policy", SSOSession, true, "arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-xyz"},
		{"explicit deny in an identity-based policy, no ARN, trailing period", "User: arn:aws:sts::111122223333:assumed-role/app/i-0abc is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:111122223333:table/t with an explicit deny in an identity-based policy.",
			"arn:aws:sts::111122223333:assumed-role/app/i-0abc", "dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:111122223333:table/t", "identity-based policy", RoleSession, true, ""},
		{"session policy", "User: arn:aws:sts::111122223333:federated-user/bob is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:111122223333:q because no session policy allows the sqs:SendMessage action",
			"arn:aws:sts::111122223333:federated-user/bob", "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", "session policy", FederatedUser, false, ""},
		{"the field report", "User: arn:aws:sts::832035452523:assumed-role/cp-sts-grant-role/swift-ap-northeast-2-prod-123456789012 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/os-repo-prg-OPENSEARCHRepositoryRole",
			"arn:aws:sts::832035452523:assumed-role/cp-sts-grant-role/swift-ap-northeast-2-prod-123456789012", "sts:AssumeRole", "arn:aws:iam::123456789012:role/os-repo-prg-OPENSEARCHRepositoryRole", "", ServiceActing, false, ""},
		{"root", "User: arn:aws:iam::111122223333:root is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k because no resource-based policy allows the kms:Decrypt action",
			"arn:aws:iam::111122223333:root", "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", "resource-based policy", Root, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse(c.text)
			if err != nil {
				t.Fatal(err)
			}
			if d.Caller.ARN != c.caller || d.Action != c.action || d.Resource != c.resource || d.PolicyType != c.policy || d.Caller.Kind != c.kind || d.Explicit != c.explicit || d.PolicyARN != c.policyARN {
				t.Errorf("got caller %q (%s) action %q resource %q policy %q explicit %v arn %q", d.Caller.ARN, d.Caller.Kind, d.Action, d.Resource, d.PolicyType, d.Explicit, d.PolicyARN)
			}
		})
	}
}

func TestParseEncodedAndGarbage(t *testing.T) {
	d, err := Parse("An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation. Encoded authorization failure message: AbC-12_x/y+z=")
	if err != nil || d.Encoded != "AbC-12_x/y+z=" || d.Action != "" {
		t.Errorf("encoded: %+v %v", d, err)
	}
	if _, err := Parse("ExpiredToken: The security token included in the request is expired"); !errors.Is(err, ErrNotAccessDenied) {
		t.Errorf("not a refusal: %v", err)
	}
}

func TestRecognizeCaller(t *testing.T) {
	c := RecognizeCaller("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin-Access_7f3a9c2b1d0e4f56/jane@example.com")
	if c.Kind != SSOSession || c.PermissionSet != "Admin-Access" || c.Session != "jane@example.com" || c.Account != "111122223333" {
		t.Errorf("SSO: %+v", c)
	}
	c = RecognizeCaller("arn:aws:sts::832035452523:assumed-role/cp-sts-grant-role/swift-eu-west-1-prod-111122223333")
	if c.Kind != ServiceActing || c.ServicePrincipal != "es.amazonaws.com" || c.Service != "Amazon OpenSearch Service" {
		t.Errorf("OpenSearch: %+v", c)
	}
	c = RecognizeCaller("arn:aws:iam::111122223333:user/team/dev")
	if c.Kind != IAMUser || c.Name != "dev" {
		t.Errorf("user with a path: %+v", c)
	}
}

// The message's named policy type leads the checklist; for a plain
// AssumeRole refusal the role's exact name and its trust lead, and a
// service caller gets no identity-policy item of its own.
func TestChecklistRanking(t *testing.T) {
	first := func(text string) []string {
		d, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range Checklist(d) {
			out = append(out, c.Policy)
		}
		return out
	}
	if got := first("User: arn:aws:iam::1:user/a is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no permissions boundary allows the s3:GetObject action"); got[0] != "permissions boundary" {
		t.Errorf("boundary named: %v", got)
	}
	got := first("User: arn:aws:sts::832035452523:assumed-role/cp-sts-grant-role/swift-x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/R")
	if len(got) < 2 || got[0] != "role name" || got[1] != "trust policy" {
		t.Errorf("plain AssumeRole: %v", got)
	}
	for _, p := range got {
		if p == "identity-based policy" || p == "service control policy" {
			t.Errorf("a service caller gets %q: %v", p, got)
		}
	}
	got = first("User: arn:aws:iam::111111111111:user/a is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:222222222222:q")
	if got[0] != "resource-based policy" {
		t.Errorf("cross-account: %v", got)
	}
}
