package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// fieldReport is the refusal OpenSearch reported when registering a
// snapshot repository, with the customer's account replaced by ACCOUNT.
const fieldReport = "User: arn:aws:sts::832035452523:assumed-role/cp-sts-grant-role/swift-ap-northeast-2-prod-ACCOUNT is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::ACCOUNT:role/os-repo-prg-OPENSEARCHRepositoryRole"

// checkFieldReport runs credkit explain --online on the field report
// against an IAM endpoint holding os-repo-prg-OpenSearchRepositoryRole.
func checkFieldReport(t *testing.T, env map[string]string, account string) {
	t.Helper()
	msg := strings.ReplaceAll(fieldReport, "ACCOUNT", account)
	r := runAt(t, time.Now, env, "", "explain", "--online", msg)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"an identity of Amazon OpenSearch Service in an AWS-owned account (832035452523), acting for you, not an intruder",
		"the role exists as arn:aws:iam::" + account + ":role/os-repo-prg-OpenSearchRepositoryRole; the request named arn:aws:iam::" + account + ":role/os-repo-prg-OPENSEARCHRepositoryRole: the names differ only in case",
		"the trust policy of arn:aws:iam::" + account + ":role/os-repo-prg-OpenSearchRepositoryRole allows es.amazonaws.com to call sts:AssumeRole",
		"1. role name: a role whose ARN is exactly arn:aws:iam::" + account + ":role/os-repo-prg-OPENSEARCHRepositoryRole",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the output does not say %q:\n%s", want, r.stdout)
		}
	}
	r = runAt(t, time.Now, env, msg, "explain", "--online", "--json", "-")
	var out struct {
		Denial struct {
			Caller struct {
				Kind             string
				ServicePrincipal string `json:"service_principal"`
			}
		}
		Online struct {
			Role  struct{ ARN, Mismatch, Path string }
			Trust struct{ Verdict string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("--json: exit %d %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if out.Denial.Caller.Kind != "aws-service" || out.Denial.Caller.ServicePrincipal != "es.amazonaws.com" ||
		out.Online.Role.ARN != "arn:aws:iam::"+account+":role/os-repo-prg-OpenSearchRepositoryRole" || out.Online.Role.Mismatch != "the names differ only in case" ||
		out.Online.Role.Path != "/" || out.Online.Trust.Verdict != "allows" {
		t.Errorf("--json: %+v\n%s", out, r.stdout)
	}
}

// serveLab runs a lab of the seed until the test ends and returns its
// URL.
func serveLab(t *testing.T, seed *lab.Seed) string {
	t.Helper()
	l, err := lab.New(lab.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	t.Cleanup(s.Close)
	return s.URL
}

// The field report against moto's IAM: moto holds the role under its
// exact name, as IAM does.
func TestExplainFieldReportMoto(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "investigator")
	admin := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
		Credentials: awssdk.ToSDK(creds.Static{Creds: creds.Credentials{AccessKeyID: m.AdminAccessKeyID, SecretAccessKey: m.AdminSecretAccessKey}})})
	out, err := admin.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("os-repo-prg-OpenSearchRepositoryRole"), AssumeRolePolicyDocument: aws.String(esTrust)})
	if err != nil {
		t.Fatal(err)
	}
	account := strings.Split(aws.ToString(out.Role.Arn), ":")[4]
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": m.Endpoint}
	checkFieldReport(t, env, account)
}

