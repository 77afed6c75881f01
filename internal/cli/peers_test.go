package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// moto_server with signature checks on is the judge here.
func TestCurlAgainstMoto(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "alice")
	// POST with a form body, as the SDKs send STS calls. (moto's signature
	// check rebuilds GET requests with their query as a body, so it cannot
	// judge a GET.)
	form := []string{"--service", "sts", "-H", "Content-Type: application/x-www-form-urlencoded", "-d", "Action=GetCallerIdentity&Version=2011-06-15", m.Endpoint + "/"}
	env := map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1"}

	r := run(t, env, "", append([]string{"curl"}, form...)...)
	if r.code != 0 || !strings.Contains(r.stdout, ":user/alice</Arn>") {
		t.Fatalf("right secret: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	env["AWS_SECRET_ACCESS_KEY"] = secret + "x"
	r = run(t, env, "", append([]string{"curl"}, form...)...)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, secret) {
		t.Fatal("the secret reached stderr")
	}

	env["AWS_SECRET_ACCESS_KEY"] = "anything"
	env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNEXAMPLE"
	r = run(t, env, "", append([]string{"curl"}, form...)...)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "InvalidClientTokenId") {
		t.Fatalf("unknown key: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// POST with a form body, -v shows the signed request without secrets.
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = id, secret
	r = run(t, env, "", "curl", "-v", "--service", "sts", "-H", "Content-Type: application/x-www-form-urlencoded", "-d", "Action=GetCallerIdentity&Version=2011-06-15", m.Endpoint+"/")
	if r.code != 0 || !strings.Contains(r.stdout, ":user/alice</Arn>") || !strings.Contains(r.stderr, "> Authorization: AWS4-HMAC-SHA256") {
		t.Fatalf("POST: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// The output of credkit sign, sent byte for byte over TCP, is accepted.
func TestSignOutputIsSendable(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "bob")
	u, _ := url.Parse(m.Endpoint)
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	in := fmt.Sprintf("POST / HTTP/1.1\nHost: %s\nContent-Type: application/x-www-form-urlencoded\n\n%s\n", u.Host, body)
	r := run(t, map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret}, in, "sign", "--service", "sts", "--region", "us-east-1")
	if r.code != 0 {
		t.Fatalf("sign: %d %s", r.code, r.stderr)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, r.stdout)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), ":user/bob</Arn>") {
		t.Fatalf("%d %s\nrequest:\n%s", resp.StatusCode, b, r.stdout)
	}
}

// credkit presign url equals botocore's generate_presigned_url for the
// same object, credentials and frozen time.
func TestPresignURLMatchesBotocore(t *testing.T) {
	py := testpeer.Python(t)
	script := `
import datetime, json, sys
import botocore.auth, botocore.session
from botocore.config import Config
spec = json.load(sys.stdin)
frozen = datetime.datetime.strptime(spec["time"], "%Y-%m-%dT%H:%M:%SZ")
botocore.auth.get_current_datetime = lambda *a, **k: frozen
s = botocore.session.get_session()
s.set_credentials(spec["akid"], spec["secret"], spec["token"] or None)
c = s.create_client("s3", region_name=spec["region"], endpoint_url=spec["endpoint"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
sys.stdout.write(c.generate_presigned_url(spec["op"], Params={"Bucket": spec["bucket"], "Key": spec["key"]}, ExpiresIn=spec["expires"]))
`
	for _, tc := range []struct{ op, method, key, token string }{
		{"get_object", "GET", "reports/2026/q4 summary (final).pdf", ""},
		{"put_object", "PUT", "uploads/a+b=c&d~e.bin", testToken},
	} {
		t.Run(tc.op, func(t *testing.T) {
			spec := fmt.Sprintf(`{"akid":%q,"secret":%q,"token":%q,"region":"eu-west-2","endpoint":"http://127.0.0.1:9000","bucket":"my-bucket","key":%q,"op":%q,"expires":3600,"time":"2026-11-22T12:00:00Z"}`,
				testKeyID, testSecret, tc.token, tc.key, tc.op)
			cmd := exec.Command(py, "-c", script)
			cmd.Env = testpeer.IsolatedAWSEnv()
			cmd.Stdin = strings.NewReader(spec)
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("botocore: %v\n%s", err, ee.Stderr)
				}
				t.Fatal(err)
			}
			env := map[string]string{"AWS_ACCESS_KEY_ID": testKeyID, "AWS_SECRET_ACCESS_KEY": testSecret, "AWS_SESSION_TOKEN": tc.token}
			r := run(t, env, "", "presign", "url", "s3://my-bucket/"+tc.key, "--method", tc.method, "--expires", "1h",
				"--region", "eu-west-2", "--endpoint-url", "http://127.0.0.1:9000", "--signing-time", "2026-11-22T12:00:00Z")
			if r.code != 0 {
				t.Fatalf("credkit: %d %s", r.code, r.stderr)
			}
			want, _ := url.Parse(string(out))
			got, _ := url.Parse(strings.TrimSpace(r.stdout))
			if got.Host != want.Host || got.EscapedPath() != want.EscapedPath() {
				t.Errorf("object address %s%s, botocore %s%s", got.Host, got.EscapedPath(), want.Host, want.EscapedPath())
			}
			if g, w := got.Query().Encode(), want.Query().Encode(); g != w {
				t.Errorf("query parameters differ\n got: %s\nwant: %s", g, w)
			}
		})
	}
}
