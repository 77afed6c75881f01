package server

// Load benchmarks of the credential endpoints: a figure, not a target.
// An SDK asks the endpoint once per credential refresh, so these numbers
// say how much headroom there is, not what a program needs.
//
// With clients that send back to back (a closed loop), the mean latency is
// fixed by Little's law at clients/throughput, so latency is measured at
// offered rates. Each benchmark has these parts:
//
//   - max: 256 clients send back to back; req/s is the throughput
//     (capacity), the latencies are queueing (about 256/req/s).
//   - rate=N (1,000 and 10,000 by default): the same 256 clients send at
//     a fixed total rate (each one every 256/N s, staggered). p50-ms and
//     p99-ms count from when a request was due, so a client that falls
//     behind counts its delay (no coordinated omission); p99-sent-ms
//     counts from when it was sent, without the load generator's own
//     lateness.
//
// Both endpoints serve a creds.Cache over fixed credentials, as in
// production: the container endpoint with its Authorization token; IMDSv2
// with one session token PUT per client, then GETs of the role's
// credentials. Every client is a net/http client with its own keep-alive
// TCP connection to 127.0.0.1 (server.Listen), as an SDK's is.
//
// The load generator shares the machine's CPUs with the server. The server
// runs by default in a child process (this test binary run again with
// credkitLoadChildEnv set), so that the CPU time of each is measured
// apart: srv-cpu-us/req and cli-cpu-us/req. srv-cap-req/s, for max only,
// is what the server would serve with all CPUs to itself (NumCPU / its CPU
// time per request), an estimate. other-cpu-% is the share of the machine
// used by neither during the run (/proc/stat): a run with much of it was
// disturbed. Flags (after -args):
//
//	-load.duration=5s      length of one run
//	-load.clients=256      clients, one connection each
//	-load.rate=1000,10000  offered rates, comma-separated ("" only max)
//	-load.serverprocs=0    the server's GOMAXPROCS (0: Go's default);
//	                       the client's is go test's -cpu
//	-load.inproc           server in the benchmark's process
//	-load.serverprofile=F  the server's CPU profile
//
// Run (about 35 s per -count; make bench-server):
//
//	go test -run '^$' -bench 'Load$' -benchtime 1x -count 3 ./server/
//
// With -count > 1 every result line is one run; the benchmark also logs the
// medians over the runs so far, the last such line being over all runs.
// -benchtime Nx makes each result the median of N runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

var (
	loadDuration    = flag.Duration("load.duration", 5*time.Second, "length of one load benchmark run")
	loadClients     = flag.Int("load.clients", 256, "concurrent keep-alive clients, one connection each")
	loadRates       = flag.String("load.rate", "1000,10000", "comma-separated total requests/s of the rate= sub-benchmarks (\"\" skips them)")
	loadInproc      = flag.Bool("load.inproc", false, "serve from the benchmark's own process, not a child process")
	loadServerProcs = flag.Int("load.serverprocs", 0, "GOMAXPROCS of the server child process (0: Go's default)")
	loadServerProf  = flag.String("load.serverprofile", "", "write the server child's CPU profile to this file (the last child started)")
)

const (
	credkitLoadChildEnv   = "CREDKIT_LOADBENCH_SERVE"
	credkitLoadProfileEnv = "CREDKIT_LOADBENCH_CPUPROFILE"
)

