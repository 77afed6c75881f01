package vault

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/credkit/credkit/internal/awsenv"
	"github.com/credkit/credkit/internal/keyring"
)

// Backend names.
const (
	BackendFile          = "file"
	BackendPass          = "pass"
	BackendSecretService = "secret-service"
	BackendKWallet       = "kwallet"
	BackendKeyctl        = "keyctl"
	BackendKeychain      = "keychain"
	BackendWinCred       = "wincred"
)

// allBackends lists every backend credkit knows, on any OS.
var allBackends = []string{BackendFile, BackendPass, BackendSecretService, BackendKWallet, BackendKeyctl, BackendKeychain, BackendWinCred}

// keyringBackends are the backends keyring registered in this process:
// those compiled for this OS and, for secret-service and kwallet, only
// when a D-Bus session bus answered when the program started.
func keyringBackends() []string {
	var out []string
	for _, b := range keyring.AvailableBackends() {
		out = append(out, string(b))
	}
	return out
}

// Backends lists the backends available in this process, the default
// (DefaultBackend with os.Getenv) first.
func Backends() []string {
	avail := keyringBackends()
	def := DefaultBackend(os.Getenv)
	out := []string{def}
	for _, b := range avail {
		if b != def {
			out = append(out, b)
		}
	}
	return out
}

func available(b string) bool { return slices.Contains(keyringBackends(), b) }

// DefaultBackend is the backend used when Config.Backend is empty:
//
//   - macOS: keychain (the default keychain, usually the login keychain),
//     or file in a build without cgo, which keychain needs;
//   - Windows: wincred (the Credential Manager);
//   - Linux: secret-service when all of these hold: getenv reports
//     DBUS_SESSION_BUS_ADDRESS, the session bus answered when the program
//     started (keyring checks this once, at startup), and the name
//     org.freedesktop.secrets (GNOME Keyring, KeePassXC, KWallet 5.97+) is
//     owned or activatable on it (asked once, waiting at most a second);
//     otherwise file;
//   - elsewhere: file.
func DefaultBackend(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	return osDefaultBackend(getenv)
}

// unknownBackend explains why a backend cannot be used here.
func unknownBackend(name string) error {
	avail := strings.Join(Backends(), ", ")
	switch {
	case !slices.Contains(allBackends, name):
		return fmt.Errorf("%w %q: choose one of %s", ErrUnknownBackend, name, avail)
	case (name == BackendSecretService || name == BackendKWallet) && runtime.GOOS == "linux":
		return fmt.Errorf("%w %q: it needs a D-Bus session bus, and none answered when credkit started (is DBUS_SESSION_BUS_ADDRESS set?); available here: %s",
			ErrUnknownBackend, name, avail)
	case name == BackendKeychain && runtime.GOOS == "darwin":
		return fmt.Errorf("%w %q: this credkit was built without cgo, which the keychain backend needs; available here: %s",
			ErrUnknownBackend, name, avail)
	default:
		return fmt.Errorf("%w %q: it is not available on %s; available here: %s", ErrUnknownBackend, name, runtime.GOOS, avail)
	}
}

// storeSpec is everything needed to open one store: credkit's own or
// aws-vault's.
type storeSpec struct {
	backend string
	kc      keyring.Config
	// file backend
	fileDir  string
	readOnly bool
	what     string // "credkit's file vault"
	envHint  string
	pass     func(newStore bool) (pass, from string, err error)
}

// describe is Vault.Describe for the spec.
func (s *storeSpec) describe() string {
	k := s.kc
	switch s.backend {
	case BackendFile:
		return "file backend, " + s.fileDir
	case BackendPass:
		return "pass backend, " + filepath.Join(k.PassDir, k.PassPrefix)
	case BackendKeyctl:
		return fmt.Sprintf("keyctl backend, keyring %q in the %s keyring", k.ServiceName, k.KeyCtlScope)
	case BackendSecretService:
		return fmt.Sprintf("secret-service backend, collection %q", k.LibSecretCollectionName)
	case BackendKWallet:
		return fmt.Sprintf("kwallet backend, folder %q", k.KWalletFolder)
	case BackendKeychain:
		if k.KeychainName == "" {
			return fmt.Sprintf("keychain backend, default keychain, service %q", k.ServiceName)
		}
		return fmt.Sprintf("keychain backend, keychain %q", k.KeychainName)
	case BackendWinCred:
		return fmt.Sprintf("wincred backend, Credential Manager, prefix %q", k.WinCredPrefix)
	}
	return s.backend + " backend"
}

