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
	var ok, bad int
	for _, l := range r.Logins(t) {
		if l.OK {
			ok++
		} else {
			bad++
		}
	}
	if ok != 1 || bad < 7 {
		t.Errorf("verifier decided %d accepted and %d refused logins; want 1 and at least 7: %+v", ok, bad, r.Logins(t))
	}
}
