package dbproxy_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/internal/testpeer"
)

func TestLoginThroughProxy(t *testing.T) {
	r := fakeRDS(t, "app")
	for _, tc := range []struct {
		name string
		c    creds.Credentials
	}{
		{"static keys", staticCreds()},
		{"session credentials", sessionCreds(time.Now().Add(time.Hour))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.Trust(tc.c.AccessKeyID, tc.c.SecretAccessKey, tc.c.SessionToken, tc.c.Expires)
			g := startProxy(t, r, creds.Static{Creds: tc.c}, nil)

			conn, err := g.pgx(t, "application_name=proxytest")
			if err != nil {
				t.Fatalf("pgx through the proxy: %v\n%s", err, r.ServerLog())
			}
			var user, app string
			var ssl bool
			err = conn.QueryRow(context.Background(),
				"select current_user, current_setting('application_name'), ssl from pg_stat_ssl where pid = pg_backend_pid()").Scan(&user, &app, &ssl)
			conn.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if user != "app" || app != "proxytest" || !ssl {
				t.Errorf("upstream session: user %q application_name %q ssl %v; want app, proxytest (forwarded), true", user, app, ssl)
			}

			out, err := g.psql(t, nil, "-c", "select current_user")
			if err != nil || strings.TrimSpace(out) != "app" {
				t.Fatalf("psql through the proxy: %v\n%s", err, out)
			}
			// The second login reused the token; the verifier saw both.
			if m := g.metric(t, "credkit_dbproxy_tokens_minted_total"); m != 1 {
				t.Errorf("tokens minted = %v, want 1 (the second login reuses it)", m)
			}
			if h := g.metric(t, "credkit_dbproxy_token_cache_hits_total"); h != 1 {
				t.Errorf("cache hits = %v, want 1", h)
			}
			var ok int
			for _, l := range r.Logins(t) {
				if l.AccessKeyID == tc.c.AccessKeyID && l.OK && l.User == "app" {
					ok++
				}
			}
			if ok != 2 {
				t.Errorf("fake RDS accepted %d logins signed by %s, want 2: %+v", ok, tc.c.AccessKeyID, r.Logins(t))
			}
		})
	}
}

func TestWrongCARefusedBeforeToken(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	var retrieved atomic.Int32
	p := creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		retrieved.Add(1)
		return c, nil
	})
	g := startProxy(t, r, p, func(tg *dbproxy.Target, _ *dbproxy.Options) {
		roots, err := dbproxy.Roots(testpeer.UntrustedCAFile(t), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tg.Roots = roots
	})
	_, err := g.pgx(t, "")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08001" || !strings.Contains(pe.Message, "certificate") {
		t.Fatalf("connecting through a proxy that does not trust the server's CA: %v; want 08001 naming the certificate", err)
	}
	if n := retrieved.Load(); n != 0 {
		t.Errorf("credentials were asked for %d times before TLS verified; want none", n)
	}
	if m := g.metric(t, "credkit_dbproxy_tokens_minted_total"); m != 0 {
		t.Errorf("tokens minted = %v, want 0", m)
	}
	if l := r.Logins(t); len(l) != 0 {
		t.Errorf("the server saw logins: %+v", l)
	}
	if m := g.metric(t, "credkit_dbproxy_upstream_auth_failures_total"); m != 1 {
		t.Errorf("auth failures = %v, want 1 (tls)", m)
	}
}

// A server that answers the SSL request with N gets no byte after it.
func TestUpstreamWithoutTLSRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req := make([]byte, 8)
		if _, err := c.Read(req); err != nil {
			return
		}
		c.Write([]byte{'N'})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var rest []byte
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			rest = append(rest, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- append(req, rest...)
	}()
	err = connectThrough(t, ln.Addr().(*net.TCPAddr).Port)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "does not offer TLS") {
		t.Fatalf("err = %v; want the proxy's refusal of a server without TLS", err)
	}
	b := <-got
	if len(b) != 8 || string(b[4:]) != "\x04\xd2\x16\x2f" {
		t.Errorf("the server got %d bytes (%q); want only the 8-byte SSL request", len(b), b)
	}
}