// open opens the store.
func (s *storeSpec) open() (keyring.Keyring, error) {
	if !available(s.backend) {
		return nil, unknownBackend(s.backend)
	}
	switch s.backend {
	case BackendFile:
		if !s.readOnly {
			if err := checkDirMode(s.fileDir, s.what); err != nil {
				return nil, err
			}
		}
		return &fileStore{dir: s.fileDir, readOnly: s.readOnly, what: s.what, passphrase: s.pass, envHint: s.envHint}, nil
	case BackendPass:
		if _, err := exec.LookPath(s.kc.PassCmd); err != nil {
			return nil, fmt.Errorf("the pass backend needs the program %s, and it is not on PATH: install pass (and gnupg), or choose another backend", s.kc.PassCmd)
		}
		if !passInitialised(s.kc.PassDir, s.kc.PassPrefix) {
			return nil, fmt.Errorf("the password store %s is not set up for pass: run pass init GPG-KEY-ID (with PASSWORD_STORE_DIR=%s)", s.kc.PassDir, s.kc.PassDir)
		}
	case BackendKeyctl:
		if err := probeKeyctl(s.kc.KeyCtlScope); err != nil {
			return nil, err
		}
	}
	kc := s.kc
	kc.AllowedBackends = []keyring.BackendType{keyring.BackendType(s.backend)}
	kr, err := keyring.Open(kc)
	if err != nil {
		hint := ""
		switch s.backend {
		case BackendSecretService:
			hint = ": is a Secret Service (GNOME Keyring, KeePassXC) running on the session bus, and its collection unlocked?"
		case BackendKWallet:
			hint = ": is kwalletd5 running on the session bus?"
		}
		return nil, fmt.Errorf("open the %s: %v%s", s.describe(), err, hint)
	}
	return kr, nil
}

// exists reports, without asking for a passphrase and without creating
// anything, whether the store holds at least one item.
func (s *storeSpec) exists() bool {
	if !available(s.backend) {
		return false
	}
	switch s.backend {
	case BackendFile:
		st := &fileStore{dir: s.fileDir, readOnly: true}
		files, err := st.itemFiles()
		return err == nil && len(files) > 0
	case BackendPass:
		found := false
		filepath.WalkDir(filepath.Join(s.kc.PassDir, s.kc.PassPrefix), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gpg") {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		return found
	case BackendKeyctl:
		if !keyctlRingExists(s.kc.KeyCtlScope, s.kc.ServiceName) {
			return false
		}
	}
	kr, err := s.open()
	if err != nil {
		return false
	}
	keys, err := kr.Keys()
	return err == nil && len(keys) > 0
}

// passInitialised reports whether pass can encrypt in dir/prefix: a
// .gpg-id file there or in the store's root.
func passInitialised(dir, prefix string) bool {
	for _, d := range []string{filepath.Join(dir, prefix), dir} {
		if _, err := os.Stat(filepath.Join(d, ".gpg-id")); err == nil {
			return true
		}
	}
	return false
}

// passphraseFunc returns the passphrase for a file store, found in this
// order: the environment variable envPass, the file named by envFile, the
// prompt. The answer (or the failure) is kept: it is looked for at most
// once.
func passphraseFunc(getenv func(string) string, envPass, envFile string, prompt func(string) (string, error),
	what, dir string, allowEmpty bool) func(newStore bool) (string, string, error) {
	var (
		mu         sync.Mutex
		done       bool
		pass, from string
		err        error
	)
	return func(newStore bool) (string, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return pass, from, err
		}
		done = true
		pass, from, err = findPassphrase(getenv, envPass, envFile, prompt, what, dir, newStore)
		if err == nil && pass == "" && !allowEmpty {
			err = fmt.Errorf("%s %s: the passphrase %s is empty; choose a non-empty one", what, dir, from)
		}
		return pass, from, err
	}
}

func findPassphrase(getenv func(string) string, envPass, envFile string, prompt func(string) (string, error),
	what, dir string, newStore bool) (string, string, error) {
	if p := getenv(envPass); p != "" {
		return p, "from " + envPass, nil
	}
	if envFile != "" {
		if path := getenv(envFile); path != "" {
			from := fmt.Sprintf("from the file %s (%s)", path, envFile)
			b, err := os.ReadFile(path)
			if err != nil {
				return "", from, fmt.Errorf("%s %s: read the passphrase file named by %s: %w", what, dir, envFile, err)
			}
			p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			if p == "" {
				return "", from, fmt.Errorf("%s %s: the passphrase file %s (%s) is empty", what, dir, path, envFile)
			}
			return p, from, nil
		}
	}
	hint := "set " + envPass
	if envFile != "" {
		hint = "set " + envFile + " to a file holding it, or " + envPass
	}
	if prompt == nil {
		return "", "", fmt.Errorf("%s %s needs a passphrase: %s", what, dir, hint)
	}
	text := fmt.Sprintf("Passphrase for %s %s: ", what, dir)
	if newStore {
		text = fmt.Sprintf("New passphrase for %s %s: ", what, dir)
	}
	p, err := prompt(text)
	if err != nil {
		return "", "", fmt.Errorf("%s %s needs a passphrase (%s): %w", what, dir, hint, err)
	}
	return p, "entered", nil
}

// homeDir is the user's home directory, for default paths.
func homeDir() (string, error) {
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default path (set the directory explicitly): %w", err)
	}
	return h, nil
}

// expandHome resolves a leading ~/ in path.
func expandHome(path string) (string, error) {
	path, err := awsenv.ExpandHome(path, homeDir)
	if err != nil {
		return "", err
	}
	return filepath.Abs(path)
}
