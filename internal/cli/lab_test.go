package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// buildWhoami builds examples/whoami once per test binary.
var buildWhoami = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "credkit-whoami-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "whoami")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/credkit/credkit/examples/whoami").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
})

func whoamiBin(t *testing.T) string {
	bin, err := buildWhoami()
	if err != nil {
		t.Fatalf("build examples/whoami: %v", err)
	}
	return bin
}

// parentEnv is an environment full of variables that would send a child
// elsewhere than the lab.
func parentEnv() map[string]string {
	return map[string]string{
		"PATH":                  "/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID":     "AKIAPARENTEXAMPLE000",
		"AWS_SECRET_ACCESS_KEY": "parent-secret",
		"AWS_PROFILE":           "parent",
		"AWS_ENDPOINT_URL_STS":  "http://127.0.0.1:1",
		"NO_PROXY":              "*",
	}
}

// A program using aws-sdk-go-v2's default configuration runs under
// credkit lab with the built-in account: its role session (15 s) expires
// and is refreshed, it never sees a failure, and the summary counts the
// AssumeRole calls.
func TestLabRunsAChild(t *testing.T) {
	bin := whoamiBin(t)
	r := runAt(t, time.Now, parentEnv(), "", "lab", "--ttl", "15s", "--", bin, "-every", "2s", "-for", "20s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	keys := map[string]bool{}
	for _, m := range regexp.MustCompile(`assumed-role/lab-role/\S+ key=(ASIA\w+)`).FindAllStringSubmatch(r.stdout, -1) {
		keys[m[1]] = true
	}
	if len(keys) < 2 {
		t.Errorf("the child saw %d session keys in 20 s of 15 s sessions, want a refresh:\n%s", len(keys), r.stdout)
	}
	if !regexp.MustCompile(`credkit lab: \d+ requests served, 0 refused; [2-9] credentials issued \(AssumeRole [2-9]\)`).MatchString(r.stderr) {
		t.Errorf("summary:\n%s", r.stderr)
	}
}

func TestLabExitCodeAndJSONSummary(t *testing.T) {
	r := runAt(t, time.Now, parentEnv(), "", "lab", "--json", "--", "sh", "-c", `env | grep -E '^AWS_' | sort; exit 7`)
	if r.code != 7 {
		t.Fatalf("exit %d, want the child's 7\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"AWS_PROFILE=lab-role\n", "AWS_ENDPOINT_URL=http://127.0.0.1:", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:", "AWS_REGION=us-east-1\n", "AWS_CONFIG_FILE=", "AWS_SHARED_CREDENTIALS_FILE="} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("child env lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, bad := range []string{"AKIAPARENTEXAMPLE000", "parent-secret", "AWS_PROFILE=parent", "127.0.0.1:1\n"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("child inherited %q:\n%s", bad, r.stdout)
		}
	}
	var s lab.Summary
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stderr)), &s); err != nil {
		t.Errorf("--json summary: %v\n%s", err, r.stderr)
	}
	// The temporary config is gone.
	cfg := regexp.MustCompile(`AWS_CONFIG_FILE=(\S+)`).FindStringSubmatch(r.stdout)
	if _, err := os.Stat(cfg[1]); !os.IsNotExist(err) {
		t.Errorf("the temporary config %s is still there: %v", cfg[1], err)
	}
}

