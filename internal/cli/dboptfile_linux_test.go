package cli

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// A credkit killed with SIGKILL while the MariaDB client runs leaves no
// file holding the token anywhere the test's run could write: not in
// TMPDIR (where a temporary option file would go), HOME, nor the XDG
// directories. The client, which holds the option file, logs in and
// finishes its query all the same.
func TestDBConnectMariaDBKilledLeavesNoToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	r := testpeer.FakeRDSMariaDB(t)
	r.AddIAMUser(t, "app")
	bin := credkitBinary(t)
	akid, secret, session := fakeSession(3)
	r.Trust(akid, secret, session, time.Now().Add(time.Hour))

	root := t.TempDir()
	dirs := map[string]string{}
	for _, v := range []string{"TMPDIR", "HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		dirs[v] = filepath.Join(root, strings.ToLower(v))
		if err := os.MkdirAll(dirs[v], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	env := testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_SESSION_TOKEN="+session,
		"AWS_REGION="+testpeer.FakeRDSRegion)
	for k, v := range dirs {
		env = append(env, k+"="+v)
	}
	// Option files an earlier credkit left, where it could not keep one
	// in memory: the stale one goes, one of a run still going stays.
	optDir := filepath.Join(dirs["XDG_RUNTIME_DIR"], "credkit", "db")
	stale, recent := filepath.Join(optDir, "client-stale.cnf"), filepath.Join(optDir, "client-recent.cnf")
	if err := os.MkdirAll(optDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, recent} {
		writeFile(t, p, "[client]\npassword=old\n")
	}
	old := time.Now().Add(-16 * time.Minute)
	os.Chtimes(stale, old, old)

	const query = "SELECT 'survived', SLEEP(4)"
	cmd := exec.Command(bin, "db", "connect", "--engine", "mysql", "--host", r.Host, "--port", strconv.Itoa(r.Port),
		"--user", "app", "--ca-bundle", r.CAFile, "--client", "mariadb", "--", "-N", "-B", "-e", query)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitMariaDBQuery(t, r, query)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The client is still running: look now, and again once it is done
	// (Wait returns when it has closed the output it inherited).
	assertNoToken(t, dirs, akid, session)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("credkit was not killed: %v", err)
	}
	if got := stdout.String(); got != "survived\t0\n" {
		t.Fatalf("the client did not finish its query after credkit was killed: %q\n%s", got, stderr.String())
	}
	if last := r.Logins(t); len(last) == 0 || !last[len(last)-1].OK || last[len(last)-1].AccessKeyID != akid {
		t.Fatalf("the verifier's decisions: %+v", last)
	}
	assertNoToken(t, dirs, akid, session)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale option file %s was kept: %v", stale, err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a recent option file was removed: %v", err)
	}
}

// assertNoToken fails t if any file under dirs holds a piece of an RDS
// token signed with akid: its credential, its signature's name or the
// session token.
func assertNoToken(t *testing.T, dirs map[string]string, akid, session string) {
	t.Helper()
	needles := []string{akid, "X-Amz-Signature", session[:40]}
	for name, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, n := range needles {
				if bytes.Contains(b, []byte(n)) {
					t.Errorf("%s (under %s) holds the token (%q)", path, name, n[:12])
					break
				}
			}
			return nil
		})
	}
}

// The option file in memory is read whole by the real MariaDB client, and
// again by a second reader of the same descriptor: each open of
// /dev/fd/N starts at the beginning, where a pipe would be empty.
func TestMySQLOptionFileInMemoryRereads(t *testing.T) {
	client, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client (make deps)")
	}
	_, _, session := fakeSession(4)
	token := "db.example.com:3306/?Action=connect&DBUser=app&X-Amz-Security-Token=" + session + "&X-Amz-Signature=" + strings.Repeat("ab", 32)
	home := t.TempDir()
	opt, err := newClientOptionFile(func(v string) string { return map[string]string{"HOME": home}[v] }, mysqlOptionFile(flavourMariaDB, "db.example.com", 3306, "app", token, "/ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	defer opt.remove()
	if opt.path != "/dev/fd/3" || len(opt.files) != 1 {
		t.Fatalf("option file %q with %d descriptors, want /dev/fd/3 with one", opt.path, len(opt.files))
	}
	// Two reads in one child process tree, of the one descriptor it got.
	sh := `"$0" --defaults-extra-file=` + opt.path + ` --print-defaults && echo --- && "$0" --defaults-extra-file=` + opt.path + ` --print-defaults`
	cmd := exec.Command("/bin/sh", "-c", sh, client)
	cmd.ExtraFiles = opt.files
	cmd.Env = testpeer.IsolatedAWSEnv("HOME=" + t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	reads := strings.Split(string(out), "---\n")
	if len(reads) != 2 {
		t.Fatalf("want two reads, got:\n%s", out)
	}
	for i, r := range reads {
		if !strings.Contains(r+" ", "--password="+token+" ") || !strings.Contains(r, "--ssl-verify-server-cert") {
			t.Errorf("read %d of the option file lacks the whole token (%d bytes) or the TLS options:\n%s", i+1, len(token), r)
		}
	}
	// Sealed: not even credkit can change what the client reads.
	if _, err := opt.files[0].WriteAt([]byte("[client]\npassword=other\n"), 0); err == nil {
		t.Error("the option file can still be written after it was handed over")
	}
}
