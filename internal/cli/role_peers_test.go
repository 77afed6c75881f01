package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credkit/credkit/internal/testpeer"
)

const (
	esTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	// The same trust as esTrust, written differently: element order, a
	// list of one, a Sid.
	esTrustReordered = `{"Statement":[{"Action":["sts:AssumeRole"],"Sid":"OpenSearch","Principal":{"Service":["es.amazonaws.com"]},"Effect":"Allow"}],"Version":"2012-10-17"}`
	s3Policy         = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::snapshots/*"}]}`
)

// motoIAM is an IAM client of moto's admin user, to set roles up the way
// a user would with the SDK.
func motoIAM(m *testpeer.MotoServer) *iam.Client {
	return iam.New(iam.Options{
		Region:       m.Region,
		BaseEndpoint: aws.String(m.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(m.AdminAccessKeyID, m.AdminSecretAccessKey, ""),
	})
}

func createRole(t *testing.T, c *iam.Client, name, path, trust string, maxSession int32, tags map[string]string, inline string) *types.Role {
	t.Helper()
	ctx := context.Background()
	in := &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trust)}
	if maxSession != 0 {
		in.MaxSessionDuration = aws.Int32(maxSession)
	}
	for k, v := range tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := c.CreateRole(ctx, in)
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	if inline != "" {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("snapshots"), PolicyDocument: aws.String(inline)}); err != nil {
			t.Fatal(err)
		}
	}
	return out.Role
}

// The field report: the role is os-repo-prg-OpenSearchRepositoryRole, the
// caller asked for os-repo-prg-OPENSEARCHRepositoryRole. moto's IAM (the
// real AWS wire) holds the roles; credkit reads them with the SDK.
func TestRoleCommandsAgainstMoto(t *testing.T) {
	m := testpeer.Moto(t)
	c := motoIAM(m)
	acct := m.AccountID
	real := createRole(t, c, "os-repo-prg-OpenSearchRepositoryRole", "/service/", esTrust, 3600, map[string]string{"team": "search"}, s3Policy)
	twin := createRole(t, c, "os-repo-prg-OpenSearchRepositoryRole-new", "/", esTrustReordered, 43200, map[string]string{"team": "search"}, s3Policy)
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": m.AdminAccessKeyID, "AWS_SECRET_ACCESS_KEY": m.AdminSecretAccessKey,
		"AWS_REGION": m.Region, "AWS_ENDPOINT_URL": m.Endpoint,
	}
	realARN := "arn:aws:iam::" + acct + ":role/service/os-repo-prg-OpenSearchRepositoryRole"
	if aws.ToString(real.Arn) != realARN {
		t.Fatalf("moto made %s", aws.ToString(real.Arn))
	}

	t.Run("resolve by name", func(t *testing.T) {
		// The role was created a moment ago: resolve says STS may not
		// see it yet.
		r := runAt(t, time.Now, env, "", "role", "resolve", "os-repo-prg-OpenSearchRepositoryRole")
		if r.code != 0 || !strings.HasPrefix(r.stdout, realARN+"\n") || !strings.Contains(r.stdout, "unique id:   "+aws.ToString(real.RoleId)) ||
			!strings.Contains(r.stdout, "path:        /service/") || !strings.Contains(r.stdout, "created:     "+real.CreateDate.UTC().Format(time.RFC3339)) ||
			!strings.Contains(r.stdout, "may not be visible to STS yet") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if !strings.HasPrefix(aws.ToString(real.RoleId), "ARO") {
			t.Errorf("role id %s", aws.ToString(real.RoleId))
		}
	})
	t.Run("resolve a name in another case", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "resolve", "arn:aws:iam::"+acct+":role/os-repo-prg-OPENSEARCHRepositoryRole")
		want := "credkit: no role is named os-repo-prg-OPENSEARCHRepositoryRole: the role exists as " + realARN + "; role names are case-sensitive when assumed, so use that exact name\n"
		if r.code != ExitFailure || r.stderr != want || r.stdout != "" {
			t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, want)
		}
	})
	t.Run("resolve with the wrong path", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "resolve", "arn:aws:iam::"+acct+":role/os-repo-prg-OpenSearchRepositoryRole")
		if r.code != ExitFailure || !strings.HasPrefix(r.stdout, realARN+"\n") || !strings.Contains(r.stderr, "the role's path is /service/, not /") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("resolve a role of another account", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "resolve", "arn:aws:iam::999999999999:role/partner")
		want := "credkit: no role is named partner; the ARN names account 999999999999 but the credentials are of account " + acct +
			", and IAM reads only its own account's roles: pass --profile for a profile of account 999999999999\n"
		if r.code != ExitFailure || r.stderr != want {
			t.Fatalf("exit %d\n%s\n%q\nwant %q", r.code, r.stdout, r.stderr, want)
		}
	})
	t.Run("resolve an unknown name", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "resolve", "nosuch")
		if r.code != ExitFailure || r.stderr != "credkit: no role is named nosuch\n" {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	dir := t.TempDir()
	var asJSON map[string]any
	t.Run("resolve --json", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "resolve", realARN, "--json")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &asJSON); err != nil {
			t.Fatal(err)
		}
		inline, _ := asJSON["inline_policies"].(map[string]any)
		if asJSON["arn"] != realARN || asJSON["role_id"] != aws.ToString(real.RoleId) || asJSON["max_session_duration"] != 3600.0 ||
			inline["snapshots"] == nil || asJSON["trust_policy"] == nil {
			t.Fatalf("%s", r.stdout)
		}
		os.WriteFile(filepath.Join(dir, "real.json"), []byte(r.stdout), 0o600)
	})

	t.Run("diff of two roles that look the same", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "diff", "os-repo-prg-OpenSearchRepositoryRole", "os-repo-prg-OpenSearchRepositoryRole-new", "--json")
		if r.code != ExitFailure {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		var out struct {
			A, B        string
			Differences []struct {
				Field  string
				A, B   string
				Assume bool `json:"changes_who_may_assume"`
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, d := range out.Differences {
			got[d.Field] = d.Assume
		}
		// The trust policies are the same once normalised, as are the
		// tags and the inline policy: only name, path, session length
		// and maybe age differ.
		want := map[string]bool{"name": true, "path": true, "max session duration": true}
		for f, assume := range want {
			if g, ok := got[f]; !ok || g != assume {
				t.Errorf("difference %q: got %v (present %v), want changes_who_may_assume=%v", f, g, ok, assume)
			}
		}
		for f := range got {
			if _, ok := want[f]; !ok && f != "created" {
				t.Errorf("unexpected difference %q\n%s", f, r.stdout)
			}
		}
		if out.A != realARN || out.B != aws.ToString(twin.Arn) {
			t.Errorf("a %s b %s", out.A, out.B)
		}
	})

	t.Run("diff of a file and IAM", func(t *testing.T) {
		// The role saved before, then changed: a new trust statement
		// and a deleted principal's unique id.
		ctx := context.Background()
		// The admin user named by its unique id, which credkit maps back
		// to its ARN from IAM's listing.
		admin, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(testpeer.MotoAdminUser)})
		if err != nil {
			t.Fatal(err)
		}
		newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"es.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":["AROADELETEDROLE0000001","` + aws.ToString(admin.User.UserId) + `"]},"Action":"sts:AssumeRole"}]}`
		if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: real.RoleName, PolicyDocument: aws.String(newTrust)}); err != nil {
			t.Fatal(err)
		}
		r := runAt(t, time.Now, env, "", "role", "diff", filepath.Join(dir, "real.json"), realARN)
		if r.code != ExitFailure || !strings.Contains(r.stdout, "! can change who may assume: trust policy principal\n    B: AROADELETEDROLE0000001\n") ||
			!strings.Contains(r.stdout, "! can change who may assume: trust policy statement\n    B: {\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::"+acct+":user/"+testpeer.MotoAdminUser+"\"]},\"Action\":[\"sts:AssumeRole\"]}\n") ||
			!strings.Contains(r.stdout, "names the unique id AROADELETEDROLE0000001") || strings.Contains(r.stdout, "max session") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = runAt(t, time.Now, env, "", "role", "diff", realARN, realARN)
		if r.code != 0 || !strings.Contains(r.stdout, "do not differ") {
			t.Fatalf("same role: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("trust-check", func(t *testing.T) {
		r := runAt(t, time.Now, env, "", "role", "trust-check", "os-repo-prg-OpenSearchRepositoryRole", "--as", "es.amazonaws.com")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Allowed: es.amazonaws.com (Service) sts:AssumeRole "+realARN+"\n") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = runAt(t, time.Now, env, "", "role", "trust-check", "os-repo-prg-OpenSearchRepositoryRole", "--as", "ec2.amazonaws.com", "--json")
		var out map[string]any
		if r.code != ExitFailure || json.Unmarshal([]byte(r.stdout), &out) != nil || out["decision"] != "ImplicitlyDenied" ||
			out["message"] != "User: ec2.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: "+realARN {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// The trust policy names the admin user by its unique id (set
		// above): credkit maps it back and the user may assume the role.
		adminARN := "arn:aws:iam::" + acct + ":user/" + testpeer.MotoAdminUser
		r = runAt(t, time.Now, env, "", "role", "trust-check", realARN, "--as", adminARN)
		if r.code != 0 || strings.Contains(r.stdout, "note:") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = runAt(t, time.Now, env, "", "role", "trust-check", realARN, "--as", "arn:aws:iam::"+acct+":user/other")
		if r.code != ExitFailure {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		// The name in the wrong case: no role, exit 1 with the one that
		// exists.
		r = runAt(t, time.Now, env, "", "role", "trust-check", "os-repo-prg-OPENSEARCHRepositoryRole", "--as", "es.amazonaws.com")
		if r.code != ExitFailure || !strings.Contains(r.stderr, "the role exists as "+realARN) {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

// Looking for a name in another case reads every page of ListRoles: the
// role is on the second of moto's 100-role pages.
func TestRoleResolveReadsEveryPage(t *testing.T) {
	m := testpeer.Moto(t)
	c := motoIAM(m)
	for i := range 100 {
		createRole(t, c, fmt.Sprintf("filler-%03d", i), "/", esTrust, 0, nil, "")
	}
	createRole(t, c, "os-repo-prg-OpenSearchRepositoryRole", "/service/", esTrust, 0, nil, "")
	out, err := c.ListRoles(context.Background(), &iam.ListRolesInput{})
	if err != nil || !out.IsTruncated {
		t.Fatalf("moto answered ListRoles on one page (%v): the test needs two", err)
	}
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": m.AdminAccessKeyID, "AWS_SECRET_ACCESS_KEY": m.AdminSecretAccessKey,
		"AWS_REGION": m.Region, "AWS_ENDPOINT_URL": m.Endpoint,
	}
	r := runAt(t, time.Now, env, "", "role", "resolve", "os-repo-prg-OPENSEARCHRepositoryRole")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "the role exists as arn:aws:iam::"+m.AccountID+":role/service/os-repo-prg-OpenSearchRepositoryRole;") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
