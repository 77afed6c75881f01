package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/internal/testpeer"
)

// awsFiles writes a credentials file for the lab's user and a config
// file with a role profile; it returns the environment pointing at them.
func awsFiles(t *testing.T, l *Lab) []string {
	dir := t.TempDir()
	u := l.Users()[0]
	cred := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", u.AccessKeyID, u.SecretAccessKey)
	conf := fmt.Sprintf("[default]\nregion = us-east-1\n[profile partner]\nrole_arn = %s\nsource_profile = default\nexternal_id = %s\nregion = us-east-1\n", l.RoleARN(DefaultExternalRole), DefaultExternalID)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte(cred), 0o600)
	os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o600)
	env := testpeer.IsolatedAWSEnv()
	return append(env, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "HOME="+dir)
}

func runPeer(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The AWS CLI v2 (2.9, which takes --endpoint-url only) calls STS and IAM
// on the lab and assumes roles; a missing ExternalId is refused.
func TestAWSCLIv2CallsTheLab(t *testing.T) {
	cli := testpeer.AWSCLIv2(t)
	l, url := start(t, Options{})
	env := awsFiles(t, l)
	out, err := runPeer(t, env, cli, "sts", "get-caller-identity", "--endpoint-url", url, "--output", "json")
	if err != nil || !strings.Contains(out, `"Arn": "arn:aws:iam::000000000000:user/lab-user"`) {
		t.Fatalf("get-caller-identity: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "iam", "list-access-keys", "--endpoint-url", url, "--output", "json")
	if err != nil || !strings.Contains(out, l.Users()[0].AccessKeyID) || !strings.Contains(out, `"Status": "Active"`) {
		t.Fatalf("iam list-access-keys: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "iam", "create-access-key", "--endpoint-url", url, "--output", "json")
	if err != nil || !strings.Contains(out, `"SecretAccessKey"`) {
		t.Fatalf("iam create-access-key: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "iam", "create-access-key", "--endpoint-url", url)
	if err == nil || !strings.Contains(out, "LimitExceeded") {
		t.Errorf("a third key: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "sts", "assume-role", "--endpoint-url", url, "--role-arn", l.RoleARN(DefaultRole), "--role-session-name", "cli", "--duration-seconds", "900", "--output", "json")
	if err != nil || !strings.Contains(out, "assumed-role/lab-role/cli") {
		t.Fatalf("assume-role: %v\n%s", err, out)
	}
	// (AWS CLI 2.9 sends the AssumeRole of a role profile to the real STS
	// endpoint whatever --endpoint-url says, so the role is assumed here
	// by arguments.)
	out, err = runPeer(t, env, cli, "sts", "assume-role", "--endpoint-url", url, "--role-arn", l.RoleARN(DefaultExternalRole), "--role-session-name", "cli", "--external-id", DefaultExternalID, "--output", "json")
	if err != nil || !strings.Contains(out, "assumed-role/lab-partner-role/cli") {
		t.Fatalf("assume-role with --external-id: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "sts", "assume-role", "--endpoint-url", url, "--role-arn", l.RoleARN(DefaultExternalRole), "--role-session-name", "cli")
	if err == nil || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "is not authorized to perform: sts:AssumeRole on resource: "+l.RoleARN(DefaultExternalRole)) {
		t.Errorf("assume-role without ExternalId: %v\n%s", err, out)
	}
}

// boto3 calls STS and IAM, takes a web identity token from a file, and
// gets SignatureDoesNotMatch with a wrong secret.
func TestBoto3CallsTheLab(t *testing.T) {
	py := testpeer.Python(t)
	l, url := start(t, Options{})
	env := awsFiles(t, l)
	tok, err := l.MintWebIdentityToken("repo:credkit/credkit:ref:refs/heads/main", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(tok), 0o600)
	script := `
import boto3, botocore, json, sys
url = sys.argv[1]
out = {}
s = boto3.Session()
out["user"] = s.client("sts", endpoint_url=url).get_caller_identity()["Arn"]
out["keys"] = len(s.client("iam", endpoint_url=url).list_access_keys()["AccessKeyMetadata"])
p = boto3.Session(profile_name="partner")
out["partner"] = p.client("sts", endpoint_url=url).get_caller_identity()["Arn"]
bad = boto3.Session(aws_access_key_id=s.get_credentials().access_key, aws_secret_access_key="wrong", region_name="us-east-1")
try:
    bad.client("sts", endpoint_url=url).get_caller_identity()
except botocore.exceptions.ClientError as e:
    out["wrong_secret"] = e.response["Error"]["Code"]
print(json.dumps(out))
`
	out, err := runPeer(t, append(env, "AWS_ENDPOINT_URL="+url), py, "-c", script, url)
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got["user"] != "arn:aws:iam::000000000000:user/lab-user" || got["keys"] != float64(1) || !strings.Contains(fmt.Sprint(got["partner"]), "assumed-role/lab-partner-role/") || got["wrong_secret"] != "SignatureDoesNotMatch" {
		t.Errorf("boto3: %v", got)
	}
	// Web identity through botocore's own provider (AWS_ROLE_ARN +
	// AWS_WEB_IDENTITY_TOKEN_FILE), the endpoint from AWS_ENDPOINT_URL.
	webEnv := append(testpeer.IsolatedAWSEnv(), "AWS_ENDPOINT_URL="+url, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ROLE_ARN="+l.RoleARN(DefaultWebRole), "AWS_WEB_IDENTITY_TOKEN_FILE="+tokFile, "AWS_ROLE_SESSION_NAME=gha")
	out, err = runPeer(t, webEnv, py, "-c", `import boto3; s = boto3.Session(); print(s.get_credentials().method, s.client("sts").get_caller_identity()["Arn"])`)
	if err != nil || strings.TrimSpace(out) != "assume-role-with-web-identity arn:aws:sts::000000000000:assumed-role/lab-web-role/gha" {
		t.Errorf("boto3 web identity: %v\n%s", err, out)
	}
}

// Requests signed by botocore (an independent SigV4 implementation), for
// services and regions the lab does not serve, verify at /_lab/verify; the
// lab's canonical request is botocore's, byte for byte.
func TestVerifyBotocoreSignatures(t *testing.T) {
	py := testpeer.Python(t)
	l, url := start(t, Options{})
	u := l.Users()[0]
	script := `
import json, sys, urllib.request
from urllib.parse import urlsplit
from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, key, secret = sys.argv[1:4]
cases = [
  ("execute-api", "eu-west-1", "GET", "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/items?b=2&a=1&name=x%20y", b"", SigV4Auth),
  ("dynamodb", "ap-south-1", "POST", "https://dynamodb.ap-south-1.amazonaws.com/", b'{"TableName":"t"}', SigV4Auth),
  ("s3", "us-west-2", "PUT", "https://bucket.s3.us-west-2.amazonaws.com/dir/a%20file.txt", b"hello", S3SigV4Auth),
]
out = []
for secret_used in (secret, "wrong"):
    for service, region, method, u, body, auth in cases:
        req = AWSRequest(method=method, url=u, data=body, headers={"Content-Type": "application/json"} if body else {})
        signer = auth(Credentials(key, secret_used), service, region)
        seen = {}
        computed = signer.canonical_request
        signer.canonical_request = lambda r: seen.setdefault("cr", computed(r))
        signer.add_auth(req)
        prepared = req.prepare()
        sp = urlsplit(prepared.url)
        path = sp.path + ("?" + sp.query if sp.query else "")
        headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()}
        headers.setdefault("Host", sp.netloc)
        headers.setdefault("Content-Length", str(len(body)))
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        raw = raw.encode() + body
        r = json.load(urllib.request.urlopen(urllib.request.Request(url + "/_lab/verify", data=raw, method="POST")))
        r["botocore_canonical_request"] = seen["cr"]
        r["case"] = service + (" (wrong secret)" if secret_used == "wrong" else "")
        out.append(r)
print(json.dumps(out))
`
	out, err := runPeer(t, testpeer.IsolatedAWSEnv(), py, "-c", script, url, u.AccessKeyID, u.SecretAccessKey)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var results []struct {
		VerifyResult
		Botocore string `json:"botocore_canonical_request"`
		Case     string
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, r := range results {
		wrong := strings.Contains(r.Case, "wrong")
		if r.Valid == wrong {
			t.Errorf("%s: valid=%v reasons=%v", r.Case, r.Valid, r.Reasons)
		}
		if wrong && (len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], "SignatureDoesNotMatch")) {
			t.Errorf("%s: reasons %v", r.Case, r.Reasons)
		}
		if r.CanonicalRequest != r.Botocore {
			t.Errorf("%s: the lab's canonical request differs from botocore's:\nlab:\n%s\nbotocore:\n%s", r.Case, r.CanonicalRequest, r.Botocore)
		}
	}
	if len(results) != 6 {
		t.Errorf("%d results", len(results))
	}
}

// aws-sdk-go-v2's own IMDS and container credential providers, and
// boto3's, fetch rotating role credentials from the lab and use them.
func TestMetadataProvidersFetchLabCredentials(t *testing.T) {
	l, url := start(t, Options{TTL: MinTTL})
	ctx := context.Background()
	want := "arn:aws:sts::000000000000:assumed-role/lab-role/"
	check := func(name string, p aws.CredentialsProvider) aws.Credentials {
		t.Helper()
		c, err := p.Retrieve(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Expires.Sub(time.Now()) > MinTTL+time.Second || !c.CanExpire {
			t.Errorf("%s: expires %s, want within the lab's 15 s", name, c.Expires)
		}
		client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: p})
		id, err := client.GetCallerIdentity(ctx, nil)
		if err != nil || !strings.HasPrefix(*id.Arn, want) {
			t.Fatalf("%s: %v %v", name, id, err)
		}
		return c
	}
	imdsProvider := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.New(imds.Options{Endpoint: url}) })
	check("aws-sdk-go-v2 ec2rolecreds", imdsProvider)
	ecs := endpointcreds.New(url+l.ECSPath(), func(o *endpointcreds.Options) { o.AuthorizationToken = l.ECSToken() })
	first := check("aws-sdk-go-v2 endpointcreds", ecs)
	bad := endpointcreds.New(url+l.ECSPath(), func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong" })
	if _, err := bad.Retrieve(ctx); err == nil {
		t.Error("the container endpoint served a wrong token")
	}

	py := testpeer.Python(t)
	script := `import boto3; s = boto3.Session(); c = s.get_credentials(); print(c.method, s.client("sts").get_caller_identity()["Arn"])`
	base := append(testpeer.IsolatedAWSEnv(), "AWS_ENDPOINT_URL="+url, "AWS_DEFAULT_REGION=us-east-1")
	for _, c := range []struct {
		name, method string
		env          []string
	}{
		{"boto3 instance metadata", "iam-role", []string{"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + url}},
		{"boto3 container", "container-role", []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + url + l.ECSPath(), "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + l.ECSToken()}},
	} {
		out, err := runPeer(t, append(base, c.env...), py, "-c", script)
		if err != nil || !strings.HasPrefix(strings.TrimSpace(out), c.method+" "+want) {
			t.Errorf("%s: %v\n%s", c.name, err, out)
		}
	}

	// The credentials rotate: after the 15 s session, new keys.
	time.Sleep(time.Until(first.Expires) + time.Second)
	if next := check("aws-sdk-go-v2 endpointcreds after expiry", ecs); next.AccessKeyID == first.AccessKeyID {
		t.Errorf("the container endpoint served the expired key %s again", first.AccessKeyID)
	}
	if s := l.Summary(); s.MetadataServed < 4 || s.IssuedBy[KindMetadata] < 2 {
		t.Errorf("summary: %+v", s)
	}
}
