package roles

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/policy"
)

const esTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestDecodeForms(t *testing.T) {
	own, _ := json.Marshal(&Role{ARN: "arn:aws:iam::123456789012:role/a/b/r", TrustPolicy: json.RawMessage(esTrust), AttachedPolicies: []string{"arn:aws:iam::aws:policy/Z", "arn:aws:iam::aws:policy/A"}})
	for _, tc := range []struct {
		name, doc             string
		arn, path, roleName   string
		attached              int
		unknownPolicies, errs string
	}{
		{name: "credkit's own form", doc: string(own), arn: "arn:aws:iam::123456789012:role/a/b/r", path: "/a/b/", roleName: "r", attached: 2},
		{name: "aws iam get-role", doc: `{"Role": {"Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLE000000001", "Arn": "arn:aws:iam::123456789012:role/r", "CreateDate": "2026-01-10T08:00:00+00:00", "AssumeRolePolicyDocument": ` + esTrust + `, "MaxSessionDuration": 3600}}`,
			arn: "arn:aws:iam::123456789012:role/r", path: "/", roleName: "r", unknownPolicies: "get-role output does not list them"},
		{name: "RoleDetailList element, trust URL-encoded", doc: `{"Path": "/x/", "RoleName": "r", "Arn": "arn:aws:iam::123456789012:role/x/r", "AssumeRolePolicyDocument": "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22es.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%7D", "AttachedManagedPolicies": [{"PolicyName": "p", "PolicyArn": "arn:aws:iam::aws:policy/p"}], "RolePolicyList": []}`,
			arn: "arn:aws:iam::123456789012:role/x/r", path: "/x/", roleName: "r", attached: 1},
		{name: "not an object", doc: `[1]`, errs: "not a JSON object"},
		{name: "no known form", doc: `{"name": "r"}`, errs: `$: neither a credkit role`},
		{name: "credkit form with an unknown field", doc: `{"arn": "arn:aws:iam::123456789012:role/r", "trust_policy": {}, "frob": 1}`, errs: `$: json: unknown field "frob"`},
		{name: "not a role ARN", doc: `{"arn": "arn:aws:iam::123456789012:user/r", "trust_policy": {}}`, errs: `is not a role ARN`},
		{name: "no trust policy", doc: `{"Role": {"RoleName": "r", "Arn": "arn:aws:iam::123456789012:role/r"}}`, errs: "has no trust policy"},
		{name: "bad date", doc: `{"Role": {"RoleName": "r", "Arn": "arn:aws:iam::123456789012:role/r", "CreateDate": "yesterday", "AssumeRolePolicyDocument": {}}}`, errs: `$.Role.CreateDate: "yesterday" is not an RFC 3339 time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode([]byte(tc.doc))
			if tc.errs != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errs) {
					t.Fatalf("error %v, want %q", err, tc.errs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ARN != tc.arn || r.Path != tc.path || r.Name != tc.roleName || len(r.AttachedPolicies) != tc.attached {
				t.Errorf("%+v", r)
			}
			if _, err := policy.Parse(r.TrustPolicy, policy.Trust); err != nil {
				t.Errorf("trust policy %s: %v", r.TrustPolicy, err)
			}
			if got := strings.Join(r.Unknown, ";"); !strings.Contains(got, tc.unknownPolicies) || (tc.unknownPolicies == "") != (got == "") {
				t.Errorf("unknown %q, want %q", got, tc.unknownPolicies)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"deploy": {Name: "deploy"},
		"arn:aws:iam::123456789012:role/service/deploy":    {Account: "123456789012", Path: "/service/", Name: "deploy"},
		"arn:aws:iam::123456789012:role/deploy":            {Account: "123456789012", Path: "/", Name: "deploy"},
		"service/deploy":                                   {Path: "/service/", Name: "deploy"},
		"arn:aws-cn:iam::123456789012:role/a/b/OpenSearch": {Account: "123456789012", Path: "/a/b/", Name: "OpenSearch"},
	} {
		got, err := ParseRef(in)
		if err != nil || got != want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:role/", "a b", "service/"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) took it", bad)
		}
	}
}

func role(name, trust string) *Role {
	return &Role{ARN: "arn:aws:iam::123456789012:role/" + name, Name: name, Path: "/", TrustPolicy: json.RawMessage(trust),
		CreateDate: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), MaxSessionDuration: 3600,
		AttachedPolicies: []string{}, InlinePolicies: map[string]json.RawMessage{}}
}

func TestDiff(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fields := func(ds []Difference) map[string]bool {
		m := map[string]bool{}
		for _, d := range ds {
			m[d.Field] = d.ChangesWhoMayAssume
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		change func(b *Role)
		want   map[string]bool
	}{
		{"the same trust written otherwise", func(b *Role) {
			b.TrustPolicy = json.RawMessage(`{"Statement":[{"Sid":"x","Action":["sts:AssumeRole"],"Principal":{"Service":["es.amazonaws.com"]},"Effect":"Allow"}],"Version":"2012-10-17"}`)
		}, map[string]bool{}},
		{"a role created seconds ago", func(b *Role) { b.CreateDate = now.Add(-20 * time.Second) }, map[string]bool{"created": true}},
		{"a role created a day ago", func(b *Role) { b.CreateDate = now.Add(-24 * time.Hour) }, map[string]bool{"created": false}},
		{"a tag the trust policy tests", func(b *Role) {
			b.TrustPolicy = json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}}`)
			b.Tags = map[string]string{"env": "prod"}
		}, map[string]bool{"trust policy statement": true, "tag env": true}},
		{"a tag nothing tests", func(b *Role) { b.Tags = map[string]string{"cost": "42"} }, map[string]bool{"tag cost": false}},
		{"inline and attached policies", func(b *Role) {
			b.InlinePolicies["p"] = json.RawMessage(`{"Statement":[]}`)
			b.AttachedPolicies = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
		}, map[string]bool{"inline policy p": false, "attached policy": false}},
		{"policies unknown on one side are not compared", func(b *Role) {
			b.AttachedPolicies, b.InlinePolicies = nil, nil
			b.Unknown = []string{"attached and inline policies"}
		}, map[string]bool{}},
		{"boundary and session length", func(b *Role) {
			b.PermissionsBoundary = "arn:aws:iam::123456789012:policy/b"
			b.MaxSessionDuration = 43200
		}, map[string]bool{"permissions boundary": false, "max session duration": true}},
		{"recreated: same name, new id", func(b *Role) { b.RoleID = "AROAEXAMPLE000000002" }, map[string]bool{"unique id": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := role("r", esTrust), role("r", esTrust)
			a.RoleID, b.RoleID = "AROAEXAMPLE000000001", "AROAEXAMPLE000000001"
			tc.change(b)
			ds, err := Diff(a, b, DiffOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got := fields(ds)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v\n%+v", got, tc.want, ds)
			}
			for f, assume := range tc.want {
				if g, ok := got[f]; !ok || g != assume {
					t.Errorf("%q: got %v (present %v), want %v", f, g, ok, assume)
				}
			}
		})
	}
	// The field report: names differing in case.
	ds, _ := Diff(role("os-repo-prg-OpenSearchRepositoryRole", esTrust), role("os-repo-prg-OPENSEARCHRepositoryRole", esTrust), DiffOptions{})
	if len(ds) != 1 || ds[0].Field != "name" || !ds[0].ChangesWhoMayAssume || !strings.Contains(ds[0].Why, "differ only in case") {
		t.Errorf("%+v", ds)
	}
}

