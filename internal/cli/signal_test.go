package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
)

// Ctrl-C in a terminal reaches credkit exec and its child once each, as
// the terminal sends it to their shared foreground process group: credkit
// does not forward it a second time (terraform stops at once on a second
// one). A SIGTERM sent to credkit alone is forwarded. Run in a pseudo
// terminal made by Python's pty module.
func TestExecCtrlCReachesChildOnce(t *testing.T) {
	py := testpeer.Python(t)
	bin := credkitBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile static]\nregion = eu-west-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[static]\naws_access_key_id = AKIASIGNALEXAMPLE00\naws_secret_access_key = signal/secret\n"), 0o600)
	env := testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir,
	)
	// The child counts SIGINTs and SIGTERMs for a while after saying it is
	// ready.
	child := `import signal, time
n = {signal.SIGINT: 0, signal.SIGTERM: 0}
def count(s, f):
    n[s] += 1
signal.signal(signal.SIGINT, count)
signal.signal(signal.SIGTERM, count)
print("ready", flush=True)
end = time.time() + 1.5
while time.time() < end:
    time.sleep(0.05)
print("count=int:%d,term:%d" % (n[signal.SIGINT], n[signal.SIGTERM]), flush=True)`
	// how: "tty" types Ctrl-C into the terminal; "kill" sends SIGTERM to
	// credkit.
	driver := `import os, pty, signal, sys, time
how, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
deadline = time.time() + 30
def more():
    global out
    try:
        out += os.read(fd, 4096)
    except OSError:
        return False
    return True
while b"ready" not in out and time.time() < deadline and more():
    pass
time.sleep(0.2)
if how == "tty":
    os.write(fd, b"\x03")
else:
    os.kill(pid, signal.SIGTERM)
while b"count=" not in out and time.time() < deadline and more():
    pass
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))`
	for _, tc := range []struct{ how, want string }{{"tty", "count=int:1,term:0"}, {"kill", "count=int:0,term:1"}} {
		cmd := exec.Command(py, "-c", driver, tc.how, bin, "exec", "static", "--", py, "-c", child)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.how, err, out)
		}
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: the child counted %q, want %s", tc.how, out, tc.want)
		}
	}
}