func TestCancelReachesServer(t *testing.T) {
	r := fakeRDS(t, "app")
	c := sessionCreds(time.Now().Add(time.Hour))
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, nil)

	t.Run("pgx", func(t *testing.T) {
		conn, err := g.pgx(t, "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		// pgconn's CancelRequest dials the address the connection used:
		// the proxy.
		go func() {
			time.Sleep(time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := conn.PgConn().CancelRequest(ctx); err != nil {
				t.Errorf("CancelRequest: %v", err)
			}
		}()
		start := time.Now()
		_, err = conn.Exec(context.Background(), "select pg_sleep(30)")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("pg_sleep cancelled after 1 s: %v; want the server's 57014 query_canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("cancel took %v", d)
		}
	})
	t.Run("psql", func(t *testing.T) {
		if _, err := exec.LookPath("psql"); err != nil {
			t.Skip("no psql")
		}
		cmd := exec.Command("psql", "-X", "-h", "127.0.0.1", "-p", g.addr[strings.LastIndex(g.addr, ":")+1:], "-U", "app", "-d", "app", "-c", "select pg_sleep(30)")
		cmd.Env = testpeer.IsolatedAWSEnv("PGSSLMODE=prefer", "PGCONNECT_TIMEOUT=20")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the query runs on the server, then press Ctrl-C.
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(r.AdminExec(t, "select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'"), "1") {
			if time.Now().After(deadline) {
				t.Fatalf("the query never ran: %s", out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		start := time.Now()
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("psql ended %v after Ctrl-C", d)
		}
		if !strings.Contains(out.String(), "canceling statement due to user request") {
			t.Errorf("psql output: %s; want the server's cancel message", out.String())
		}
	})
}

// The IDE report: credentials rotate every 20 s and each set dies 25 s
// after it was issued; the fake RDS refuses tokens signed by dead
// credentials. A client connecting every 3 s never fails.
func TestRotatingCredentialsNeverFail(t *testing.T) {
	r := fakeRDS(t, "app")
	p := &proxytest.Rotating{RDS: r, Every: 20 * time.Second, Life: 25 * time.Second}
	g := startProxy(t, r, p, nil)
	end := time.Now().Add(52 * time.Second)
	n := 0
	for time.Now().Before(end) {
		conn, err := g.pgx(t, "")
		if err != nil {
			t.Fatalf("login %d at +%v through the proxy: %v", n, time.Since(end.Add(-52*time.Second)).Round(time.Second), err)
		}
		var one int
		if err := conn.QueryRow(context.Background(), "select 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
		conn.Close(context.Background())
		n++
		time.Sleep(3 * time.Second)
	}
	sets := proxytest.CheckAllAccepted(t, r)
	if sets < 3 {
		t.Errorf("logins were signed by %d credential sets; want at least 3 rotations", sets)
	}
	// What a client that kept its first token would have met: refused.
	first := p.Sets()[0]
	out, err := r.Psql("app", proxytest.TokenSignedBy(t, r, "app", first))
	if err == nil || !strings.Contains(out, "PAM authentication failed") {
		t.Errorf("a token signed by expired credentials logged in directly (%v): %s", err, out)
	}
	if l, _ := proxytest.LastLogin(t, r, first.AccessKeyID); l.OK || l.Reason != "signing credentials expired" {
		t.Errorf("the fake RDS's last decision on %s: %+v; want refused as signing credentials expired", first.AccessKeyID, l)
	}
	t.Logf("%d logins through the proxy over %d credential sets", n, sets)
}

// A refused token is retried once with refreshed credentials; when both
// are refused the client gets the server's error and an explanation.
func TestRefusedTokenRetriedWithFreshCredentials(t *testing.T) {
	r := fakeRDS(t, "app")
	old := sessionCreds(time.Now().Add(time.Hour))
	fresh := sessionCreds(time.Now().Add(time.Hour))
	trust(r, old)
	trust(r, fresh)
	p := &provider{c: old, onInvalid: func() creds.Credentials { return fresh }}
	g := startProxy(t, r, p, nil)
	conn, err := g.pgx(t, "")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	// The session behind old ends early (revoked); the proxy's cached
	// token signed by it is refused, and the retry signs with fresh.
	r.Trust(old.AccessKeyID, old.SecretAccessKey, old.SessionToken, time.Now().Add(-time.Minute))
	conn, err = g.pgx(t, "")
	if err != nil {
		t.Fatalf("login after the cached token's credentials were revoked: %v", err)
	}
	conn.Close(context.Background())
	if p.invalidated != 1 {
		t.Errorf("provider invalidated %d times, want 1", p.invalidated)
	}
	logins := r.Logins(t)
	if len(logins) != 3 || logins[1].OK || logins[1].AccessKeyID != old.AccessKeyID || !logins[2].OK || logins[2].AccessKeyID != fresh.AccessKeyID {
		t.Errorf("logins = %+v; want old ok, old refused, fresh ok", logins)
	}

	// Both refused: the client sees the server's error and why.
	r.Trust(fresh.AccessKeyID, fresh.SecretAccessKey, fresh.SessionToken, time.Now().Add(-time.Minute))
	_, err = g.pgx(t, "")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, `PAM authentication failed for user "app"`) ||
		!strings.Contains(pe.Hint, "rds_iam") || !strings.Contains(pe.Hint, fresh.AccessKeyID) || !strings.Contains(pe.Hint, "credkit db doctor") {
		t.Fatalf("err = %v (hint %q); want the server's PAM error with the proxy's explanation", err, hintOf(pe))
	}
	if strings.Contains(err.Error()+pe.Hint, fresh.SecretAccessKey) || strings.Contains(pe.Hint, "X-Amz") {
		t.Errorf("a secret reached the client's error")
	}
}

func hintOf(pe *pgconn.PgError) string {
	if pe == nil {
		return ""
	}
	return pe.Hint
}

func TestLocalPassword(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, func(tg *dbproxy.Target, _ *dbproxy.Options) {
		tg.LocalPassword = "local-pw-123"
	})
	conn, err := g.pgx(t, "password=local-pw-123")
	if err != nil {
		t.Fatalf("right local password: %v", err)
	}
	conn.Close(context.Background())
	_, err = g.pgx(t, "password=wrong")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28P01" {
		t.Fatalf("wrong local password: %v; want 28P01", err)
	}
	out, err := g.psql(t, []string{"PGPASSWORD=local-pw-123"}, "-c", "select current_user")
	if err != nil || strings.TrimSpace(out) != "app" {
		t.Fatalf("psql with the local password: %v\n%s", err, out)
	}
	if n := len(r.Logins(t)); n != 2 {
		t.Errorf("upstream logins = %d, want 2 (the wrong password never reaches the database)", n)
	}
}

func TestUnixSocketAsPsqlExpects(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	dir := shortTempDir(t)
	g := startProxy(t, r, creds.Static{Creds: c}, func(tg *dbproxy.Target, _ *dbproxy.Options) {
		tg.Listen = "unix:" + dir
	})
	want := "unix:" + dir + "/.s.PGSQL." + itoa(r.Port)
	if g.addr != want {
		t.Fatalf("listening on %s, want %s", g.addr, want)
	}
	cmd := exec.Command("psql", "-X", "-At", "-h", dir, "-p", itoa(r.Port), "-U", "app", "-d", "app", "-c", "select current_user")
	cmd.Env = testpeer.IsolatedAWSEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "app" {
		t.Fatalf("psql -h %s: %v\n%s", dir, err, out)
	}
}

// sslnegotiation=direct: the client opens with a TLS handshake, which the
// proxy completes with its own local certificate.
func TestDirectTLSFromClient(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "host=127.0.0.1 port="+itoa(g.port)+" user=app dbname=app sslmode=require sslnegotiation=direct")
	if err != nil {
		t.Fatalf("pgx with sslnegotiation=direct: %v", err)
	}
	defer conn.Close(context.Background())
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("the local leg is %T, not TLS", conn.PgConn().Conn())
	}
	var user string
	if err := conn.QueryRow(ctx, "select current_user").Scan(&user); err != nil || user != "app" {
		t.Errorf("current_user = %q, %v", user, err)
	}
}