func TestMain(m *testing.M) {
	if kind := os.Getenv(credkitLoadChildEnv); kind != "" {
		if err := loadChild(kind, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// loadProvider is what credkit exec serves in production: a refresh-ahead
// cache over a source, here of fixed session credentials that expire in an
// hour (no refresh happens during a run).
func loadProvider() creds.Provider {
	return creds.NewCache(creds.Static{Creds: creds.Credentials{
		AccessKeyID:     "ASIALOADBENCHEXAMPLE",
		SecretAccessKey: "load/bench/secret/access/key/0123456789",
		SessionToken:    strings.Repeat("FwoGZXIvYXdzEBAaD", 20), // session tokens are long
		Expires:         time.Now().Add(time.Hour).Truncate(time.Second),
		AccountID:       "123456789012",
	}}, creds.CacheOptions{})
}

// loadTarget is a running endpoint and how to ask it.
type loadTarget struct {
	kind  string // "ecs" or "imds"
	url   string // http://127.0.0.1:PORT
	token string // ECS Authorization
	// cpu returns the server's CPU time so far; nil when it runs in this
	// process.
	cpu   func() (time.Duration, error)
	close func()
}

// startLoadServer starts the endpoint in the benchmark's process.
func startLoadServer(kind string) (*loadTarget, error) {
	var h http.Handler
	tok := ""
	switch kind {
	case "ecs":
		var err error
		if tok, err = NewToken(); err != nil {
			return nil, err
		}
		h = &ECS{Provider: loadProvider(), Token: tok}
	case "imds":
		h = &IMDS{Provider: loadProvider(), Role: "bench-role", Region: "eu-west-1", AccountID: "123456789012"}
	default:
		return nil, fmt.Errorf("unknown endpoint %q", kind)
	}
	s, err := Listen("", h)
	if err != nil {
		return nil, err
	}
	return &loadTarget{kind: kind, url: s.URL, token: tok, close: func() { s.Close(context.Background()) }}, nil
}

// loadChild serves in the child process: it prints "URL TOKEN", then
// answers each "cpu" line on in with its CPU time in ns, until in closes.
func loadChild(kind string, in io.Reader, out io.Writer) error {
	t, err := startLoadServer(kind)
	if err != nil {
		return err
	}
	defer t.close()
	if path := os.Getenv(credkitLoadProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	tok := t.token
	if tok == "" {
		tok = "-"
	}
	fmt.Fprintln(out, t.url, tok)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() != "cpu" {
			return fmt.Errorf("unknown command %q", sc.Text())
		}
		fmt.Fprintln(out, int64(processCPU()))
	}
	return sc.Err()
}

// processCPU is the user+system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU is the busy and total CPU time of the machine since boot,
// all CPUs together, from the first line of /proc/stat (Linux).
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected %q", line)
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	for i, v := range f[1:] {
		if i >= 8 { // guest time is already in user
			break
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += time.Duration(n) * tick
		if i != 3 && i != 4 { // idle, iowait
			busy += time.Duration(n) * tick
		}
	}
	return busy, total, nil
}

// startLoadChild runs the endpoint in a child process.
func startLoadChild(kind string) (*loadTarget, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), credkitLoadChildEnv+"="+kind)
	if *loadServerProcs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(*loadServerProcs))
	}
	if *loadServerProf != "" {
		cmd.Env = append(cmd.Env, credkitLoadProfileEnv+"="+*loadServerProf)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	closeChild := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 {
		closeChild()
		return nil, fmt.Errorf("load child said %q: %v", line, err)
	}
	t := &loadTarget{kind: kind, url: f[0], close: closeChild}
	if f[1] != "-" {
		t.token = f[1]
	}
	var mu sync.Mutex
	t.cpu = func() (time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := io.WriteString(stdin, "cpu\n"); err != nil {
			return 0, err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		ns, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		return time.Duration(ns), err
	}
	return t, nil
}

// loadClient is one keep-alive client with its own connection.
type loadClient struct {
	do    func() error // one request, its answer read and checked (200)
	close func()
	lat   []time.Duration // from when each request was due
	sent  []time.Duration // from when each request was sent
}

func newLoadClient(t *loadTarget) (*loadClient, error) {
	c, first, err := newHTTPClient(t)
	if err != nil {
		return nil, err
	}
	// The first answer opened the connection and must hold credentials.
	var v map[string]any
	if err := json.Unmarshal(first, &v); err != nil || v["AccessKeyId"] != "ASIALOADBENCHEXAMPLE" {
		c.close()
		return nil, fmt.Errorf("not credentials: %.200s (%v)", first, err)
	}
	c.lat = make([]time.Duration, 0, 1024)
	c.sent = make([]time.Duration, 0, 1024)
	return c, nil
}

// newHTTPClient is a net/http client limited to one keep-alive
// connection. It returns the first answer's body.
func newHTTPClient(t *loadTarget) (*loadClient, []byte, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost:     1,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	body := func(req *http.Request) ([]byte, error) {
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s: %.200s", resp.Status, b)
		}
		return b, err
	}
	var req *http.Request
	var err error
	switch t.kind {
	case "ecs":
		req, err = http.NewRequest("GET", t.url+"/credentials", nil)
		if err == nil {
			req.Header.Set("Authorization", t.token)
		}
	case "imds":
		// One session token per client, as an SDK holds one for up to
		// 6 hours.
		put, _ := http.NewRequest("PUT", t.url+"/latest/api/token", nil)
		put.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
		var tok []byte
		if tok, err = body(put); err == nil {
			req, err = http.NewRequest("GET", t.url+"/latest/meta-data/iam/security-credentials/bench-role", nil)
			if err == nil {
				req.Header.Set("X-aws-ec2-metadata-token", string(tok))
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	first, err := body(req)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, nil, err
	}
	// The request is sent again and again: allowed once the previous
	// answer's body is closed.
	do := func() error {
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %s", resp.Status)
		}
		return err
	}
	return &loadClient{do: do, close: tr.CloseIdleConnections}, first, nil
}

// loadResult is one run.
type loadResult struct {
	reqs     int
	elapsed  time.Duration
	p50, p99 time.Duration // from when requests were due
	max      time.Duration
	p99Sent  time.Duration // from when requests were sent: without the load generator's own lateness
	srvCPU   time.Duration // -1 when unknown (in-process server)
	cliCPU   time.Duration // this process: load generator (and server if in-process)
	// other is the share of the machine's CPU time that went to neither
	// (other processes, interrupts), from /proc/stat; -1 when unknown. A
	// run with much of it was disturbed.
	other float64
}

func (r loadResult) rps() float64 { return float64(r.reqs) / r.elapsed.Seconds() }

// runLoad runs the clients for d, back to back (rate 0) or at rate
// requests/s in total.
func runLoad(t *loadTarget, clients []*loadClient, d time.Duration, rate int) (loadResult, error) {
	var res loadResult
	var firstErr atomic.Value
	var errs atomic.Int64
	period := time.Duration(0)
	if rate > 0 {
		period = time.Duration(float64(time.Second) * float64(len(clients)) / float64(rate))
	}
	for _, c := range clients {
		c.lat, c.sent = c.lat[:0], c.sent[:0]
	}
	runtime.GC()
	srv0 := time.Duration(-1)
	if t.cpu != nil {
		var err error
		if srv0, err = t.cpu(); err != nil {
			return res, err
		}
	}
	cli0 := processCPU()
	busy0, total0, statErr := machineCPU()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			due := start
			if period > 0 {
				due = start.Add(period * time.Duration(i) / time.Duration(len(clients)))
			}
			for {
				if period > 0 {
					if !due.Before(deadline) {
						return
					}
					if w := time.Until(due); w > 0 {
						time.Sleep(w)
					}
				} else {
					due = time.Now()
					if !due.Before(deadline) {
						return
					}
				}
				sent := time.Now()
				if err := c.do(); err != nil {
					if errs.Add(1) == 1 {
						firstErr.Store(err)
					}
					return
				}
				done := time.Now()
				c.lat = append(c.lat, done.Sub(due))
				c.sent = append(c.sent, done.Sub(sent))
				due = due.Add(period)
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cliCPU = processCPU() - cli0
	res.srvCPU = -1
	if t.cpu != nil {
		srv1, err := t.cpu()
		if err != nil {
			return res, err
		}
		res.srvCPU = srv1 - srv0
	}
	res.other = -1
	if busy1, total1, err := machineCPU(); err == nil && statErr == nil && total1 > total0 {
		ours := res.cliCPU + max(res.srvCPU, 0)
		res.other = max(0, float64(busy1-busy0-ours)/float64(total1-total0))
	}
	if n := errs.Load(); n > 0 {
		return res, fmt.Errorf("%d clients failed, first: %v", n, firstErr.Load())
	}
	var all, sent []time.Duration
	for _, c := range clients {
		all = append(all, c.lat...)
		sent = append(sent, c.sent...)
	}
	if len(all) == 0 {
		return res, fmt.Errorf("no request completed")
	}
	slices.Sort(all)
	slices.Sort(sent)
	res.reqs = len(all)
	res.p50 = all[len(all)*50/100]
	res.p99 = all[min(len(all)*99/100, len(all)-1)]
	res.max = all[len(all)-1]
	res.p99Sent = sent[min(len(sent)*99/100, len(sent)-1)]
	return res, nil
}

// loadRuns keeps every run's result per benchmark name, for the medians
// over -count runs.
var loadRuns = map[string][]loadResult{}

func benchmarkLoad(b *testing.B, kind string) {
	modes := []int{0}
	for _, f := range strings.Split(*loadRates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.Atoi(f)
		if err != nil || r <= 0 {
			b.Fatalf("-load.rate: %q is not a positive number of requests/s", f)
		}
		modes = append(modes, r)
	}
	for _, rate := range modes {
		name := "max"
		if rate > 0 {
			name = "rate=" + strconv.Itoa(rate)
		}
		b.Run(name, func(b *testing.B) {
			start := startLoadChild
			if *loadInproc {
				start = startLoadServer
			}
			t, err := start(kind)
			if err != nil {
				b.Fatal(err)
			}
			defer t.close()
			clients := make([]*loadClient, *loadClients)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var setupErr error
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := newLoadClient(t)
					if err != nil {
						mu.Lock()
						setupErr = err
						mu.Unlock()
						return
					}
					clients[i] = c
				}()
			}
			wg.Wait()
			defer func() {
				for _, c := range clients {
					if c != nil {
						c.close()
					}
				}
			}()
			if setupErr != nil {
				b.Fatal(setupErr)
			}
			// b.N runs of -load.duration each; the metrics are their
			// medians (-benchtime 1x: one run).
			var runs []loadResult
			b.ResetTimer()
			for range b.N {
				r, err := runLoad(t, clients, *loadDuration, rate)
				if err != nil {
					b.Fatal(err)
				}
				runs = append(runs, r)
			}
			b.StopTimer()
			reportLoad(b, medianLoad(runs), rate == 0)
			all := append(loadRuns[b.Name()], runs...)
			loadRuns[b.Name()] = all
			m := medianLoad(all)
			b.Logf("median of %d run(s) so far: %.0f req/s, p50 %.3f ms, p99 %.3f ms (%.3f ms from sending), server %s, client %s, other %.0f%% of the CPUs (%d clients, GOMAXPROCS %d here, %d CPUs)",
				len(all), m.rps(), ms(m.p50), ms(m.p99), ms(m.p99Sent), cpuPerReq(m.srvCPU, m.reqs), cpuPerReq(m.cliCPU, m.reqs), 100*m.other,
				len(clients), runtime.GOMAXPROCS(0), runtime.NumCPU())
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cpuPerReq(cpu time.Duration, reqs int) string {
	if cpu < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f us CPU/req", float64(cpu)/float64(time.Microsecond)/float64(reqs))
}

// reportLoad reports r; srv-cap-req/s only for back-to-back runs (at an
// offered rate below capacity, idle server threads spinning for work
// inflate its CPU time per request).
func reportLoad(b *testing.B, r loadResult, saturated bool) {
	b.ReportMetric(0, "ns/op") // a run's wall time says nothing
	b.ReportMetric(r.rps(), "req/s")
	b.ReportMetric(ms(r.p50), "p50-ms")
	b.ReportMetric(ms(r.p99), "p99-ms")
	b.ReportMetric(ms(r.max), "max-ms")
	b.ReportMetric(ms(r.p99Sent), "p99-sent-ms")
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(r.reqs) }
	if r.srvCPU >= 0 {
		b.ReportMetric(per(r.srvCPU), "srv-cpu-us/req")
		b.ReportMetric(per(r.cliCPU), "cli-cpu-us/req")
		if saturated {
			b.ReportMetric(float64(runtime.NumCPU())*1e6/per(r.srvCPU), "srv-cap-req/s")
		}
	} else {
		b.ReportMetric(per(r.cliCPU), "cpu-us/req")
	}
	if r.other >= 0 {
		b.ReportMetric(100*r.other, "other-cpu-%")
	}
}

// medianLoad takes the median of each figure separately.
func medianLoad(runs []loadResult) loadResult {
	med := func(f func(loadResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	// Normalise to 1 s runs so that req/s and CPU per request stay right.
	const sec = float64(time.Second)
	reqs := med(func(r loadResult) float64 { return r.rps() })
	perReq := func(d func(loadResult) time.Duration) time.Duration {
		if d(runs[0]) < 0 {
			return -1
		}
		return time.Duration(med(func(r loadResult) float64 { return float64(d(r)) / float64(r.reqs) }) * reqs)
	}
	return loadResult{
		reqs:    int(reqs + 0.5),
		elapsed: time.Duration(sec),
		p50:     time.Duration(med(func(r loadResult) float64 { return float64(r.p50) })),
		p99:     time.Duration(med(func(r loadResult) float64 { return float64(r.p99) })),
		max:     time.Duration(med(func(r loadResult) float64 { return float64(r.max) })),
		p99Sent: time.Duration(med(func(r loadResult) float64 { return float64(r.p99Sent) })),
		srvCPU:  perReq(func(r loadResult) time.Duration { return r.srvCPU }),
		cliCPU:  perReq(func(r loadResult) time.Duration { return r.cliCPU }),
		other:   med(func(r loadResult) float64 { return r.other }),
	}
}

// BenchmarkECSLoad loads the container endpoint (with its Authorization
// token) with -load.clients keep-alive clients.
func BenchmarkECSLoad(b *testing.B) { benchmarkLoad(b, "ecs") }

// BenchmarkIMDSLoad loads the IMDSv2 endpoint: each client PUTs for a
// session token once, then GETs the role's credentials.
func BenchmarkIMDSLoad(b *testing.B) { benchmarkLoad(b, "imds") }
