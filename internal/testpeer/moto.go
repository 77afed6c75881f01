package testpeer

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// MotoAdminUser is the IAM user Moto creates to sign its own requests.
const MotoAdminUser = "credkit-admin"

// MotoServer is a running moto server that checks SigV4 signatures.
type MotoServer struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT. It serves
	// every AWS service moto emulates (STS, IAM, S3, ...).
	Endpoint string
	// Region is the region the bootstrap requests were signed for. moto
	// accepts any region.
	Region string
	// AccountID is the account all users and roles live in.
	AccountID string
	// AdminAccessKeyID and AdminSecretAccessKey belong to MotoAdminUser,
	// whose policy allows every action.
	AdminAccessKeyID     string
	AdminSecretAccessKey string

	python string
}

// Moto starts moto_server on a random port on 127.0.0.1 with signature
// checking on and an admin user bootstrapped (see the package
// documentation). The server is killed when t ends.
func Moto(t testing.TB) *MotoServer {
	t.Helper()
	return startMoto(t, true)
}

// MotoUnsigned starts a moto_server without signature checks, for the STS
// calls AWS accepts unsigned (AssumeRoleWithWebIdentity): moto with checks
// on answers any unsigned request with an HTML error page.
func MotoUnsigned(t testing.TB) *MotoServer {
	t.Helper()
	return startMoto(t, false)
}

func startMoto(t testing.TB, checkSignatures bool) *MotoServer {
	t.Helper()
	python, err := findPython()
	if err != nil {
		missing(t, "python3 with boto3 and botocore", err.Error())
	}
	prefix, err := motoCommand(python)
	if err != nil {
		missing(t, "moto", err.Error())
	}

	var endpoint string
	launch := func() (*process, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		argv := append(append([]string(nil), prefix...), "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		env := IsolatedAWSEnv("PYTHONUNBUFFERED=1")
		if checkSignatures {
			env = append(env, "INITIAL_NO_AUTH_ACTION_COUNT=0")
		}
		return start(t, "moto", argv, env, t.TempDir())
	}
	ready := func(ctx context.Context) error {
		// Any HTTP answer will do; a GET here is refused with 400.
		_, _, err := httpStatus(ctx, "GET", endpoint+"/moto-api/reset-auth", nil)
		return err
	}
	p, err := startWithRetry(t, launch, ready)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	m := &MotoServer{
		Endpoint:  endpoint,
		Region:    "us-east-1",
		AccountID: "123456789012",
		python:    python,
	}
	if !checkSignatures {
		return m // no admin user: any request is served
	}
	var keys struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	if err := m.helper(map[string]any{"op": "bootstrap", "user": MotoAdminUser}, &keys); err != nil {
		t.Fatalf("testpeer: bootstrapping moto: %v", p.failure("bootstrap failed", err))
	}
	m.AdminAccessKeyID = keys.AccessKeyID
	m.AdminSecretAccessKey = keys.SecretAccessKey
	return m
}

// motoCommand returns the command prefix that runs moto's server.
func motoCommand(python string) ([]string, error) {
	if path, err := exec.LookPath("moto_server"); err == nil {
		return []string{path}, nil
	}
	if err := pythonImports(python, "moto.server"); err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH and %v", err)
	}
	return []string{python, "-m", "moto.server"}, nil
}

// NewUserKeys creates the IAM user userName with a policy allowing every
// action, and returns a new access key of that user. Requests signed with
// the key are accepted by the server; requests with a wrong signature are
// refused.
func (m *MotoServer) NewUserKeys(t testing.TB, userName string) (accessKeyID, secret string) {
	t.Helper()
	var keys struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
	}
	if err := m.helper(map[string]any{"op": "create_user", "user": userName}, &keys); err != nil {
		t.Fatalf("testpeer: creating moto user %q: %v", userName, err)
	}
	return keys.AccessKeyID, keys.SecretAccessKey
}

