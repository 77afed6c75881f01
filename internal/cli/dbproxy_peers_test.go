package cli

import (
	"bufio"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// credkit db proxy as a user runs it: keys in the environment, the fake
// RDS's CA, psql through the printed address, health and metrics, and
// SIGTERM drains and exits 0. Nothing secret reaches its output.
func TestDBProxyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	r.AddIAMUser(t, "app")
	const akid, secret = "AKIAPROXYCLITEST0001", "proxy/cli/test/secret/abcdefghijklmnopqrst"
	r.Trust(akid, secret, "", time.Time{})
	health := "127.0.0.1:" + strconv.Itoa(testpeer.FreePort(t))
	env := testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "HOME="+t.TempDir())
	port, stderr, stop := startDBProxy(t, env, `^listening on 127\.0\.0\.1:(\d+) for app@localhost:\d+ \(postgres, region us-west-2\)$`,
		"db", "proxy", "--host", r.Host, "--port", strconv.Itoa(r.Port), "--user", "app",
		"--engine", "postgres", "--region", r.Region, "--ca-bundle", r.CAFile, "--health", health, "--metrics", "--debug")
	psql := exec.Command("psql", "-X", "-At", "-h", "127.0.0.1", "-p", port, "-U", "app", "-d", "app", "-c", "select current_user")
	psql.Env = testpeer.IsolatedAWSEnv("PGCONNECT_TIMEOUT=20")
	if out, err := psql.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "app" {
		t.Fatalf("psql through credkit db proxy: %v\n%s\nproxy stderr: %s", err, out, stderr.String())
	}
	for _, p := range []string{"/startup", "/liveness", "/readiness"} {
		resp, err := http.Get("http://" + health + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + health + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"credkit_dbproxy_tokens_minted_total 1\n", "credkit_dbproxy_connections_total 1\n", "process_cpu_seconds_total"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("credkit db proxy after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	logs := stderr.String()
	if !strings.Contains(logs, "draining") {
		t.Errorf("stderr lacks the drain: %s", logs)
	}
	for _, s := range []string{secret, "X-Amz-Signature", "Action=connect"} {
		if strings.Contains(logs, s) {
			t.Errorf("stderr holds %q:\n%s", s, logs)
		}
	}
	if !r.Logins(t)[0].OK {
		t.Errorf("fake RDS: %+v", r.Logins(t))
	}
}

// --config serves several targets, one listener each.
func TestDBProxyConfigTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	r.AddIAMUser(t, "app")
	r.AddIAMUser(t, "report")
	const akid, secret = "AKIAPROXYCLITEST0002", "proxy/cli/test/secret/zyxwvutsrqponmlkjihg"
	r.Trust(akid, secret, "", time.Time{})
	dir := t.TempDir()
	pa, pr := testpeer.FreePort(t), testpeer.FreePort(t)
	cfg := dir + "/proxy.yaml"
	writeFile(t, cfg, "targets:\n"+
		"  - {host: localhost, port: "+strconv.Itoa(r.Port)+", engine: postgres, user: app, listen: 127.0.0.1:"+strconv.Itoa(pa)+"}\n"+
		"  - {host: localhost, port: "+strconv.Itoa(r.Port)+", engine: postgres, user: report, listen: 127.0.0.1:"+strconv.Itoa(pr)+"}\n")
	cmd := exec.Command(credkitBinary(t), "db", "proxy", "--config", cfg, "--region", r.Region, "--ca-bundle", r.CAFile)
	cmd.Env = testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "HOME="+dir)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	for i, want := range []string{
		"listening on 127.0.0.1:" + strconv.Itoa(pa) + " for app@localhost:",
		"listening on 127.0.0.1:" + strconv.Itoa(pr) + " for report@localhost:",
	} {
		if !sc.Scan() || !strings.HasPrefix(sc.Text(), want) {
			t.Fatalf("line %d %q; want %q...; stderr: %s", i, sc.Text(), want, stderr.String())
		}
	}
	for user, port := range map[string]int{"app": pa, "report": pr} {
		psql := exec.Command("psql", "-X", "-At", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user, "-d", user, "-c", "select current_user")
		psql.Env = testpeer.IsolatedAWSEnv("PGCONNECT_TIMEOUT=20")
		if out, err := psql.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != user {
			t.Errorf("psql as %s on port %d: %v\n%s", user, port, err, out)
		}
	}
}
