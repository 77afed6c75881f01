package explain

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/go-sql-driver/mysql"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// These tests provoke each refusal from a real server or client, capture
// the text it gives, and feed that text to Read: the wordings are the
// peers', not copies.

// mustRead reads text and checks its kind.
func mustRead(t *testing.T, text string, kind Kind) *Refusal {
	t.Helper()
	r, err := Read(text)
	if err != nil {
		t.Fatalf("Read: %v\ntext: %s", err, text)
	}
	if r.Kind != kind {
		t.Fatalf("kind %s, want %s\ntext: %s", r.Kind, kind, text)
	}
	t.Logf("%s: %s", kind, strings.TrimSpace(text))
	return r
}

// firstCause is the cause ranked first for r.
func firstCause(r *Refusal) string {
	c := Causes(r)
	if len(c) == 0 {
		return ""
	}
	return c[0].Cause
}

func TestPeerPostgresRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	r.AddIAMUser(t, "app")
	psql := func(password, sslmode string) string {
		out, err := r.Psql("app", password, "PGSSLMODE="+sslmode)
		if err == nil {
			t.Fatalf("psql logged in with sslmode=%s: %s", sslmode, out)
		}
		return string(out)
	}

	// A token RDS refuses (here one that is not a token at all).
	ref := mustRead(t, psql("not-a-token", "verify-full"), KindDatabaseLogin)
	d := ref.Database
	if d.Engine != "postgres" || d.User != "app" || d.Reason != "pam" || d.Server != r.Host || d.Port != strconv.Itoa(r.Port) {
		t.Errorf("PAM refusal read as %+v", d)
	}
	causes := Causes(ref)
	if causes[0].Cause != "expired signing credentials" || !strings.Contains(causes[0].Command, "credkit db doctor --host "+r.Host+" --port "+strconv.Itoa(r.Port)+" --user app") {
		t.Errorf("PAM refusal: first cause %+v", causes[0])
	}

	// No TLS: pg_hba.conf refuses before any password.
	ref = mustRead(t, psql("not-a-token", "disable"), KindDatabaseLogin)
	if ref.Database.Reason != "no_encryption" || ref.Database.User != "app" || ref.Database.Database != "postgres" || ref.Database.Host != "127.0.0.1" && ref.Database.Host != "::1" {
		t.Errorf("no encryption read as %+v", ref.Database)
	}
	if got := firstCause(ref); got != "no TLS" {
		t.Errorf("no encryption: first cause %q, want no TLS", got)
	}
}

func TestPeerMariaDBRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := testpeer.FakeRDSMariaDB(t)
	r.AddIAMUser(t, "app")
	client := func(password string, ssl bool) string {
		args := []string{"--no-defaults", "--protocol=TCP", "-h", r.Host, "-P", strconv.Itoa(r.Port), "-u", "app", "--connect-timeout=10", "-e", "SELECT 1"}
		if ssl {
			args = append(args, "--ssl", "--ssl-ca="+r.CAFile, "--ssl-verify-server-cert")
		} else {
			args = append(args, "--skip-ssl")
		}
		cmd := exec.Command("mariadb", args...)
		cmd.Env = testpeer.IsolatedAWSEnv()
		if password != "" {
			cmd.Env = append(cmd.Env, "MYSQL_PWD="+password)
		}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("mariadb logged in: %s", out)
		}
		return string(out)
	}

	// MariaDB's auth_pam answers "using password: NO" even when the
	// client sent a password (here a refused token): Causes says so.
	{
		ref := mustRead(t, client("not-a-token", true), KindDatabaseLogin)
		d := ref.Database
		if d.Engine != "mysql" || d.User != "app" || d.Reason != "no_password" || d.Host == "" || ref.Code != "1045" {
			t.Errorf("1045 read as %+v code %q", d, ref.Code)
		}
		causes := Causes(ref)
		if causes[0].Cause != "no token sent" || !strings.Contains(causes[0].Why, "MariaDB") || causes[1].Cause != "expired signing credentials" {
			t.Errorf("1045 (using password: NO): causes %+v", causes[:2])
		}
	}

	// A user that requires TLS, asked without it: the server takes the
	// token, then refuses with 1045 too.
	ref := mustRead(t, client("not-a-token", false), KindDatabaseLogin)
	if ref.Database.Engine != "mysql" || ref.Code != "1045" {
		t.Errorf("1045 without TLS read as %+v code %q", ref.Database, ref.Code)
	}

	// go-sql-driver/mysql without allowCleartextPasswords refuses the
	// server's switch to mysql_clear_password.
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	if err := mysql.RegisterTLSConfig("explainpeer", &tls.Config{RootCAs: pool, ServerName: r.Host}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", "app:not-a-token@tcp("+r.Endpoint()+")/?tls=explainpeer&timeout=10s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if err == nil {
		t.Fatal("go-sql-driver logged in without allowCleartextPasswords")
	}
	ref = mustRead(t, err.Error(), KindDatabaseLogin)
	if got := firstCause(ref); ref.Database.Reason != "cleartext_plugin" || got != "client will not send the token in cleartext" {
		t.Errorf("cleartext refusal read as %+v, first cause %q", ref.Database, got)
	}
}

