package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/internal/testpeer"
)

// At --max-connections, a new client gets error 1040 with SQLSTATE 08004,
// as MariaDB answers at its max_connections (compared below, with the
// same two clients), and the open session goes on.
func TestMySQLMaxConnections(t *testing.T) {
	r := fakeRDS(t)
	c := proxytest.StaticCreds()
	proxytest.Trust(r, c)
	port, reg := startTarget(t, r, &proxytest.Provider{C: c}, r.CAFile, "", "127.0.0.1:0", func(o *dbproxy.Options) {
		o.MaxConnections = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	held, err := open(t, port, "", "").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var id1 int64
	if err := held.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id1); err != nil {
		t.Fatal(err)
	}

	_, _, _, err = whoami(t, open(t, port, "", ""))
	var proxied *gomysql.MySQLError
	if !errors.As(err, &proxied) || proxied.Number != 1040 || string(proxied.SQLState[:]) != "08004" || !strings.Contains(proxied.Message, "--max-connections 1") {
		t.Errorf("go-sql-driver at --max-connections 1: %v; want error 1040 (08004) naming --max-connections 1", err)
	}
	out, err := mariadbClient(ctx, port, "-e", "SELECT 1").CombinedOutput()
	proxiedLine := string(out)
	if err == nil || !strings.Contains(proxiedLine, "ERROR 1040 (08004)") || !strings.Contains(proxiedLine, "too many connections (--max-connections 1)") {
		t.Errorf("mariadb client at --max-connections 1: %v\n%s\nwant ERROR 1040 (08004) naming --max-connections 1", err, out)
	}

	var id2 int64
	var x string
	if err := held.QueryRowContext(ctx, "SELECT CONNECTION_ID(), REPEAT('x', 100000)").Scan(&id2, &x); err != nil || id2 != id1 || len(x) != 100000 {
		t.Fatalf("the open session after the refusals: connection %d (was %d), %d bytes, %v", id2, id1, len(x), err)
	}
	if n := proxytest.Metric(t, reg, "credkit_dbproxy_connections_refused_total", ""); n != 2 {
		t.Errorf("connections refused = %v, want 2", n)
	}
	if n := proxytest.Metric(t, reg, "credkit_dbproxy_connections_total", ""); n != 1 {
		t.Errorf("connections served = %v, want 1", n)
	}
	if n := len(r.Logins(t)); n != 1 {
		t.Errorf("the fake RDS saw %d logins; want the open session's only", n)
	}

	// MariaDB itself at its max_connections, to the same clients.
	r.AdminExec(t, "CREATE USER plain@'%' IDENTIFIED BY 'plain-pw'; SET GLOBAL max_connections = 10")
	pool, err := sql.Open("mysql", fmt.Sprintf("plain:plain-pw@tcp(127.0.0.1:%d)/?tls=false&timeout=20s", r.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var direct *gomysql.MySQLError
	for range 20 {
		c, err := pool.Conn(ctx)
		if err != nil {
			if !errors.As(err, &direct) {
				t.Fatalf("connecting to MariaDB as plain: %v", err)
			}
			break
		}
		defer c.Close()
	}
	if direct == nil {
		t.Fatal("MariaDB let 20 connections in over max_connections = 10")
	}
	if direct.Number != proxied.Number || direct.SQLState != proxied.SQLState {
		t.Errorf("go-sql-driver: MariaDB at max_connections says %v; the proxy %v", direct, proxied)
	}
	cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", strconv.Itoa(r.Port), "-u", "plain", "--password=plain-pw", "--skip-ssl", "-e", "SELECT 1")
	cmd.Env = testpeer.IsolatedAWSEnv("LC_ALL=C")
	out, _ = cmd.CombinedOutput()
	errorCode := regexp.MustCompile(`ERROR \d+ \(\w{5}\)`)
	if d, p := errorCode.FindString(string(out)), errorCode.FindString(proxiedLine); d == "" || d != p {
		t.Errorf("mariadb client: MariaDB at max_connections says %q; the proxy %q", out, proxiedLine)
	}
	t.Logf("MariaDB at max_connections: %v; the proxy: %v", direct, proxied)
}
