package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

func staticProfileEnv(t *testing.T) map[string]string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "credentials"), "[dev]\naws_access_key_id = AKIADEVEXAMPLE000000\naws_secret_access_key = "+testSecret+"\nregion = eu-west-1\n")
	return map[string]string{
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		// Shadowing variables of the parent that the child must not see.
		"AWS_ACCESS_KEY_ID": "AKIAPARENTEXAMPLE000", "AWS_SECRET_ACCESS_KEY": "parent-secret", "AWS_PROFILE": "other",
		"PATH": "/usr/bin:/bin",
	}
}

func TestExecEnvironment(t *testing.T) {
	env := staticProfileEnv(t)
	r := run(t, env, "", "exec", "dev", "--mode", "env", "--", "sh", "-c", "env | grep -E '^(AWS_|CREDKIT_)' | sort")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID=AKIADEVEXAMPLE000000\n", "AWS_REGION=eu-west-1\n", "CREDKIT_EXEC=dev\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("child env lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{"AKIAPARENTEXAMPLE000", "AWS_PROFILE="} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("child inherited %q:\n%s", bad, r.stdout)
		}
	}

	r = run(t, env, "", "exec", "dev", "--", "sh", "-c", "env | grep -E '^AWS_' | sort")
	if r.code != 0 || !strings.Contains(r.stdout, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:") || !strings.Contains(r.stdout, "AWS_CONTAINER_AUTHORIZATION_TOKEN=") || strings.Contains(r.stdout, "AWS_ACCESS_KEY_ID") {
		t.Errorf("server mode env:\n%s%s", r.stdout, r.stderr)
	}
	if r := run(t, env, "", "exec", "dev", "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exit code %d, want the child's 7", r.code)
	}
	nested := staticProfileEnv(t)
	nested["CREDKIT_EXEC"] = "outer"
	if r := run(t, nested, "", "exec", "dev", "--", "true"); r.code != ExitExecFailed || !strings.Contains(r.stderr, "already inside credkit exec outer") {
		t.Errorf("nested exec: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, env, "", "exec", "nosuch", "--", "true"); r.code == 0 {
		t.Errorf("unknown profile ran: %s", r.stderr)
	}
}

// Real clients read the served credentials: the AWS CLI v2 from the
// container endpoint, boto3 from the IMDSv2 endpoint, against moto.
func TestExecServesRealClients(t *testing.T) {
	m := testpeer.Moto(t)
	aws := testpeer.AWSCLIv2(t)
	py := testpeer.Python(t)
	dir := roleChainFiles(t, m)
	env := fileEnv(dir, m)
	env["PATH"] = "/usr/bin:/bin"
	r := runAt(t, time.Now, env, "", "exec", "chain", "--", aws, "sts", "get-caller-identity", "--endpoint-url", m.Endpoint, "--output", "text", "--query", "Arn")
	if r.code != 0 || !strings.Contains(r.stdout, "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("aws cli under exec: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runAt(t, time.Now, env, "", "exec", "chain", "--mode", "imds", "--", py, "-c",
		`import boto3,os; s=boto3.Session(); print(s.get_credentials().method); print(s.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"]).get_caller_identity()["Arn"])`)
	if r.code != 0 || !strings.Contains(r.stdout, "iam-role\n") || !strings.Contains(r.stdout, "assumed-role/cli-hop-3/cli-chain") {
		t.Fatalf("boto3 under exec --mode imds: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runAt(t, time.Now, env, "", "exec", "chain", "--mode", "env", "--", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "does not refresh: it expires at ") {
		t.Errorf("env mode warning: %s", r.stderr)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