// botocoreError calls GetCallerIdentity at endpoint with botocore and
// returns the error text the AWS CLI would print.
func botocoreError(t *testing.T, endpoint, akid, secret string) string {
	t.Helper()
	script := `
import sys, botocore.session
endpoint, akid, secret = sys.argv[1:4]
c = botocore.session.get_session().create_client("sts", region_name="us-east-1", endpoint_url=endpoint,
    aws_access_key_id=akid, aws_secret_access_key=secret)
try:
    c.get_caller_identity()
except Exception as e:
    print(e)
`
	cmd := exec.Command(testpeer.Python(t), "-c", script, endpoint, akid, secret)
	cmd.Env = testpeer.IsolatedAWSEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	return string(out)
}

func TestPeerMotoRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto")
	}
	m := testpeer.Moto(t)

	// A secret that is not the key's (aws-sdk-go-v2 does not read moto's
	// STS error document: it says UnknownError; botocore does).
	ref := mustRead(t, botocoreError(t, m.Endpoint, m.AdminAccessKeyID, m.AdminSecretAccessKey+"x"), KindSignature)
	if ref.Operation != "GetCallerIdentity" || ref.Code != "SignatureDoesNotMatch" {
		t.Errorf("botocore's SignatureDoesNotMatch: operation %q code %q", ref.Operation, ref.Code)
	}
	if got := firstCause(ref); got != "wrong secret key" {
		t.Errorf("SignatureDoesNotMatch without the canonical request: first cause %q", got)
	}

	// A key moto does not know.
	ref = mustRead(t, botocoreError(t, m.Endpoint, "AKIAUNKNOWNEXAMPLE00", "secret"), KindInvalidToken)
	if ref.Code != "InvalidClientTokenId" {
		t.Errorf("unknown key: code %q", ref.Code)
	}
	if got := firstCause(ref); got != "key deleted or inactive" {
		t.Errorf("unknown long-term key: first cause %q", got)
	}
	ref = mustRead(t, botocoreError(t, m.Endpoint, "ASIAUNKNOWNEXAMPLE00", "secret"), KindInvalidToken)
	if ref.Code != "InvalidClientTokenId" || ref.Operation != "GetCallerIdentity" {
		t.Errorf("botocore's unknown key: code %q operation %q", ref.Code, ref.Operation)
	}
}

