package dbproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
)

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperations(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, func(_ *dbproxy.Target, o *dbproxy.Options) {
		o.MaxConnections = 1
	})
	h, err := dbproxy.ListenHealth("127.0.0.1:0", g.proxy, g.reg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	base := "http://" + h.Addr()
	if code, _ := get(t, base+"/startup"); code != 503 {
		t.Errorf("/startup before Started = %d, want 503", code)
	}
	h.Started()
	for _, p := range []string{"/startup", "/liveness", "/readiness"} {
		if code, body := get(t, base+p); code != 200 {
			t.Errorf("%s = %d %s, want 200", p, code, body)
		}
	}

	conn, err := g.pgx(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, base+"/readiness"); code != 503 || !strings.Contains(body, "max-connections") {
		t.Errorf("/readiness at the connection cap = %d %q, want 503", code, body)
	}
	_, err = g.pgx(t, "")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53300" || !strings.Contains(pe.Message, "--max-connections 1") {
		t.Errorf("second client at --max-connections 1: %v; want 53300", err)
	}
	if _, err := conn.Exec(context.Background(), "select repeat('x', 100000)"); err != nil {
		t.Fatal(err)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		"credkit_dbproxy_connections_open 1",
		"credkit_dbproxy_connections_total 1",
		"credkit_dbproxy_connections_refused_total 1",
		"credkit_dbproxy_tokens_minted_total 1",
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if down := g.metric(t, "credkit_dbproxy_bytes_total"); down < 100000 {
		t.Errorf("bytes copied = %v, want over 100000", down)
	}

	// SIGTERM's drain: an open session has until the deadline, then is
	// closed; the listener is closed at once.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	closed := g.proxy.Shutdown(ctx)
	if closed != 1 || time.Since(start) < time.Second {
		t.Errorf("Shutdown closed %d after %v; want 1 after the 1.5 s deadline", closed, time.Since(start))
	}
	if _, err := conn.Exec(context.Background(), "select 1"); err == nil {
		t.Error("the session still works after the drain deadline")
	}
	if code, _ := get(t, base+"/readiness"); code != 503 {
		t.Errorf("/readiness while draining = %d, want 503", code)
	}
	if _, err := g.pgx(t, ""); err == nil {
		t.Error("a new client connected after Shutdown")
	}
}

// Sessions that end within the drain deadline end on their own.
func TestDrainWaitsForSessions(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, nil)
	conn, err := g.pgx(t, "")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), "select pg_sleep(2)")
		conn.Close(context.Background())
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t0 := time.Now()
	closed := g.proxy.Shutdown(ctx)
	if d := time.Since(t0); d < time.Second || d > 10*time.Second {
		t.Errorf("Shutdown returned after %v; want when the 2 s query ended", d)
	}
	if closed != 0 {
		t.Errorf("Shutdown closed %d sessions, want 0", closed)
	}
	if err := <-done; err != nil {
		t.Errorf("the query running during the drain failed: %v", err)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	c, err := dbproxy.LoadConfig(write(`health: 127.0.0.1:9801
metrics: true
max_connections: 20
targets:
  - host: a.abc.eu-west-1.rds.amazonaws.com
    port: 5432
    user: app
    listen: 127.0.0.1:6432
  - host: b.abc.eu-west-1.rds.amazonaws.com:5433
    user: report
    listen: unix:/run/credkit
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 2 || c.Targets[1].User != "report" || c.Targets[1].Listen != "unix:/run/credkit" || c.MaxConnections != 20 || !c.Metrics {
		t.Errorf("config = %+v", c)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "targets:\n  - host: a\n    hots: b\n", `[3:5] unknown field "hots"`},
		{"no targets", "health: 127.0.0.1:1\n", "no targets"},
		{"target without host", "targets:\n  - port: 5432\n", "targets[0] has no host"},
		{"wrong type", "targets:\n  - host: a\n    port: five\n", "[3:11]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dbproxy.LoadConfig(write(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v; want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestLocalPasswordFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	os.WriteFile(p, []byte("s3cret\n"), 0o644)
	if _, err := dbproxy.ReadLocalPassword(p); err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a world-readable password file: %v", err)
	}
	os.Chmod(p, 0o600)
	if pw, err := dbproxy.ReadLocalPassword(p); err != nil || pw != "s3cret" {
		t.Errorf("ReadLocalPassword = %q, %v", pw, err)
	}
	// SASLprep would map this no-break space to a space on the client.
	os.WriteFile(p, []byte("s3cr\u00a0et\n"), 0o600)
	if _, err := dbproxy.ReadLocalPassword(p); err == nil || !strings.Contains(err.Error(), "byte 5 of the password is not printable ASCII") || strings.Contains(err.Error(), "s3cr") {
		t.Errorf("a non-ASCII password: %v", err)
	}
}

func TestNonLoopbackNeedsLocalPassword(t *testing.T) {
	_, err := dbproxy.New(dbproxy.Options{
		Targets: []*dbproxy.Target{{Engine: "postgres", Host: "db", Port: 5432, User: "app", Listen: "0.0.0.0:0"}},
		Engines: map[string]dbproxy.Engine{"postgres": dbproxy.Postgres{}},
	})
	if !errors.Is(err, dbproxy.ErrNotLoopback) {
		t.Fatalf("err = %v, want ErrNotLoopback", err)
	}
	p, err := dbproxy.New(dbproxy.Options{
		Targets: []*dbproxy.Target{{Engine: "postgres", Host: "db", Port: 5432, User: "app", Listen: "0.0.0.0:0", LocalPassword: "x"}},
		Engines: map[string]dbproxy.Engine{"postgres": dbproxy.Postgres{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Shutdown(context.Background())
}
