package testpeer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartupTimeout bounds how long a peer may take to become ready.
const StartupTimeout = 30 * time.Second

// stopTimeout bounds how long stopping a peer may take.
const stopTimeout = 10 * time.Second

// PeersEnv is the environment variable that decides what happens when a peer
// is missing: "require" fails the test, anything else skips it.
const PeersEnv = "CREDKIT_PEERS"

// peersRequired reports whether missing peers fail tests instead of skipping
// them.
func peersRequired() bool {
	return strings.TrimSpace(os.Getenv(PeersEnv)) == "require"
}

// missing skips t (or fails it when CREDKIT_PEERS=require) because peer is
// not available. It is the single place that makes this decision.
func missing(t testing.TB, peer, why string) {
	t.Helper()
	msg := fmt.Sprintf("testpeer: %s is not available: %s; install it with `make deps`", peer, why)
	if peersRequired() {
		t.Fatal(msg + " (" + PeersEnv + "=require)")
	}
	t.Skip(msg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// IsolatedAWSEnv returns the current environment without AWS_* variables,
// with the shared config and credentials files pointed at paths that do not
// exist, instance metadata disabled and proxies bypassed for loopback,
// followed by extra ("KEY=value").
// Use it for AWS tools (boto3, the AWS CLI) run against a peer, so that the
// developer's own profiles and keys can neither leak in nor break the run.
func IsolatedAWSEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	none := "/nonexistent/credkit-testpeer"
	env = append(env,
		"AWS_CONFIG_FILE="+none+"/config",
		"AWS_SHARED_CREDENTIALS_FILE="+none+"/credentials",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	)
	return append(env, extra...)
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 64 << 10

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailMax {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// lastLines returns the last n lines written.
func (w *tail) lastLines(n int) string {
	s := strings.TrimRight(w.String(), "\n")
	if s == "" {
		return "(no output)"
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// process is a running peer.
type process struct {
	name    string
	cmd     *exec.Cmd
	out     *tail
	done    chan struct{}
	waitErr error
	stopped sync.Once
}

// start runs argv as peer name with env in dir and registers its stop with
// t.Cleanup.
func start(t testing.TB, name string, argv, env []string, dir string) (*process, error) {
	t.Helper()
	return startProcess(t, name, argv, env, dir, nil)
}

// startProcess is start with stdin for the process.
func startProcess(t testing.TB, name string, argv, env []string, dir string, stdin io.Reader) (*process, error) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = stdin
	out := &tail{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	// Do not let a grandchild that escaped the process group and still holds
	// the output pipe block Wait for long.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the process and all of its children and waits for it. The
// peers keep no state worth a graceful shutdown, so they get SIGKILL.
func (p *process) stop() {
	p.stopped.Do(func() {
		if p.exited() {
			// Already reaped: its process group id may belong to someone
			// else by now, so do not signal it.
			return
		}
		killTree(p.cmd.Process)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
		}
	})
}

// failure describes why the peer did not come up, with its last output.
func (p *process) failure(what string, err error) error {
	state := "still running"
	if p.exited() {
		state = fmt.Sprintf("exited: %v", p.waitErr)
		if p.waitErr == nil {
			state = "exited with status 0"
		}
	}
	msg := fmt.Sprintf("%s %s (%s)", p.name, what, state)
	if err != nil {
		msg += ": " + err.Error()
	}
	return fmt.Errorf("%s\n--- last output of %s (%s) ---\n%s", msg, p.name,
		strings.Join(p.cmd.Args, " "), p.out.lastLines(25))
}

// portInUse reports whether the process died because its port was taken
// between FreePort and its bind.
func (p *process) portInUse() bool {
	if !p.exited() {
		return false
	}
	s := strings.ToLower(p.out.String())
	return strings.Contains(s, "address already in use")
}

// waitReady polls ready until it returns nil, the process exits or
// StartupTimeout passes.
func (p *process) waitReady(ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), StartupTimeout)
	defer cancel()
	var last error
	for {
		if p.exited() {
			return p.failure("exited during startup", nil)
		}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(rctx)
		rcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("not ready after %v", StartupTimeout), last)
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startWithRetry starts a peer via launch until it is ready, retrying with
// fresh ports when the process lost a race for its port.
func startWithRetry(t testing.TB, launch func() (*process, error), ready func(ctx context.Context) error) (*process, error) {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var p *process
		p, err = launch()
		if err != nil {
			return nil, err
		}
		err = p.waitReady(ready)
		if err == nil {
			return p, nil
		}
		retry := p.portInUse()
		p.stop()
		if !retry {
			break
		}
	}
	return nil, err
}

// httpStatus performs a request and returns its status code.
func httpStatus(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := peerClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), err
}

// peerClient talks to peers on loopback only; it ignores proxy settings.
var peerClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	Timeout:   30 * time.Second,
}

// runPython runs script with python, passing args, and returns its stdout.
// Errors include stderr.
func runPython(ctx context.Context, python, script string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, python, append([]string{"-c", script}, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return stdout.Bytes(), fmt.Errorf("%s: %w\n%s", python, err, strings.TrimSpace(stderr.String()))
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", python, err)
	}
	return stdout.Bytes(), nil
}