// The written config works for the real clients: the AWS CLI v2 reads its
// profiles (keys by --profile lab-user, with --endpoint-url as 2.9 needs),
// boto3 assumes the default role profile and the web identity profile
// through endpoint_url, and takes credentials from --serve ecs and imds.
func TestLabConfigWithRealClients(t *testing.T) {
	cli := testpeer.AWSCLIv2(t)
	py := testpeer.Python(t)
	dir := filepath.Join(t.TempDir(), "lab-aws")
	script := cli + ` sts get-caller-identity --profile lab-user --endpoint-url "$AWS_ENDPOINT_URL" --output text --query Arn &&
` + cli + ` iam list-access-keys --profile lab-user --endpoint-url "$AWS_ENDPOINT_URL" --output text --query 'AccessKeyMetadata[0].UserName' &&
` + cli + ` configure get external_id --profile lab-partner-role &&
` + cli + ` sts get-caller-identity --profile lab-user --endpoint-url "$AWS_ENDPOINT_URL" --region us-east-1 --cli-read-timeout 5 --output text --query Account --no-sign-request; echo "unsigned=$?"`
	r := runAt(t, time.Now, parentEnv(), "", "lab", "--write-config", dir, "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{"arn:aws:iam::000000000000:user/lab-user", "lab-user", "lab-external-id"}
	for i, w := range want {
		if i >= len(lines) || lines[i] != w {
			t.Errorf("AWS CLI v2 line %d: want %q\n%s", i, w, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "unsigned=254") && !strings.Contains(r.stdout, "unsigned=255") || !strings.Contains(r.stderr, "MissingAuthenticationToken: Request is missing Authentication Token") {
		t.Errorf("an unsigned call was not refused and logged:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, f := range []string{"config", "credentials", "lab-user.mfa", "lab-web-role.web-identity-token"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want kept with mode 0600", f, err, st)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "credentials")); strings.Contains(r.stderr, strings.Fields(string(b))[len(strings.Fields(string(b)))-1]) {
		t.Error("the user's secret key reached stderr")
	}

	boto := `import boto3, os; s = boto3.Session(); print(os.environ["AWS_PROFILE"], s.get_credentials().method, s.client("sts").get_caller_identity()["Arn"])`
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "lab-role assume-role arn:aws:sts::000000000000:assumed-role/lab-role/"},
		{[]string{"--profile", "lab-web-role"}, "lab-web-role assume-role-with-web-identity arn:aws:sts::000000000000:assumed-role/lab-web-role/lab-workload"},
		{[]string{"--serve", "ecs"}, "lab-served container-role arn:aws:sts::000000000000:assumed-role/lab-role/i-0123456789lab"},
		{[]string{"--serve", "imds"}, "lab-served iam-role arn:aws:sts::000000000000:assumed-role/lab-role/i-0123456789lab"},
	} {
		args := append(append([]string{"lab"}, c.args...), "--", py, "-c", boto)
		r := runAt(t, time.Now, parentEnv(), "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, c.want) {
			t.Errorf("boto3 under credkit %s: exit %d\n%s\n%s", strings.Join(args[:len(args)-3], " "), r.code, r.stdout, r.stderr)
		}
	}
}

func TestLabBadFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"roles": [{"name": "r", "trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}}]}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ttl", "5s"}, "--ttl 5s: the shortest lifetime is 15s"},
		{[]string{"--ttl", "soon"}, `--ttl "soon" is not a duration such as 30s`},
		{[]string{"--imds-outage", "1m"}, `--imds-outage "1m": want START+DURATION[:STATUS]`},
		{[]string{"--imds-outage", "1m+x"}, `--imds-outage "1m+x": duration "x" is not a positive duration`},
		{[]string{"--imds-outage", "1m+30s:200"}, `status "200": an HTTP error status, 400 to 599`},
		{[]string{"--sts-throttle", "-1"}, "--sts-throttle -1: a rate in requests per second must be positive"},
		{[]string{"--latency", "-1s"}, "--latency -1s: must not be negative"},
		{[]string{"--serve", "ec2"}, `--serve "ec2": ecs or imds`},
		{[]string{"--addr", "0.0.0.0:0"}, "is not loopback"},
		{[]string{"--seed", filepath.Join(dir, "missing.json")}, "--seed: open "},
		{[]string{"--seed", bad}, "--seed: bad.json:1: $.roles[0].trust_policy.Statement[0]: missing Principal or NotPrincipal"},
		{[]string{"--profile", "nope", "--", "true"}, `--profile "nope": the written config has lab-user, lab-role,`},
	} {
		r := runAt(t, time.Now, parentEnv(), "", append([]string{"lab"}, c.args...)...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("credkit lab %s: exit %d, want 2 and %q:\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
		}
	}
	// As exec: 127 for a command that is not found.
	if r := runAt(t, time.Now, parentEnv(), "", "lab", "--", "no-such-command-credkit"); r.code != ExitNotFound || !strings.Contains(r.stderr, `"no-such-command-credkit"`) {
		t.Errorf("credkit lab -- no-such-command-credkit: exit %d, want 127:\n%s", r.code, r.stderr)
	}
	if r := runAt(t, time.Now, nil, "", "lab", "--help"); r.code != 0 || !strings.Contains(r.stdout, "credkit lab -- go run ./examples/whoami") {
		t.Errorf("--help: %d\n%s", r.code, r.stdout)
	}
}

