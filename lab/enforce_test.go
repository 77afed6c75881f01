package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/internal/testpeer"
)

// enforceSeed is an account whose callers may do only what their
// policies say.
const enforceSeed = `
account_id: "000000000000"
users:
  - name: dev
    access_keys: [{access_key_id: AKIADEV0000000000001, secret_access_key: dev-secret}]
    policies:
      - Version: "2012-10-17"
        Statement:
          - {Sid: ReadSelf, Effect: Allow, Action: ["iam:GetUser", "iam:ListAccessKeys"], Resource: "arn:aws:iam::000000000000:user/${aws:username}"}
          - {Sid: Roles, Effect: Allow, Action: ["iam:GetRole", "iam:ListRoles", "sts:AssumeRole"], Resource: "*"}
  - name: bounded
    access_keys: [{access_key_id: AKIABOUNDED000000001, secret_access_key: bounded-secret}]
    policies:
      - Statement: {Effect: Allow, Action: "iam:*", Resource: "*"}
    permissions_boundary:
      Statement: {Effect: Allow, Action: "iam:Get*", Resource: "*"}
  - name: denied
    access_keys: [{access_key_id: AKIADENIED0000000001, secret_access_key: denied-secret}]
    policies:
      - Statement: {Effect: Allow, Action: "*", Resource: "*"}
roles:
  - name: Deploy
    path: /ci/
    trust_policy:
      Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: {AWS: "arn:aws:iam::000000000000:root"}}
    policies:
      - Statement: {Effect: Allow, Action: sts:GetCallerIdentity, Resource: "*"}
  - name: os-repo-prg-OpenSearchRepositoryRole
    trust_policy:
      Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: {Service: es.amazonaws.com}}
scps:
  - - Statement:
        - {Effect: Allow, Action: "*", Resource: "*"}
        - {Sid: NoKeysForDenied, Effect: Deny, Action: "iam:CreateAccessKey", Resource: "arn:aws:iam::000000000000:user/denied"}
`

func enforceLab(t *testing.T) (*Lab, string) {
	t.Helper()
	seed, err := ParseSeed("enforce.yaml", []byte(enforceSeed))
	if err != nil {
		t.Fatal(err)
	}
	return start(t, Options{Seed: seed})
}

var (
	dev     = aws.Credentials{AccessKeyID: "AKIADEV0000000000001", SecretAccessKey: "dev-secret"}
	bounded = aws.Credentials{AccessKeyID: "AKIABOUNDED000000001", SecretAccessKey: "bounded-secret"}
	denied  = aws.Credentials{AccessKeyID: "AKIADENIED0000000001", SecretAccessKey: "denied-secret"}
)

// Refusals read as AWS's, through aws-sdk-go-v2, for each kind of policy
// that refuses.
func TestEnforcedRefusalsReadLikeAWS(t *testing.T) {
	_, url := enforceLab(t)
	ctx := context.Background()
	noRetryIAM := func(o *iam.Options) { o.RetryMaxAttempts = 1 }

	if _, err := iamClient(url, dev).GetUser(ctx, &iam.GetUserInput{}, noRetryIAM); err != nil {
		t.Errorf("dev reads itself: %v", err)
	}
	for _, c := range []struct {
		name string
		call func() error
		want string
	}{
		{"no identity policy allows", func() error {
			_, err := iamClient(url, dev).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}, noRetryIAM)
			return err
		}, "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/dev because no identity-based policy allows the iam:CreateAccessKey action"},
		{"a policy variable limits dev to itself", func() error {
			_, err := iamClient(url, dev).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bounded")}, noRetryIAM)
			return err
		}, "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: iam:GetUser on resource: arn:aws:iam::000000000000:user/bounded because no identity-based policy allows the iam:GetUser action"},
		{"the permissions boundary does not allow", func() error {
			_, err := iamClient(url, bounded).ListAccessKeys(ctx, &iam.ListAccessKeysInput{}, noRetryIAM)
			return err
		}, "User: arn:aws:iam::000000000000:user/bounded is not authorized to perform: iam:ListAccessKeys on resource: arn:aws:iam::000000000000:user/bounded because no permissions boundary allows the iam:ListAccessKeys action"},
		{"an SCP denies explicitly", func() error {
			_, err := iamClient(url, denied).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}, noRetryIAM)
			return err
		}, "User: arn:aws:iam::000000000000:user/denied is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/denied with an explicit deny in a service control policy"},
	} {
		err := c.call()
		code, msg := apiError(t, err)
		if code != "AccessDenied" || msg != c.want {
			t.Errorf("%s:\n got %s %q\nwant AccessDenied %q", c.name, code, msg, c.want)
		}
	}
	if _, err := iamClient(url, bounded).GetUser(ctx, &iam.GetUserInput{}, noRetryIAM); err != nil {
		t.Errorf("inside the boundary: %v", err)
	}
}