// Credentials the chain returns already expired (the environment of a
// laptop that slept) sign nothing; walking the chain anew finds live ones.
func TestExpiredCredentialsFromChainRefreshed(t *testing.T) {
	r := fakeRDS(t, "app")
	dead := sessionCreds(time.Now().Add(-time.Minute))
	live := sessionCreds(time.Now().Add(time.Hour))
	trust(r, dead)
	trust(r, live)
	p := &provider{c: dead, onInvalid: func() creds.Credentials { return live }}
	g := startProxy(t, r, p, nil)
	conn, err := g.pgx(t, "")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	conn.Close(context.Background())
	logins := r.Logins(t)
	if len(logins) != 1 || !logins[0].OK || logins[0].AccessKeyID != live.AccessKeyID {
		t.Errorf("logins = %+v; want one, signed by the live credentials (none by the dead)", logins)
	}

	// When the chain has nothing better, the client learns why.
	p.onInvalid = nil
	p.set(dead)
	_, err = g.pgx(t, "")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" || !strings.Contains(pe.Message, "credentials from the chain have expired") ||
		!strings.Contains(pe.Message, dead.AccessKeyID) || !strings.Contains(pe.Message, "test session") {
		t.Fatalf("err = %v; want the expired credentials named with their source", err)
	}
	if strings.Contains(pe.Message, dead.SecretAccessKey) || strings.Contains(pe.Message, dead.SessionToken) {
		t.Error("a secret reached the client")
	}
}

