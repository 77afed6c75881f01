package mysql_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/internal/testpeer"
)

// loginDirect logs in to r as user with an IAM token, as RDS wants it:
// TLS verified against r's CA, the token as a cleartext password.
func loginDirect(t *testing.T, r *testpeer.FakeRDS, user, token string) error {
	t.Helper()
	roots, err := dbproxy.Roots(r.CAFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd = user, token
	cfg.Net, cfg.Addr = "tcp", r.Endpoint()
	cfg.TLS = &tls.Config{RootCAs: roots, ServerName: r.Host}
	cfg.AllowCleartextPasswords = true
	cfg.Timeout = 20 * time.Second
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// The IDE report: credentials rotate every 20 s and each set dies 25 s
// after it was issued; the fake RDS refuses tokens signed by dead
// credentials. Clients (go-sql-driver/mysql, and the mariadb client every
// fourth time) connecting every 3 s through the proxy never fail.
func TestMySQLRotatingCredentialsNeverFail(t *testing.T) {
	r := fakeRDS(t)
	p := &proxytest.Rotating{RDS: r, Every: 20 * time.Second, Life: 25 * time.Second}
	port, _ := startProxy(t, r, p, r.CAFile, "")

	start := time.Now()
	end := start.Add(52 * time.Second)
	n, viaMariaDB := 0, 0
	for ; time.Now().Before(end); n++ {
		at := time.Since(start).Round(time.Second)
		if n%4 == 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := mariadbClient(ctx, port, "-e", "SELECT CURRENT_USER()").CombinedOutput()
			cancel()
			if err != nil || strings.TrimSpace(string(out)) != "app@%" {
				t.Fatalf("login %d at +%v, mariadb client through the proxy: %v\n%s", n, at, err, out)
			}
			viaMariaDB++
		} else {
			db := open(t, port, "", "")
			user, _, cipher, err := whoami(t, db)
			db.Close()
			if err != nil || user != "app@%" || cipher == "" {
				t.Fatalf("login %d at +%v, go-sql-driver through the proxy: CURRENT_USER()=%q Ssl_cipher=%q, %v", n, at, user, cipher, err)
			}
		}
		time.Sleep(3 * time.Second)
	}

	sets := proxytest.CheckAllAccepted(t, r)
	if sets < 3 {
		t.Errorf("logins were signed by %d credential sets; want at least 3 rotations", sets)
	}
	if len(r.Logins(t)) < n {
		t.Errorf("the fake RDS decided %d logins for %d clients", len(r.Logins(t)), n)
	}

	// What a client that kept its first token would meet: refused, because
	// the credentials that signed it have expired. A token signed by the
	// live set logs in the same way.
	issued := p.Sets()
	first, last := issued[0], issued[len(issued)-1]
	err := loginDirect(t, r, "app", proxytest.TokenSignedBy(t, r, "app", first))
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Errorf("a token signed by expired credentials, directly: %v; want error 1045", err)
	}
	if l, _ := proxytest.LastLogin(t, r, first.AccessKeyID); l.OK || l.Reason != "signing credentials expired" {
		t.Errorf("the fake RDS's last decision on %s: %+v; want refused as signing credentials expired", first.AccessKeyID, l)
	}
	if err := loginDirect(t, r, "app", proxytest.TokenSignedBy(t, r, "app", last)); err != nil {
		t.Errorf("a token signed by the live credentials, directly: %v", err)
	}
	t.Logf("%d logins through the proxy (%d by the mariadb client) over %d credential sets", n, viaMariaDB, sets)
}
