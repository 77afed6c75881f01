package testpeer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort is not usable: %v", p, err)
	}
	l.Close()
}

func TestPeersRequired(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"", false}, {"require", true}, {" require\n", true}, {"skip", false}, {"1", false}} {
		t.Setenv(PeersEnv, tc.val)
		if got := peersRequired(); got != tc.want {
			t.Errorf("%s=%q: peersRequired() = %v, want %v", PeersEnv, tc.val, got, tc.want)
		}
	}
}

func TestIsolatedAWSEnv(t *testing.T) {
	t.Setenv("AWS_PROFILE", "does-not-exist")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIALEAK")
	env := IsolatedAWSEnv("X=1")
	for _, kv := range env {
		if strings.HasPrefix(kv, "AWS_PROFILE=") || strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") {
			t.Errorf("IsolatedAWSEnv kept %s", kv)
		}
	}
	if env[len(env)-1] != "X=1" {
		t.Errorf("extra not appended last: %v", env[len(env)-1])
	}
}

func TestStartupFailureShowsOutput(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p, err := start(t, "fake", []string{sh, "-c", "echo line1 >&2; echo boom-marker >&2; exit 3"}, os.Environ(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(func(context.Context) error { return errors.New("not yet") })
	if err == nil {
		t.Fatal("waitReady succeeded for a process that exits")
	}
	for _, want := range []string{"fake exited during startup", "exit status 3", "boom-marker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestTailLastLines(t *testing.T) {
	var w tail
	for i := 0; i < 100; i++ {
		w.Write([]byte("line " + strconv.Itoa(i) + "\n"))
	}
	got := w.lastLines(3)
	if got != "line 97\nline 98\nline 99" {
		t.Errorf("lastLines(3) = %q", got)
	}
	var empty tail
	if got := empty.lastLines(3); got != "(no output)" {
		t.Errorf("empty lastLines = %q", got)
	}
}

func TestPython(t *testing.T) {
	py := Python(t)
	if err := pythonImports(py, "boto3", "botocore"); err != nil {
		t.Fatal(err)
	}
}

func TestAWSCLIv2(t *testing.T) {
	aws := AWSCLIv2(t)
	out, err := exec.Command(aws, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v: %s", aws, err, out)
	}
	if !strings.HasPrefix(string(out), "aws-cli/2") {
		t.Fatalf("%s --version = %q, want aws-cli/2...", aws, out)
	}
}

func TestMoto(t *testing.T) {
	t.Parallel()
	m := Moto(t)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(m.Endpoint) {
		t.Errorf("Endpoint = %q", m.Endpoint)
	}
	ak, sk := m.NewUserKeys(t, "alice")
	if ak == "" || sk == "" {
		t.Fatalf("NewUserKeys returned empty keys %q %q", ak, sk)
	}

	arn, code := m.CallerIdentity(t, ak, sk, "")
	if want := "arn:aws:iam::" + m.AccountID + ":user/alice"; arn != want || code != "" {
		t.Errorf("GetCallerIdentity with alice's keys = %q, %q; want %q", arn, code, want)
	}
	if arn, code := m.CallerIdentity(t, ak, sk+"x", ""); code != "SignatureDoesNotMatch" {
		t.Errorf("GetCallerIdentity with a wrong secret = %q, %q; want SignatureDoesNotMatch", arn, code)
	}
	if arn, code := m.CallerIdentity(t, "AKIAUNKNOWNKEY000000", sk, ""); code != "InvalidClientTokenId" {
		t.Errorf("GetCallerIdentity with an unknown key = %q, %q; want InvalidClientTokenId", arn, code)
	}
}

// TestMotoRejectsForgedSignature checks signature verification without
// boto3 on the sending side: a well-formed Authorization header naming a
// real key but carrying a made-up signature must be refused.
func TestMotoRejectsForgedSignature(t *testing.T) {
	t.Parallel()
	m := Moto(t)
	ak, _ := m.NewUserKeys(t, "mallory")
	now := time.Now().UTC()
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	req, err := http.NewRequest("POST", m.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ak+"/"+now.Format("20060102")+
		"/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="+strings.Repeat("0", 64))
	resp, err := peerClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 403 || !strings.Contains(string(b), "SignatureDoesNotMatch") {
		t.Fatalf("forged signature: HTTP %d %s; want 403 SignatureDoesNotMatch", resp.StatusCode, b)
	}
}

func TestMotoAssumeRole(t *testing.T) {
	t.Parallel()
	m := Moto(t)
	ak, sk := m.NewUserKeys(t, "bob")
	roleARN := m.NewRole(t, "deployer")
	if want := "arn:aws:iam::" + m.AccountID + ":role/deployer"; roleARN != want {
		t.Errorf("NewRole = %q, want %q", roleARN, want)
	}
	script := `
import json, sys, boto3
ep, ak, sk, role = sys.argv[1:5]
sts = boto3.client("sts", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id=ak, aws_secret_access_key=sk)
c = sts.assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
json.dump(c, sys.stdout, default=str)
`
	out, err := runPython(context.Background(), Python(t), script, IsolatedAWSEnv(), m.Endpoint, ak, sk, roleARN)
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	arn, code := m.CallerIdentity(t, c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
	if want := "arn:aws:sts::" + m.AccountID + ":assumed-role/deployer/s1"; arn != want {
		t.Errorf("GetCallerIdentity with session credentials = %q, %q; want %q", arn, code, want)
	}
	if _, code := m.CallerIdentity(t, c.AccessKeyId, c.SecretAccessKey+"x", c.SessionToken); code != "SignatureDoesNotMatch" {
		t.Errorf("session credentials with a wrong secret: code %q, want SignatureDoesNotMatch", code)
	}
	if _, code := m.CallerIdentity(t, c.AccessKeyId, c.SecretAccessKey, c.SessionToken+"x"); code == "" {
		t.Errorf("session credentials with a wrong session token were accepted")
	}
}

func TestAWSCLIv2AgainstMoto(t *testing.T) {
	t.Parallel()
	aws := AWSCLIv2(t)
	m := Moto(t)
	ak, sk := m.NewUserKeys(t, "carol")
	run := func(secret string) ([]byte, error) {
		cmd := exec.Command(aws, "sts", "get-caller-identity", "--endpoint-url", m.Endpoint, "--region", "us-east-1", "--output", "json")
		cmd.Env = IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+secret)
		return cmd.CombinedOutput()
	}
	out, err := run(sk)
	if err != nil || !strings.Contains(string(out), ":user/carol") {
		t.Fatalf("aws sts get-caller-identity: %v: %s", err, out)
	}
	out, err = run(sk + "x")
	if err == nil || !strings.Contains(string(out), "SignatureDoesNotMatch") {
		t.Fatalf("aws sts get-caller-identity with a wrong secret: %v: %s", err, out)
	}
}

func TestMinIO(t *testing.T) {
	t.Parallel()
	s := MinIO(t)
	code, _, err := httpStatus(context.Background(), "GET", s.Endpoint+"/minio/health/live", nil)
	if err != nil || code != 200 {
		t.Fatalf("health: %d %v", code, err)
	}
	script := `
import json, sys, boto3, botocore.exceptions
ep, ak, sk = sys.argv[1:4]
def s3(secret):
    return boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                        aws_access_key_id=ak, aws_secret_access_key=secret)
s3(sk).create_bucket(Bucket="credkit-test")
names = [b["Name"] for b in s3(sk).list_buckets()["Buckets"]]
try:
    s3(sk + "x").list_buckets()
    bad = ""
except botocore.exceptions.ClientError as e:
    bad = e.response["Error"]["Code"]
json.dump({"names": names, "bad": bad}, sys.stdout)
`
	out, err := runPython(context.Background(), Python(t), script, IsolatedAWSEnv(), s.Endpoint, s.AccessKey, s.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Names []string
		Bad   string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Names) != 1 || res.Names[0] != "credkit-test" {
		t.Errorf("list_buckets = %v, want [credkit-test]", res.Names)
	}
	if res.Bad != "SignatureDoesNotMatch" {
		t.Errorf("list_buckets with a wrong secret: code %q, want SignatureDoesNotMatch", res.Bad)
	}
}

func TestMakefileMinIOVersion(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MINIO_VERSION\s*[:?]?=\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no MINIO_VERSION assignment in Makefile")
	}
	if got := string(m[1]); got != MinIOVersion {
		t.Errorf("Makefile MINIO_VERSION = %s, testpeer.MinIOVersion = %s; they must match", got, MinIOVersion)
	}
}
