package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/dbproxy/mysql"
	"github.com/credkit/credkit/internal/testpeer"
)

// fakeRDS starts a fake RDS MariaDB with the IAM user app and the
// database appdb.
func fakeRDS(t testing.TB) *testpeer.FakeRDS {
	t.Helper()
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := testpeer.FakeRDSMariaDB(t)
	r.AddIAMUser(t, "app")
	r.AdminExec(t, "CREATE DATABASE appdb")
	return r
}

// startProxy serves r's user "app" with credentials from p and returns
// the proxy's port and the registry of its metrics.
func startProxy(t testing.TB, r *testpeer.FakeRDS, p creds.Provider, caFile, localPassword string) (int, *prometheus.Registry) {
	t.Helper()
	return startTarget(t, r, p, caFile, localPassword, "127.0.0.1:0", nil)
}

// startProxyAt serves r's user "app" on listen (unix:PATH).
func startProxyAt(t testing.TB, r *testpeer.FakeRDS, p creds.Provider, listen string) {
	t.Helper()
	startTarget(t, r, p, r.CAFile, "", listen, nil)
}

// startTarget serves r's user "app" on listen; edit, when set, changes
// the proxy's options.
func startTarget(t testing.TB, r *testpeer.FakeRDS, p creds.Provider, caFile, localPassword, listen string, edit func(*dbproxy.Options)) (int, *prometheus.Registry) {
	t.Helper()
	roots, err := dbproxy.Roots(caFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &proxytest.SyncBuffer{}
	reg := prometheus.NewRegistry()
	target := &dbproxy.Target{Engine: "mysql", Host: r.Host, Port: r.Port, User: "app", Region: r.Region, Roots: roots, Listen: listen, LocalPassword: localPassword}
	o := dbproxy.Options{
		Targets: []*dbproxy.Target{target}, Tokens: &dbproxy.Tokens{Credentials: p},
		Engines: map[string]dbproxy.Engine{"mysql": mysql.Engine{}},
		Log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: dbproxy.NewMetrics(reg),
	}
	if edit != nil {
		edit(&o)
	}
	px, err := dbproxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- px.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		px.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if strings.Contains(logs.String(), "X-Amz-Signature") {
			t.Errorf("a token reached the proxy's log:\n%s", logs.String())
		}
		if t.Failed() {
			t.Logf("proxy log:\n%s", logs.String())
		}
	})
	_, port, _ := strings.Cut(px.Addrs()[0], ":")
	n, _ := strconv.Atoi(port)
	return n, reg
}

// open connects go-sql-driver/mysql to the proxy, plain on loopback.
func open(t *testing.T, port int, password, params string) *sql.DB {
	t.Helper()
	dsn := fmt.Sprintf("app:%s@tcp(127.0.0.1:%d)/appdb?tls=false&timeout=20s&%s", password, port, params)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func whoami(t *testing.T, db *sql.DB) (user, database, cipher string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var name string
	err = db.QueryRowContext(ctx, "SELECT CURRENT_USER(), DATABASE()").Scan(&user, &database)
	if err == nil {
		err = db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher)
	}
	return
}

// mariadbClient runs the mariadb client against the proxy.
func mariadbClient(ctx context.Context, port int, args ...string) *exec.Cmd {
	argv := append([]string{"--no-defaults", "-h", "127.0.0.1", "-P", strconv.Itoa(port), "-u", "app", "--skip-ssl", "--connect-timeout=20", "-D", "appdb", "-N", "-B"}, args...)
	cmd := exec.CommandContext(ctx, "mariadb", argv...)
	cmd.Env = testpeer.IsolatedAWSEnv("LC_ALL=C")
	return cmd
}

func okLogins(r *testpeer.FakeRDS, t testing.TB, akid string) (ok, refused int) {
	for _, l := range r.Logins(t) {
		if l.AccessKeyID != akid {
			continue
		}
		if l.OK {
			ok++
		} else {
			refused++
		}
	}
	return
}

