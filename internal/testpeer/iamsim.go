package testpeer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// IAMSimulateVersion is the pinned @cloud-copilot/iam-simulate release. It
// must match policy/testdata/iamsim/package.json.
const IAMSimulateVersion = "0.1.173"

// IAMSimDir is the test-only npm project that holds iam-simulate and the
// script that runs it (make deps-iamsim runs npm ci there).
func IAMSimDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "policy", "testdata", "iamsim")
}

// IAMSim is a running node process that answers policy cases with
// @cloud-copilot/iam-simulate, an independent IAM policy evaluator (AGPL:
// it only ever runs as this separate program).
//
// It reads cases in the JSON form of policy.Case, one per line, and
// answers each with a line {"id": ..., "decision": ...} (or "error").
type IAMSim struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	errs *tail
}

// IAMSimulate starts the labelling script once for t. node missing from
// PATH or iam-simulate not installed is a missing peer.
//
// Unless fast, every case goes through iam-simulate's runSimulation, which
// first validates the policies, the action, the resource and the context
// keys (a few milliseconds a case). With fast, cases skip that validation
// and go to the simulator's core evaluation directly (about ten times
// faster): check a sample of a generator's cases with a validating
// instance too.
func IAMSimulate(t testing.TB, fast bool) *IAMSim {
	t.Helper()
	node := iamSimNode(t)
	var err error
	cmd := exec.Command(node, "label.mjs")
	cmd.Dir = IAMSimDir()
	cmd.Env = os.Environ()
	if fast {
		cmd.Env = append(cmd.Env, "IAMSIM_FAST=1")
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	s := &IAMSim{cmd: cmd, errs: &tail{}}
	cmd.Stderr = s.errs
	if s.in, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	s.out = bufio.NewReaderSize(stdout, 1<<20)
	if err := cmd.Start(); err != nil {
		t.Fatalf("testpeer: starting iam-simulate (node label.mjs): %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		s.in.Close()
		select {
		case <-done:
		case <-time.After(stopTimeout):
			killTree(cmd.Process)
			<-done
		}
	})
	return s
}

// iamSimNode returns the path of node after checking that the pinned
// iam-simulate is installed.
func iamSimNode(t testing.TB) string {
	t.Helper()
	node, err := findIAMSim()
	if err != nil {
		missing(t, "node with @cloud-copilot/iam-simulate "+IAMSimulateVersion, err.Error())
	}
	return node
}

var findIAMSim = sync.OnceValues(func() (string, error) {
	dir := IAMSimDir()
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node is not on PATH")
	}
	pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate", "package.json"))
	if err != nil {
		return "", fmt.Errorf("iam-simulate is not installed in %s", dir)
	}
	var meta struct{ Version string }
	if json.Unmarshal(pkg, &meta) != nil || meta.Version != IAMSimulateVersion {
		return "", fmt.Errorf("%s holds iam-simulate version %q, want %s", dir, meta.Version, IAMSimulateVersion)
	}
	return node, nil
})

// Label sends cases (one JSON object each, without newlines) and returns
// the answer line for each, in order.
func (s *IAMSim) Label(cases [][]byte) ([]json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(s.in, 1<<20)
		for _, c := range cases {
			if bytes.IndexByte(c, '\n') >= 0 {
				werr <- fmt.Errorf("case %.80s... holds a newline", c)
				return
			}
			w.Write(c)
			w.WriteByte('\n')
		}
		werr <- w.Flush()
	}()
	out := make([]json.RawMessage, 0, len(cases))
	for range cases {
		line, err := s.out.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("iam-simulate stopped answering after %d of %d cases: %v\n--- its stderr ---\n%s", len(out), len(cases), err, s.errs.lastLines(25))
		}
		out = append(out, json.RawMessage(bytes.TrimSpace(line)))
	}
	if err := <-werr; err != nil {
		return nil, fmt.Errorf("writing cases to iam-simulate: %v", err)
	}
	return out, nil
}

// IAMSimBench times iam-simulate on one case in a node process of its
// own: n evaluations after a warm-up, as node measures them. With core,
// the policies are loaded once and only the evaluation is timed;
// otherwise each evaluation is a runSimulation call, which validates and
// loads the policies as a caller of the library does. It returns the mean
// ns per evaluation and the decision.
func IAMSimBench(t testing.TB, c []byte, n int, core bool) (nsPerOp float64, decision string) {
	t.Helper()
	node := iamSimNode(t)
	args := []string{"label.mjs", "bench", fmt.Sprint(n)}
	if core {
		args = append(args, "core")
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = IAMSimDir()
	cmd.Stdin = bytes.NewReader(append(append([]byte(nil), c...), '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testpeer: iam-simulate bench: %v: %s", err, stderr.String())
	}
	var r struct {
		NsPerOp  float64 `json:"ns_per_op"`
		Decision string  `json:"decision"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("testpeer: iam-simulate bench output %q: %v", out, err)
	}
	return r.NsPerOp, r.Decision
}
