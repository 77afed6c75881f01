package vault

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// The test binary doubles as the writer process of the concurrency tests:
// with helperEnv set, TestMain runs writer instead of the tests.
const (
	helperEnv   = "CREDKIT_VAULT_TEST_WRITER"
	exitWrongPw = 3
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(writer())
	}
	os.Exit(m.Run())
}

// writer stores $N profiles "w<ID>-<i>" in the file vault $DIR with the
// passphrase $PASS, reading back after each write, and caches a session
// every fifth.
func writer() int {
	dir, pass := os.Getenv("DIR"), os.Getenv("PASS")
	id, _ := strconv.Atoi(os.Getenv("ID"))
	n, _ := strconv.Atoi(os.Getenv("N"))
	v, err := Open(Config{Backend: BackendFile, FileDir: dir, Getenv: envOf(EnvFilePassphrase, pass)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, ErrWrongPassphrase) {
			return exitWrongPw
		}
		return 1
	}
	for i := 0; i < n; i++ {
		profile := fmt.Sprintf("w%d-%02d", id, i)
		if err := v.SetKeys(profile, writerKeys(id, i)); err != nil {
			return fail(err)
		}
		// Read back this one and one of another writer: a reader never
		// sees a partial file.
		for _, p := range []string{profile, fmt.Sprintf("w%d-%02d", (id+1)%8, i)} {
			if _, err := v.Keys(p); err != nil && !errors.Is(err, ErrNotFound) {
				return fail(err)
			}
		}
		if i%5 == 0 {
			if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: profile},
				session(sessionAKID, time.Now().Add(time.Hour))); err != nil {
				return fail(err)
			}
		}
	}
	return 0
}

func writerKeys(id, i int) creds.Credentials {
	c := keys(fmt.Sprintf("AKIA%08d%08d", id, i))
	c.SecretAccessKey = fmt.Sprintf("%s-%d-%d", testSecret, id, i)
	return c
}

// runWriters starts one writer process per passphrase at once and waits
// for them; it returns their exit codes and stderr.
func runWriters(t *testing.T, dir string, n int, passes []string) ([]int, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]int, len(passes))
	outs := make([]string, len(passes))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, pass := range passes {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1", "DIR="+dir, "PASS="+pass, "ID="+strconv.Itoa(i), "N="+strconv.Itoa(n))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := cmd.Run()
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				codes[i] = ee.ExitCode()
			case err != nil:
				codes[i] = -1
				stderr.WriteString(err.Error())
			}
			outs[i] = stderr.String()
		}()
	}
	close(start)
	wg.Wait()
	return codes, outs
}

func TestFileConcurrentProcesses(t *testing.T) {
	t.Parallel()
	const procs, each = 8, 20
	dir := filepath.Join(t.TempDir(), "keys")
	passes := make([]string, procs)
	for i := range passes {
		passes[i] = testPass
	}
	codes, outs := runWriters(t, dir, each, passes)
	for i, c := range codes {
		if c != 0 {
			t.Errorf("writer %d exited %d: %s", i, c, outs[i])
		}
	}
	v, _ := openFileVault(t, dir, testPass)
	profiles, err := v.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != procs*each {
		t.Errorf("%d profiles in the vault, want %d", len(profiles), procs*each)
	}
	for id := 0; id < procs; id++ {
		for i := 0; i < each; i++ {
			p := fmt.Sprintf("w%d-%02d", id, i)
			c, err := v.Keys(p)
			want := writerKeys(id, i)
			if err != nil || c.AccessKeyID != want.AccessKeyID || c.SecretAccessKey != want.SecretAccessKey {
				t.Errorf("Keys(%s) = %v, %v; want %v", p, c, err, want)
			}
		}
	}
	sessions, err := v.Sessions()
	if err != nil || len(sessions) != procs*each/5 {
		t.Errorf("%d sessions (%v), want %d", len(sessions), err, procs*each/5)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Processes that create a store at the same moment with different
// passphrases: the first write sets the passphrase, the others are told
// theirs is wrong, and no item is written with theirs.
func TestFileConcurrentFirstWritersDisagree(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	passes := []string{testPass, otherPass, testPass, otherPass, testPass, otherPass}
	codes, outs := runWriters(t, dir, 1, passes)
	winner := ""
	for i, c := range codes {
		switch c {
		case 0:
			if winner != "" && winner != passes[i] {
				t.Errorf("writers with both passphrases succeeded")
			}
			winner = passes[i]
		case exitWrongPw:
		default:
			t.Errorf("writer %d exited %d: %s", i, c, outs[i])
		}
	}
	if winner == "" {
		t.Fatal("no writer succeeded")
	}
	v, _ := openFileVault(t, dir, winner)
	profiles, _ := v.Profiles()
	for _, p := range profiles {
		if _, err := v.Keys(p); err != nil {
			t.Errorf("item %s does not open with the winning passphrase: %v", p, err)
		}
	}
	if len(profiles) != 3 {
		t.Errorf("profiles %q, want the 3 of the winning passphrase", profiles)
	}
}

// Goroutines of one process share a Vault.
func TestFileConcurrentGoroutines(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, p := openFileVault(t, dir, testPass)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				name := fmt.Sprintf("g%d-%d", g, i)
				if err := v.SetKeys(name, writerKeys(g, i)); err != nil {
					errs <- err
				}
				if _, err := v.Keys(name); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if profiles, _ := v.Profiles(); len(profiles) != 40 {
		t.Errorf("%d profiles, want 40", len(profiles))
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("passphrase asked %d times by 8 goroutines, want once", n)
	}
}