func TestMySQLProxy(t *testing.T) {
	r := fakeRDS(t)

	t.Run("static keys, go-sql-driver", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		port, reg := startProxy(t, r, &proxytest.Provider{C: c}, r.CAFile, "")
		user, database, cipher, err := whoami(t, open(t, port, "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if user != "app@%" || database != "appdb" || cipher == "" {
			t.Fatalf("CURRENT_USER()=%q DATABASE()=%q Ssl_cipher=%q; want app@%%, appdb and a TLS upstream", user, database, cipher)
		}
		if ok, _ := okLogins(r, t, c.AccessKeyID); ok == 0 {
			t.Fatalf("the fake RDS saw no accepted token from %s: %+v", c.AccessKeyID, r.Logins(t))
		}
		if m, h := proxytest.Metric(t, reg, "credkit_dbproxy_tokens_minted_total", ""), proxytest.Metric(t, reg, "credkit_dbproxy_bytes_total", "direction=downstream"); m != 1 || h == 0 {
			t.Fatalf("tokens minted %v, bytes downstream %v", m, h)
		}
	})

	t.Run("session credentials, mariadb client", func(t *testing.T) {
		c := proxytest.SessionCreds(time.Now().Add(time.Hour))
		proxytest.Trust(r, c)
		port, _ := startProxy(t, r, &proxytest.Provider{C: c}, r.CAFile, "")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := mariadbClient(ctx, port, "-e", "SELECT CURRENT_USER(), DATABASE()").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "app@%\tappdb" {
			t.Fatalf("mariadb: %v\n%s", err, out)
		}
		if ok, _ := okLogins(r, t, c.AccessKeyID); ok != 1 {
			t.Fatalf("want one accepted token from %s: %+v", c.AccessKeyID, r.Logins(t))
		}
	})

	t.Run("unix socket, mariadb client", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		dir, err := os.MkdirTemp("/tmp", "ckmy-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		startProxyAt(t, r, &proxytest.Provider{C: c}, "unix:"+dir)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", filepath.Join(dir, "mysqld.sock"), "-u", "app", "-D", "appdb", "-N", "-B", "-e", "SELECT CURRENT_USER(), DATABASE()")
		cmd.Env = testpeer.IsolatedAWSEnv("LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "app@%\tappdb" {
			t.Fatalf("mariadb -S: %v\n%s", err, out)
		}
	})

	t.Run("connection attributes and database arrive", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		port, _ := startProxy(t, r, &proxytest.Provider{C: c}, r.CAFile, "")
		db := open(t, port, "", "connectionAttributes=app_tier:reporting,build:"+c.AccessKeyID[4:12])
		db.SetMaxOpenConns(1)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rows, err := db.QueryContext(ctx, "SELECT ATTR_NAME, ATTR_VALUE FROM performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = CONNECTION_ID()")
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string]string{}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			attrs[k] = v
		}
		rows.Close()
		if attrs["app_tier"] != "reporting" || attrs["build"] != c.AccessKeyID[4:12] || attrs["_client_name"] != "Go-MySQL-Driver" {
			t.Fatalf("connection attributes on the server: %v", attrs)
		}
		var database string
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil || database != "appdb" {
			t.Fatalf("DATABASE() = %q, %v; want appdb", database, err)
		}
	})

	t.Run("server certificate not signed by the CA", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		before := len(r.Logins(t))
		p := &proxytest.Provider{C: c}
		port, reg := startProxy(t, r, p, testpeer.UntrustedCAFile(t), "")
		_, _, _, err := whoami(t, open(t, port, "", ""))
		var me *gomysql.MySQLError
		if !errors.As(err, &me) || !strings.Contains(me.Message, "certificate") {
			t.Fatalf("error %v; want the proxy's TLS refusal", err)
		}
		if p.Retrieved() != 0 {
			t.Fatalf("credentials were resolved %d times: a token was made before TLS succeeded", p.Retrieved())
		}
		if n := len(r.Logins(t)); n != before {
			t.Fatalf("the fake RDS saw %d logins", n-before)
		}
		if n := proxytest.Metric(t, reg, "credkit_dbproxy_upstream_auth_failures_total", "reason=tls"); n != 1 {
			t.Fatalf("auth failures for TLS: %v", n)
		}
	})

	t.Run("retry with refreshed credentials", func(t *testing.T) {
		p, stale := proxytest.RefusedFirst(r)
		port, _ := startProxy(t, r, p, r.CAFile, "")
		if user, _, _, err := whoami(t, open(t, port, "", "")); err != nil || user != "app@%" {
			t.Fatalf("CURRENT_USER() = %q, %v", user, err)
		}
		if _, refused := okLogins(r, t, stale.AccessKeyID); refused != 1 {
			t.Fatalf("want the stale token refused once: %+v", r.Logins(t))
		}
	})

	t.Run("refused twice: the explanation", func(t *testing.T) {
		stale := proxytest.StaticCreds()
		port, reg := startProxy(t, r, &proxytest.Provider{C: stale}, r.CAFile, "")
		_, _, _, err := whoami(t, open(t, port, "", ""))
		var me *gomysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1045 || !strings.Contains(me.Message, "refused both") || !strings.Contains(me.Message, "credkit db doctor") {
			t.Fatalf("error %v; want 1045 with the explanation", err)
		}
		if _, refused := okLogins(r, t, stale.AccessKeyID); refused != 2 {
			t.Fatalf("want two refused tokens: %+v", r.Logins(t))
		}
		if n := proxytest.Metric(t, reg, "credkit_dbproxy_upstream_auth_failures_total", "reason=refused"); n != 2 {
			t.Fatalf("auth failures refused: %v", n)
		}
	})

	t.Run("local password", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		secret := "local-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		port, _ := startProxy(t, r, &proxytest.Provider{C: c}, r.CAFile, secret)
		// go-sql-driver takes the greeting's caching_sha2_password.
		if user, _, _, err := whoami(t, open(t, port, secret, "")); err != nil || user != "app@%" {
			t.Fatalf("caching_sha2_password: CURRENT_USER() = %q, %v", user, err)
		}
		_, _, _, err := whoami(t, open(t, port, "wrong", ""))
		var me *gomysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1045 || !strings.Contains(me.Message, "wrong local password") {
			t.Fatalf("wrong password: %v", err)
		}
		for _, plugin := range []string{"mysql_native_password", "caching_sha2_password"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			// The local password is no IAM token: argv is fine for a test.
			cmd := mariadbClient(ctx, port, "--password="+secret, "--default-auth="+plugin, "-e", "SELECT CURRENT_USER()")
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil || strings.TrimSpace(string(out)) != "app@%" {
				t.Fatalf("mariadb --default-auth=%s: %v\n%s", plugin, err, out)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := mariadbClient(ctx, port, "--password=wrong", "--default-auth=mysql_native_password", "-e", "SELECT 1")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "wrong local password") {
			t.Fatalf("mariadb with a wrong password: %v\n%s", err, out)
		}
	})

	t.Run("Ctrl-C in the mariadb client kills the right query", func(t *testing.T) {
		c := proxytest.StaticCreds()
		proxytest.Trust(r, c)
		port, _ := startProxy(t, r, &proxytest.Provider{C: c}, r.CAFile, "")
		interrupt(t, r, port)
	})

	// The client holds the refused first connection's id; its KILL must
	// reach the session the retry logged in.
	t.Run("Ctrl-C after a retried login kills the right query", func(t *testing.T) {
		p, stale := proxytest.RefusedFirst(r)
		port, _ := startProxy(t, r, p, r.CAFile, "")
		interrupt(t, r, port)
		if _, refused := okLogins(r, t, stale.AccessKeyID); refused != 1 {
			t.Fatalf("want the mariadb client's first login refused once: %+v", r.Logins(t))
		}
	})
}

