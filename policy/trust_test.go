package policy

import (
	"strings"
	"testing"
)

// TestTrust covers what the trust policy adds to Evaluate: the messages
// STS gives, and the callers without an IAM identity.
func TestTrust(t *testing.T) {
	const role = "arn:aws:iam::111111111111:role/app/Deploy"
	assume := func(principal, action string, ctx map[string][]string) Request {
		return Request{Principal: principal, Action: action, Resource: role, Context: ctx}
	}
	trust := func(stmts ...string) *Labeled { l := pol(t, "trust", Trust, stmts...); return &l }
	idAllow := pol(t, "id", Identity, `{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}`)
	const (
		es      = `{"Sid":"Es","Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole"}`
		gh      = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
		ghTrust = `{"Effect":"Allow","Principal":{"Federated":"` + gh + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:o/r:*"}}}`
		noBob   = `{"Sid":"NoBob","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/bob"},"Action":"sts:*"}`
		acct    = `{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}`
	)
	plain := func(p string) string {
		return "User: " + p + " is not authorized to perform: sts:AssumeRole on resource: " + role
	}
	for _, tc := range []struct {
		name    string
		ps      Policies
		req     Request
		outcome Outcome
		by      Kind
		message string
	}{
		{"service named", Policies{Trust: trust(es)}, assume("es.amazonaws.com", "sts:AssumeRole", nil), Allowed, 0, ""},
		{"service not named", Policies{Trust: trust(es)}, assume("ec2.amazonaws.com", "sts:AssumeRole", nil), ImplicitlyDenied, Trust, plain("ec2.amazonaws.com")},
		// An identity policy allowing sts:AssumeRole does not stand in
		// for the trust policy, in the role's account too.
		{"identity allow is not enough", Policies{Identity: []Labeled{idAllow}, Trust: trust(es)}, assume(alice, "sts:AssumeRole", nil), ImplicitlyDenied, Trust, plain(alice)},
		{"explicit deny in trust", Policies{Identity: []Labeled{idAllow}, Trust: trust(acct, noBob)}, assume("arn:aws:iam::111111111111:user/bob", "sts:AssumeRole", nil), ExplicitlyDenied, Trust, plain("arn:aws:iam::111111111111:user/bob")},
		// The trust policy allows, the identity side refuses: AWS names
		// the identity-based policy.
		{"account named, no identity policy", Policies{Trust: trust(acct)}, assume(alice, "sts:AssumeRole", nil), ImplicitlyDenied, Identity, plain(alice) + " because no identity-based policy allows the sts:AssumeRole action"},
		{"account named, identity allows", Policies{Identity: []Labeled{idAllow}, Trust: trust(acct)}, assume(alice, "sts:AssumeRole", nil), Allowed, 0, ""},
		{"web identity", Policies{Trust: trust(ghTrust)}, assume(gh, "sts:AssumeRoleWithWebIdentity", map[string][]string{"token.actions.githubusercontent.com:sub": {"repo:o/r:ref:refs/heads/main"}}), Allowed, 0, ""},
		{"web identity, other repository", Policies{Trust: trust(ghTrust)}, assume(gh, "sts:AssumeRoleWithWebIdentity", map[string][]string{"token.actions.githubusercontent.com:sub": {"repo:x/r:ref:refs/heads/main"}}), ImplicitlyDenied, Trust, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"web identity, other provider", Policies{Trust: trust(ghTrust)}, assume("accounts.google.com", "sts:AssumeRoleWithWebIdentity", nil), ImplicitlyDenied, Trust, "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		// An SCP that does not allow is named before the trust policy.
		{"SCP first", Policies{Identity: []Labeled{idAllow}, Trust: trust(es), SCPs: [][]Labeled{{pol(t, "scp", SCP, allowPut)}}}, assume(alice, "sts:AssumeRole", nil), ImplicitlyDenied, SCP, plain(alice) + " because no service control policy allows the sts:AssumeRole action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Evaluate(tc.ps, tc.req)
			if d.Outcome != tc.outcome || d.Message != tc.message {
				t.Fatalf("%s %q, want %s %q\n%v", d.Outcome, d.Message, tc.outcome, tc.message, d.Trace)
			}
			if d.Outcome != Allowed && d.DeniedBy != tc.by {
				t.Errorf("denied by %s, want %s", d.DeniedBy, tc.by)
			}
			if d.Outcome != Allowed && tc.by == Trust {
				for _, r := range d.Deciding {
					if r.Kind != Trust {
						t.Errorf("deciding statement %v is not the trust policy's", r)
					}
				}
				if len(d.Deciding) == 0 {
					t.Error("no deciding statements")
				}
			}
		})
	}
}

// TestParseUniqueIDs: IAM shows a deleted principal by its unique id, and
// such a policy still parses; other strings that are not ARNs do not.
func TestParseUniqueIDs(t *testing.T) {
	for _, id := range []string{"AROAEXAMPLEDELETED001", "AIDAJQABLZS4A3QDU576Q"} {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + id + `"},"Action":"sts:AssumeRole"}]}`
		if _, err := Parse([]byte(doc), Trust); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, bad := range []string{"AKIAEXAMPLEKEY00001", "AROA", "aroaexampledeleted001", "AROA-EXAMPLE-DELETED"} {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + bad + `"},"Action":"sts:AssumeRole"}]}`
		_, err := Parse([]byte(doc), Trust)
		if err == nil || !strings.Contains(err.Error(), "$.Statement[0].Principal.AWS") || !strings.Contains(err.Error(), "unique id") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
