package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseCase(t *testing.T) {
	line := `{"id":"c1","principal":"arn:aws:sts::111111111111:assumed-role/dev/s","action":"s3:GetObject",
		"resource":"arn:aws:s3:::bucket/key","resourceAccount":"111111111111",
		"context":{"aws:SourceIp":"10.0.0.5","aws:TagKeys":["env","team"],"aws:Empty":[]},
		"identityPolicies":[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}],
		"resourcePolicy":null,"scps":[[{"Statement":[]}, {"Statement":[]}],[{"Statement":[]}]],"rcps":[]}`
	c, err := ParseCase([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "c1" || c.Principal != "arn:aws:sts::111111111111:assumed-role/dev/s" || c.Action != "s3:GetObject" ||
		c.Resource != "arn:aws:s3:::bucket/key" || c.ResourceAccount != "111111111111" {
		t.Errorf("fields: %+v", c)
	}
	wantCtx := map[string][]string{"aws:SourceIp": {"10.0.0.5"}, "aws:TagKeys": {"env", "team"}, "aws:Empty": {}}
	if !reflect.DeepEqual(c.Context, wantCtx) {
		t.Errorf("context = %#v, want %#v", c.Context, wantCtx)
	}
	if len(c.IdentityPolicies) != 1 || c.ResourcePolicy != nil || c.PermissionsBoundary != nil {
		t.Errorf("policies: %+v", c)
	}
	if len(c.SCPs) != 2 || len(c.SCPs[0]) != 2 || len(c.SCPs[1]) != 1 || c.RCPs != nil {
		t.Errorf("scps %d rcps %v", len(c.SCPs), c.RCPs)
	}
	// Through encoding/json too, and back.
	var c2 Case
	if err := json.Unmarshal([]byte(line), &c2); err != nil || !reflect.DeepEqual(c, c2) {
		t.Errorf("json.Unmarshal = %+v, %v", c2, err)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c3, err := ParseCase(out)
	if err != nil || !reflect.DeepEqual(c.Context, c3.Context) || len(c3.SCPs) != 2 {
		t.Errorf("round trip %s: %+v %v", out, c3, err)
	}
}

func TestParseCaseErrors(t *testing.T) {
	base := `"principal":"arn:aws:iam::111111111111:user/a","action":"s3:GetObject","resource":"*"`
	tests := []struct{ line, want string }{
		{`not json`, "$: not valid JSON"},
		{`[1]`, "$: a case must be a JSON object, not a list"},
		{`null`, "$: a case must be a JSON object, not null"},
		{`{"action":"s3:GetObject","resource":"*"}`, `$: missing "principal"`},
		{`{` + base + `,"id":7}`, "$.id: must be a string, not a number"},
		{`{` + base + `,"Context":{}}`, `$.Context: unknown field "Context"`},
		{`{` + base + `,"context":{"aws:TagKeys":["a",1]}}`, "$.context.aws:TagKeys[1]: must be a string, not a number"},
		{`{` + base + `,"context":{"k":{}}}`, "$.context.k: must be a string or a list of strings, not an object"},
		{`{` + base + `,"context":[]}`, "$.context: must be an object of condition keys, not a list"},
		{`{` + base + `,"identityPolicies":{}}`, "$.identityPolicies: must be a list, not an object"},
		{`{` + base + `,"identityPolicies":["x"]}`, "$.identityPolicies[0]: a policy must be a JSON object, not a string"},
		{`{` + base + `,"scps":[{}]}`, "$.scps[0]: must be a list, not an object"},
		{`{` + base + `,"rcps":[[1]]}`, "$.rcps[0][0]: a policy must be a JSON object, not a number"},
		{`{` + base + `} {}`, "$: not valid JSON: data after the case"},
	}
	for _, tt := range tests {
		_, err := ParseCase([]byte(tt.line))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCase(%s) = %v, want %q", tt.line, err, tt.want)
		}
	}
}

func TestCaseEvaluate(t *testing.T) {
	allow := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoS3","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
	mk := func(extra string) Case {
		c, err := ParseCase([]byte(`{"id":"x","principal":"arn:aws:iam::111111111111:user/a","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"` + extra + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := mk(`,"identityPolicies":[` + allow + `]`).Evaluate()
	want := Answer{ID: "x", Decision: "Allowed", Statements: []AnswerStatement{{Policy: "identity[0]", Index: 0, Sid: "A", Effect: "Allow", Why: "Action, Resource and Principal match"}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("allowed: %+v", a)
	}
	a = mk(`,"identityPolicies":[` + allow + `],"scps":[[` + allow + `],[` + deny + `]]`).Evaluate()
	if a.Decision != "ExplicitlyDenied" || len(a.Statements) != 1 || a.Statements[0].Policy != "scp[1][0]" || a.Statements[0].Index != 1 ||
		!strings.HasSuffix(a.Message, "with an explicit deny in a service control policy") {
		t.Errorf("scp deny: %+v", a)
	}
	rcpDeny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoS3","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`
	a = mk(`,"identityPolicies":[` + allow + `],"rcps":[[` + rcpDeny + `]]`).Evaluate()
	if a.Decision != "ExplicitlyDenied" || a.Statements[0].Policy != "rcp[0][0]" {
		t.Errorf("rcp deny: %+v", a)
	}
	a = mk(`,"identityPolicies":[` + allow + `],"permissionsBoundary":` + strings.Replace(allow, "s3:*", "ec2:*", 1)).Evaluate()
	if a.Decision != "ImplicitlyDenied" || a.Statements[0].Policy != "boundary" || !strings.HasSuffix(a.Message, "because no permissions boundary allows the s3:GetObject action") {
		t.Errorf("boundary: %+v", a)
	}
	a = mk(`,"identityPolicies":[` + allow + `],"sessionPolicy":` + deny).Evaluate()
	if a.Decision != "ExplicitlyDenied" || a.Statements[0].Policy != "session" {
		t.Errorf("session: %+v", a)
	}
	// A bad policy: the label and the JSON path in the case.
	a = mk(`,"identityPolicies":[` + allow + `,{"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}]`).Evaluate()
	if a.Decision != "" || a.Error != `identity[1]: $.identityPolicies[1].Statement[0].Effect: must be "Allow" or "Deny", not "Maybe"` {
		t.Errorf("bad policy: %+v", a)
	}
	a = mk(`,"resourcePolicy":{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`).Evaluate()
	if !strings.HasPrefix(a.Error, "resource: $.resourcePolicy.Statement[0]: ") || strings.Contains(a.Error, "\n") {
		t.Errorf("resource policy without Principal: %+v", a)
	}
	a = mk(`,"scps":[[` + allow + `,{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}]]`).Evaluate()
	if !strings.HasPrefix(a.Error, "scp[0][1]: $.scps[0][1].Statement: a service control policy must not have Principal") {
		t.Errorf("SCP with Principal: %+v", a)
	}
	// The answer's JSON is the documented one.
	out, _ := json.Marshal(Answer{ID: "x", Decision: "Allowed", Statements: []AnswerStatement{{Policy: "resource", Effect: "Allow", Why: "w"}}})
	if string(out) != `{"id":"x","decision":"Allowed","statements":[{"policy":"resource","index":0,"effect":"Allow","why":"w"}]}` {
		t.Errorf("answer JSON %s", out)
	}
}
