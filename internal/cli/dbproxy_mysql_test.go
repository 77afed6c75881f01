package cli

import (
	"bufio"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// credkit db proxy --engine mysql as a user runs it: session credentials
// in the environment, the mariadb client through the printed address,
// a local password, and SIGTERM exits 0. Nothing secret reaches its
// output.
func TestDBProxyCommandMySQL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := testpeer.FakeRDSMariaDB(t)
	r.AddIAMUser(t, "app")
	r.AdminExec(t, "CREATE DATABASE appdb")
	akid, secret, session := fakeSession(7)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))
	dir := t.TempDir()
	writeFile(t, dir+"/pw", "local-proxy-pw\n")
	env := testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+session, "HOME="+dir)
	target := []string{"db", "proxy", "--engine", "mysql", "--host", r.Host, "--port", strconv.Itoa(r.Port), "--user", "app", "--region", r.Region}

	// --check reads the greeting and verifies TLS, and logs in nowhere.
	check := exec.Command(credkitBinary(t), append(target, "--ca-bundle", r.CAFile, "--check")...)
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "app@localhost:"+strconv.Itoa(r.Port)+": reachable, TLS verified" {
		t.Fatalf("--check: %v\n%s", err, out)
	}
	check = exec.Command(credkitBinary(t), append(target, "--ca-bundle", testpeer.UntrustedCAFile(t), "--check")...)
	check.Env = env
	out, err := check.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "certificate signed by unknown authority") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("--check with a CA that signed nothing: %v\n%s", err, out)
	}
	if l := r.Logins(t); len(l) != 0 {
		t.Fatalf("--check logged in: %+v", l)
	}

	port, stderr, stop := startDBProxy(t, env, `^listening on 127\.0\.0\.1:(\d+) for app@localhost:\d+ \(mysql, region us-west-2\)$`,
		append(target, "--ca-bundle", r.CAFile, "--local-password-file", dir+"/pw", "--debug")...)
	client := func(password string) (string, error) {
		c := exec.Command("mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", port, "-u", "app", "--password="+password,
			"--skip-ssl", "--connect-timeout=20", "-D", "appdb", "-N", "-B", "-e", "SELECT CURRENT_USER(), DATABASE()")
		c.Env = testpeer.IsolatedAWSEnv("LC_ALL=C")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := client("local-proxy-pw"); err != nil || strings.TrimSpace(out) != "app@%\tappdb" {
		t.Fatalf("mariadb through credkit db proxy: %v\n%s\nproxy stderr: %s", err, out, stderr.String())
	}
	if out, err := client("not-it"); err == nil || !strings.Contains(out, "ERROR 1045") || !strings.Contains(out, "wrong local password") {
		t.Fatalf("a wrong local password: %v\n%s", err, out)
	}
	if err := stop(); err != nil {
		t.Errorf("credkit db proxy after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
	logs := stderr.String()
	for _, s := range []string{secret, session[:40], "X-Amz-Signature", "local-proxy-pw"} {
		if strings.Contains(logs, s) {
			t.Errorf("stderr holds %q:\n%s", s, logs)
		}
	}
	if l := r.Logins(t); len(l) != 1 || !l[0].OK || l[0].AccessKeyID != akid {
		t.Errorf("fake RDS logins: %+v", l)
	}
}

// startDBProxy runs credkit with args and env, and waits for its first
// line, which must match want; want's first group is the port returned.
// stop sends SIGTERM and returns how the process ended.
func startDBProxy(t *testing.T, env []string, want string, args ...string) (port string, stderr *strings.Builder, stop func() error) {
	t.Helper()
	cmd := exec.Command(credkitBinary(t), args...)
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		first <- sc.Text()
		for sc.Scan() {
		}
	}()
	select {
	case l := <-first:
		m := regexp.MustCompile(want).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("first line %q; want the listening address; stderr: %s", l, stderr.String())
		}
		port = m[1]
	case <-time.After(20 * time.Second):
		t.Fatalf("no address printed; stderr: %s", stderr.String())
	}
	return port, stderr, func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("credkit db proxy did not exit after SIGTERM")
		}
	}
}
