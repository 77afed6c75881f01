package mysql_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
)

// At --max-connections, a new client gets error 1040 with SQLSTATE 08004,
// as MariaDB answers at its max_connections, and the open session goes on.
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
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1040 || string(me.SQLState[:]) != "08004" || !strings.Contains(me.Message, "--max-connections 1") {
		t.Errorf("go-sql-driver at --max-connections 1: %v; want error 1040 (08004) naming --max-connections 1", err)
	}
	out, err := mariadbClient(ctx, port, "-e", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ERROR 1040 (08004)") || !strings.Contains(string(out), "too many connections (--max-connections 1)") {
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
}
