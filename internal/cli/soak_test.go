package cli

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// soakDuration is how long children run: 5 minutes in CI (or
// CREDKIT_SOAK=DURATION), 70 s otherwise.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("CREDKIT_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("CREDKIT_SOAK=%q: %v", v, err)
		}
		return d
	}
	if os.Getenv("CI") != "" {
		return 5 * time.Minute
	}
	return 70 * time.Second
}

// TestExecSoak runs long-lived children under credkit exec against the lab,
// whose sessions live 30 seconds: served credentials keep working for the
// whole run with aws-sdk-go-v2 (container and IMDS providers), boto3 and
// the AWS CLI v2, while a child given a snapshot (--mode env) fails with
// ExpiredToken once the session ends.
func TestExecSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	py := testpeer.Python(t)
	aws := testpeer.AWSCLIv2(t)
	d := soakDuration(t)
	const ttl = 30 * time.Second

	l, err := lab.New(lab.Options{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	u := l.Users()[0]
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "credentials"), fmt.Sprintf("[root]\naws_access_key_id = %s\naws_secret_access_key = %s\n", u.AccessKeyID, u.SecretAccessKey))
	writeFile(t, filepath.Join(dir, "config"), fmt.Sprintf("[profile app]\nrole_arn = %s\nsource_profile = root\nregion = us-east-1\n", l.Roles()[0]))
	child := filepath.Join(dir, "soakchild")
	if out, err := exec.Command("go", "build", "-o", child, "github.com/credkit/credkit/internal/soakchild").CombinedOutput(); err != nil {
		t.Fatalf("build soakchild: %v\n%s", err, out)
	}
	env := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS":        s.URL,
		"PATH":                        "/usr/bin:/bin",
		"HOME":                        dir,
		"NO_PROXY":                    "*",
	}
	secs := fmt.Sprint(int(d / time.Second))
	boto := fmt.Sprintf(`
import boto3, sys, time
c = boto3.client("sts", endpoint_url=%q)
end, n, f = time.time() + %s, 0, 0
while time.time() < end:
    n += 1
    try:
        c.get_caller_identity()
    except Exception as e:
        f += 1
        print("failure:", e)
    time.sleep(1)
print("calls=%%d failures=%%d" %% (n, f))
sys.exit(1 if f else 0)`, s.URL, secs)
	cli := fmt.Sprintf(`end=$(( $(date +%%s) + %s )); n=0; while [ $(date +%%s) -lt $end ]; do n=$((n+1)); %s sts get-caller-identity --endpoint-url %s --output text --query Arn >/dev/null || { echo "failure at call $n"; exit 1; }; done; echo "calls=$n failures=0"`, secs, aws, s.URL)

	type job struct {
		name string
		args []string
		env  map[string]string
	}
	jobs := []job{
		{"aws-sdk-go-v2 container provider", []string{"exec", "app", "--", child, d.String(), s.URL}, nil},
		{"aws-sdk-go-v2 IMDS provider", []string{"exec", "app", "--mode", "imds", "--", child, d.String(), s.URL}, nil},
		{"boto3", []string{"exec", "app", "--", py, "-c", boto}, nil},
		{"AWS CLI v2 in a loop", []string{"exec", "app", "--", "sh", "-c", cli}, nil},
		{"snapshot (--mode env)", []string{"exec", "app", "--mode", "env", "--", child, (3 * ttl).String(), s.URL}, map[string]string{"SOAK_STOP_ON_FAILURE": "1"}},
	}
	results := make([]result, len(jobs))
	started := time.Now()
	var failedAt time.Duration
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range j.env {
				e[k] = v
			}
			results[i] = runAt(t, time.Now, e, "", j.args...)
			if i == len(jobs)-1 {
				failedAt = time.Since(started)
			}
		}()
	}
	wg.Wait()
	for i, j := range jobs[:len(jobs)-1] {
		r := results[i]
		if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
			t.Errorf("%s failed under credkit exec: exit %d\n%s\n%s", j.name, r.code, r.stdout, r.stderr)
		} else {
			t.Logf("%s: %s", j.name, strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, "calls="):]))
		}
	}
	snap := results[len(jobs)-1]
	if snap.code == 0 || !strings.Contains(snap.stdout, "first_failure=ExpiredToken") || !strings.Contains(snap.stderr, "does not refresh: it expires at") {
		t.Errorf("the snapshot did not fail with ExpiredToken: exit %d\n%s\n%s", snap.code, snap.stdout, snap.stderr)
	}
	if failedAt < ttl-5*time.Second {
		t.Errorf("the snapshot failed after %s, before its %s session ended", failedAt, ttl)
	}
	// One upstream AssumeRole per rotation for each exec, however often
	// its children ask: with a 30 s lifetime a rotation is at least 15 s.
	issued := l.Issued.Load()
	maxIssued := int64(len(jobs)) * (int64(d/(ttl/2)) + 2)
	t.Logf("lab issued %d sessions in %s for %d execs (at most %d allowed); refusals %v", issued, d, len(jobs), maxIssued, l.Refusals())
	if issued > maxIssued {
		t.Errorf("lab issued %d sessions, more than one per rotation per exec (%d)", issued, maxIssued)
	}
}
