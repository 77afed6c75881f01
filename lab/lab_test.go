package lab

import (
	"context"
	"errors"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credkit/credkit/internal/testpeer"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func stsClient(url string, c aws.Credentials) *sts.Client {
	return sts.New(sts.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil }),
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestLabWithSDK(t *testing.T) {
	l, err := New(Options{TTL: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	u := l.Users()[0]
	user := aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}
	ctx := context.Background()
	id, err := stsClient(s.URL, user).GetCallerIdentity(ctx, nil)
	if err != nil || *id.Arn != "arn:aws:iam::000000000000:user/lab-user" {
		t.Fatalf("%v %v", id, err)
	}
	out, err := stsClient(s.URL, user).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(l.Roles()[0]), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.Credentials.Expiration.Sub(time.Now()); d > 31*time.Second || d < 25*time.Second {
		t.Errorf("issued credentials live %s, want the lab's 30s", d)
	}
	role := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	id, err = stsClient(s.URL, role).GetCallerIdentity(ctx, nil)
	if err != nil || *id.Arn != "arn:aws:sts::000000000000:assumed-role/lab-role/s1" {
		t.Fatalf("%v %v", id, err)
	}
	bad := user
	bad.SecretAccessKey += "x"
	if _, err := stsClient(s.URL, bad).GetCallerIdentity(ctx, nil); apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"}
	if _, err := stsClient(s.URL, unknown).GetCallerIdentity(ctx, nil); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := stsClient(s.URL, user).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/nope"), RoleSessionName: aws.String("s2")}); apiCode(err) != "AccessDenied" {
		t.Errorf("unknown role: %v", err)
	}
}

func TestLabExpiresSessions(t *testing.T) {
	c := &clock{t: time.Now()}
	l, _ := New(Options{TTL: 30 * time.Second, Now: c.Now})
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	u := l.Users()[0]
	ctx := context.Background()
	out, err := stsClient(s.URL, aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}).GetSessionToken(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	if _, err := stsClient(s.URL, sess).GetCallerIdentity(ctx, nil); err != nil {
		t.Fatal(err)
	}
	c.Add(31 * time.Second)
	_, err = stsClient(s.URL, sess).GetCallerIdentity(ctx, nil)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredToken" || ae.ErrorMessage() != "The security token included in the request is expired" {
		t.Fatalf("expired session: %v", err)
	}
	if l.Refusals()["ExpiredToken"] != 1 {
		t.Errorf("refusals %v", l.Refusals())
	}
}

// botocore signs independently of credkit; the lab's verifier accepts it,
// and the AWS CLI v2 gets SignatureDoesNotMatch with a wrong secret.
func TestLabWithBotocoreAndAWSCLI(t *testing.T) {
	py := testpeer.Python(t)
	aws := testpeer.AWSCLIv2(t)
	l, _ := New(Options{})
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	u := l.Users()[0]
	env := testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+u.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+u.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1")
	cmd := exec.Command(py, "-c", `import boto3,sys; c=boto3.client("sts", endpoint_url=sys.argv[1]); r=c.assume_role(RoleArn=sys.argv[2], RoleSessionName="boto"); print(r["AssumedRoleUser"]["Arn"])`, s.URL, l.Roles()[0])
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "assumed-role/lab-role/boto") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	cmd = exec.Command(aws, "sts", "get-caller-identity", "--endpoint-url", s.URL, "--output", "text", "--query", "Arn")
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "arn:aws:iam::000000000000:user/lab-user" {
		t.Fatalf("aws cli: %v\n%s", err, out)
	}
	cmd = exec.Command(aws, "sts", "get-caller-identity", "--endpoint-url", s.URL)
	cmd.Env = append(env, "AWS_SECRET_ACCESS_KEY=wrong")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "SignatureDoesNotMatch") {
		t.Fatalf("aws cli, wrong secret: %v\n%s", err, out)
	}
}
