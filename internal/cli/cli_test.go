package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testToken  = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/="
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs credkit with args, the given environment (nothing else from
// the real one) and stdin.
func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runAt(t, func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }, env, stdin, args...)
}

// runAt is run with a given clock; tests against real servers use the
// real one.
func runAt(t *testing.T, now func() time.Time, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	home := t.TempDir()
	full := map[string]string{
		"HOME":                        home,
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		// Tests never ask the real instance metadata address.
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, v := range env {
		full[k] = v
	}
	var out, errb bytes.Buffer
	a := &App{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return full[k] },
		Now:    now,
		HTTP:   newHTTPClient(),
		Environ: func() []string {
			var l []string
			for k, v := range full {
				l = append(l, k+"="+v)
			}
			return l
		},
	}
	code := a.Run(context.Background(), args)
	r := result{code, out.String(), errb.String()}
	if leak := secretLeak(args, r.stdout, r.stderr, testSecret, testToken); leak != "" {
		t.Errorf("credkit %s %s:\n%s%s", strings.Join(args, " "), leak, r.stdout, r.stderr)
	}
	return r
}

// secretLeak says where credkit run with args printed one of secrets, or
// "". Secrets go to stdout only from the commands whose job is to hand
// them out (a presigned URL or token carries the session token); never to
// stderr.
func secretLeak(args []string, stdout, stderr string, secrets ...string) string {
	handsOut := len(args) > 0 && slices.Contains([]string{"export", "credential-process", "presign", "db", "exec"}, args[0])
	for _, secret := range secrets {
		switch {
		case secret == "":
		case strings.Contains(stderr, secret):
			return "printed a secret on stderr"
		case !handsOut && strings.Contains(stdout, secret):
			return "printed a secret on stdout"
		}
	}
	return ""
}

func keysEnv() map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": testKeyID, "AWS_SECRET_ACCESS_KEY": testSecret, "AWS_REGION": "us-east-1"}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"malformed request file", "this is not http\n\n", []string{"sign"}, "line 1"},
		{"request without host", "GET / HTTP/1.1\nX-A: b\n\n", []string{"sign"}, "no Host header"},
		{"body shorter than Content-Length", "POST / HTTP/1.1\nHost: sts.us-east-1.amazonaws.com\nContent-Length: 10\n\nabc", []string{"sign"}, "Content-Length says 10"},
		{"host without port", "", []string{"db", "token", "--host", "db.example.com", "--user", "app"}, "has no port"},
		{"region that is no region", "", []string{"db", "token", "--host", "db.example.com", "--port", "5432", "--user", "app", "--region", "us-east-1a"}, `region "us-east-1a"`},
		{"expiry too long", "", []string{"presign", "url", "s3://b/k", "--expires", "8d"}, "--expires"},
		{"expiry past 7 days", "", []string{"presign", "url", "s3://b/k", "--expires", "604801"}, "1 second to 7 days"},
		{"expiry zero", "", []string{"presign", "url", "s3://b/k", "--expires", "0"}, "1 second to 7 days"},
		{"not a presigned URL", "", []string{"token", "inspect", "https://example.com/?a=b"}, "not a presigned URL"},
		{"truncated token", "", []string{"token", "inspect", "db.example.com:5432/?Action=connect&DBUser=app&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2026"}, "not a presigned URL"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", "", []string{"sign", "--frob"}, "unknown flag --frob; run 'credkit sign --help'"},
		{"single-dash long flag", "", []string{"whoami", "-profile", "dev"}, "long flags take two dashes: --profile"},
		{"bad flag value", "", []string{"db", "token", "--host", "h", "--user", "u", "--port", "x"}, `--port "x" is not a whole number`},
		{"missing argument", "", []string{"presign", "url"}, "credkit presign url needs one s3://BUCKET/KEY; run 'credkit presign url --help'"},
		{"extra argument", "", []string{"whoami", "extra"}, `credkit whoami takes no arguments, got "extra"`},
		{"unknown subcommand", "", []string{"db", "tokn"}, `unknown command "tokn" for credkit db (did you mean token?)`},
		{"bad signing time", "GET / HTTP/1.1\nHost: sts.us-east-1.amazonaws.com\n\n", []string{"sign", "--signing-time", "yesterday"}, "RFC3339"},
		{"not an s3 address", "", []string{"presign", "url", "https://b/k"}, "s3://"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, keysEnv(), tc.stdin, tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
				t.Errorf("want a one-line error, got:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout holds %q; a mistake prints nothing there", r.stdout)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
			}
		})
	}
}