// A role with a path is assumed only by its full ARN in its exact case;
// its sessions' ARNs have no path.
func TestRolePathAndCase(t *testing.T) {
	l, url := enforceLab(t)
	ctx := context.Background()
	full := l.RoleARN("Deploy")
	if full != "arn:aws:iam::000000000000:role/ci/Deploy" {
		t.Fatalf("RoleARN = %s", full)
	}
	for _, arn := range []string{"arn:aws:iam::000000000000:role/Deploy", "arn:aws:iam::000000000000:role/ci/deploy", "arn:aws:iam::000000000000:role/CI/Deploy"} {
		_, err := assume(ctx, url, dev, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("s1")})
		code, msg := apiError(t, err)
		if want := "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: sts:AssumeRole on resource: " + arn; code != "AccessDenied" || msg != want {
			t.Errorf("%s: %s %q, want AccessDenied %q", arn, code, msg, want)
		}
		// The lab's explanation says which role was meant.
		var re *awshttp.ResponseError
		errors.As(err, &re)
		x := explainRequest(t, url, re.ServiceRequestID())
		want := "the role exists as " + full + ": the paths differ"
		if strings.HasSuffix(arn, "/ci/deploy") {
			want = "the role exists as " + full + ": the names differ only in case"
		}
		if x.Decision != "ImplicitlyDenied" || !strings.Contains(x.Detail, want) {
			t.Errorf("%s: explanation %+v, want detail %q", arn, x, want)
		}
	}
	out, err := assume(ctx, url, dev, &sts.AssumeRoleInput{RoleArn: aws.String(full), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatalf("full ARN: %v", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::000000000000:assumed-role/Deploy/s1" {
		t.Errorf("assumed-role ARN %s keeps the path", got)
	}
	id, err := stsClient(url, sessionCreds((*ststypesCredentials)(out.Credentials))).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::000000000000:assumed-role/Deploy/s1" {
		t.Errorf("GetCallerIdentity of the session: %v %v", err, id)
	}
	// The role's own policies allow nothing of IAM.
	_, err = iamClient(url, sessionCreds((*ststypesCredentials)(out.Credentials))).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Deploy")}, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "User: arn:aws:sts::000000000000:assumed-role/Deploy/s1 is not authorized to perform: iam:GetRole on resource: arn:aws:iam::000000000000:role/ci/Deploy because no identity-based policy allows the iam:GetRole action" {
		t.Errorf("GetRole from the role session: %s %q", code, msg)
	}
}

