package cli

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/lab"
)

// Programs that start together and all miss the cache ask for one MFA
// code: one credkit process makes the session, the others wait for it and
// use what it cached. Two paths: a role with mfa_serial from keys in the
// files (credential-process's cache) and keys in the vault (the vault's
// session cache). The lab checks every MFA code and signature and counts
// the sessions it issues.
func TestConcurrentProcessesAskForOneMFACode(t *testing.T) {
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	u := l.Users()[0]
	bin := credkitBinary(t)
	home := t.TempDir()
	secretFile := filepath.Join(home, "user.mfa")
	count := filepath.Join(home, "mfa-count")
	script := filepath.Join(home, "mfa.sh")
	os.WriteFile(secretFile, []byte(u.MFASecret+"\n"), 0o600)
	// Slow enough that the other processes start while it runs.
	os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\necho $$ >> %q\nsleep 1\nexec %q lab totp %q\n", count, bin, secretFile)), 0o700)
	os.WriteFile(filepath.Join(home, "config"), []byte(fmt.Sprintf(`[profile files-root]
region = us-east-1
[profile files-mfa]
role_arn = %s
source_profile = files-root
mfa_serial = %s
mfa_process = %s
region = us-east-1
[profile vaulted]
mfa_serial = %s
mfa_process = %s
region = us-east-1
`, l.RoleARN(lab.DefaultMFARole), u.MFASerial, script, u.MFASerial, script)), 0o600)
	os.WriteFile(filepath.Join(home, "credentials"), []byte(fmt.Sprintf("[files-root]\naws_access_key_id = %s\naws_secret_access_key = %s\n", u.AccessKeyID, u.SecretAccessKey)), 0o600)
	env := vaultEnv(home, map[string]string{"AWS_ENDPOINT_URL": srv.URL, "XDG_CACHE_HOME": filepath.Join(home, "cache"), "PATH": os.Getenv("PATH")})
	if r := runAt(t, nil, vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey}), "", "add", "vaulted", "--env"); r.code != 0 {
		t.Fatalf("add: %s", r.stderr)
	}
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}

	var lastStep int64 // the 30 s step of the last run's code
	for _, tc := range []struct {
		name   string
		args   []string
		issued int64 // sessions per run: GetSessionToken (+ AssumeRole)
	}{
		{"role from keys in the files", []string{"credential-process", "--profile", "files-mfa"}, 1},
		{"keys in the vault", []string{"export", "--profile", "vaulted", "--format", "process"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// mfa_process prints the current code, and the lab (as AWS)
			// accepts each code once: a run starts in a step of its own.
			if lastStep != 0 {
				for time.Now().Unix()/30 <= lastStep {
					time.Sleep(time.Duration(30-time.Now().Unix()%30) * time.Second)
				}
			}
			defer func() { lastStep = time.Now().Unix() / 30 }()
			os.Remove(count)
			before := l.Issued.Load()
			const n = 4
			outs, errs := make([]string, n), make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd := exec.Command(bin, tc.args...)
					cmd.Env = envList
					var o, e strings.Builder
					cmd.Stdout, cmd.Stderr = &o, &e
					if err := cmd.Run(); err != nil {
						e.WriteString("exit: " + err.Error())
					}
					outs[i], errs[i] = o.String(), e.String()
				}()
			}
			wg.Wait()
			keys := map[string]bool{}
			waited := 0
			for i := range n {
				var p processOutput
				if err := json.Unmarshal([]byte(outs[i]), &p); err != nil || p.SessionToken == "" {
					t.Fatalf("process %d: %v\n%s%s", i, err, outs[i], errs[i])
				}
				keys[p.AccessKeyID] = true
				if strings.Contains(errs[i], "waiting for credkit process") {
					waited++
				}
			}
			runs, _ := os.ReadFile(count)
			if got := strings.Count(string(runs), "\n"); got != 1 {
				t.Errorf("mfa_process ran %d times for %d processes, want 1", got, n)
			}
			if len(keys) != 1 {
				t.Errorf("%d different sessions handed out, want 1: %v", len(keys), keys)
			}
			if got := l.Issued.Load() - before; got != tc.issued {
				t.Errorf("the lab issued %d sessions", got)
			}
			if waited == 0 {
				t.Errorf("no process said it waited:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}