func TestSignIsReproducible(t *testing.T) {
	in := "GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\nHost: sts.us-east-1.amazonaws.com\n\n"
	a := run(t, keysEnv(), in, "sign", "--signing-time", "2026-01-02T15:04:05Z")
	b := run(t, keysEnv(), in, "sign", "--signing-time", "2026-01-02T15:04:05Z")
	if a.code != 0 || a.stdout != b.stdout {
		t.Fatalf("exit %d, outputs differ:\n%s\n%s\n%s", a.code, a.stdout, b.stdout, a.stderr)
	}
	for _, want := range []string{"X-Amz-Date: 20260102T150405Z", "Credential=AKIDEXAMPLE/20260102/us-east-1/sts/aws4_request", "SignedHeaders=host;x-amz-date"} {
		if !strings.Contains(a.stdout, want) {
			t.Errorf("signed request lacks %q:\n%s", want, a.stdout)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, args := range [][]string{{"sign", "--help"}, {"curl", "--help"}, {"presign", "url", "--help"}, {"presign", "post", "--help"}, {"db", "token", "--help"}, {"token", "inspect", "--help"}, {"doctor", "--help"}} {
		r := run(t, nil, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "credkit") {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stdout)
		}
	}
}

func TestDoctor(t *testing.T) {
	t.Run("nothing found", func(t *testing.T) {
		r := run(t, nil, "", "doctor", "--offline")
		if r.code != ExitFailure || !strings.Contains(r.stdout, "Credentials: none found") || !strings.Contains(r.stdout, "skipped     environment") {
			t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("environment session credentials shadow AWS_PROFILE", func(t *testing.T) {
		env := keysEnv()
		env["AWS_ACCESS_KEY_ID"] = "ASIAEXAMPLE"
		env["AWS_SESSION_TOKEN"] = testToken
		env["AWS_CREDENTIAL_EXPIRATION"] = "2026-11-22T12:03:00Z"
		env["AWS_PROFILE"] = "dev"
		r := run(t, env, "", "doctor", "--json", "--offline")
		var rep doctorReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if rep.Credentials == nil || rep.Credentials.AccessKeyID != "ASIAEXAMPLE" || rep.Trace.Chosen != "environment" {
			t.Fatalf("credentials %+v trace %+v", rep.Credentials, rep.Trace)
		}
		all := strings.Join(rep.Warnings, "\n")
		for _, want := range []string{"shadows AWS_PROFILE=dev", "cannot refresh", "expire in 3m0s"} {
			if !strings.Contains(all, want) {
				t.Errorf("warnings lack %q:\n%s", want, all)
			}
		}
	})
	t.Run("static profile in the credentials file", func(t *testing.T) {
		home := t.TempDir()
		credFile := filepath.Join(home, "credentials")
		os.WriteFile(credFile, []byte("[dev]\naws_access_key_id = AKIADEVEXAMPLE\naws_secret_access_key = "+testSecret+"\nregion = eu-west-1\n"), 0o600)
		r := run(t, map[string]string{"AWS_SHARED_CREDENTIALS_FILE": credFile, "AWS_PROFILE": "dev"}, "", "doctor", "--offline")
		if r.code != 0 || !strings.Contains(r.stdout, "AKIADEVEXAMPLE") || !strings.Contains(r.stdout, "plaintext") || !strings.Contains(r.stdout, "used        profile dev") {
			t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

func TestExportFormats(t *testing.T) {
	env := keysEnv()
	env["AWS_SESSION_TOKEN"] = "tok'en"
	env["AWS_CREDENTIAL_EXPIRATION"] = "2026-11-22T13:00:00Z"
	for format, want := range map[string]string{
		"env":           "export AWS_SESSION_TOKEN='tok'\\''en'\n",
		"env-no-export": "AWS_ACCESS_KEY_ID=AKIDEXAMPLE\n",
		"fish":          "set -gx AWS_ACCESS_KEY_ID AKIDEXAMPLE\n",
		"powershell":    "$Env:AWS_SESSION_TOKEN = 'tok''en'\n",
		"windows-cmd":   "set AWS_REGION=us-east-1\n",
		"ini":           "[default]\naws_access_key_id = AKIDEXAMPLE\n",
		"process":       `"Version": 1`,
		"json":          `"Expiration": "2026-11-22T13:00:00Z"`,
	} {
		r := run(t, env, "", "export", "--format", format)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("%s: exit %d\n%s\nwant %q\n%s", format, r.code, r.stdout, want, r.stderr)
		}
	}
	// The shell form evaluates back to the same values.
	r := run(t, env, "", "export", "--format", "env")
	out, err := exec.Command("sh", "-c", r.stdout+`printf '%s|%s' "$AWS_SESSION_TOKEN" "$AWS_SECRET_ACCESS_KEY"`).Output()
	if err != nil || string(out) != "tok'en|"+testSecret {
		t.Errorf("sh read back %q: %v", out, err)
	}
	if r := run(t, env, "", "export", "--format", "yaml"); r.code != ExitUsage {
		t.Errorf("unknown format: exit %d", r.code)
	}
}

func TestTokenInspectAndVerify(t *testing.T) {
	env := keysEnv()
	env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"] = "ASIAEXAMPLE", testToken
	tok := run(t, env, "", "db", "token", "--host", "db.example.com", "--port", "5432", "--user", "app", "--signing-time", "2026-11-22T11:55:00Z")
	if tok.code != 0 {
		t.Fatalf("db token: %d %s", tok.code, tok.stderr)
	}
	r := run(t, env, tok.stdout, "token", "inspect", "--verify", "--json")
	var in inspection
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if r.code != 0 || in.Verified == nil || !*in.Verified || in.DBUser != "app" || !in.SessionToken || in.SecondsLeft != 600 || in.KeyType != "temporary key of an STS session" {
		t.Errorf("exit %d: %+v", r.code, in)
	}
	// Other credentials: verification says which key signed it.
	other := keysEnv()
	r = run(t, other, tok.stdout, "token", "inspect", "--verify")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "signed with ASIAEXAMPLE") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Expired: 16 minutes after signing.
	old := run(t, env, "", "db", "token", "--host", "db.example.com", "--port", "5432", "--user", "app", "--signing-time", "2026-11-22T11:44:00Z")
	r = run(t, env, old.stdout, "token", "inspect", "--verify")
	if r.code != ExitFailure || !strings.Contains(r.stdout, "EXPIRED 1m0s ago") || !strings.Contains(r.stderr, "expired") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestPresignPostFormats(t *testing.T) {
	env := keysEnv()
	env["AWS_SESSION_TOKEN"] = testToken
	r := run(t, env, "", "presign", "post", "s3://uploads/incoming/", "--content-length-range", "1:1024", "--signing-time", "2026-11-22T12:00:00Z")
	var form struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
		Policy struct {
			Conditions []any `json:"conditions"`
		} `json:"policy"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &form); err != nil {
		t.Fatalf("%v\n%s%s", err, r.stdout, r.stderr)
	}
	if form.URL != "https://uploads.s3.us-east-1.amazonaws.com/" || form.Fields["key"] != "incoming/${filename}" || form.Fields["x-amz-security-token"] != testToken {
		t.Errorf("form %+v", form)
	}
	cond, _ := json.Marshal(form.Policy.Conditions)
	if !strings.Contains(string(cond), `{"x-amz-security-token":"`+strings.ReplaceAll(testToken, "+", `\u002b`)) && !strings.Contains(string(cond), `"x-amz-security-token"`) {
		t.Errorf("policy lacks the session token condition: %s", cond)
	}
	h := run(t, env, "", "presign", "post", "s3://uploads/incoming/", "--format", "html")
	if !strings.Contains(h.stdout, `<form action="https://uploads.s3.us-east-1.amazonaws.com/" method="post" enctype="multipart/form-data">`) || !strings.Contains(h.stdout, `name="x-amz-signature"`) {
		t.Errorf("html:\n%s", h.stdout)
	}
	if strings.Index(h.stdout, `type="file"`) < strings.Index(h.stdout, `name="policy"`) {
		t.Error("the file input must come after the signed fields")
	}
}

func TestPresignURLWarnsWhenSessionEndsFirst(t *testing.T) {
	env := keysEnv()
	env["AWS_SESSION_TOKEN"] = testToken
	env["AWS_CREDENTIAL_EXPIRATION"] = "2026-11-22T12:30:00Z"
	r := run(t, env, "", "presign", "url", "s3://b/k", "--expires", "2h")
	if r.code != 0 || !strings.Contains(r.stderr, "expire at 2026-11-22T12:30:00Z") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	u, err := url.Parse(strings.TrimSpace(r.stdout))
	if err != nil || u.Query().Get("X-Amz-Expires") != "7200" {
		t.Errorf("url %q: %v", r.stdout, err)
	}
}