func TestTrustCheck(t *testing.T) {
	trust := `{"Version":"2012-10-17","Statement":[
	 {"Sid":"Svc","Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole"},
	 {"Sid":"Acct","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},
	 {"Sid":"Ci","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":"sts:AssumeRole"},
	 {"Sid":"Dev","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":"sts:AssumeRole"},
	 {"Sid":"Saml","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}},
	 {"Sid":"Gone","Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEDELETED001"},"Action":"sts:AssumeRole"},
	 {"Sid":"NoBob","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:*"}]}`
	r := role("target", trust)
	for _, tc := range []struct {
		principal string
		ctx       map[string][]string
		outcome   policy.Outcome
		kind      PrincipalKind
		action    string
		note      string
	}{
		{"es.amazonaws.com", nil, policy.Allowed, KindService, "sts:AssumeRole", ""},
		{"ec2.amazonaws.com", nil, policy.ImplicitlyDenied, KindService, "sts:AssumeRole", ""},
		{"arn:aws:iam::123456789012:user/dev", nil, policy.Allowed, KindAWS, "sts:AssumeRole", ""},
		{"arn:aws:iam::123456789012:user/other", nil, policy.Allowed, KindAWS, "sts:AssumeRole", "names the account"},
		// A trust policy naming the role behind a session grants on its own.
		{"arn:aws:sts::123456789012:assumed-role/ci/run", nil, policy.Allowed, KindAWS, "sts:AssumeRole", ""},
		{"arn:aws:iam::999999999999:user/x", nil, policy.ImplicitlyDenied, KindAWS, "sts:AssumeRole", ""},
		{"arn:aws:iam::123456789012:user/bob", nil, policy.ExplicitlyDenied, KindAWS, "sts:AssumeRole", ""},
		{"arn:aws:iam::123456789012:saml-provider/corp", map[string][]string{"SAML:aud": {"https://signin.aws.amazon.com/saml"}}, policy.Allowed, KindFederated, "sts:AssumeRoleWithSAML", ""},
		{"arn:aws:iam::123456789012:saml-provider/corp", nil, policy.ImplicitlyDenied, KindFederated, "sts:AssumeRoleWithSAML", ""},
		{"accounts.google.com", nil, policy.ImplicitlyDenied, KindFederated, "sts:AssumeRoleWithWebIdentity", ""},
	} {
		res, err := TrustCheck(r, TrustRequest{Principal: tc.principal, Context: tc.ctx})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != tc.outcome || res.Kind != tc.kind || res.Action != tc.action || strings.Contains(strings.Join(res.Notes, ";"), tc.note) == false || (tc.note == "") != (len(res.Notes) == 0) {
			t.Errorf("%s: %s %s %s notes %q; want %s %s %s %q", tc.principal, res.Outcome, res.Kind, res.Action, res.Notes, tc.outcome, tc.kind, tc.action, tc.note)
		}
		// STS's refusals name no policy; web identity and SAML ones name
		// neither the caller nor the role.
		want := "User: " + tc.principal + " is not authorized to perform: " + tc.action + " on resource: " + r.ARN
		if tc.kind == KindFederated {
			want = "Not authorized to perform " + tc.action
		}
		if res.Outcome != policy.Allowed && res.Message != want {
			t.Errorf("%s: message %q, want %q", tc.principal, res.Message, want)
		}
	}
	// The unique id of a principal that exists maps back to its ARN.
	res, err := TrustCheck(r, TrustRequest{Principal: "arn:aws:iam::123456789012:user/new", IDs: map[string]string{"AROAEXAMPLEDELETED001": "arn:aws:iam::123456789012:user/new"}})
	if err != nil || res.Outcome != policy.Allowed || len(res.Notes) != 0 || res.Deciding[len(res.Deciding)-1].Sid != "Gone" {
		t.Errorf("%+v %v", res, err)
	}
}
