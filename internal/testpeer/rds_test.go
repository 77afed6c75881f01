package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

// botocoreToken makes a token with botocore's generate_db_auth_token.
func botocoreToken(t *testing.T, r *FakeRDS, host string, port int, user, akid, secret, session string) string {
	t.Helper()
	py := Python(t)
	script := `
import sys, botocore.session
akid, secret, tok, host, port, user, region = sys.argv[1:8]
c = botocore.session.get_session().create_client("rds", region_name=region,
    aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=tok or None)
print(c.generate_db_auth_token(host, int(port), user, Region=region))
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := runPython(ctx, py, script, IsolatedAWSEnv(), akid, secret, session, host, strconv.Itoa(port), user, r.Region)
	if err != nil {
		t.Fatalf("botocore token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// psqlLogin logs in as user with password over TLS verified against the CA
// and returns psql's combined output and error.
func psqlLogin(t *testing.T, r *FakeRDS, user, password, sslmode string) (string, error) {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-At", "-h", r.Host, "-p", strconv.Itoa(r.Port), "-U", user, "-d", "postgres",
		"-c", "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()")
	cmd.Env = append(IsolatedAWSEnv(), "PGPASSWORD="+password, "PGSSLMODE="+sslmode, "PGSSLROOTCERT="+r.CAFile, "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func fakeSessionCreds(n int) (akid, secret, session string) {
	akid = fmt.Sprintf("ASIAFAKERDS%09d", n)
	secret = fmt.Sprintf("fake/rds/secret/%d/abcdefghijklmnopqrstuvwxyz", n)
	session = strings.Repeat(fmt.Sprintf("FwoGZXIvYXdzE%d", n), 60) // over 1 KB, like STS session tokens
	return
}

func TestFakeRDSPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := FakeRDSPostgres(t)
	r.AddIAMUser(t, "iam_user")
	r.AddIAMUser(t, "other_user")
	akid, secret, session := fakeSessionCreds(1)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))
	expAKID, expSecret, expSession := fakeSessionCreds(2)
	r.Trust(expAKID, expSecret, expSession, time.Now().Add(-time.Second))

	good := botocoreToken(t, r, r.Host, r.Port, "iam_user", akid, secret, session)
	if len(good) < 1024 {
		t.Fatalf("session token is only %d bytes; the test wants one over 1 KB", len(good))
	}
	out, err := psqlLogin(t, r, "iam_user", good, "verify-full")
	if err != nil || strings.TrimSpace(out) != "iam_user|t" {
		t.Fatalf("botocore token refused: %v\n%s\n%s", err, out, r.ServerLog())
	}

	// Without TLS: RDS's refusal, before any password is asked for.
	out, err = psqlLogin(t, r, "iam_user", good, "disable")
	if err == nil || !strings.Contains(out, "no encryption") {
		t.Fatalf("login without TLS: %v\n%s", err, out)
	}

	flipped := []byte(good)
	i := bytes.Index(flipped, []byte("X-Amz-Signature=")) + len("X-Amz-Signature=")
	if flipped[i] == 'a' {
		flipped[i] = 'b'
	} else {
		flipped[i] = 'a'
	}
	refused := map[string]string{
		"one byte changed":    string(flipped),
		"for another user":    botocoreToken(t, r, r.Host, r.Port, "other_user", akid, secret, session),
		"for another port":    botocoreToken(t, r, r.Host, r.Port+1, "iam_user", akid, secret, session),
		"expired credentials": botocoreToken(t, r, r.Host, r.Port, "iam_user", expAKID, expSecret, expSession),
		"untrusted key":       botocoreToken(t, r, r.Host, r.Port, "iam_user", "AKIAUNTRUSTED0000000", secret, ""),
		"another secret":      botocoreToken(t, r, r.Host, r.Port, "iam_user", akid, secret+"x", session),
		"another session":     botocoreToken(t, r, r.Host, r.Port, "iam_user", akid, secret, session+"x"),
		"not a token at all":  "hunter2",
	}
	for name, tok := range refused {
		out, err := psqlLogin(t, r, "iam_user", tok, "verify-full")
		if err == nil || !strings.Contains(out, `PAM authentication failed for user "iam_user"`) {
			t.Errorf("%s: want PAM authentication failed, got %v\n%s", name, err, out)
		}
	}
	ok, bad := countLogins(t, r)
	if ok != 1 || bad < 7 {
		t.Errorf("verifier decided %d accepted and %d refused logins; want 1 and at least 7: %+v", ok, bad, r.Logins(t))
	}
}

// mariadbLogin logs in as user with password over TLS verified against the
// CA (MariaDB's client allows the cleartext plugin by default) and returns the client's combined output.
func mariadbLogin(t *testing.T, r *FakeRDS, user, password string, ssl bool) (string, error) {
	t.Helper()
	args := []string{"--no-defaults", "--protocol=TCP", "-h", r.Host, "-P", strconv.Itoa(r.Port), "-u", user,
		"--connect-timeout=10", "-N", "-B", "-e", "SELECT CURRENT_USER(), @@have_ssl"}
	if ssl {
		args = append(args, "--ssl", "--ssl-ca="+r.CAFile, "--ssl-verify-server-cert")
	} else {
		args = append(args, "--skip-ssl")
	}
	cmd := exec.Command("mariadb", args...)
	// MYSQL_PWD keeps the token out of argv.
	cmd.Env = append(IsolatedAWSEnv(), "MYSQL_PWD="+password)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestFakeRDSMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := FakeRDSMariaDB(t)
	r.AddIAMUser(t, "iam_user")
	r.AddIAMUser(t, "other_user")
	akid, secret, session := fakeSessionCreds(3)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))
	expAKID, expSecret, expSession := fakeSessionCreds(4)
	r.Trust(expAKID, expSecret, expSession, time.Now().Add(-time.Second))

	good := botocoreToken(t, r, r.Host, r.Port, "iam_user", akid, secret, session)
	out, err := mariadbLogin(t, r, "iam_user", good, true)
	if err != nil || !strings.Contains(out, "iam_user@%\tYES") {
		t.Fatalf("botocore token refused: %v\n%s\n%s", err, out, r.ServerLog())
	}
	out, err = mariadbLogin(t, r, "iam_user", good, false)
	if err == nil || !strings.Contains(out, "1045") {
		t.Fatalf("login without TLS: %v\n%s", err, out)
	}
	flipped := []byte(good)
	i := bytes.Index(flipped, []byte("X-Amz-Signature=")) + len("X-Amz-Signature=")
	flipped[i] ^= 1
	refused := map[string]string{
		"one byte changed":    string(flipped),
		"for another user":    botocoreToken(t, r, r.Host, r.Port, "other_user", akid, secret, session),
		"for another port":    botocoreToken(t, r, r.Host, r.Port+1, "iam_user", akid, secret, session),
		"expired credentials": botocoreToken(t, r, r.Host, r.Port, "iam_user", expAKID, expSecret, expSession),
	}
	for name, tok := range refused {
		out, err := mariadbLogin(t, r, "iam_user", tok, true)
		if err == nil || !strings.Contains(out, "ERROR 1045") {
			t.Errorf("%s: want ERROR 1045, got %v\n%s", name, err, out)
		}
	}
	ok, bad := countLogins(t, r)
	// The login without TLS reached PAM and passed it before REQUIRE SSL
	// refused it: like RDS MySQL, the server reads the cleartext token
	// first, so keeping it off plain connections is the client's job.
	if ok != 2 || bad != len(refused) {
		t.Errorf("verifier decided %d accepted and %d refused logins; want 2 and %d: %+v", ok, bad, len(refused), r.Logins(t))
	}
}

// credkitToken makes a token with credkit's rdsauth.
func credkitToken(t *testing.T, r *FakeRDS, user string, c creds.Credentials) string {
	t.Helper()
	tok, err := rdsauth.BuildToken(rdsauth.Request{Endpoint: r.Endpoint(), Region: r.Region, User: user}, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestFakeRDSAcceptsCredkitTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and MariaDB")
	}
	akid, secret, session := fakeSessionCreds(5)
	longTerm := creds.Credentials{AccessKeyID: "AKIAFAKERDS000000005", SecretAccessKey: "long/term/secret/5"}
	temp := creds.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: session, Expires: time.Now().Add(time.Hour)}
	for _, start := range []func(testing.TB) *FakeRDS{FakeRDSPostgres, FakeRDSMariaDB} {
		r := start(t)
		t.Run(r.Engine, func(t *testing.T) {
			r.AddIAMUser(t, "app")
			r.Trust(longTerm.AccessKeyID, longTerm.SecretAccessKey, "", time.Time{})
			r.Trust(temp.AccessKeyID, temp.SecretAccessKey, temp.SessionToken, temp.Expires)
			for _, c := range []creds.Credentials{longTerm, temp} {
				tok := credkitToken(t, r, "app", c)
				var out string
				var err error
				if r.Engine == "postgres" {
					out, err = psqlLogin(t, r, "app", tok, "verify-full")
				} else {
					out, err = mariadbLogin(t, r, "app", tok, true)
				}
				if err != nil || !strings.Contains(out, "app") {
					t.Errorf("credkit token of %s refused: %v\n%s", c.AccessKeyID, err, out)
				}
			}
		})
	}
}

// countLogins counts the verifier's accepted and refused logins.
func countLogins(t *testing.T, r *FakeRDS) (ok, bad int) {
	t.Helper()
	for _, l := range r.Logins(t) {
		if l.OK {
			ok++
		} else {
			bad++
		}
	}
	return ok, bad
}
