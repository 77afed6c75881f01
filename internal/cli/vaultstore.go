package cli

// The vault as credkit's commands and the credential chain use it: its
// configuration from the environment, the passphrase prompt, and
// vaultStore, the adapter through which the chain finds keys and caches
// sessions in it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/source"
	"github.com/credkit/credkit/vault"
)

// Environment of the vault.
const (
	envBackend  = "CREDKIT_BACKEND"
	envVaultOff = "CREDKIT_NO_VAULT"
	envVaultDir = "CREDKIT_VAULT_DIR"
)

// vaultSessionMargin: a cached session is reused while it has this much
// left.
const vaultSessionMargin = 5 * time.Minute

// vaultFlags are the flags of the commands that open the vault.
type vaultFlags struct {
	backend string
}

// register adds --backend. Its help names every backend without asking
// which ones answer here: that takes a D-Bus round trip, and every run
// builds every command's flags (completion included, which must not touch
// the keyring). A name that cannot be used here is refused with the list
// of those that can.
func (f *vaultFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.backend, "backend", "", "keyring backend: "+strings.Join([]string{
		vault.BackendKeychain, vault.BackendSecretService, vault.BackendKWallet, vault.BackendWinCred,
		vault.BackendPass, vault.BackendKeyctl, vault.BackendFile,
	}, ", ")+" (default: "+envBackend+", else the OS keyring when it answers, else file)")
}

// vaultConfig is the vault's configuration for this run.
func (a *App) vaultConfig(backend string) vault.Config {
	if backend == "" {
		backend = a.Getenv(envBackend)
	}
	dir := a.Getenv(envVaultDir)
	if dir == "" && a.Getenv("HOME") != "" {
		dir = filepath.Join(a.Getenv("HOME"), ".credkit", "keys")
	}
	return vault.Config{
		Backend:    backend,
		FileDir:    dir,
		Getenv:     a.Getenv,
		Passphrase: a.askPassphrase,
	}
}

// openVault opens the vault for a command that needs it.
func (a *App) openVault(f *vaultFlags) (*vault.Vault, error) {
	v, err := vault.Open(a.vaultConfig(f.backend))
	if err != nil {
		if errors.Is(err, vault.ErrUnknownBackend) {
			return nil, asBadInput(err)
		}
		return nil, err
	}
	return v, nil
}

// askPassphrase asks on the terminal, without echo.
func (a *App) askPassphrase(prompt string) (string, error) {
	return readSecretFromTTY(prompt, "set CREDKIT_FILE_PASSPHRASE or CREDKIT_FILE_PASSPHRASE_FILE")
}

// readSecretFromTTY reads one line from /dev/tty without echo.
func readSecretFromTTY(prompt, alternative string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("%s: there is no terminal to ask on: %s", strings.TrimSuffix(prompt, ": "), alternative)
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// vaultStore is the vault as the chain sees it: opened on first use, and
// only when it exists, so that a machine without a vault never gets a
// passphrase prompt.
type vaultStore struct {
	a       *App
	backend string
	once    sync.Once
	v       *vault.Vault
	err     error
}

// chainVault returns the vault for the chain, or nil when there is none
// to look in (CREDKIT_NO_VAULT set, or no store was ever written).
func (a *App) chainVault() *vaultStore {
	if a.Getenv(envVaultOff) != "" {
		return nil
	}
	cfg := a.vaultConfig("")
	if !vault.Exists(cfg) {
		return nil
	}
	return &vaultStore{a: a, backend: cfg.Backend}
}

// storeOf is the chain's view of a vault that is already open.
func (a *App) storeOf(v *vault.Vault) *vaultStore {
	s := &vaultStore{a: a, backend: v.Backend()}
	s.once.Do(func() { s.v = v })
	return s
}

func (s *vaultStore) open() (*vault.Vault, error) {
	s.once.Do(func() { s.v, s.err = vault.Open(s.a.vaultConfig(s.backend)) })
	return s.v, s.err
}

func (s *vaultStore) StoredKeys(profile string) (creds.Provider, bool, error) {
	v, err := s.open()
	if err != nil {
		return nil, false, err
	}
	ok, err := v.HasKeys(profile)
	if err != nil || !ok {
		return nil, false, err
	}
	s.a.vaultRooted.Store(true)
	// Decrypted only when no cached session serves.
	return creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		c, err := v.Keys(profile)
		if err == nil && c.Source == "" {
			c.Source = "vault (" + v.Backend() + " backend)"
		}
		return c, err
	}), true, nil
}

