package vault

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// Secrets used across the tests; no error message may contain them.
const (
	testSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken   = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
	testPass    = "correct horse battery staple"
	otherPass   = "Tr0ub4dor&3"
	testAKID    = "AKIAIOSFODNN7EXAMPLE"
	sessionAKID = "ASIAIOSFODNN7EXAMPLE"
)

// envOf is a Getenv over a map.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// prompter answers passphrase prompts with pass and counts the calls.
type prompter struct {
	pass    string
	calls   atomic.Int32
	prompts []string
}

func (p *prompter) ask(prompt string) (string, error) {
	p.calls.Add(1)
	p.prompts = append(p.prompts, prompt)
	return p.pass, nil
}

// openFileVault opens a file vault in dir whose passphrase prompt answers
// pass.
func openFileVault(t *testing.T, dir, pass string) (*Vault, *prompter) {
	t.Helper()
	p := &prompter{pass: pass}
	v, err := Open(Config{Backend: BackendFile, FileDir: dir, Passphrase: p.ask, Getenv: envOf()})
	if err != nil {
		t.Fatalf("Open file vault: %v", err)
	}
	return v, p
}

func keys(id string) creds.Credentials {
	return creds.Credentials{AccessKeyID: id, SecretAccessKey: testSecret}
}

func session(id string, expires time.Time) creds.Credentials {
	return creds.Credentials{AccessKeyID: id, SecretAccessKey: testSecret, SessionToken: testToken, Expires: expires}
}

// noSecrets fails when err's message holds a secret.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testSecret, testToken, testPass, otherPass} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error message leaks a secret (%q): %v", s[:4]+"...", err)
		}
	}
}

// dirState is the names and contents of the files of dir.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func sameState(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// tempFiles lists leftover temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, tempPattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