// NewRole creates the IAM role roleName, which every principal may assume
// (sts:AssumeRole, sts:TagSession) and whose policy allows every action, and
// returns its ARN.
func (m *MotoServer) NewRole(t testing.TB, roleName string) (roleARN string) {
	t.Helper()
	var role struct {
		ARN string `json:"arn"`
	}
	if err := m.helper(map[string]any{"op": "create_role", "role": roleName}, &role); err != nil {
		t.Fatalf("testpeer: creating moto role %q: %v", roleName, err)
	}
	return role.ARN
}

// CallerIdentity calls STS GetCallerIdentity with boto3 using the given
// credentials (sessionToken may be empty). It returns the caller's ARN, or
// the AWS error code when the server refused the request.
func (m *MotoServer) CallerIdentity(t testing.TB, accessKeyID, secret, sessionToken string) (arn, errorCode string) {
	t.Helper()
	var res struct {
		ARN   string `json:"arn"`
		Error string `json:"error"`
	}
	err := m.helper(map[string]any{
		"op":            "caller_identity",
		"key":           accessKeyID,
		"secret":        secret,
		"session_token": sessionToken,
	}, &res)
	if err != nil {
		t.Fatalf("testpeer: GetCallerIdentity: %v", err)
	}
	return res.ARN, res.Error
}

// helper runs one operation of motoHelperScript and decodes its JSON result.
func (m *MotoServer) helper(req map[string]any, result any) error {
	req["endpoint"] = m.Endpoint
	req["region"] = m.Region
	if _, ok := req["key"]; !ok {
		req["key"] = m.AdminAccessKeyID
		req["secret"] = m.AdminSecretAccessKey
	}
	arg, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := runPython(ctx, m.python, motoHelperScript, IsolatedAWSEnv(), string(arg))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, result); err != nil {
		return fmt.Errorf("decoding %q: %w", out, err)
	}
	return nil
}

// motoHelperScript performs one request against moto with boto3. argv[1] is
// a JSON object naming the operation; the result is printed as JSON.
const motoHelperScript = `
import json, sys, urllib.request
import boto3, botocore.config, botocore.exceptions

req = json.loads(sys.argv[1])
ep, region = req["endpoint"], req["region"]
cfg = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"},
     "Action": ["sts:AssumeRole", "sts:TagSession"]}]})

def client(service, key, secret, token=None):
    return boto3.client(service, endpoint_url=ep, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        aws_session_token=token or None, config=cfg)

def reset_auth(count):
    r = urllib.request.Request(ep + "/moto-api/reset-auth", data=count.encode(),
                               method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(r, timeout=30) as resp:
        resp.read()

def create_user(iam, user):
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
    k = iam.create_access_key(UserName=user)["AccessKey"]
    return {"access_key_id": k["AccessKeyId"], "secret_access_key": k["SecretAccessKey"]}

def caller_identity(key, secret, token=None):
    try:
        return {"arn": client("sts", key, secret, token).get_caller_identity()["Arn"]}
    except botocore.exceptions.ClientError as e:
        return {"error": e.response["Error"]["Code"]}

op = req["op"]
if op == "bootstrap":
    reset_auth("inf")
    try:
        res = create_user(client("iam", "AKIABOOTSTRAP0000000", "bootstrap"), req["user"])
    finally:
        reset_auth("0")
    good = caller_identity(res["access_key_id"], res["secret_access_key"])
    if "arn" not in good:
        sys.exit("admin key refused: %r" % good)
    bad = caller_identity(res["access_key_id"], res["secret_access_key"] + "x")
    if bad.get("error") != "SignatureDoesNotMatch":
        sys.exit("moto does not check signatures: a wrong secret gave %r" % bad)
elif op == "create_user":
    res = create_user(client("iam", req["key"], req["secret"]), req["user"])
elif op == "create_role":
    iam = client("iam", req["key"], req["secret"])
    role = iam.create_role(RoleName=req["role"], AssumeRolePolicyDocument=TRUST_ALL)["Role"]
    iam.put_role_policy(RoleName=req["role"], PolicyName="allow-all", PolicyDocument=ALLOW_ALL)
    res = {"arn": role["Arn"]}
elif op == "caller_identity":
    res = caller_identity(req["key"], req["secret"], req.get("session_token"))
else:
    sys.exit("unknown op %r" % op)
json.dump(res, sys.stdout)
`