// minioDo sends a request signed by credkit's signer with o and returns
// MinIO's answer.
func minioDo(t *testing.T, m *testpeer.MinIOServer, c creds.Credentials, o sigv4.Options, presign bool) string {
	t.Helper()
	req, err := http.NewRequest("GET", m.Endpoint+"/explain-bucket/some%20key.txt?list-type=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	var s sigv4.Signer
	o.Service, o.Region = "s3", m.Region
	if presign {
		u, err := s.Presign(req, c, o)
		if err != nil {
			t.Fatal(err)
		}
		if req, err = http.NewRequest("GET", u, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		if o.PayloadHash == "" {
			o.PayloadHash = sigv4.UnsignedPayload
		}
		if err := s.Sign(req, c, o); err != nil {
			t.Fatal(err)
		}
	}
	return refused(t, req)
}

// refused sends req and returns the refusal's text.
func refused(t *testing.T, req *http.Request) string {
	t.Helper()
	code, b := testpeer.Do(t, req)
	if code/100 == 2 {
		t.Fatalf("%s %s accepted: %s", req.Method, req.URL.Redacted(), b)
	}
	return string(b)
}

// makeBucket makes explain-bucket on MinIO.
func makeBucket(t *testing.T, m *testpeer.MinIOServer, c creds.Credentials) {
	t.Helper()
	req, _ := http.NewRequest("PUT", m.Endpoint+"/explain-bucket", nil)
	var s sigv4.Signer
	if err := s.Sign(req, c, sigv4.Options{Service: "s3", Region: m.Region, PayloadHash: sigv4.UnsignedPayload}); err != nil {
		t.Fatal(err)
	}
	if code, b := testpeer.Do(t, req); code != 200 {
		t.Fatalf("make bucket: %d %s", code, b)
	}
}

// postUpload submits the upload form with one more field, extra, and
// returns the refusal.
func postUpload(t *testing.T, form *sigv4.PostForm, extra string) string {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range form.Fields {
		w.WriteField(f.Name, f.Value)
	}
	w.WriteField(extra, "1")
	fw, _ := w.CreateFormFile("file", "a.txt")
	fw.Write([]byte("hello"))
	w.Close()
	req, _ := http.NewRequest("POST", form.URL, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return refused(t, req)
}

func TestPeerMinIORefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	m := testpeer.MinIO(t)
	good := creds.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}

	wrong := good
	wrong.SecretAccessKey += "x"
	ref := mustRead(t, minioDo(t, m, wrong, sigv4.Options{}, false), KindSignature)
	// MinIO's XML names neither the key nor what it signed.
	if ref.Code != "SignatureDoesNotMatch" || firstCause(ref) != "wrong secret key" {
		t.Errorf("MinIO's SignatureDoesNotMatch: code %q, first cause %q", ref.Code, firstCause(ref))
	}

	unknown := creds.Credentials{AccessKeyID: "AKIAUNKNOWNEXAMPLE00", SecretAccessKey: "x"}
	ref = mustRead(t, minioDo(t, m, unknown, sigv4.Options{}, false), KindInvalidToken)
	if ref.Code != "InvalidAccessKeyId" || ref.Token.AccessKeyID != "" && ref.Token.AccessKeyID != unknown.AccessKeyID {
		t.Errorf("unknown key: code %q token %+v", ref.Code, ref.Token)
	}

	// A signing time 20 minutes behind the server's clock.
	signed := time.Now().Add(-20 * time.Minute).UTC().Truncate(time.Second)
	ref = mustRead(t, minioDo(t, m, good, sigv4.Options{Time: signed}, false), KindClockSkew)
	// MinIO gives no times: no skew to compute, the clock leads.
	if c := ref.Clock; c.Wording != "request_time_too_skewed" || ref.Code != "RequestTimeTooSkewed" || firstCause(ref) != "this machine's clock" {
		t.Errorf("skewed: %+v, first cause %q", c, firstCause(ref))
	}

	// A session key sent without its token, and an upload form with a
	// field its policy does not name.
	makeBucket(t, m, good)
	temp := m.AssumeRole(t)
	noToken := temp
	noToken.SessionToken = ""
	ref = mustRead(t, minioDo(t, m, noToken, sigv4.Options{}, false), KindInvalidToken)
	if ref.Code != "InvalidTokenId" || firstCause(ref) != "missing or mismatched session token" {
		t.Errorf("session key without its token: code %q, first cause %q", ref.Code, firstCause(ref))
	}
	var s sigv4.Signer
	form, err := s.PresignPost(sigv4.PostPolicy{Bucket: "explain-bucket", Key: "incoming/", KeyStartsWith: true, Region: m.Region, Endpoint: m.Endpoint, Expires: 5 * time.Minute}, temp)
	if err != nil {
		t.Fatal(err)
	}
	ref = mustRead(t, postUpload(t, form, "x-amz-meta-extra"), KindPostPolicy)
	if p := ref.PostPolicy; p.Reason != "extra_field" || p.Field != "x-amz-meta-extra" || firstCause(ref) != "form field without a condition" {
		t.Errorf("extra form field: %+v, first cause %q", p, firstCause(ref))
	}

	// A presigned URL used after its expiry.
	ref = mustRead(t, minioDo(t, m, good, sigv4.Options{Time: time.Now().Add(-time.Minute), Expires: time.Second}, true), KindClockSkew)
	if c := ref.Clock; c.Wording != "presigned_expired" || firstCause(ref) != "presigned URL used after its expiry" {
		t.Errorf("expired presigned URL: %+v, first cause %q", c, firstCause(ref))
	}
}

// An expired Identity Center sign-in, as botocore (both profile styles)
// and aws-sdk-go-v2's ssocreds say it, from an expired token in the SSO
// cache: nothing is sent.
func TestPeerSDKsExpiredSSO(t *testing.T) {
	home := t.TempDir()
	cache := filepath.Join(home, ".aws", "sso", "cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	const startURL = "https://example.awsapps.com/start"
	config := filepath.Join(home, ".aws", "config")
	if err := os.WriteFile(config, []byte(`[profile legacy]
sso_start_url = `+startURL+`
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Dev

[profile modern]
sso_session = s
sso_account_id = 111122223333
sso_role_name = Dev

[sso-session s]
sso_start_url = `+startURL+`
sso_region = us-east-1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	token := []byte(`{"startUrl": "` + startURL + `", "region": "us-east-1", "accessToken": "expired-access-token", "expiresAt": "2020-01-01T00:00:00Z"}`)
	var files []string
	for _, key := range []string{startURL, "s"} {
		sum := sha1.Sum([]byte(key))
		f := filepath.Join(cache, hex.EncodeToString(sum[:])+".json")
		if err := os.WriteFile(f, token, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}

	script := `
import sys, botocore.session
c = botocore.session.Session(profile=sys.argv[1]).create_client("sts", region_name="us-east-1")
try:
    c.get_caller_identity()
except Exception as e:
    print(e)
`
	for _, profile := range []string{"legacy", "modern"} {
		cmd := exec.Command(testpeer.Python(t), "-c", script, profile)
		cmd.Env = testpeer.IsolatedAWSEnv("HOME="+home, "AWS_CONFIG_FILE="+config)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("botocore: %v\n%s", err, out)
		}
		ref := mustRead(t, string(out), KindExpiredToken)
		if !ref.Token.SSO || firstCause(ref) != "an ended session or SSO sign-in" {
			t.Errorf("botocore, profile %s: %+v, first cause %q", profile, ref.Token, firstCause(ref))
		}
	}

	p := ssocreds.New(nil, "111122223333", "Dev", startURL, func(o *ssocreds.Options) { o.CachedTokenFilepath = files[0] })
	_, err := p.Retrieve(context.Background())
	if err == nil {
		t.Fatal("ssocreds accepted an expired token")
	}
	ref := mustRead(t, err.Error(), KindExpiredToken)
	if !ref.Token.SSO || firstCause(ref) != "an ended session or SSO sign-in" {
		t.Errorf("aws-sdk-go-v2: %+v, first cause %q", ref.Token, firstCause(ref))
	}
}
