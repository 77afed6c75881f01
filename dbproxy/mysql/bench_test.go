package mysql_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
)

// BenchmarkMySQLProxy runs go-sql-driver/mysql against the fake RDS
// MariaDB directly (TLS verify-full, the IAM token as cleartext password)
// and through the proxy, rounds interleaved so that a busy machine
// disturbs both alike, and reports medians: queries per second on one
// connection (qps-direct, qps-proxy, ratio proxy/direct) and connection
// set-ups per second, a login and one query each (conn-direct,
// conn-proxy, conn-ratio). Run
//
//	go test ./dbproxy/mysql -run '^$' -bench MySQLProxy -benchtime 1x
func BenchmarkMySQLProxy(b *testing.B) {
	r := fakeRDS(b)
	c := proxytest.StaticCreds()
	proxytest.Trust(r, c)
	port, _ := startProxy(b, r, creds.Static{Creds: c}, r.CAFile, "")
	roots, err := dbproxy.Roots(r.CAFile, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	gomysql.RegisterTLSConfig("fakerds", &tls.Config{RootCAs: roots, ServerName: r.Host})
	tokens := &dbproxy.Tokens{Credentials: creds.Static{Creds: c}}
	tok, err := tokens.Token(context.Background(), dbproxy.TokenRequest{Host: r.Host, Port: r.Port, Region: r.Region, User: "app"}, false)
	if err != nil {
		b.Fatal(err)
	}
	directDSN := fmt.Sprintf("app:%s@tcp(%s)/appdb?tls=fakerds&allowCleartextPasswords=true&timeout=20s", tok.Value, r.Endpoint())
	proxyDSN := fmt.Sprintf("app@tcp(127.0.0.1:%d)/appdb?tls=false&timeout=20s", port)

	queries := func(dsn string, n int) float64 {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		var v int
		if err := db.QueryRow("SELECT 1").Scan(&v); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := range n {
			if err := db.QueryRow("SELECT ?", i).Scan(&v); err != nil {
				b.Fatal(err)
			}
		}
		return float64(n) / time.Since(start).Seconds()
	}
	connects := func(dsn string, n int) float64 {
		start := time.Now()
		for range n {
			db, err := sql.Open("mysql", dsn)
			if err != nil {
				b.Fatal(err)
			}
			var v int
			if err := db.QueryRow("SELECT 1").Scan(&v); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
		return float64(n) / time.Since(start).Seconds()
	}
	const rounds = 5
	var qd, qp, cd, cp []float64
	for range b.N {
		for range rounds {
			qd = append(qd, queries(directDSN, 2000))
			qp = append(qp, queries(proxyDSN, 2000))
			cd = append(cd, connects(directDSN, 40))
			cp = append(cp, connects(proxyDSN, 40))
		}
	}
	b.ReportMetric(proxytest.Median(qd), "qps-direct")
	b.ReportMetric(proxytest.Median(qp), "qps-proxy")
	b.ReportMetric(proxytest.Median(qp)/proxytest.Median(qd), "ratio")
	b.ReportMetric(proxytest.Median(cd), "conn-direct")
	b.ReportMetric(proxytest.Median(cp), "conn-proxy")
	b.ReportMetric(proxytest.Median(cp)/proxytest.Median(cd), "conn-ratio")
}
