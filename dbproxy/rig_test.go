package dbproxy_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/internal/testpeer"
)

// rig is a proxy in front of a fake RDS PostgreSQL.
type rig struct {
	rds    *testpeer.FakeRDS
	proxy  *dbproxy.Proxy
	target *dbproxy.Target
	tokens *dbproxy.Tokens
	reg    *prometheus.Registry
	addr   string // 127.0.0.1:PORT
	port   int
	logs   *syncBuffer
}

// What the engines' tests share.
type syncBuffer = proxytest.SyncBuffer

var (
	sessionCreds = proxytest.SessionCreds
	staticCreds  = proxytest.StaticCreds
	trust        = proxytest.Trust
)

func fakeRDS(t testing.TB, users ...string) *testpeer.FakeRDS {
	t.Helper()
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	for _, u := range users {
		r.AddIAMUser(t, u)
	}
	return r
}

// startProxy serves r's user "app" on 127.0.0.1 with credentials from p.
func startProxy(t testing.TB, r *testpeer.FakeRDS, p creds.Provider, edit func(*dbproxy.Target, *dbproxy.Options)) *rig {
	t.Helper()
	roots, err := dbproxy.Roots(r.CAFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{rds: r, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	g.tokens = &dbproxy.Tokens{Credentials: p}
	g.target = &dbproxy.Target{Engine: "postgres", Host: r.Host, Port: r.Port, User: "app", Region: r.Region, Roots: roots, Listen: "127.0.0.1:0"}
	o := dbproxy.Options{
		Targets: []*dbproxy.Target{g.target}, Tokens: g.tokens,
		Engines: map[string]dbproxy.Engine{"postgres": dbproxy.Postgres{}},
		Log:     slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: dbproxy.NewMetrics(g.reg),
	}
	if edit != nil {
		edit(g.target, &o)
	}
	g.proxy, err = dbproxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	g.addr = g.proxy.Addrs()[0]
	if !strings.HasPrefix(g.addr, "unix:") {
		_, ps, _ := strings.Cut(g.addr, ":")
		g.port, _ = strconv.Atoi(ps)
	}
	done := make(chan error, 1)
	go func() { done <- g.proxy.Serve(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		g.proxy.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		// Whatever happened, no token may reach the logs.
		if strings.Contains(g.logs.String(), "X-Amz-Signature") {
			t.Errorf("a token reached the proxy's log:\n%s", g.logs.String())
		}
	})
	return g
}

// dsn is a libpq/pgx connection string to the proxy (no TLS, no password).
func (g *rig) dsn(extra string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=app dbname=app sslmode=disable connect_timeout=20 %s", g.port, extra)
}

func (g *rig) pgx(t testing.TB, extra string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pgx.Connect(ctx, g.dsn(extra))
}

// psql runs psql against the proxy and returns its combined output.
func (g *rig) psql(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("no psql (make deps-db)")
	}
	cmd := exec.Command("psql", append([]string{"-X", "-At", "-h", "127.0.0.1", "-p", strconv.Itoa(g.port), "-U", "app", "-d", "app"}, args...)...)
	cmd.Env = append(testpeer.IsolatedAWSEnv("PGCONNECT_TIMEOUT=20", "PGPASSWORD=", "PGSSLMODE=prefer"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (g *rig) metric(t testing.TB, name string) float64 {
	t.Helper()
	return proxytest.Metric(t, g.reg, name, "")
}

// provider is a credential source a test changes while the proxy runs.
type provider struct {
	mu          sync.Mutex
	c           creds.Credentials
	invalidated int
	onInvalid   func() creds.Credentials
}

func (p *provider) Retrieve(context.Context) (creds.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c, nil
}

func (p *provider) set(c creds.Credentials) {
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
}

func (p *provider) Invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.invalidated++
	if p.onInvalid != nil {
		p.c = p.onInvalid()
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
