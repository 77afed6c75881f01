package rdsauth

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// botocoreToken runs botocore's generate_db_auth_token with its clock
// frozen at t. Credentials reach Python through its stdin, never argv.
func botocoreToken(t *testing.T, host string, port int, region, user string, c creds.Credentials, at time.Time) string {
	t.Helper()
	py := testpeer.Python(t)
	script := `
import datetime, json, sys
import botocore.auth, botocore.session
spec = json.load(sys.stdin)
frozen = datetime.datetime.strptime(spec["time"], "%Y-%m-%dT%H:%M:%SZ")
botocore.auth.get_current_datetime = lambda *a, **k: frozen
s = botocore.session.get_session()
s.set_credentials(spec["akid"], spec["secret"], spec["token"] or None)
client = s.create_client("rds", region_name=spec["region"])
sys.stdout.write(client.generate_db_auth_token(spec["host"], spec["port"], spec["user"], Region=spec["region"]))
`
	spec := fmt.Sprintf(`{"akid":%q,"secret":%q,"token":%q,"region":%q,"host":%q,"port":%d,"user":%q,"time":%q}`,
		c.AccessKeyID, c.SecretAccessKey, c.SessionToken, region, host, port, user, at.UTC().Format("2006-01-02T15:04:05Z"))
	cmd := exec.Command(py, "-c", script)
	cmd.Env = testpeer.IsolatedAWSEnv()
	cmd.Stdin = strings.NewReader(spec)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("botocore: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("botocore: %v", err)
	}
	return string(out)
}

func TestTokenEqualsBotocore(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 30, 15, 0, time.UTC)
	long := creds.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	temp := creds.Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
		SessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with+slashes=="}
	cases := []struct {
		name   string
		host   string
		port   int
		region string
		user   string
		c      creds.Credentials
	}{
		{"long-term keys", "mydb.abc123.us-east-1.rds.amazonaws.com", 5432, "us-east-1", "app_user", long},
		{"session token is signed", "mydb.abc123.eu-west-2.rds.amazonaws.com", 3306, "eu-west-2", "iam_admin", temp},
		{"user needing encoding", "proxy-1.proxy-abc.us-west-2.rds.amazonaws.com", 5432, "us-west-2", "user@example.com+ops", temp},
		{"gov region", "db.cluster-xyz.us-gov-west-1.rds.amazonaws.com", 1521, "us-gov-west-1", "u", long},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := botocoreToken(t, tc.host, tc.port, tc.region, tc.user, tc.c, at)
			got, err := BuildToken(Request{Endpoint: fmt.Sprintf("%s:%d", tc.host, tc.port), Region: tc.region, User: tc.user, Time: at}, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("token differs from botocore's\n got: %s\nwant: %s", got, want)
			}
			// The form RDS expects: host:port/?Action=connect...
			prefix := fmt.Sprintf("%s:%d/?Action=connect&DBUser=", tc.host, tc.port)
			if !strings.HasPrefix(got, prefix) {
				t.Errorf("token %q does not start with %q", got, prefix)
			}
			u, err := url.Parse("https://" + got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("X-Amz-Expires") != "900" || q.Get("DBUser") != tc.user {
				t.Errorf("expires %q user %q", q.Get("X-Amz-Expires"), q.Get("DBUser"))
			}
			if (q.Get("X-Amz-Security-Token") != "") != tc.c.Temporary() {
				t.Errorf("session token presence wrong in %s", got)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	good := map[string]string{
		"db.example.com:5432":             "db.example.com:5432",
		"https://db.example.com:5432":     "db.example.com:5432",
		"postgres://db.example.com:5432/": "db.example.com:5432",
		"[::1]:3306":                      "[::1]:3306",
	}
	for in, want := range good {
		got, err := Endpoint(in)
		if err != nil || got != want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "db.example.com", "db.example.com:", "db.example.com:0", "db.example.com:70000", ":5432", "db.example.com:5432/mydb",
		"postgres://app:S3cretPassw0rd@db.example.com/mydb", "app:S3cretPassw0rd@db.example.com"} {
		_, err := Endpoint(bad)
		if !errors.Is(err, ErrEndpoint) {
			t.Errorf("Endpoint(%q) = %v, want ErrEndpoint", bad, err)
		} else if strings.Contains(err.Error(), "S3cretPassw0rd") {
			t.Errorf("Endpoint(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestTokenRejectsBadInput(t *testing.T) {
	c := creds.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
	for name, r := range map[string]Request{
		"no port":      {Endpoint: "db.example.com", Region: "us-east-1", User: "u"},
		"bad region":   {Endpoint: "db.example.com:5432", Region: "us-east-1a", User: "u"},
		"no region":    {Endpoint: "db.example.com:5432", User: "u"},
		"no user":      {Endpoint: "db.example.com:5432", Region: "us-east-1"},
		"upper region": {Endpoint: "db.example.com:5432", Region: "US-EAST-1", User: "u"},
		"display name": {Endpoint: "db.example.com:5432", Region: "N. Virginia", User: "u"},
	} {
		if tok, err := BuildToken(r, c); err == nil {
			t.Errorf("%s: token %q, want an error", name, tok)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error carries the secret: %v", name, err)
		}
	}
	if _, err := BuildToken(Request{Endpoint: "db:5432", Region: "us-east-1", User: "u"}, creds.Credentials{}); !errors.Is(err, sigv4.ErrNoCredentials) {
		t.Errorf("no credentials: %v", err)
	}
}

// A token verifies with credkit's verifier until it expires, and not after.
func TestTokenVerifiesUntilExpiry(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := creds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "tok"}
	tok, err := BuildToken(Request{Endpoint: "db.example.com:5432", Region: "us-east-1", User: "app", Time: at}, c)
	if err != nil {
		t.Fatal(err)
	}
	signed, _, err := sigv4.ParseURL(tok)
	if err != nil {
		t.Fatal(err)
	}
	if signed.Service != Service || signed.Expiry() != at.Add(Lifetime) || signed.Host != "db.example.com:5432" {
		t.Errorf("parsed %+v", signed)
	}
}
