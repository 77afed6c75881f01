package cli

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestInferScope(t *testing.T) {
	for host, want := range map[string][2]string{
		"sts.us-east-1.amazonaws.com":                      {"sts", "us-east-1"},
		"sts.amazonaws.com":                                {"sts", "us-east-1"},
		"iam.amazonaws.com:443":                            {"iam", "us-east-1"},
		"bucket.s3.eu-west-2.amazonaws.com":                {"s3", "eu-west-2"},
		"bucket.s3.dualstack.us-west-2.amazonaws.com":      {"s3", "us-west-2"},
		"s3-us-west-2.amazonaws.com":                       {"s3", "us-west-2"},
		"bucket.s3.amazonaws.com":                          {"s3", "us-east-1"},
		"sts-fips.us-east-1.amazonaws.com":                 {"sts", "us-east-1"},
		"ap-1234.s3-object-lambda.us-east-1.amazonaws.com": {"s3-object-lambda", "us-east-1"},
		"abc123.execute-api.eu-central-1.amazonaws.com":    {"execute-api", "eu-central-1"},
		"dynamodb.cn-north-1.amazonaws.com.cn":             {"dynamodb", "cn-north-1"},
		"mydb.abc123.us-east-1.rds.amazonaws.com":          {"", "us-east-1"},
		"example.com":    {"", ""},
		"127.0.0.1:9000": {"", ""},
	} {
		s, r := inferScope(host)
		if s != want[0] || r != want[1] {
			t.Errorf("inferScope(%q) = %q, %q; want %q, %q", host, s, r, want[0], want[1])
		}
	}
}

func TestRawRequestBodyKeepsBlankLines(t *testing.T) {
	req, body, err := parseRawRequest([]byte("POST / HTTP/1.1\nHost: sts.us-east-1.amazonaws.com\n\nline1\r\n\r\nline2"), "https")
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "line1\r\n\r\nline2" || req.ContentLength != int64(len(body)) {
		t.Errorf("body %q", body)
	}
}

// A redirect would carry the session token to another host; curl stops.
func TestCurlDoesNotFollowRedirects(t *testing.T) {
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("X-Amz-Security-Token"))
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	}))
	defer first.Close()
	env := keysEnv()
	env["AWS_SESSION_TOKEN"] = testToken
	a := run(t, env, "", "curl", "--service", "sts", first.URL+"/")
	if len(leaked) != 0 {
		t.Fatalf("the redirect target received the request (token %q)", leaked)
	}
	if a.code != 0 {
		t.Errorf("a 302 is an answer, not a failure: exit %d %s", a.code, a.stderr)
	}
}

func TestDBTokenPrefersTheHostRegion(t *testing.T) {
	env := keysEnv() // AWS_REGION=us-east-1
	r := run(t, env, "", "db", "token", "--host", "mydb.abc.eu-west-1.rds.amazonaws.com", "--port", "5432", "--user", "app")
	if r.code != 0 || !strings.Contains(r.stdout, "%2Feu-west-1%2Frds-db%2F") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, env, "", "db", "token", "--host", "mydb.abc.eu-west-1.rds.amazonaws.com", "--port", "5432", "--user", "app", "--region", "us-east-1")
	if r.code != 0 || !strings.Contains(r.stderr, "host name says eu-west-1") {
		t.Errorf("no warning for a region other than the host's: %s", r.stderr)
	}
	r = run(t, env, "", "db", "token", "--host", "postgres://app:S3cretPassw0rd@db.example.com/mydb", "--user", "app")
	if r.code != ExitUsage || strings.Contains(r.stderr, "S3cretPassw0rd") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
}

// sign --presign and presign url agree for the same S3 object: both sign
// UNSIGNED-PAYLOAD, as S3 expects.
func TestSignPresignS3MatchesPresignURL(t *testing.T) {
	in := "GET /report.pdf HTTP/1.1\nHost: bucket.s3.eu-west-2.amazonaws.com\n\n"
	a := run(t, keysEnv(), in, "sign", "--presign", "--expires", "1h", "--signing-time", "2026-11-22T12:00:00Z")
	b := run(t, keysEnv(), "", "presign", "url", "s3://bucket/report.pdf", "--region", "eu-west-2", "--expires", "1h", "--signing-time", "2026-11-22T12:00:00Z")
	ua, _ := url.Parse(strings.TrimSpace(a.stdout))
	ub, _ := url.Parse(strings.TrimSpace(b.stdout))
	if a.code != 0 || b.code != 0 || ua == nil || ub == nil || ua.Query().Get("X-Amz-Signature") != ub.Query().Get("X-Amz-Signature") {
		t.Errorf("sign --presign:\n%s%s\npresign url:\n%s%s", a.stdout, a.stderr, b.stdout, b.stderr)
	}
}

func TestDoctorUnknownProfileIsBadInput(t *testing.T) {
	r := run(t, nil, "", "doctor", "--profile", "nosuch")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestTokenInspectCannotVerifyWithoutCredentials(t *testing.T) {
	tok := run(t, keysEnv(), "", "db", "token", "--host", "db.example.com", "--port", "5432", "--user", "app")
	r := run(t, map[string]string{}, tok.stdout, "token", "inspect", "--verify")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "cannot verify") || strings.Contains(r.stdout+r.stderr, "NOT VALID") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
