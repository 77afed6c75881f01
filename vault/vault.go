package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/credkit/credkit/internal/keyring"

	"github.com/credkit/credkit/creds"
)

// DefaultServiceName names credkit's items in the OS keyrings.
const DefaultServiceName = "credkit"

// Environment variables of the file backend, read through Config.Getenv.
const (
	// EnvFilePassphrase holds the passphrase itself. It is visible to
	// anything that can read the process's environment; prefer
	// EnvFilePassphraseFile.
	EnvFilePassphrase = "CREDKIT_FILE_PASSPHRASE"
	// EnvFilePassphraseFile names a file holding the passphrase (one line;
	// a trailing newline is ignored).
	EnvFilePassphraseFile = "CREDKIT_FILE_PASSPHRASE_FILE"
)

// defaultFileDir is the file backend's directory, under the home directory.
const defaultFileDir = ".credkit/keys"

var (
	// ErrNotFound is wrapped by errors for keys that are not in the vault.
	ErrNotFound = errors.New("not in the vault")
	// ErrWrongPassphrase is wrapped by errors of the file backend when the
	// passphrase decrypts none of the items it was checked against.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrUnknownBackend is wrapped by Open's error for a backend name that
	// is not available in this process (unknown, for another OS, or
	// missing what it needs, such as a D-Bus session bus).
	ErrUnknownBackend = errors.New("unknown keyring backend")
	// ErrCorrupt is matched (errors.Is) by a *CorruptItemError.
	ErrCorrupt = errors.New("damaged vault item")
)

// CorruptItemError reports an item that cannot be read: a file that is not
// an encrypted item, one that does not decrypt although others do, or data
// that is not credentials. credkit never overwrites or removes such an
// item; the rest of the vault stays usable.
type CorruptItemError struct {
	// Item is the item's name (a profile name, or a session item name:
	// neither is secret).
	Item string
	// File is the item's file (file backend only).
	File string
	// Reason says what is wrong, without quoting any of the data.
	Reason string

	dir string
}

func (e *CorruptItemError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("vault item %q in %s is damaged: %s; credkit leaves it alone: move the file out of %s (or restore it from a backup), then store it again",
			e.Item, e.File, e.Reason, e.dir)
	}
	return fmt.Sprintf("vault item %q is damaged: %s; credkit leaves it alone: delete it with the keyring's own tool, then store it again", e.Item, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptItemError) Is(target error) bool { return target == ErrCorrupt }

// Config says which vault to open. The zero value opens credkit's vault in
// the default backend for the OS.
type Config struct {
	// Backend is one of Backends(); "" means DefaultBackend(Getenv).
	Backend string
	// ServiceName names credkit's items in the OS keyring (keychain
	// service, Secret Service collection, KWallet folder, keyctl keyring,
	// pass folder, Credential Manager prefix); "" means "credkit".
	ServiceName string
	// FileDir is the file backend's directory; "" means ~/.credkit/keys.
	// A leading ~/ is the home directory.
	FileDir string
	// Passphrase asks for the file backend's passphrase when the
	// environment has none. prompt ends with ": " and starts with "New
	// passphrase" when the store has no item yet (a CLI may ask twice to
	// confirm). It is called at most once per Open, and only when an item
	// is read or written. nil: the environment must have it.
	Passphrase func(prompt string) (string, error)
	// Getenv reads EnvFilePassphrase, EnvFilePassphraseFile and, on Linux,
	// DBUS_SESSION_BUS_ADDRESS; nil means os.Getenv.
	Getenv func(string) string

	// PassDir is the pass backend's password store; "" means
	// $PASSWORD_STORE_DIR, else ~/.password-store.
	PassDir string
	// PassPrefix is the folder of credkit's items in the password store;
	// "" means ServiceName.
	PassPrefix string
	// KeyctlScope is the kernel keyring that holds credkit's keyring:
	// user (the default), usersession, session, process or thread.
	KeyctlScope string
}

// Vault is credkit's store of long-term keys and cached STS sessions.
// A Vault may be used by several goroutines; several processes may use
// the same store at once (see the package documentation on locking).
type Vault struct {
	backend string
	desc    string
	kr      keyring.Keyring
}

