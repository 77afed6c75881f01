package testpeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// AWSVaultVersion is the pinned aws-vault release (a version of the Go
// module github.com/99designs/aws-vault/v7). It must match
// AWSVAULT_VERSION in the Makefile.
const AWSVaultVersion = "v7.2.0"

// AWSVaultEnv names an aws-vault binary to use instead of the pinned one.
const AWSVaultEnv = "CREDKIT_AWS_VAULT"

// AWSVaultPath returns where make deps installs the pinned aws-vault:
// $HOME/.cache/credkit/peers/aws-vault-<AWSVaultVersion>/aws-vault.
func AWSVaultPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "credkit", "peers", "aws-vault-"+AWSVaultVersion, "aws-vault"), nil
}

// AWSVault returns the path of the pinned aws-vault binary: $CREDKIT_AWS_VAULT
// if set, else the one make deps installs. PATH is not searched: another
// aws-vault version may store items differently. The binary must report
// AWSVaultVersion.
func AWSVault(t testing.TB) string {
	t.Helper()
	path, err := findAWSVault()
	if err != nil {
		missing(t, "aws-vault "+AWSVaultVersion, err.Error())
	}
	return path
}

var findAWSVault = sync.OnceValues(func() (string, error) {
	path := os.Getenv(AWSVaultEnv)
	from := AWSVaultEnv
	if path == "" {
		p, err := AWSVaultPath()
		if err != nil {
			return "", err
		}
		path, from = p, "make deps"
	}
	if _, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("%s (from %s) is not an executable: %v", path, from, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = IsolatedAWSEnv()
	out, err := cmd.CombinedOutput()
	version := strings.TrimSpace(string(out))
	if err != nil {
		return "", fmt.Errorf("%s --version: %v: %s", path, err, version)
	}
	if version != AWSVaultVersion {
		return "", fmt.Errorf("%s reports version %q, want %s", path, version, AWSVaultVersion)
	}
	return path, nil
})

// PassStore is a throwaway password store for pass(1): a GnuPG home with
// one key that has no passphrase, and a store initialised for it.
type PassStore struct {
	// Dir is the password store (PASSWORD_STORE_DIR).
	Dir string
	// GNUPGHOME holds the key and the gpg-agent's sockets.
	GNUPGHOME string
	// Env is GNUPGHOME=... and PASSWORD_STORE_DIR=..., for child processes.
	Env []string
}

// Pass makes a PassStore and sets GNUPGHOME in the test's environment
// (t.Setenv), because programs that run pass (such as keyring's pass
// backend) pass their own environment on. The gpg-agent it starts is
// stopped when t ends.
//
// pass or gpg missing from PATH is a missing peer (skip, or fail with
// CREDKIT_PEERS=require). Present but failing to make a key or a store
// skips with the reason, and fails with CREDKIT_PEERS=require.
func Pass(t testing.TB) *PassStore {
	t.Helper()
	for _, tool := range []string{"pass", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, "pass(1) with gpg (Debian packages pass, gnupg)", tool+" is not on PATH")
		}
	}
	// gpg-agent's socket path must stay short: a directory in /tmp.
	home, err := os.MkdirTemp("", "credkit-gpg-")
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	s := &PassStore{Dir: filepath.Join(t.TempDir(), "password-store"), GNUPGHOME: home}
	s.Env = []string{"GNUPGHOME=" + home, "PASSWORD_STORE_DIR=" + s.Dir}
	env := append(os.Environ(), s.Env...)
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = env
		cmd.Run()
		os.RemoveAll(home)
	})
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	run := func(stdin string, argv ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), nil
	}
	broken := func(err error) {
		t.Helper()
		msg := fmt.Sprintf("testpeer: pass and gpg are installed but do not work here: %v", err)
		if peersRequired() {
			t.Fatal(msg + " (" + PeersEnv + "=require)")
		}
		t.Skip(msg)
	}
	if _, err := run("", "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "credkit test <credkit-test@example.invalid>", "default", "default", "never"); err != nil {
		broken(err)
	}
	out, err := run("", "gpg", "--batch", "--with-colons", "--list-secret-keys")
	if err != nil {
		broken(err)
	}
	fpr := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		broken(fmt.Errorf("gpg --list-secret-keys shows no fingerprint after generating a key"))
	}
	if _, err := run("", "pass", "init", fpr); err != nil {
		broken(err)
	}
	// One round trip, so that a broken gpg-agent shows here, not in the test.
	if _, err := run("probe\n", "pass", "insert", "-m", "-f", "testpeer-probe"); err != nil {
		broken(err)
	}
	if got, err := run("", "pass", "show", "testpeer-probe"); err != nil || strings.TrimSpace(got) != "probe" {
		broken(fmt.Errorf("pass show after pass insert: %q, %v", got, err))
	}
	if _, err := run("", "pass", "rm", "-f", "testpeer-probe"); err != nil {
		broken(err)
	}
	t.Setenv("GNUPGHOME", home)
	return s
}
