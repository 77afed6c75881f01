package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	acctA   = "111111111111"
	acctB   = "222222222222"
	alice   = "arn:aws:iam::111111111111:user/alice"
	roleR   = "arn:aws:iam::111111111111:role/team/R"
	session = "arn:aws:sts::111111111111:assumed-role/R/s1"
	object  = "arn:aws:s3:::b/k"
)

// pol parses a policy of the given kind whose Statement list is stmts.
func pol(t *testing.T, label string, kind Kind, stmts ...string) Labeled {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	return Labeled{Label: label, Policy: p}
}

func ptr(l Labeled) *Labeled { return &l }

const (
	allowGet     = `{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`
	allowAll     = `{"Effect":"Allow","Action":"*","Resource":"*"}`
	denyGet      = `{"Sid":"NoGet","Effect":"Deny","Action":"s3:Get*","Resource":"*"}`
	allowPut     = `{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}`
	denyOtherEU  = `{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}`
	allowNotIAM  = `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`
	resAllowFmt  = `{"Sid":"Res","Effect":"Allow","Principal":{"AWS":%q},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`
	denyNotOwner = `{"Sid":"OnlyOwner","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`
)

func resAllow(principal string) string { return fmt.Sprintf(resAllowFmt, principal) }

func TestEvaluate(t *testing.T) {
	get := func(principal string) Request {
		return Request{Principal: principal, Action: "s3:GetObject", Resource: object, ResourceAccount: acctA,
			Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}, "aws:username": {"alice"}}}
	}
	cross := func(principal string) Request {
		r := get(principal)
		r.ResourceAccount = acctB
		return r
	}
	const (
		noIdentity = "because no identity-based policy allows the s3:GetObject action"
		aliceMsg   = "User: " + alice + " is not authorized to perform: s3:GetObject on resource: " + object + " "
	)
	tests := []struct {
		name string
		ps   func(t *testing.T) Policies
		req  Request
		want Outcome
		// msg is the whole message for alice's requests, or its tail.
		msg string
		// deciding lists the deciding statements as "label#index".
		deciding []string
	}{
		{"identity policy allows", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowPut, allowGet)}}
		}, get(alice), Allowed, "", []string{"id#1"}},
		{"no policy at all", func(t *testing.T) Policies { return Policies{} },
			get(alice), ImplicitlyDenied, aliceMsg + noIdentity, nil},
		{"identity policy for another action", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowPut)}}
		}, get(alice), ImplicitlyDenied, aliceMsg + noIdentity, []string{"id#0"}},
		{"explicit deny in identity policy wins over allow", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll), pol(t, "deny", Identity, denyGet)}}
		}, get(alice), ExplicitlyDenied, aliceMsg + "with an explicit deny in an identity-based policy", []string{"deny#0"}},
		{"NotAction allow excludes only the named actions", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowNotIAM)}}
		}, get(alice), Allowed, "", []string{"id#0"}},
		{"NotAction allow does not cover the excluded action", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowNotIAM)}}
		}, Request{Principal: alice, Action: "iam:CreateUser", Resource: "arn:aws:iam::111111111111:user/x"}, ImplicitlyDenied,
			"because no identity-based policy allows the iam:CreateUser action", []string{"id#0"}},
		{"resource with a policy variable", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, `{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}`)}}
		}, Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/alice/x", Context: map[string][]string{"aws:username": {"alice"}}}, Allowed, "", []string{"id#0"}},
		{"resource with a policy variable for another user", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, `{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}`)}}
		}, Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/bob/x", Context: map[string][]string{"aws:username": {"alice"}}}, ImplicitlyDenied, noIdentity, []string{"id#0"}},
		// A Deny with a negated operator applies when the key is missing:
		// the classic region-lock SCP denies a request without
		// aws:RequestedRegion.
		{"NotResource with a policy variable without a value does not apply", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll, `{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b/${aws:PrincipalTag/none}/*"}`)}}
		}, get(alice), Allowed, "", []string{"id#0"}},
		{"negated condition on a missing key denies", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll, denyOtherEU)}}
		}, Request{Principal: alice, Action: "s3:GetObject", Resource: object}, ExplicitlyDenied, "with an explicit deny in an identity-based policy", []string{"id#1"}},
		{"negated condition on a present matching key does not deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll, denyOtherEU)}}
		}, get(alice), Allowed, "", []string{"id#0"}},

		// Organizations.
		{"SCP explicit deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)},
				SCPs: [][]Labeled{{pol(t, "FullAWSAccess", SCP, allowAll)}, {pol(t, "scp-deny", SCP, denyGet)}}}
		}, get(alice), ExplicitlyDenied, aliceMsg + "with an explicit deny in a service control policy", []string{"scp-deny#0"}},
		{"SCP deny named before identity deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, denyGet)},
				SCPs: [][]Labeled{{pol(t, "scp", SCP, allowAll, denyGet)}}}
		}, get(alice), ExplicitlyDenied, "with an explicit deny in a service control policy", []string{"scp#1", "id#0"}},
		// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
		// every level from the root to the account must allow.
		{"SCP level without an allow", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)},
				SCPs: [][]Labeled{{pol(t, "root", SCP, allowAll)}, {pol(t, "ou", SCP, allowPut)}, {pol(t, "acct", SCP, allowAll)}}}
		}, get(alice), ImplicitlyDenied, aliceMsg + "because no service control policy allows the s3:GetObject action", []string{"ou#0"}},
		{"SCPs allow at every level", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowGet)},
				SCPs: [][]Labeled{{pol(t, "root", SCP, allowAll)}, {pol(t, "ou", SCP, allowGet)}}}
		}, get(alice), Allowed, "", []string{"id#0"}},
		{"SCP allow does not grant by itself", func(t *testing.T) Policies {
			return Policies{SCPs: [][]Labeled{{pol(t, "root", SCP, allowAll)}}}
		}, get(alice), ImplicitlyDenied, noIdentity, nil},
		{"RCP explicit deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)},
				RCPs: [][]Labeled{{pol(t, "rcp", RCP, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"111111111111"}}}`)}}}
		}, Request{Principal: "arn:aws:iam::222222222222:user/eve", Action: "s3:GetObject", Resource: object, ResourceAccount: acctA,
			Context: map[string][]string{"aws:PrincipalAccount": {acctB}}}, ExplicitlyDenied, "with an explicit deny in a resource control policy", []string{"rcp#0"}},
		// RCPFullAWSAccess is implied: an RCP level whose Deny does not
		// match leaves the request to the other policies.
		{"RCP without a matching deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)},
				RCPs: [][]Labeled{{pol(t, "rcp", RCP, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalAccount":"111111111111"}}}`)}}}
		}, Request{Principal: alice, Action: "s3:GetObject", Resource: object, Context: map[string][]string{"aws:PrincipalAccount": {acctA}}}, Allowed, "", []string{"id#0"}},

		// Boundaries and session policies limit identity grants.
		{"boundary does not allow", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Boundary: ptr(pol(t, "pb", Boundary, allowPut))}
		}, get(alice), ImplicitlyDenied, aliceMsg + "because no permissions boundary allows the s3:GetObject action", []string{"pb#0"}},
		{"boundary allows but identity does not", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowPut)}, Boundary: ptr(pol(t, "pb", Boundary, allowAll))}
		}, get(alice), ImplicitlyDenied, noIdentity, []string{"id#0"}},
		{"boundary and identity allow", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowGet)}, Boundary: ptr(pol(t, "pb", Boundary, allowAll))}
		}, get(alice), Allowed, "", []string{"id#0"}},
		{"boundary explicit deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Boundary: ptr(pol(t, "pb", Boundary, allowAll, denyGet))}
		}, get(alice), ExplicitlyDenied, "with an explicit deny in a permissions boundary", []string{"pb#1"}},
		{"session policy does not allow", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Session: []Labeled{pol(t, "sp", Session, allowPut)}}
		}, get(session), ImplicitlyDenied, "User: " + session + " is not authorized to perform: s3:GetObject on resource: " + object + " because no session policy allows the s3:GetObject action", []string{"sp#0"}},
		{"session policy explicit deny", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Session: []Labeled{pol(t, "sp", Session, allowAll, denyGet)}}
		}, get(session), ExplicitlyDenied, "with an explicit deny in a session policy", []string{"sp#1"}},

		// Resource policies in the same account.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
		// ("Evaluating identity-based policies with resource-based
		// policies", and the boundary and session policy sections): a
		// grant to a user ARN or a role session ARN is not limited by an
		// implicit deny in identity policies, boundaries or session
		// policies (now on reference_policies_evaluation-logic_policy-eval-denyallow.html).
		{"same account: resource policy names the user", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(alice)))}
		}, get(alice), Allowed, "", []string{"bucket#0"}},
		{"same account: resource policy names the user, boundary does not allow", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(alice))), Boundary: ptr(pol(t, "pb", Boundary, allowPut))}
		}, get(alice), Allowed, "", []string{"bucket#0"}},
		{"same account: resource policy names the session ARN, no identity policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(session)))}
		}, get(session), Allowed, "", []string{"bucket#0"}},
		{"same account: resource policy names the session ARN, session policy does not allow", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(session))), Session: []Labeled{pol(t, "sp", Session, allowPut)}}
		}, get(session), Allowed, "", []string{"bucket#0"}},
		// A grant to the role's ARN needs no identity policy, but the
		// boundary and the session policy limit it ("Resource-based
		// policies that grant permissions to an IAM role ARN are limited
		// by an implicit deny in a permissions boundary or session
		// policy").
		{"same account: resource policy names the role, no identity policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(roleR)))}
		}, get(session), Allowed, "", []string{"bucket#0"}},
		{"same account: resource policy names the role, session policy does not allow", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(roleR))), Session: []Labeled{pol(t, "sp", Session, allowPut)}}
		}, get(session), ImplicitlyDenied, "because no session policy allows the s3:GetObject action", []string{"sp#0"}},
		{"same account: resource policy names the role, boundary does not allow", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(roleR))), Boundary: ptr(pol(t, "pb", Boundary, allowPut))}
		}, get(session), ImplicitlyDenied, "because no permissions boundary allows the s3:GetObject action", []string{"pb#0"}},
		{"other account: resource policy names the role, no identity policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(roleR)))}
		}, cross(session), ImplicitlyDenied, noIdentity, nil},
		// An AWS service principal as the caller: the resource policy
		// alone decides; SCPs do not govern it, RCPs do.
		{"service principal granted by the resource policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, `{"Sid":"Svc","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"s3:GetObject","Resource":"*"}`)),
				SCPs: [][]Labeled{{pol(t, "scp", SCP, allowPut)}}}
		}, get("sns.amazonaws.com"), Allowed, "", []string{"bucket#0"}},
		{"service principal not named by the resource policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, `{"Sid":"Svc","Effect":"Allow","Principal":{"Service":"sqs.amazonaws.com"},"Action":"s3:GetObject","Resource":"*"}`))}
		}, get("sns.amazonaws.com"), ImplicitlyDenied, "because no resource-based policy allows the s3:GetObject action", []string{"bucket#0"}},
		{"service principal denied by an RCP", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, `{"Sid":"Svc","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"s3:GetObject","Resource":"*"}`)),
				RCPs: [][]Labeled{{pol(t, "rcp", RCP, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`)}}}
		}, get("sns.amazonaws.com"), ExplicitlyDenied, "with an explicit deny in a resource control policy", []string{"rcp#0"}},
		{"same account: resource policy names the role, identity allows", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowGet)}, Resource: ptr(pol(t, "bucket", Resource, resAllow(roleR)))}
		}, get(session), Allowed, "", []string{"id#0", "bucket#0"}},
		{"same account: resource policy names the account root", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow("arn:aws:iam::111111111111:root")))}
		}, get(alice), ImplicitlyDenied, noIdentity, nil},
		{"same account: resource policy names the account id", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(acctA)))}
		}, get(alice), ImplicitlyDenied, noIdentity, nil},
		{"same account: resource policy names another user", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow("arn:aws:iam::111111111111:user/bob")))}
		}, get(alice), ImplicitlyDenied, noIdentity, nil},
		{"resource policy explicit deny via NotPrincipal", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Resource: ptr(pol(t, "bucket", Resource, denyNotOwner))}
		}, get("arn:aws:iam::111111111111:user/bob"), ExplicitlyDenied, "with an explicit deny in a resource-based policy", []string{"bucket#0"}},
		{"NotPrincipal deny spares the named principal", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Resource: ptr(pol(t, "bucket", Resource, denyNotOwner))}
		}, get(alice), Allowed, "", []string{"id#0"}},
		{"NotPrincipal deny does not spare a principal with a boundary", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}, Resource: ptr(pol(t, "bucket", Resource, denyNotOwner)),
				Boundary: ptr(pol(t, "pb", Boundary, allowAll))}
		}, get(alice), ExplicitlyDenied, "with an explicit deny in a resource-based policy", []string{"bucket#0"}},

		// Across accounts both sides must allow.
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
		{"cross account: identity allows, no resource policy", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowAll)}}
		}, cross(alice), ImplicitlyDenied, aliceMsg + "because no resource-based policy allows the s3:GetObject action", nil},
		{"cross account: resource policy names the user, no identity policy", func(t *testing.T) Policies {
			return Policies{Resource: ptr(pol(t, "bucket", Resource, resAllow(alice)))}
		}, cross(alice), ImplicitlyDenied, noIdentity, nil},
		{"cross account: resource policy names the account, identity allows", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowGet)}, Resource: ptr(pol(t, "bucket", Resource, resAllow(acctA)))}
		}, cross(alice), Allowed, "", []string{"id#0", "bucket#0"}},
		{"cross account: resource policy names another account", func(t *testing.T) Policies {
			return Policies{Identity: []Labeled{pol(t, "id", Identity, allowGet)}, Resource: ptr(pol(t, "bucket", Resource, resAllow("arn:aws:iam::333333333333:root")))}
		}, cross(alice), ImplicitlyDenied, "because no resource-based policy allows the s3:GetObject action", []string{"bucket#0"}},

		// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html:
		// the root user needs no identity policy, but SCPs still apply.
		{"root user without policies", func(t *testing.T) Policies { return Policies{} },
			get("arn:aws:iam::111111111111:root"), Allowed, "", nil},
		{"root user and an SCP deny", func(t *testing.T) Policies {
			return Policies{SCPs: [][]Labeled{{pol(t, "scp", SCP, allowAll, denyGet)}}}
		}, get("arn:aws:iam::111111111111:root"), ExplicitlyDenied, "with an explicit deny in a service control policy", []string{"scp#1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.ps(t), tt.req)
			if d.Outcome != tt.want {
				t.Errorf("outcome %v, want %v (message %q, deciding %v)", d.Outcome, tt.want, d.Message, d.Deciding)
			}
			if tt.want == Allowed && d.Message != "" {
				t.Errorf("allowed with message %q", d.Message)
			}
			if !strings.HasSuffix(d.Message, tt.msg) {
				t.Errorf("message %q, want it to end with %q", d.Message, tt.msg)
			}
			var got []string
			for _, r := range d.Deciding {
				got = append(got, fmt.Sprintf("%s#%d", r.Policy, r.Index))
			}
			if !reflect.DeepEqual(got, tt.deciding) {
				t.Errorf("deciding %v, want %v\n%v", got, tt.deciding, d.Deciding)
			}
		})
	}
}

func TestEvaluateExplains(t *testing.T) {
	id := pol(t, "id", Identity, `{"Sid":"OnlyTLS","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`)
	d := Evaluate(Policies{Identity: []Labeled{id}}, Request{Principal: alice, Action: "s3:GetObject", Resource: object})
	if len(d.Deciding) != 1 {
		t.Fatalf("deciding %v", d.Deciding)
	}
	r := d.Deciding[0]
	if r.Sid != "OnlyTLS" || r.Effect != Allow || r.Matched || r.Kind != Identity {
		t.Errorf("deciding statement %+v", r)
	}
	for _, w := range []string{"Bool", "aws:SecureTransport", "missing"} {
		if !strings.Contains(r.Why, w) {
			t.Errorf("why %q does not mention %q", r.Why, w)
		}
	}
	if len(d.Trace) != 1 || d.Trace[0] != r {
		t.Errorf("trace %v", d.Trace)
	}
}
