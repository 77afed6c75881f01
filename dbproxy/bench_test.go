package dbproxy_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/internal/proxytest"
	"github.com/credkit/credkit/internal/testpeer"
)

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((?:without initial connection time|including reconnection times)\)`)

// pgbench runs pgbench for secs and returns its tps.
func pgbench(b *testing.B, env []string, args ...string) float64 {
	b.Helper()
	cmd := exec.Command("pgbench", args...)
	cmd.Env = append(testpeer.IsolatedAWSEnv("PGCONNECT_TIMEOUT=20"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench %v: %v\n%s", args, err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("pgbench %v: no tps in\n%s", args, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

var median = proxytest.Median

func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProxy runs pgbench against the fake RDS directly (TLS
// verify-full, the IAM token as password) and through the proxy, rounds
// interleaved so that a busy machine disturbs both alike, and reports
// medians:
//
//   - tps of pgbench's default transactions with one client
//     (tps1-direct, tps1-proxy, proxy/direct-c1) and with four
//     (proxy/direct-c4), the database on loopback;
//   - the same one-client ratio through socat, a plain TCP relay in C, in
//     place of the proxy (socat/direct-c1): what the extra hop itself
//     costs, with no TLS or logic in it;
//   - the one-client ratio when the database is 0.5 ms and 2 ms away
//     (proxy/direct-rtt0.5ms, proxy/direct-rtt2ms), both paths through
//     the same delaying relay, as a database in another host or zone is;
//   - connections per second with pgbench -C (conn-direct, conn-proxy,
//     conn-ratio);
//   - the proxy's CPU time per MB copied while psql reads a 50 MB COPY
//     (proxy-cpu-ms/MB, next to psql's own, psql-cpu-ms/MB).
//
// Run
//
//	go test ./dbproxy -run '^$' -bench Proxy -benchtime 1x
func BenchmarkProxy(b *testing.B) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("no pgbench (make deps-db)")
	}
	r := fakeRDS(b, "app")
	c := staticCreds()
	trust(r, c)
	g := startProxy(b, r, creds.Static{Creds: c}, nil)
	direct := func(host string, port int) []string {
		tok, err := g.tokens.Token(context.Background(), dbproxy.TokenRequest{Host: host, Port: port, Region: r.Region, User: "app"}, false)
		if err != nil {
			b.Fatal(err)
		}
		return []string{"PGHOST=" + host, "PGPORT=" + itoa(port), "PGUSER=app", "PGDATABASE=app",
			"PGPASSWORD=" + tok.Value, "PGSSLMODE=verify-full", "PGSSLROOTCERT=" + r.CAFile}
	}
	proxied := func(g *rig) []string {
		return []string{"PGHOST=127.0.0.1", "PGPORT=" + itoa(g.port), "PGUSER=app", "PGDATABASE=app", "PGSSLMODE=disable"}
	}
	init := exec.Command("pgbench", "-i", "-q", "-s", "2")
	init.Env = append(testpeer.IsolatedAWSEnv(), proxied(g)...)
	if out, err := init.CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i through the proxy: %v\n%s", err, out)
	}

	// The same database behind a relay that delays each way, reached
	// directly and through a second proxy.
	far := map[string]struct{ direct, proxied []string }{}
	for _, rtt := range []time.Duration{500 * time.Microsecond, 2 * time.Millisecond} {
		port := proxytest.NetDelay(b, r.Endpoint(), rtt/2)
		r.AcceptEndpoint(b, "127.0.0.1:"+itoa(port))
		gf := startProxy(b, r, creds.Static{Creds: c}, func(t *dbproxy.Target, _ *dbproxy.Options) { t.Host, t.Port = "127.0.0.1", port })
		far[rtt.String()] = struct{ direct, proxied []string }{direct("127.0.0.1", port), proxied(gf)}
	}
	// socat as the relay, the client's TLS through it.
	var socatEnv []string
	if _, err := exec.LookPath("socat"); err == nil {
		port := testpeer.FreePort(b)
		cmd := exec.Command("socat", "TCP-LISTEN:"+itoa(port)+",bind=127.0.0.1,fork,reuseaddr", "TCP:127.0.0.1:"+itoa(r.Port))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		r.AcceptEndpoint(b, "127.0.0.1:"+itoa(port))
		socatEnv = direct("127.0.0.1", port)
		waitPort(b, port)
	} else if os.Getenv("CREDKIT_PEERS") == "require" {
		b.Fatal("no socat (make deps-db)")
	}

	loop := direct(r.Host, r.Port)
	const rounds = 3
	var tps1D, tps1P, tps1S, tpsD, tpsP, connD, connP []float64
	farD, farP := map[string][]float64{}, map[string][]float64{}
	b.ResetTimer()
	for range b.N {
		for range rounds {
			// pgbench's defaults: one client, one thread.
			tps1D = append(tps1D, pgbench(b, loop, "-n", "-T", "4"))
			tps1P = append(tps1P, pgbench(b, proxied(g), "-n", "-T", "4"))
			if socatEnv != nil {
				tps1S = append(tps1S, pgbench(b, socatEnv, "-n", "-T", "4"))
			}
			tpsD = append(tpsD, pgbench(b, loop, "-n", "-T", "4", "-c", "4", "-j", "2"))
			tpsP = append(tpsP, pgbench(b, proxied(g), "-n", "-T", "4", "-c", "4", "-j", "2"))
			connD = append(connD, pgbench(b, loop, "-n", "-C", "-S", "-T", "3", "-c", "2", "-j", "2"))
			connP = append(connP, pgbench(b, proxied(g), "-n", "-C", "-S", "-T", "3", "-c", "2", "-j", "2"))
			for k, f := range far {
				farD[k] = append(farD[k], pgbench(b, f.direct, "-n", "-T", "4"))
				farP[k] = append(farP[k], pgbench(b, f.proxied, "-n", "-T", "4"))
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(median(tps1D), "tps1-direct")
	b.ReportMetric(median(tps1P), "tps1-proxy")
	b.ReportMetric(median(tps1P)/median(tps1D), "proxy/direct-c1")
	if tps1S != nil {
		b.ReportMetric(median(tps1S)/median(tps1D), "socat/direct-c1")
	}
	b.ReportMetric(median(tpsP)/median(tpsD), "proxy/direct-c4")
	for k := range far {
		b.ReportMetric(median(farP[k])/median(farD[k]), "proxy/direct-rtt"+k)
	}
	b.ReportMetric(median(connD), "conn-direct")
	b.ReportMetric(median(connP), "conn-proxy")
	b.ReportMetric(median(connP)/median(connD), "conn-ratio")

	// CPU per MB: the proxy runs in this process, psql in a child.
	var proxyMS, psqlMS []float64
	for range rounds {
		before := g.metric(b, "credkit_dbproxy_bytes_total")
		self, kids := cpuTime(syscall.RUSAGE_SELF), cpuTime(syscall.RUSAGE_CHILDREN)
		cmd := exec.Command("psql", "-X", "-q", "-c", "COPY (select repeat('x', 1000) from generate_series(1, 50000)) TO STDOUT")
		cmd.Env = append(testpeer.IsolatedAWSEnv(), proxied(g)...)
		// Straight to /dev/null: copying psql's output in this process
		// would count as the proxy's CPU.
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stdout = null
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err = cmd.Run()
		null.Close()
		if err != nil {
			b.Fatalf("psql COPY: %v\n%s", err, stderr.String())
		}
		mb := (g.metric(b, "credkit_dbproxy_bytes_total") - before) / 1e6
		if mb < 45 {
			b.Fatalf("only %.1f MB copied", mb)
		}
		proxyMS = append(proxyMS, float64(cpuTime(syscall.RUSAGE_SELF)-self)/float64(time.Millisecond)/mb)
		psqlMS = append(psqlMS, float64(cpuTime(syscall.RUSAGE_CHILDREN)-kids)/float64(time.Millisecond)/mb)
	}
	b.ReportMetric(median(proxyMS), "proxy-cpu-ms/MB")
	b.ReportMetric(median(psqlMS), "psql-cpu-ms/MB")
}

// waitPort waits until something listens on 127.0.0.1:port.
func waitPort(b *testing.B, port int) {
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+itoa(port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("nothing listens on port %d", port)
}