// A database that cannot be reached: the client gets one line saying so.
func TestUnreachableUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	err = connectThrough(t, port)
	var pe *pgconn.PgError
	want := "credkit db proxy: cannot reach app@127.0.0.1:" + itoa(port) + ": connect: connection refused"
	if !errors.As(err, &pe) || pe.Code != "08001" || pe.Message != want {
		t.Fatalf("err = %v; want 08001 %q", err, want)
	}
}

// connectThrough starts a proxy for user app at 127.0.0.1:port and returns
// what pgx's connecting through it returned.
func connectThrough(t *testing.T, port int) error {
	p, err := dbproxy.New(dbproxy.Options{
		Targets: []*dbproxy.Target{{Engine: "postgres", Host: "127.0.0.1", Port: port, User: "app", Region: "us-east-1", Listen: "127.0.0.1:0"}},
		Tokens:  &dbproxy.Tokens{Credentials: creds.Static{Creds: staticCreds()}},
		Engines: map[string]dbproxy.Engine{"postgres": dbproxy.Postgres{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(context.Background())
	defer p.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, "postgres://app@"+p.Addrs()[0]+"/app?sslmode=disable")
	return err
}

// A client asking for protocol 3.1 and an option the server does not
// know gets the server's NegotiateProtocolVersion before the login ends,
// and the session works at 3.0.
func TestNegotiateProtocolVersionRelayed(t *testing.T) {
	r := fakeRDS(t, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(t, r, creds.Static{Creds: c}, nil)
	conn, err := net.DialTimeout("tcp", g.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: 3<<16 | 1, Parameters: map[string]string{
		"user": "app", "database": "app", "application_name": "negotiate-test", "_pq_.credkit_probe": "on"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	var neg *pgproto3.NegotiateProtocolVersion
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, fmt.Sprintf("%T", m))
		if n, ok := m.(*pgproto3.NegotiateProtocolVersion); ok {
			neg = &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: n.NewestMinorProtocol, UnrecognizedOptions: slices.Clone(n.UnrecognizedOptions)}
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("login through the proxy: %s %s", e.Code, e.Message)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if len(got) < 2 || got[0] != "*pgproto3.NegotiateProtocolVersion" || got[1] != "*pgproto3.AuthenticationOk" {
		t.Fatalf("messages = %v; want NegotiateProtocolVersion, then AuthenticationOk", got)
	}
	if neg.NewestMinorProtocol != pgproto3.ProtocolVersion30 || !slices.Equal(neg.UnrecognizedOptions, []string{"_pq_.credkit_probe"}) {
		t.Errorf("NegotiateProtocolVersion = %+v; want 3.0 and the unknown option", neg)
	}
	fe.Send(&pgproto3.Query{String: "select current_setting('application_name')"})
	fe.Flush()
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := m.(*pgproto3.DataRow); ok && string(d.Values[0]) != "negotiate-test" {
			t.Errorf("application_name = %q; the startup parameters did not arrive", d.Values[0])
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
}