// running counts the sessions on r running query.
func running(t *testing.T, r *testpeer.FakeRDS, query string) string {
	return strings.TrimSpace(r.AdminExec(t, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = '"+query+"'"))
}

// interrupt runs SELECT SLEEP(30) in the mariadb client through the
// proxy on port, logging in first, then SELECT SLEEP(8) in a second
// session, and sends the client SIGINT (Ctrl-C): its SLEEP(30) must end
// at once, and the other session's SLEEP(8) run to its end.
func interrupt(t *testing.T, r *testpeer.FakeRDS, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitFor := func(query string, n string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); running(t, r, query) != n; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: want %s running", query, n)
			}
		}
	}
	cmd := mariadbClient(ctx, port, "-e", "SELECT SLEEP(30)")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor("SELECT SLEEP(30)", "1")
	// A second session sleeping too: a KILL QUERY with a wrong id could
	// hit it.
	other := open(t, port, "", "")
	otherDone := make(chan error, 1)
	go func() {
		var v int
		err := other.QueryRowContext(ctx, "SELECT SLEEP(8)").Scan(&v)
		if err == nil && v != 0 {
			err = errors.New("its SLEEP(8) was interrupted")
		}
		otherDone <- err
	}()
	waitFor("SELECT SLEEP(8)", "1")
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the query ran on for %v after Ctrl-C: %s", took, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") && !strings.Contains(out.String(), "killed") && strings.TrimSpace(out.String()) != "1" {
		t.Fatalf("mariadb: %v\n%s", err, out.String())
	}
	if n := running(t, r, "SELECT SLEEP(30)"); n != "0" {
		t.Fatalf("SELECT SLEEP(30) still runs on the server")
	}
	// The other session's query ran to its end: SLEEP returns 0 when not interrupted.
	if err := <-otherDone; err != nil {
		t.Fatalf("the other session: %v", err)
	}
}

// A database whose greeting lacks CLIENT_SSL gets no token: the client
// hears why, and the credentials are never even resolved.
func TestMySQLProxyRefusesPlainDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	port := testpeer.PlainMariaDB(t)
	p := &proxytest.Provider{C: proxytest.StaticCreds()}
	plain := &testpeer.FakeRDS{Engine: "mysql", Host: "127.0.0.1", Port: port, Region: testpeer.FakeRDSRegion}
	local, reg := startProxy(t, plain, p, testpeer.UntrustedCAFile(t), "")
	_, _, _, err := whoami(t, open(t, local, "", ""))
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || !strings.Contains(me.Message, "lacks CLIENT_SSL") || !strings.Contains(me.Message, "never sends an IAM token without verified TLS") {
		t.Fatalf("error %v; want the refusal of a database without TLS", err)
	}
	if p.Retrieved() != 0 {
		t.Fatalf("credentials were resolved %d times for a database without TLS", p.Retrieved())
	}
	if n := proxytest.Metric(t, reg, "credkit_dbproxy_upstream_auth_failures_total", "reason=no_tls"); n != 1 {
		t.Fatalf("auth failures for no TLS: %v", n)
	}
}