func (s *vaultStore) StoreName() string {
	if v, err := s.open(); err == nil {
		return "vault (" + v.Backend() + " backend)"
	}
	return "vault"
}

func (s *vaultStore) CachedSession(kind, profile, serial string) (creds.Credentials, bool) {
	v, err := s.open()
	if err != nil {
		return creds.Credentials{}, false
	}
	c, ok, err := v.Session(kind, profile, serial, s.a.Now(), vaultSessionMargin)
	if err != nil {
		return creds.Credentials{}, false
	}
	return c, ok
}

func (s *vaultStore) StoreSession(kind, profile, serial string, c creds.Credentials) error {
	v, err := s.open()
	if err != nil {
		return err
	}
	return v.PutSession(vault.SessionKey{Kind: kind, Profile: profile, MFASerial: serial, Expires: c.Expires}, c)
}

// lockWait bounds how long a process waits for another that is making
// the same session.
const lockWait = 2 * time.Minute

// LockSession serialises the making of a vault session among credkit
// processes (a lock file in the session cache directory), and says on
// stderr why a process waits.
func (s *vaultStore) LockSession(ctx context.Context, kind, profile, serial string) (func(), error) {
	return s.a.lockSession(ctx, sessioncache.LockFile(s.a.Getenv, "vault", kind, profile, serial), profile)
}

// lockSession takes the lock at path, telling the user when it waits for
// another process (which may be waiting for an MFA code).
func (a *App) lockSession(ctx context.Context, path, profile string) (func(), error) {
	// Long enough for a person to find their MFA device, short enough
	// that a process stuck at a prompt nobody sees is noticed.
	wctx, cancel := context.WithTimeoutCause(ctx, lockWait, fmt.Errorf("gave up after %s: stop that process if it is stuck, or remove %s", lockWait, path))
	defer cancel()
	unlock, err := sessioncache.Lock(wctx, path, func(holder int) {
		who := "another credkit process"
		if holder > 0 {
			who = fmt.Sprintf("credkit process %d", holder)
		}
		fmt.Fprintf(a.Stderr, "credkit: waiting for %s, which is getting a session for profile %s (it may be asking for an MFA code)\n", who, profile)
	})
	if err != nil {
		if wctx.Err() != nil {
			return nil, fmt.Errorf("profile %s: %w", profile, err)
		}
		// The lock only spares a second MFA prompt: go on without it.
		fmt.Fprintf(a.Stderr, "credkit: warning: %v; going on without it\n", err)
		return func() {}, nil
	}
	return unlock, nil
}

// chainOptions are the options of the credential chain for o.
func (a *App) chainOptions(o *credOpts, files *awsconfig.Files) source.ChainOptions {
	opts := source.ChainOptions{
		Getenv: a.Getenv, Files: files, Profile: o.profile, Now: a.Now,
		MFA: a.mfaPrompt(o), ProcessStderr: a.Stderr,
	}
	if s := a.chainVault(); s != nil {
		opts.Keys, opts.Sessions, opts.SSORefresh = s, s, s
		opts.OnSessionStoreError = a.warnSessionNotCached
	}
	return opts
}

func (a *App) warnSessionNotCached(err error) {
	fmt.Fprintf(a.Stderr, "credkit: warning: session not cached in the vault: %v\n", err)
}