// spec resolves cfg into what to open.
func (cfg Config) spec() (*storeSpec, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &storeSpec{backend: cfg.Backend}
	if s.backend == "" {
		s.backend = DefaultBackend(getenv)
	}
	service := cfg.ServiceName
	if service == "" {
		service = DefaultServiceName
	}
	s.kc = keyring.Config{
		ServiceName:              service,
		LibSecretCollectionName:  service,
		KWalletAppID:             service,
		KWalletFolder:            service,
		KeychainTrustApplication: true,
		WinCredPrefix:            service,
		KeyCtlScope:              cfg.KeyctlScope,
		PassCmd:                  "pass",
		PassPrefix:               cfg.PassPrefix,
	}
	if s.kc.KeyCtlScope == "" {
		s.kc.KeyCtlScope = "user"
	}
	if s.kc.PassPrefix == "" {
		s.kc.PassPrefix = service
	}
	switch s.backend {
	case BackendFile:
		dir := cfg.FileDir
		if dir == "" {
			h, err := homeDir()
			if err != nil {
				return nil, fmt.Errorf("credkit's file vault: %w", err)
			}
			dir = filepath.Join(h, defaultFileDir)
		}
		dir, err := expandHome(dir)
		if err != nil {
			return nil, fmt.Errorf("credkit's file vault: %w", err)
		}
		s.fileDir, s.what = dir, "credkit's file vault"
		s.envHint = "set " + EnvFilePassphraseFile + " to a file holding it, or " + EnvFilePassphrase
		s.pass = passphraseFunc(getenv, EnvFilePassphrase, EnvFilePassphraseFile, cfg.Passphrase, s.what, dir, false)
	case BackendPass:
		dir, err := passDir(cfg.PassDir, getenv, "PASSWORD_STORE_DIR")
		if err != nil {
			return nil, err
		}
		s.kc.PassDir = dir
	}
	return s, nil
}

// passDir is the password store: explicit, else $env, else ~/.password-store.
func passDir(dir string, getenv func(string) string, env string) (string, error) {
	if dir == "" {
		dir = getenv(env)
	}
	if dir == "" {
		h, err := homeDir()
		if err != nil {
			return "", fmt.Errorf("pass backend: %w", err)
		}
		dir = filepath.Join(h, ".password-store")
	}
	return expandHome(dir)
}

// Open opens credkit's vault. It asks for nothing: the file backend's
// passphrase is asked for when an item is first read or written.
func Open(cfg Config) (*Vault, error) {
	s, err := cfg.spec()
	if err != nil {
		return nil, err
	}
	kr, err := s.open()
	if err != nil {
		return nil, err
	}
	return &Vault{backend: s.backend, desc: s.describe(), kr: kr}, nil
}

// Exists reports whether the vault cfg names holds at least one item. It
// asks for no passphrase and creates nothing, so a caller can skip a
// vault that was never used.
func Exists(cfg Config) bool {
	s, err := cfg.spec()
	if err != nil {
		return false
	}
	return s.exists()
}

// Backend names the vault's backend, e.g. "file".
func (v *Vault) Backend() string { return v.backend }

// Describe says where the vault is, e.g. "file backend, /home/u/.credkit/keys".
func (v *Vault) Describe() string { return v.desc }

func (v *Vault) keysSource(profile string) string {
	return fmt.Sprintf("vault (%s backend), profile %s", v.backend, profile)
}

// SetKeys stores the long-term keys (an IAM user's access key) of profile,
// replacing any it had.
func (v *Vault) SetKeys(profile string, c creds.Credentials) error {
	if err := checkProfile(profile); err != nil {
		return fmt.Errorf("store keys: %w", err)
	}
	if !c.HasKeys() {
		return fmt.Errorf("store keys for profile %s: both the access key id and the secret access key are needed", profile)
	}
	if c.Temporary() {
		return fmt.Errorf("store keys for profile %s: %s has a session token: the vault keeps an IAM user's long-term keys; sessions go to PutSession",
			profile, creds.RedactKeyID(c.AccessKeyID))
	}
	data, err := encodeKeys(c)
	if err != nil {
		return err
	}
	err = v.kr.Set(keyring.Item{
		Key:         profile,
		Data:        data,
		Label:       fmt.Sprintf("credkit (%s)", profile),
		Description: "credkit long-term AWS keys",
		// macOS asks before handing long-term keys to a program, as
		// aws-vault does.
		KeychainNotTrustApplication: true,
	})
	if err != nil {
		return v.wrap("store the keys of profile "+profile, err)
	}
	return nil
}