// GetRole answers a role exactly by name, ListRoles pages and filters by
// path, as the SDK's paginator reads them.
func TestGetRoleAndListRoles(t *testing.T) {
	l, url := enforceLab(t)
	ctx := context.Background()
	c := iamClient(url, dev)
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Deploy")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Role.Arn) != l.RoleARN("Deploy") || aws.ToString(out.Role.Path) != "/ci/" || aws.ToInt32(out.Role.MaxSessionDuration) != 3600 || !strings.Contains(aws.ToString(out.Role.AssumeRolePolicyDocument), "sts%3AAssumeRole") {
		t.Errorf("GetRole: %+v", out.Role)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")}, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	if code, msg := apiError(t, err); code != "NoSuchEntity" || msg != "The role with name deploy cannot be found." {
		t.Errorf("GetRole in another case: %s %q", code, msg)
	}
	var names []string
	pages := 0
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{MaxItems: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if pages != 2 || strings.Join(names, ",") != "Deploy,os-repo-prg-OpenSearchRepositoryRole" {
		t.Errorf("ListRoles: %d pages %v", pages, names)
	}
	ci, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/ci/")})
	if err != nil || len(ci.Roles) != 1 || aws.ToString(ci.Roles[0].RoleName) != "Deploy" {
		t.Errorf("ListRoles /ci/: %v %+v", err, ci)
	}
	_, err = iamClient(url, bounded).ListRoles(ctx, &iam.ListRolesInput{}, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	if code, msg := apiError(t, err); code != "AccessDenied" || !strings.HasSuffix(msg, "on resource: arn:aws:iam::000000000000:role/ because no permissions boundary allows the iam:ListRoles action") {
		t.Errorf("ListRoles outside the boundary: %s %q", code, msg)
	}
}

// explainRequest asks the lab to explain the refusal with request id id.
func explainRequest(t *testing.T, url, id string) Explanation {
	t.Helper()
	resp, err := http.Post(url+"/_lab/explain", "text/plain", strings.NewReader(id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var x Explanation
	if err := json.NewDecoder(resp.Body).Decode(&x); err != nil || resp.StatusCode != 200 {
		t.Fatalf("explain %s: %d %v", id, resp.StatusCode, err)
	}
	return x
}

// POST /_lab/explain answers, for the request id a refusal carried, the
// engine's decision and the statements that made it.
func TestExplainEndpoint(t *testing.T) {
	_, url := enforceLab(t)
	ctx := context.Background()
	_, err := iamClient(url, denied).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ServiceRequestID() == "" {
		t.Fatalf("no request id in %v", err)
	}
	x := explainRequest(t, url, re.ServiceRequestID())
	if x.Decision != "ExplicitlyDenied" || x.Action != "iam:CreateAccessKey" || x.Principal != "arn:aws:iam::000000000000:user/denied" ||
		len(x.Deciding) != 1 || x.Deciding[0].Policy != "scps[0][0]" || x.Deciding[0].Sid != "NoKeysForDenied" || x.Deciding[0].Index != 1 || len(x.Trace) < 3 {
		t.Errorf("explanation: %+v", x)
	}
	if !strings.HasSuffix(x.Message, "with an explicit deny in a service control policy") {
		t.Errorf("message %q", x.Message)
	}
	b, _ := json.Marshal(map[string]string{"request_id": "not-a-refusal"})
	resp2, err := http.Post(url+"/_lab/explain", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("unknown id: %d", resp2.StatusCode)
	}
}

// The AWS CLI v2 shows the lab's refusal sentence as AWS's.
func TestAWSCLIv2SeesEnforcement(t *testing.T) {
	cli := testpeer.AWSCLIv2(t)
	_, url := enforceLab(t)
	env := append(testpeer.IsolatedAWSEnv(), "AWS_ACCESS_KEY_ID="+dev.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+dev.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1", "HOME="+t.TempDir())
	out, err := runPeer(t, env, cli, "iam", "create-access-key", "--endpoint-url", url)
	want := "An error occurred (AccessDenied) when calling the CreateAccessKey operation: User: arn:aws:iam::000000000000:user/dev is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::000000000000:user/dev because no identity-based policy allows the iam:CreateAccessKey action"
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("create-access-key: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "sts", "assume-role", "--endpoint-url", url, "--role-arn", "arn:aws:iam::000000000000:role/ci/DEPLOY", "--role-session-name", "cli")
	if err == nil || !strings.Contains(out, "User: arn:aws:iam::000000000000:user/dev is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/ci/DEPLOY") {
		t.Errorf("assume-role in another case: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "iam", "get-role", "--endpoint-url", url, "--role-name", "Deploy", "--output", "json")
	if err != nil || !strings.Contains(out, `"Arn": "arn:aws:iam::000000000000:role/ci/Deploy"`) || !strings.Contains(out, `"Path": "/ci/"`) {
		t.Errorf("get-role: %v\n%s", err, out)
	}
}

// Seed errors in the new fields name their path.
func TestPolicySeedErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"users:\n- name: a\n  policies:\n  - Statement: {Effect: Allow, Action: 's3:*', Resource: '*', Principal: '*'}\n", `s.yaml:4: $.users[0].policies[0].Statement: an identity-based policy must not have Principal`},
		{"roles:\n- name: r\n  path: ci\n  trust_policy: {Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: '*'}}\n", `s.yaml:3: $.roles[0].path: "ci" is not an IAM path`},
		{"roles:\n- name: r\n  trust_policy: {Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: '*'}}\n- name: R\n  trust_policy: {Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: '*'}}\n", `s.yaml:4: $.roles[1].name: role "R" is defined twice (IAM role names are unique ignoring case)`},
		{"scps:\n- - Statement: {Effect: Allow, Action: 'sts:*', Resource: 'arn:aws:iam'}\n", `s.yaml:2: $.scps[0][0].Statement.Resource`},
		{"users:\n- name: a\n  permissions_boundary: {Statement: {Effect: Allow, Action: 's3:*', Resource: '*', Condition: {StringEqualz: {a: b}}}}\n", `s.yaml:3: $.users[0].permissions_boundary.Statement.Condition.StringEqualz: `},
	} {
		_, err := ParseSeed("s.yaml", []byte(c.doc))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s...", c.doc, err, c.want)
		}
	}
}

// SimulatePrincipalPolicy answers with the engine's decisions, read by
// aws-sdk-go-v2, and is itself enforced.
func TestSimulatePrincipalPolicy(t *testing.T) {
	l, url := enforceLab(t)
	ctx := context.Background()
	admin := iamClient(url, denied) // allowed "*" by its policy
	out, err := admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::000000000000:user/dev"),
		ActionNames:     []string{"iam:GetUser", "iam:CreateAccessKey"},
		ResourceArns:    []string{"arn:aws:iam::000000000000:user/dev"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.EvaluationResults {
		s := aws.ToString(r.EvalActionName) + "=" + string(r.EvalDecision)
		for _, m := range r.MatchedStatements {
			s += " " + aws.ToString(m.SourcePolicyId)
		}
		got = append(got, s)
	}
	if want := "iam:GetUser=allowed user/dev policies[0],iam:CreateAccessKey=implicitDeny"; strings.Join(got, ",") != want {
		t.Errorf("dev: %v, want %s", got, want)
	}
	out, err = admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::000000000000:user/denied"),
		ActionNames:     []string{"iam:CreateAccessKey"},
		ResourceArns:    []string{"arn:aws:iam::000000000000:user/denied"},
	})
	if err != nil || len(out.EvaluationResults) != 1 || out.EvaluationResults[0].EvalDecision != "explicitDeny" || aws.ToString(out.EvaluationResults[0].MatchedStatements[0].SourcePolicyId) != "scps[0][0]" {
		t.Errorf("denied: %v %+v", err, out)
	}
	out, err = admin.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(l.RoleARN("Deploy")), ActionNames: []string{"sts:GetCallerIdentity", "iam:GetRole"}})
	if err != nil || len(out.EvaluationResults) != 2 || out.EvaluationResults[0].EvalDecision != "allowed" || out.EvaluationResults[1].EvalDecision != "implicitDeny" {
		t.Errorf("role: %v %+v", err, out)
	}
	_, err = iamClient(url, dev).SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::000000000000:user/dev"), ActionNames: []string{"s3:GetObject"}}, func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	if code, msg := apiError(t, err); code != "AccessDenied" || !strings.HasSuffix(msg, "because no identity-based policy allows the iam:SimulatePrincipalPolicy action") {
		t.Errorf("dev may not simulate: %s %q", code, msg)
	}
}

