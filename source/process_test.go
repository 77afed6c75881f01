package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/credkit/credkit/creds"
)

const (
	procKeyID     = "AKIAEXAMPLEPROCESS"
	procSecretKey = "procSECRETwJalrXUtnFEMI/K7MDENG/bPxR"
	procSessToken = "procSESSIONFQoGZXIvYXdzEPT//////////"
	procArgSecret = "procARGsecret-hunter2"
)

// script writes an executable /bin/sh script and returns the
// credential_process command that runs it (its path shell-quoted, then
// args).
func script(t *testing.T, name, body string, args ...string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the helper programs are /bin/sh scripts")
	}
	dir := filepath.Join(t.TempDir(), "bin dir") // a space, which the command must quote
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return strings.Join(append([]string{"'" + path + "'"}, args...), " ")
}

// printJSON is a script body that prints v as JSON.
func printJSON(v any) string {
	b, _ := json.Marshal(v)
	return "cat <<'EOF'\n" + string(b) + "\nEOF"
}

func TestProcessRetrieve(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	full := map[string]any{
		"Version": 1, "AccessKeyId": procKeyID, "SecretAccessKey": procSecretKey,
		"SessionToken": procSessToken, "Expiration": "2025-03-01T13:00:00Z", "AccountId": "210987654321",
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range full {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		body    string
		args    []string
		opts    ProcessOptions
		check   func(t *testing.T, c creds.Credentials)
		err     []string
		errIs   error
		maxTime time.Duration
	}{
		{
			name: "all keys",
			body: printJSON(full),
			check: func(t *testing.T, c creds.Credentials) {
				want := creds.Credentials{AccessKeyID: procKeyID, SecretAccessKey: procSecretKey, SessionToken: procSessToken,
					Expires: time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC), AccountID: "210987654321", Source: "credential_process (program get-creds)"}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %#v, want %#v", c, want)
				}
			},
		},
		{
			name: "long-term keys without expiry",
			body: printJSON(map[string]any{"Version": 1, "AccessKeyId": procKeyID, "SecretAccessKey": procSecretKey}),
			check: func(t *testing.T, c creds.Credentials) {
				if c.CanExpire() || c.SessionToken != "" || c.AccountID != "" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "null Expiration means no expiry",
			body: printJSON(with("Expiration", json.RawMessage("null"))),
			check: func(t *testing.T, c creds.Credentials) {
				if c.CanExpire() {
					t.Errorf("Expires = %v", c.Expires)
				}
			},
		},
		{
			name: "account id from the profile when the output has none",
			body: printJSON(with("AccountId", nil)),
			opts: ProcessOptions{AccountID: "111122223333"},
			check: func(t *testing.T, c creds.Credentials) {
				if c.AccountID != "111122223333" {
					t.Errorf("AccountID = %q", c.AccountID)
				}
			},
		},
		{
			name: "arguments split like shlex, no shell",
			body: `[ "$#" = 3 ] && [ "$1" = "--profile" ] && [ "$2" = 'my role' ] && [ "$3" = '$HOME' ] || { echo "args: $*" >&2; exit 9; }
` + printJSON(full),
			args: []string{"--profile", `"my role"`, `'$HOME'`},
		},
		{
			name: "environment inherited plus Env",
			body: `[ -n "$PATH" ] || exit 8
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","AccountId":"%s"}' "` + procKeyID + `" "` + procSecretKey + `" "$CREDKIT_TEST_ACCOUNT"`,
			opts: ProcessOptions{Env: []string{"CREDKIT_TEST_ACCOUNT=444455556666"}},
			check: func(t *testing.T, c creds.Credentials) {
				if c.AccountID != "444455556666" {
					t.Errorf("AccountID = %q", c.AccountID)
				}
			},
		},
		{
			name: "stdin given",
			body: `read code
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","AccountId":"%s"}' "` + procKeyID + `" "` + procSecretKey + `" "$code"`,
			opts: ProcessOptions{Stdin: strings.NewReader("123456\n")},
			check: func(t *testing.T, c creds.Credentials) {
				if c.AccountID != "123456" {
					t.Errorf("AccountID = %q, want what stdin said", c.AccountID)
				}
			},
		},
		{
			name:    "a background child keeps stdout open after a successful exit",
			body:    printJSON(full) + "\nsleep 2 &",
			maxTime: 1800 * time.Millisecond,
		},
		{
			name:  "not JSON",
			body:  `echo "AccessKeyId=` + procKeyID + ` SecretAccessKey=` + procSecretKey + `"`,
			errIs: ErrProcessOutput,
			err:   []string{"credential_process (program get-creds): invalid credential_process output: stdout is not a JSON object (", "bytes; invalid JSON at byte"},
		},
		{
			name:  "truncated JSON",
			body:  `printf '{"Version":1,"AccessKeyId":"` + procKeyID + `","SecretAccessKey":"` + procSecretKey + `"'`,
			errIs: ErrProcessOutput,
			err:   []string{"stdout is not a JSON object"},
		},
		{
			name:  "nothing printed",
			body:  `exit 0`,
			errIs: ErrProcessOutput,
			err:   []string{"it printed nothing on stdout"},
		},
		{
			name:  "a JSON array",
			body:  `echo '["` + procSecretKey + `"]'`,
			errIs: ErrProcessOutput,
			err:   []string{"it is a JSON array, not an object"},
		},
		{
			name:  "wrong version",
			body:  printJSON(with("Version", 2)),
			errIs: ErrProcessOutput,
			err:   []string{"Version is 2; the only version is 1"},
		},
		{
			name:  "version as a string",
			body:  printJSON(with("Version", "1")),
			errIs: ErrProcessOutput,
			err:   []string{`Version is "1"; the only version is 1`},
		},
		{
			name:  "no version",
			body:  printJSON(with("Version", nil)),
			errIs: ErrProcessOutput,
			err:   []string{`it has no Version (want "Version": 1)`},
		},
		{
			name:  "missing secret",
			body:  printJSON(with("SecretAccessKey", nil)),
			errIs: ErrProcessOutput,
			err:   []string{"it has no SecretAccessKey"},
		},
		{
			name:  "both keys missing, one in the wrong case",
			body:  printJSON(map[string]any{"Version": 1, "accessKeyId": procKeyID, "SessionToken": procSessToken}),
			errIs: ErrProcessOutput,
			err:   []string{`it has no AccessKeyId (it has "accessKeyId": key names are case-sensitive) and no SecretAccessKey`},
		},
		{
			name:  "empty secret",
			body:  printJSON(with("SecretAccessKey", "")),
			errIs: ErrProcessOutput,
			err:   []string{"it has no SecretAccessKey"},
		},
		{
			name:  "key that is not a string",
			body:  printJSON(with("AccessKeyId", 12345)),
			errIs: ErrProcessOutput,
			err:   []string{"AccessKeyId is not a JSON string"},
		},
		{
			name:  "expired",
			body:  printJSON(with("Expiration", "2025-03-01T11:00:00Z")),
			errIs: creds.ErrExpired,
			err:   []string{"credential_process (program get-creds): it returned credentials that expired at 2025-03-01T11:00:00Z (1h0m0s ago)"},
		},
		{
			name:  "expiration not RFC 3339",
			body:  printJSON(with("Expiration", "2025-03-01 13:00:00")),
			errIs: ErrProcessOutput,
			err:   []string{`Expiration "2025-03-01 13:00:00" is not an RFC 3339 time`},
		},
		{
			name: "non-zero exit",
			body: printJSON(full) + "\nexit 3",
			args: []string{"--token", procArgSecret},
			err:  []string{"credential_process (program get-creds) exited with status 3"},
		},
		{
			name: "killed by a signal",
			body: `kill -9 $$`,
			err:  []string{"credential_process (program get-creds) ended abnormally: signal: killed"},
		},
		{
			name:    "timeout, a child still holding stdout",
			body:    `sleep 5; ` + printJSON(full),
			args:    []string{procArgSecret},
			opts:    ProcessOptions{Timeout: 200 * time.Millisecond},
			errIs:   context.DeadlineExceeded,
			err:     []string{"credential_process (program get-creds) did not finish within 200ms (the credential_process timeout) and was killed"},
			maxTime: 2 * time.Second,
		},
		{
			name:  "too much output",
			body:  `exec yes ` + procSecretKey,
			errIs: ErrProcessOutput,
			err:   []string{"wrote more than 1048576 bytes to stdout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := script(t, "get-creds", tt.body, tt.args...)
			if tt.opts.Stdin == nil {
				tt.opts.Stdin = strings.NewReader("")
			}
			if tt.opts.Stderr == nil {
				tt.opts.Stderr = &bytes.Buffer{}
			}
			tt.opts.Now = func() time.Time { return now }
			p := NewProcess(cmd, tt.opts)
			start := time.Now()
			c, err := p.Retrieve(context.Background())
			maxTime := tt.maxTime
			if maxTime == 0 {
				maxTime = time.Second
			}
			if d := time.Since(start); d > maxTime {
				t.Errorf("Retrieve took %v", d)
			}
			assertNoSecret(t, err, procSecretKey, procSessToken, procArgSecret)
			if err != nil && strings.Contains(err.Error(), "bin dir") {
				t.Errorf("error shows the command's path: %v", err)
			}
			if tt.err != nil {
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("error %v does not wrap %v", err, tt.errIs)
				}
				wantErr(t, err, tt.err...)
				return
			}
			if err != nil {
				t.Fatalf("Retrieve: %v (stderr %q)", err, tt.opts.Stderr.(*bytes.Buffer).String())
			}
			if c.AccessKeyID != procKeyID || c.SecretAccessKey != procSecretKey || c.Source != "credential_process (program get-creds)" {
				t.Errorf("got %+v", c)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestProcessStderrPassesThrough(t *testing.T) {
	cmd := script(t, "mfa-prompt", `echo "Enter MFA code for arn:aws:iam::123456789012:mfa/me:" >&2
`+printJSON(map[string]any{"Version": 1, "AccessKeyId": procKeyID, "SecretAccessKey": procSecretKey}))
	var stderr bytes.Buffer
	p := NewProcess(cmd, ProcessOptions{Stderr: &stderr, Stdin: strings.NewReader("")})
	if _, err := p.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := stderr.String(), "Enter MFA code for arn:aws:iam::123456789012:mfa/me:\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestProcessCommandProblems(t *testing.T) {
	tests := []struct {
		name    string
		command string
		program string
		err     []string
	}{
		{"empty", "  ", "", []string{"credential_process is empty"}},
		{"unclosed quote", `get-creds --secret "` + procArgSecret, "", []string{"credential_process cannot be split into words: no closing quotation"}},
		{"program not found", "credkit-no-such-program --secret " + procArgSecret, "credkit-no-such-program",
			[]string{"credential_process (program credkit-no-such-program) cannot be run", "executable file not found"}},
		{"not executable", "/dev/null " + procArgSecret, "null", []string{"credential_process (program null) cannot be run", "permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewProcess(tt.command, ProcessOptions{Stdin: strings.NewReader(""), Stderr: &bytes.Buffer{}})
			if p.Program() != tt.program {
				t.Errorf("Program = %q, want %q", p.Program(), tt.program)
			}
			_, err := p.Retrieve(context.Background())
			assertNoSecret(t, err, procArgSecret)
			wantErr(t, err, tt.err...)
		})
	}
}

func TestProcessCallerCancels(t *testing.T) {
	cmd := script(t, "slow", `exec sleep 5`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := NewProcess(cmd, ProcessOptions{Stdin: strings.NewReader("")}).Retrieve(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "credential_process timeout") {
		t.Errorf("error %v, want the caller's deadline", err)
	}
}

// TestProcessOutputAcceptedBySDK runs the same script through
// aws-sdk-go-v2's processcreds: the output the tests treat as valid is
// what the SDK accepts.
func TestProcessOutputAcceptedBySDK(t *testing.T) {
	cmd := script(t, "get-creds", printJSON(map[string]any{
		"Version": 1, "AccessKeyId": procKeyID, "SecretAccessKey": procSecretKey,
		"SessionToken": procSessToken, "Expiration": "2099-01-01T00:00:00Z", "AccountId": "210987654321",
	}))
	got, err := processcreds.NewProvider(cmd).Retrieve(context.Background())
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 processcreds: %v", err)
	}
	mine, err := NewProcess(cmd, ProcessOptions{Stdin: strings.NewReader("")}).Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != mine.AccessKeyID || got.SecretAccessKey != mine.SecretAccessKey || got.SessionToken != mine.SessionToken ||
		!got.Expires.Equal(mine.Expires) || got.AccountID != mine.AccountID {
		t.Errorf("SDK got %v %v, credkit %v", got.AccessKeyID, got.Expires, mine)
	}
}

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{"aws-vault exec dev --json", []string{"aws-vault", "exec", "dev", "--json"}, nil},
		{"  a\tb\nc\r\nd  ", []string{"a", "b", "c", "d"}, nil},
		{`"/opt/my tools/get creds" --role 'admin role'`, []string{"/opt/my tools/get creds", "--role", "admin role"}, nil},
		{`a''b "" ''`, []string{"ab", "", ""}, nil},
		{`pre"mid dle"post`, []string{"premid dlepost"}, nil},
		{`'single \" stays' "double \" \\ \x"`, []string{`single \" stays`, `double " \ \x`}, nil},
		{`back\ slash \'q\' \\`, []string{"back slash", "'q'", `\`}, nil},
		{`c:\\tools\\x.exe`, []string{`c:\tools\x.exe`}, nil},
		{`$HOME ~/bin *.json a|b;c #not-a-comment`, []string{"$HOME", "~/bin", "*.json", "a|b;c", "#not-a-comment"}, nil},
		{"ünïcode 'wörds'", []string{"ünïcode", "wörds"}, nil},
		{"", nil, nil},
		{`"open`, nil, errNoClosingQuotation},
		{`'open`, nil, errNoClosingQuotation},
		{`trailing\`, nil, errNoEscapedCharacter},
		{`"trailing\`, nil, errNoEscapedCharacter},
	}
	for _, tt := range tests {
		got, err := splitCommandLine(tt.in)
		if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitCommandLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}

	// Python's shlex.split is what botocore uses: compare when python3 is
	// here.
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: not compared with shlex.split")
		return
	}
	inputs := make([]string, len(tests))
	for i, tt := range tests {
		inputs[i] = tt.in
	}
	in, _ := json.Marshal(inputs)
	cmd := exec.Command(py, "-c", `import json, shlex, sys
out = []
for s in json.load(sys.stdin):
    try:
        out.append({"words": shlex.split(s)})
    except ValueError as e:
        out.append({"error": str(e)})
print(json.dumps(out))`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var results []struct {
		Words []string
		Error string
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(tests) {
		t.Fatalf("python3 said %q (%v)", out, err)
	}
	for i, tt := range tests {
		r := results[i]
		switch {
		case r.Error != "" && tt.err == nil:
			t.Errorf("shlex.split(%q) fails (%s) but splitCommandLine does not", tt.in, r.Error)
		case r.Error == "" && tt.err != nil:
			t.Errorf("shlex.split(%q) = %q but splitCommandLine fails", tt.in, r.Words)
		case r.Error == "" && len(r.Words)+len(tt.want) > 0 && !reflect.DeepEqual(r.Words, tt.want):
			t.Errorf("shlex.split(%q) = %q, splitCommandLine %q", tt.in, r.Words, tt.want)
		case r.Error != "" && !strings.EqualFold(r.Error, tt.err.Error()) && !strings.HasPrefix(tt.err.Error(), strings.ToLower(r.Error)):
			t.Errorf("shlex.split(%q) fails with %q, splitCommandLine with %q", tt.in, r.Error, tt.err)
		}
	}
}