// The field report against the lab, which enforces what the
// investigating user may read.
func TestExplainFieldReportLab(t *testing.T) {
	seed, err := lab.ParseSeed("field.yaml", []byte(`
account_id: "111122223333"
users:
  - name: investigator
    access_keys: [{access_key_id: AKIAINVESTIGATOR0001, secret_access_key: investigator-secret}]
    policies:
      - Statement: {Effect: Allow, Action: ["iam:GetRole", "iam:ListRoles"], Resource: "*"}
roles:
  - name: os-repo-prg-OpenSearchRepositoryRole
    trust_policy: '`+esTrust+`'
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAINVESTIGATOR0001", "AWS_SECRET_ACCESS_KEY": "investigator-secret", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": serveLab(t, seed)}
	checkFieldReport(t, env, "111122223333")

	// A caller the lab refuses ListRoles to gets a line, not a failure.
	seed.Users[0].Policies = nil
	env["AWS_ENDPOINT_URL"] = serveLab(t, seed)
	r := runAt(t, time.Now, env, "", "explain", "--online", strings.ReplaceAll(fieldReport, "ACCOUNT", "111122223333"))
	want := "iam:ListRoles: refused: AccessDenied: User: arn:aws:iam::111122223333:user/investigator is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::111122223333:role/ because no identity-based policy allows the iam:ListRoles action"
	if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "iam:GetRole: refused: AccessDenied") {
		t.Errorf("exit %d, want a line %q:\n%s\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// A user's refusal read online: the lab's role exists with its
// path, the trust names the account and requires keys this caller did
// not send, and iam:SimulatePrincipalPolicy, refused, is a line.
func TestExplainPathedRoleLab(t *testing.T) {
	seed, err := lab.ParseSeed("session.yaml", []byte(`
users:
  - name: dev
    access_keys: [{access_key_id: AKIADEV0000000000001, secret_access_key: dev-secret}]
    policies:
      - Statement: {Effect: Allow, Action: ["iam:GetRole", "iam:ListRoles"], Resource: "*"}
roles:
  - name: deploy
    path: /ci/
    trust_policy:
      Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: {AWS: "arn:aws:iam::000000000000:root"}, Condition: {StringEquals: {"sts:ExternalId": "x"}, Bool: {"aws:MultiFactorAuthPresent": "true"}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIADEV0000000000001", "AWS_SECRET_ACCESS_KEY": "dev-secret", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": serveLab(t, seed)}
	msg := "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::000000000000:user/dev is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role/deploy"
	r := runAt(t, time.Now, env, "", "explain", "--online", msg)
	for _, want := range []string{
		"caller:   arn:aws:iam::000000000000:user/dev\n          IAM user dev of account 000000000000",
		"the role exists as arn:aws:iam::000000000000:role/ci/deploy (path /ci/); the request named arn:aws:iam::000000000000:role/deploy (path /): AssumeRole needs the full ARN with the path",
		"the trust requires StringEquals sts:ExternalId [x] (statement 0): sent only when the caller passes ExternalId to AssumeRole",
		"the trust requires Bool aws:MultiFactorAuthPresent [true] (statement 0): sent only for a session made with MFA",
		"MaxSessionDuration 3600 s",
		"iam:SimulatePrincipalPolicy: refused: AccessDenied: User: arn:aws:iam::000000000000:user/dev is not authorized to perform: iam:SimulatePrincipalPolicy on resource: arn:aws:iam::000000000000:user/dev because no identity-based policy allows the iam:SimulatePrincipalPolicy action",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d; the output does not say %q:\n%s\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
}

// motoOrganization makes an organization in moto with moto's admin
// credentials and returns a client of it and the root's id.
func motoOrganization(t *testing.T, m *testpeer.MotoServer) (*organizations.Client, string) {
	t.Helper()
	ctx := context.Background()
	orgs := organizations.New(organizations.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
		Credentials: awssdk.ToSDK(creds.Static{Creds: creds.Credentials{AccessKeyID: m.AdminAccessKeyID, SecretAccessKey: m.AdminSecretAccessKey}})})
	if _, err := orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("roots: %v %+v", err, roots)
	}
	return orgs, aws.ToString(roots.Roots[0].Id)
}

// The SCPs over the caller's account are read from moto's Organizations
// and evaluated: an explicit deny is named with its policy and level.
func TestExplainSCPsMoto(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "investigator")
	ctx := context.Background()
	orgs, root := motoOrganization(t, m)
	p, err := orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("NoBucketDeletion"), Description: aws.String("d"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(`{"Version": "2012-10-17", "Statement": [{"Sid": "KeepBuckets", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	account := strings.Split(m.NewRole(t, "probe"), ":")[4]
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": m.Endpoint}
	msg := "User: arn:aws:iam::" + account + ":user/investigator is not authorized to perform: s3:DeleteBucket on resource: arn:aws:s3:::b with an explicit deny in a service control policy"
	r := runAt(t, time.Now, env, "", "explain", "--online", msg)
	for _, want := range []string{
		"organizations:ListPoliciesForTarget: SCPs over account " + account + ", from the root: " + root + " > " + account,
		"SCP NoBucketDeletion (" + aws.ToString(p.Policy.PolicySummary.Id) + ") on " + root + " denies s3:DeleteBucket explicitly",
		"1. service control policy: the Deny statement must not match s3:DeleteBucket",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d; the output does not say %q:\n%s\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
	// An action the SCPs allow (FullAWSAccess on the root and the account).
	r = runAt(t, time.Now, env, "", "explain", "--online", strings.ReplaceAll(msg, "s3:DeleteBucket", "s3:GetObject"))
	if !strings.Contains(r.stdout, "the SCPs allow s3:GetObject") {
		t.Errorf("allowed action:\n%s\n%s", r.stdout, r.stderr)
	}
}

// The RCPs over the resource's account are read from moto's
// Organizations and evaluated: a Deny is named with its policy and level,
// and RCPFullAWSAccess alone denies nothing.
func TestExplainRCPsMoto(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "investigator")
	ctx := context.Background()
	orgs, root := motoOrganization(t, m)
	if _, err := orgs.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(root), PolicyType: orgtypes.PolicyTypeResourceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	p, err := orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("OrgOnlyRoles"), Description: aws.String("d"), Type: orgtypes.PolicyTypeResourceControlPolicy,
		Content: aws.String(`{"Version": "2012-10-17", "Statement": [{"Sid": "NoOutsiders", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
			"Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-none"}}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	roleARN := m.NewRole(t, "probe")
	account := strings.Split(roleARN, ":")[4]
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": m.Endpoint}
	msg := "User: arn:aws:iam::" + account + ":user/investigator is not authorized to perform: sts:AssumeRole on resource: " + roleARN
	r := runAt(t, time.Now, env, "", "explain", "--online", msg)
	for _, want := range []string{
		"organizations:ListPoliciesForTarget: RCPs over account " + account + ", from the root: " + root + " > " + account,
		"RCP OrgOnlyRoles (" + aws.ToString(p.Policy.PolicySummary.Id) + ") on " + root + " denies sts:AssumeRole explicitly",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d; the output does not say %q:\n%s\n%s", r.code, want, r.stdout, r.stderr)
		}
	}
	// An action no RCP denies: RCPFullAWSAccess (on the root and the
	// account) allows everything.
	r = runAt(t, time.Now, env, "", "explain", "--online", strings.ReplaceAll(msg, "sts:AssumeRole", "sts:TagSession"))
	if !strings.Contains(r.stdout, "the RCPs do not deny sts:TagSession") || strings.Contains(r.stdout, "denies sts:TagSession") {
		t.Errorf("action no RCP denies:\n%s\n%s", r.stdout, r.stderr)
	}
}