// A session policy passed to AssumeRole narrows what the session may do,
// and a malformed one is refused.
func TestSessionPolicy(t *testing.T) {
	l, url := start(t, Options{})
	ctx := context.Background()
	user := userCreds(l.Users()[0])
	out, err := assume(ctx, url, user, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(DefaultRole)), RoleSessionName: aws.String("narrow"),
		Policy: aws.String(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := iamClient(url, sessionCreds((*ststypesCredentials)(out.Credentials)))
	noRetryIAM := func(o *iam.Options) { o.RetryMaxAttempts = 1 }
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(DefaultUser)}, noRetryIAM); err != nil {
		t.Errorf("allowed by role and session policy: %v", err)
	}
	_, err = c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(DefaultUser)}, noRetryIAM)
	want := "User: arn:aws:sts::000000000000:assumed-role/lab-role/narrow is not authorized to perform: iam:ListAccessKeys on resource: arn:aws:iam::000000000000:user/lab-user because no session policy allows the iam:ListAccessKeys action"
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != want {
		t.Errorf("outside the session policy: %s %q", code, msg)
	}
	_, err = assume(ctx, url, user, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(DefaultRole)), RoleSessionName: aws.String("bad"), Policy: aws.String(`{"Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*", "Principal": "*"}]}`)})
	if code, msg := apiError(t, err); code != "MalformedPolicyDocument" || !strings.Contains(msg, "$.Statement[0]") {
		t.Errorf("malformed session policy: %s %q", code, msg)
	}
}