// Keys returns the long-term keys of profile. The error wraps ErrNotFound
// when there are none, ErrCorrupt when the item is damaged and, for the
// file backend, ErrWrongPassphrase.
func (v *Vault) Keys(profile string) (creds.Credentials, error) {
	item, err := getKeysItem(v.kr, profile)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return creds.Credentials{}, fmt.Errorf("profile %s has no keys in the vault (%s): %w", profile, v.desc, ErrNotFound)
	}
	if err != nil {
		return creds.Credentials{}, v.wrap("read the keys of profile "+profile, err)
	}
	c, err := decodeKeys(item.Data)
	if err != nil {
		return creds.Credentials{}, v.corrupt(profile, err)
	}
	c.Source = v.keysSource(profile)
	return c, nil
}

// getKeysItem reads the keys item of profile; a name that cannot be a
// profile's (a session item's, say) is not found.
func getKeysItem(kr keyring.Keyring, profile string) (keyring.Item, error) {
	if !isKeysName(profile) || profile == "" || profile == "." || profile == ".." {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	return kr.Get(profile)
}

// corrupt reports a damaged item, naming its file for the file backend.
func (v *Vault) corrupt(name string, why error) error {
	if fs, ok := v.kr.(*fileStore); ok {
		return fs.corrupt(name, why)
	}
	return &CorruptItemError{Item: name, Reason: why.Error()}
}

// wrap adds what was being done to a backend's error, and where, unless
// the error says where itself (the file backend's do).
func (v *Vault) wrap(what string, err error) error {
	if _, isFile := v.kr.(*fileStore); isFile || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongPassphrase) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s in the %s: %w", what, v.desc, err)
}

// HasKeys reports whether profile has keys in the vault, without reading
// them (and so without asking for a passphrase).
func (v *Vault) HasKeys(profile string) (bool, error) {
	names, err := v.names()
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if n == profile && isKeysName(n) {
			return true, nil
		}
	}
	return false, nil
}

// RemoveKeys deletes the long-term keys of profile (not its sessions: see
// ClearSessions). The error wraps ErrNotFound when there were none.
func (v *Vault) RemoveKeys(profile string) error {
	err := keyring.ErrKeyNotFound
	if checkProfile(profile) == nil {
		err = v.kr.Remove(profile)
	}
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return fmt.Errorf("profile %s has no keys in the vault (%s): %w", profile, v.desc, ErrNotFound)
	}
	if err != nil {
		return v.wrap("remove the keys of profile "+profile, err)
	}
	return nil
}

// names lists the items of the vault.
func (v *Vault) names() ([]string, error) {
	names, err := v.kr.Keys()
	if err != nil {
		return nil, v.wrap("list the items", err)
	}
	return names, nil
}

// Profiles lists the profiles with keys in the vault, sorted. It reads
// item names only (no passphrase is needed).
func (v *Vault) Profiles() ([]string, error) {
	names, err := v.names()
	if err != nil {
		return nil, err
	}
	return keysNames(names), nil
}

