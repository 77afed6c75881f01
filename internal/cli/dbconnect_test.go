package cli

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/rdsauth"
)

// fakeSession is a made-up set of session credentials the fake RDS is
// told to trust; its session token is over 1 KB, as STS's are.
func fakeSession(n int) (akid, secret, session string) {
	return "ASIADBCONNECT" + strconv.Itoa(100000+n), "dbconnect/secret/" + strconv.Itoa(n),
		strings.Repeat("IQoJb3JpZ2luX2VjE"+strconv.Itoa(n), 70)
}

// clientArgv records the command lines of the processes running the
// client while f runs, from /proc, calling onSeen (when not nil) for each
// as it is seen, with its pid.
func clientArgv(t *testing.T, client string, f func(), onSeen func(pid int, argv []string)) [][]string {
	t.Helper()
	var mu sync.Mutex
	var seen [][]string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, d := range dirs {
				b, err := os.ReadFile(d)
				if err != nil || len(b) == 0 {
					continue
				}
				argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
				if filepath.Base(argv[0]) == client {
					mu.Lock()
					seen = append(seen, argv)
					mu.Unlock()
					if onSeen != nil {
						pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
						onSeen(pid, argv)
					}
				}
			}
		}
	}()
	f()
	close(stop)
	<-done
	return seen
}

func dbEnv(akid, secret, session string) map[string]string {
	env := map[string]string{"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": testpeer.FakeRDSRegion}
	if session != "" {
		env["AWS_SESSION_TOKEN"] = session
	}
	return env
}

func TestDBConnectPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	r.AddIAMUser(t, "app")
	port := strconv.Itoa(r.Port)
	static := dbEnv("AKIADBCONNECT0000001", "static/secret/1", "")
	r.Trust(static["AWS_ACCESS_KEY_ID"], static["AWS_SECRET_ACCESS_KEY"], "", time.Time{})
	akid, secret, session := fakeSession(1)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))
	temp := dbEnv(akid, secret, session)
	connect := []string{"db", "connect", "--engine", "postgres", "--host", r.Host, "--port", port, "--user", "app", "--db", "app"}

	t.Run("static keys", func(t *testing.T) {
		res := runNow(t, static, "", append(connect, "--ca-bundle", r.CAFile, "--", "-X", "-At", "-c", "select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()")...)
		if res.code != 0 || strings.TrimSpace(res.stdout) != "app|t" {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("session credentials, token not in argv", func(t *testing.T) {
		var res result
		argvs := clientArgv(t, "psql", func() {
			res = runNow(t, temp, "", append(connect, "--ca-bundle", r.CAFile, "--", "-X", "-At", "-c", "select current_user from pg_sleep(1)")...)
		}, nil)
		if res.code != 0 || strings.TrimSpace(res.stdout) != "app" {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if len(argvs) == 0 {
			t.Fatal("never saw psql running")
		}
		for _, argv := range argvs {
			line := strings.Join(argv, " ")
			if strings.Contains(line, "X-Amz-") || strings.Contains(line, session[:40]) {
				t.Fatalf("the token is in psql's argv: %q", line)
			}
		}
		logins := r.Logins(t)
		if last := logins[len(logins)-1]; !last.OK || last.AccessKeyID != akid {
			t.Fatalf("the verifier's last decision: %+v", last)
		}
	})

	t.Run("exit code passes through", func(t *testing.T) {
		script := filepath.Join(t.TempDir(), "fail.sql")
		writeFile(t, script, "select 1/0;\n")
		res := runNow(t, static, "", append(connect, "--ca-bundle", r.CAFile, "--", "-X", "-v", "ON_ERROR_STOP=1", "-f", script)...)
		if res.code != 3 || !strings.Contains(res.stderr, "division by zero") {
			t.Fatalf("want psql's exit 3 for a script error, got %d\n%s", res.code, res.stderr)
		}
	})

	t.Run("SIGINT passes through and psql cancels the query", func(t *testing.T) {
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			done <- runNow(t, static, "", append(connect, "--ca-bundle", r.CAFile, "--", "-X", "-c", "select pg_sleep(60)")...)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for r.AdminExec(t, "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'") != "1" {
			if time.Now().After(deadline) {
				t.Fatal("the query never started")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// credkit forwards the signal it gets (here, with no terminal,
		// none reached psql directly).
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.code != 1 || !strings.Contains(res.stderr, "canceling statement due to user request") || time.Since(start) > 30*time.Second {
			t.Fatalf("want psql to cancel the query and exit 1, got %d after %v\n%s", res.code, time.Since(start), res.stderr)
		}
	})

	t.Run("installed bundle is the default", func(t *testing.T) {
		home := t.TempDir()
		ca, err := os.ReadFile(r.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		bundle := rdsauth.CABundlePath(home)
		if err := os.MkdirAll(filepath.Dir(bundle), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, bundle, string(ca))
		env := dbEnv(static["AWS_ACCESS_KEY_ID"], static["AWS_SECRET_ACCESS_KEY"], "")
		env["HOME"] = home
		res := runNow(t, env, "", append(connect, "--", "-X", "-At", "-c", "select 42")...)
		if res.code != 0 || strings.TrimSpace(res.stdout) != "42" {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("server not signed by the CA", func(t *testing.T) {
		before := len(r.Logins(t))
		res := runNow(t, temp, "", append(connect, "--ca-bundle", testpeer.UntrustedCAFile(t), "--", "-X", "-c", "select 1")...)
		if res.code == 0 || !strings.Contains(res.stderr, "certificate verify failed") {
			t.Fatalf("want psql to refuse the certificate, got exit %d\n%s", res.code, res.stderr)
		}
		if after := r.Logins(t); len(after) != before {
			t.Fatalf("a token reached the server: %+v", after[before:])
		}
	})

	t.Run("expired session credentials are explained, not sent", func(t *testing.T) {
		akid, secret, session := fakeSession(9)
		expired := time.Now().Add(-time.Minute).UTC()
		r.Trust(akid, secret, session, expired)
		env := dbEnv(akid, secret, session)
		env["AWS_CREDENTIAL_EXPIRATION"] = expired.Format(time.RFC3339)
		before := len(r.Logins(t))
		res := runNow(t, env, "", append(connect, "--ca-bundle", r.CAFile, "--", "-X", "-c", "select 1")...)
		want := "credkit: the session credentials from environment expired at " + expired.Format(time.RFC3339) + ": RDS refuses every token they sign;"
		if res.code != 1 || !strings.HasPrefix(res.stderr, want) || strings.Count(res.stderr, "\n") != 1 {
			t.Fatalf("want exit 1 and %q, got %d\n%s", want, res.code, res.stderr)
		}
		if after := r.Logins(t); len(after) != before {
			t.Fatalf("a token reached the server: %+v", after[before:])
		}
	})

	t.Run("credkit db token logs in", func(t *testing.T) {
		res := runNow(t, temp, "", "db", "token", "--host", r.Host, "--port", port, "--user", "app")
		if res.code != 0 {
			t.Fatalf("db token: exit %d: %s", res.code, res.stderr)
		}
		out, err := r.Psql("app", strings.TrimSpace(res.stdout))
		if err != nil || strings.TrimSpace(out) != "app" {
			t.Fatalf("psql with the token of db token: %v\n%s", err, out)
		}
	})
}

func TestDBConnectMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := testpeer.FakeRDSMariaDB(t)
	r.AddIAMUser(t, "app")
	r.AdminExec(t, "CREATE DATABASE appdb")
	port := strconv.Itoa(r.Port)
	static := dbEnv("AKIADBCONNECT0000002", "static/secret/2", "")
	r.Trust(static["AWS_ACCESS_KEY_ID"], static["AWS_SECRET_ACCESS_KEY"], "", time.Time{})
	akid, secret, session := fakeSession(2)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))
	temp := dbEnv(akid, secret, session)
	// The engine comes from --engine: the port is a random one.
	connect := []string{"db", "connect", "--engine", "mysql", "--host", r.Host, "--port", port, "--user", "app", "--db", "appdb", "--ca-bundle", r.CAFile}

	t.Run("static keys", func(t *testing.T) {
		res := runNow(t, static, "", append(connect, "--", "-N", "-B", "-e", "SELECT CURRENT_USER(), DATABASE()")...)
		if res.code != 0 || strings.TrimSpace(res.stdout) != "app@%\tappdb" {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("session credentials, option file in memory", func(t *testing.T) {
		var res result
		var mu sync.Mutex
		var fds []optionFD
		argvs := clientArgv(t, "mariadb", func() {
			res = runNow(t, temp, "", append(connect, "--client", "mariadb", "--", "-N", "-B", "-e", "SELECT CURRENT_USER(), SLEEP(1)")...)
		}, func(pid int, argv []string) {
			if len(argv) > 1 && strings.HasPrefix(argv[1], "--defaults-extra-file=") {
				if fd, ok := inspectOptionFD(pid, strings.TrimPrefix(argv[1], "--defaults-extra-file=")); ok {
					mu.Lock()
					fds = append(fds, fd)
					mu.Unlock()
				}
			}
		})
		if res.code != 0 || !strings.HasPrefix(res.stdout, "app@%\t0") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if logins := r.Logins(t); !logins[len(logins)-1].OK || logins[len(logins)-1].AccessKeyID != akid {
			t.Fatalf("the verifier's last decision: %+v", logins[len(logins)-1])
		}
		if len(argvs) == 0 {
			t.Fatal("never saw mariadb running")
		}
		for _, argv := range argvs {
			line := strings.Join(argv, " ")
			if strings.Contains(line, "X-Amz-") || strings.Contains(line, session[:40]) {
				t.Fatalf("the token is in the client's argv: %q", line)
			}
			if len(argv) == 2 && argv[1] == "--version" {
				continue // flavour detection
			}
			if !regexp.MustCompile(`^--defaults-extra-file=/dev/fd/[0-9]+$`).MatchString(argv[1]) {
				t.Fatalf("want --defaults-extra-file=/dev/fd/N as the first option, got %q", line)
			}
		}
		if len(fds) == 0 {
			t.Fatal("never saw the client's option file descriptor while it ran")
		}
		for _, fd := range fds {
			if !strings.HasPrefix(fd.target, "/memfd:") {
				t.Errorf("%s of the client is %s, want an anonymous memory file (/memfd:...)", fd.path, fd.target)
			}
			if fd.mode != 0o600 {
				t.Errorf("%s of the client has mode %v, want 0600 (the client ignores a world-writable one)", fd.path, fd.mode)
			}
			if !strings.Contains(fd.content, "X-Amz-Security-Token="+url.QueryEscape(session)+"&") {
				t.Errorf("%s of the client does not hold the whole session token", fd.path)
			}
		}
	})

	t.Run("SIGTERM passes through", func(t *testing.T) {
		done := make(chan result, 1)
		go func() {
			done <- runNow(t, static, "", append(connect, "--", "-N", "-B", "-e", "SELECT 'term', SLEEP(60)")...)
		}()
		waitMariaDBQuery(t, r, "SELECT 'term', SLEEP(60)")
		// credkit forwards the signal it gets to the client, which
		// SIGTERM ends; its exit is 128+15, as a shell reports it.
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case res := <-done:
			if res.code != 128+int(syscall.SIGTERM) {
				t.Fatalf("want exit 143 from the client's SIGTERM, got %d\n%s%s", res.code, res.stdout, res.stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the client was still running 30s after credkit got SIGTERM")
		}
	})

	t.Run("exit code passes through", func(t *testing.T) {
		res := runNow(t, static, "", append(connect, "--", "-e", "SELECT * FROM no_such_table")...)
		if res.code != 1 || !strings.Contains(res.stderr, "1146") {
			t.Fatalf("want the client's exit 1 with ERROR 1146, got %d\n%s", res.code, res.stderr)
		}
	})

	t.Run("server not signed by the CA", func(t *testing.T) {
		before := len(r.Logins(t))
		bad := append(append([]string(nil), connect[:len(connect)-1]...), testpeer.UntrustedCAFile(t), "--", "-e", "SELECT 1")
		res := runNow(t, temp, "", bad...)
		if res.code == 0 || !strings.Contains(res.stderr, "ERROR 2026") {
			t.Fatalf("want the client to refuse the certificate (ERROR 2026), got exit %d\n%s", res.code, res.stderr)
		}
		if after := r.Logins(t); len(after) != before {
			t.Fatalf("a token reached the server: %+v", after[before:])
		}
	})
}

// optionFD is what a running client's --defaults-extra-file=/dev/fd/N
// is, seen from /proc.
type optionFD struct {
	path, target, content string
	mode                  os.FileMode
}

// inspectOptionFD looks at name (/dev/fd/N) in process pid; false when
// the process is gone or name is not a descriptor.
func inspectOptionFD(pid int, name string) (optionFD, bool) {
	n := strings.TrimPrefix(name, "/dev/fd/")
	if n == name {
		return optionFD{}, false
	}
	p := fmt.Sprintf("/proc/%d/fd/%s", pid, n)
	target, err := os.Readlink(p)
	if err != nil {
		return optionFD{}, false
	}
	st, err := os.Stat(p)
	if err != nil {
		return optionFD{}, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return optionFD{}, false
	}
	return optionFD{path: p, target: target, content: string(b), mode: st.Mode().Perm()}, true
}

// waitMariaDBQuery waits until query runs on r.
func waitMariaDBQuery(t *testing.T, r *testpeer.FakeRDS, query string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for r.AdminExec(t, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = '"+strings.ReplaceAll(query, "'", "''")+"'") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("the query %q never started", query)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runNow runs credkit with the real clock, as tests against servers must.
func runNow(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runAt(t, time.Now, env, stdin, args...)
}

// TestMySQLOptionFileQuoting has the MariaDB client read an option file
// with awkward values back: what it would log in with must be what was
// written.
func TestMySQLOptionFileQuoting(t *testing.T) {
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client (make deps)")
	}
	token := `host:5432/?Action=connect&DBUser=a"b\c #d'e f&X-Amz-Credential=AKID%2F20261122`
	path := filepath.Join(t.TempDir(), "client.cnf")
	writeFile(t, path, string(mysqlOptionFile(flavourMariaDB, "db.example.com", 3306, `o'brien`, token, "/ca dir/ca.pem")))
	out, err := exec.Command(client, "--defaults-extra-file="+path, "--print-defaults").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"--password=" + token + " ", "--user=o'brien ", "--host=db.example.com ", "--port=3306 ", "--protocol=TCP ",
		"--ssl-ca=/ca dir/ca.pem ", "--ssl ", "--ssl-verify-server-cert ",
	} {
		if !strings.Contains(string(out)+" ", want) {
			t.Errorf("the client reads the option file without %q:\n%s", want, out)
		}
	}
}