// Without a command the lab serves until interrupted and prints the
// variables to use; they work.
func TestLabServesUntilInterrupted(t *testing.T) {
	py := testpeer.Python(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	var mu sync.Mutex
	a := &App{Stdin: strings.NewReader(""), Stdout: &syncWriter{&mu, &out}, Stderr: &syncWriter{&mu, &errb}, Getenv: func(string) string { return "" }, Now: time.Now, HTTP: newHTTPClient(), Environ: func() []string { return nil }}
	done := make(chan int)
	go func() { done <- a.Run(ctx, []string{"lab", "--sts-throttle", "100"}) }()
	deadline := time.Now().Add(10 * time.Second)
	var exports string
	for time.Now().Before(deadline) {
		mu.Lock()
		exports = out.String()
		mu.Unlock()
		if strings.Contains(exports, "AWS_DEFAULT_REGION") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd := exec.Command("sh", "-c", exports+"\n"+py+` -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])'`)
	cmd.Env = testpeer.IsolatedAWSEnv()
	got, err := cmd.CombinedOutput()
	cancel()
	code := <-done
	if err != nil || !strings.HasPrefix(string(got), "arn:aws:sts::000000000000:assumed-role/lab-role/") {
		t.Errorf("boto3 with the printed variables: %v\n%s\n%s", err, got, exports)
	}
	if code != 0 || !strings.Contains(errb.String(), "running until interrupted") || !strings.Contains(errb.String(), "credentials issued (AssumeRole 1)") {
		t.Errorf("exit %d\n%s", code, errb.String())
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestLabTOTP(t *testing.T) {
	f := filepath.Join(t.TempDir(), "u.mfa")
	writeFile(t, f, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n")
	r := runAt(t, func() time.Time { return time.Unix(1111111109, 0) }, nil, "", "lab", "totp", f)
	if r.code != 0 || r.stdout != "081804\n" {
		t.Errorf("lab totp: %d %q %s", r.code, r.stdout, r.stderr)
	}
	writeFile(t, f, "not base32")
	if r := run(t, nil, "", "lab", "totp", f); r.code != ExitUsage {
		t.Errorf("bad secret: %d %s", r.code, r.stderr)
	}
}

// --latency delays every answer; --log sends the refusal lines to a file
// instead of stderr.
func TestLabLatencyAndLog(t *testing.T) {
	bin := whoamiBin(t)
	logFile := filepath.Join(t.TempDir(), "refusals.log")
	// The child's first call is signed with a key the lab does not know;
	// its second goes through the role profile (AssumeRole, then
	// GetCallerIdentity).
	child := "AWS_ACCESS_KEY_ID=AKIAUNKNOWNEXAMPLE00 AWS_SECRET_ACCESS_KEY=nope " + bin + "; " + bin
	start := time.Now()
	r := runAt(t, time.Now, parentEnv(), "", "lab", "--latency", "400ms", "--log", logFile, "--", "sh", "-c", child)
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("exit %d (the last whoami must succeed)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Three answers (one refused, two served), each 400 ms late.
	if took < 1200*time.Millisecond {
		t.Errorf("three calls with --latency 400ms took %v", took)
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), "InvalidClientTokenId") || !strings.Contains(string(b), "AKIAUNKNOWNEXAMPLE00") {
		t.Errorf("log file: %v\n%s", err, b)
	}
	if strings.Contains(r.stderr, "AKIAUNKNOWNEXAMPLE00") {
		t.Errorf("the refusal went to stderr as well:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "1 refused") {
		t.Errorf("summary:\n%s", r.stderr)
	}
}