// keysNames picks the long-term key items out of item names, sorted.
func keysNames(names []string) []string {
	out := []string{}
	for _, n := range names {
		if isKeysName(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// PutSession caches an STS session. Its expiry is c.Expires (k.Expires is
// ignored). Older sessions of the same kind, profile and MFA serial are
// removed.
func (v *Vault) PutSession(k SessionKey, c creds.Credentials) error {
	if _, ok := itemTypes[k.Kind]; !ok {
		return fmt.Errorf("cache session: kind %q is not %s or %s", k.Kind, KindGetSessionToken, KindAssumeRole)
	}
	if k.Profile == "" {
		return errors.New("cache session: the profile name is empty")
	}
	if !c.HasKeys() || !c.Temporary() || !c.CanExpire() {
		return fmt.Errorf("cache %s session of profile %s: %s is not a session (it needs a key, secret, session token and expiry)",
			k.Kind, k.Profile, creds.RedactKeyID(c.AccessKeyID))
	}
	k.Expires = c.Expires.Truncate(time.Second)
	data, err := encodeSession(c)
	if err != nil {
		return err
	}
	name := k.itemName()
	err = v.kr.Set(keyring.Item{
		Key:         name,
		Data:        data,
		Label:       fmt.Sprintf("credkit %s session for %s (expires %s)", k.Kind, k.Profile, c.Expires.UTC().Format(time.RFC3339)),
		Description: "credkit session",
	})
	if err != nil {
		return v.wrap(fmt.Sprintf("cache the %s session of profile %s", k.Kind, k.Profile), err)
	}
	// Drop what this session supersedes (best effort: the new one is in).
	sessions, err := v.sessionNames()
	if err != nil {
		return nil
	}
	for _, s := range sessions {
		if s.name != name && sameSession(s.key, k) && s.key.Expires.Before(k.Expires) {
			v.kr.Remove(s.name)
		}
	}
	return nil
}

func sameSession(a, b SessionKey) bool {
	return a.Kind == b.Kind && a.Profile == b.Profile && a.MFASerial == b.MFASerial
}

type namedSession struct {
	name string
	key  SessionKey
}

// sessionNames lists credkit's session items (of the kinds it keeps).
func (v *Vault) sessionNames() ([]namedSession, error) {
	names, err := v.names()
	if err != nil {
		return nil, err
	}
	var out []namedSession
	for _, n := range names {
		if s, ok := parseSessionName(n); ok && s.known {
			out = append(out, namedSession{n, s.key})
		}
	}
	return out, nil
}

// Sessions lists the cached sessions (expired ones too), by profile, kind,
// MFA serial and expiry. It reads item names only.
func (v *Vault) Sessions() ([]SessionKey, error) {
	sessions, err := v.sessionNames()
	if err != nil {
		return nil, err
	}
	out := make([]SessionKey, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, s.key)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Profile != b.Profile {
			return a.Profile < b.Profile
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.MFASerial != b.MFASerial {
			return a.MFASerial < b.MFASerial
		}
		return a.Expires.Before(b.Expires)
	})
	return out, nil
}

// Session returns the cached session of kind for profile and MFA serial
// with the latest expiry, if it has more than margin left at now; ok is
// false when there is none. Expired sessions it comes across (of any
// profile) are removed, best effort. A damaged session item is passed
// over; when no good session is left the error says which was damaged.
func (v *Vault) Session(kind, profile, mfaSerial string, now time.Time, margin time.Duration) (creds.Credentials, bool, error) {
	sessions, err := v.sessionNames()
	if err != nil {
		return creds.Credentials{}, false, err
	}
	want := SessionKey{Kind: kind, Profile: profile, MFASerial: mfaSerial}
	var candidates []namedSession
	for _, s := range sessions {
		if !now.Before(s.key.Expires) {
			v.kr.Remove(s.name)
			continue
		}
		if sameSession(s.key, want) && s.key.Expires.Sub(now) > margin {
			candidates = append(candidates, s)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].key.Expires.After(candidates[j].key.Expires) })
	var damaged error
	for _, s := range candidates {
		item, err := v.kr.Get(s.name)
		if errors.Is(err, keyring.ErrKeyNotFound) {
			continue // removed by another process meanwhile
		}
		if errors.Is(err, ErrCorrupt) {
			damaged = err
			continue
		}
		if err != nil {
			return creds.Credentials{}, false, v.wrap(fmt.Sprintf("read the %s session of profile %s", kind, profile), err)
		}
		c, err := decodeSession(item.Data, s.key.Expires)
		if err != nil {
			damaged = v.corrupt(s.name, err)
			continue
		}
		if c.Expires.Sub(now) <= margin {
			continue
		}
		c.Source = fmt.Sprintf("%s session cached in the vault (%s backend), profile %s", kind, v.backend, profile)
		return c, true, nil
	}
	return creds.Credentials{}, false, damaged
}

// ClearSessions removes the cached sessions of profile ("" for all
// profiles) and returns how many it removed. Damaged items are left
// alone and reported in the error, after the others are removed.
func (v *Vault) ClearSessions(profile string) (int, error) {
	sessions, err := v.sessionNames()
	if err != nil {
		return 0, err
	}
	n := 0
	var damaged []error
	for _, s := range sessions {
		if profile != "" && s.key.Profile != profile {
			continue
		}
		err := v.kr.Remove(s.name)
		switch {
		case err == nil:
			n++
		case errors.Is(err, keyring.ErrKeyNotFound):
		case errors.Is(err, ErrCorrupt):
			damaged = append(damaged, err)
		default:
			return n, v.wrap("clear sessions", err)
		}
	}
	if len(damaged) > 0 {
		return n, fmt.Errorf("clear sessions: %d damaged session item(s) left in place: %w", len(damaged), errors.Join(damaged...))
	}
	return n, nil
}
