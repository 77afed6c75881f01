package vault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/mtibben/percent"
)

// The file backend, written here rather than taken from keyring.
//
// keyring's file backend writes an item with os.WriteFile: in place, with no
// lock and no fsync. Two processes writing at once can interleave, a crash
// mid-write leaves a truncated item, and a reader can see half a file. It
// also reads whatever a file says (a JWE of any algorithm, any PBKDF2
// count) and cannot tell a wrong passphrase from a damaged file. This one
// keeps keyring's format exactly (one file per item, the name
// percent-encoded, the content a JWE compact serialisation of the JSON of
// a keyring.Item, PBES2-HS256+A128KW with A256GCM), so keyring and
// aws-vault read what it writes and it reads what they wrote, and adds:
//
//   - a lock file in the directory: shared for reads, exclusive for writes;
//   - atomic writes: a temporary file in the directory, fsync, rename, fsync
//     of the directory;
//   - a passphrase check before any write or removal: an existing item must
//     decrypt with it;
//   - damaged items are reported with their file name and never
//     overwritten or removed.

const (
	// internalPrefix starts the names of the files that are not items.
	internalPrefix = ".credkit"
	lockFileName   = internalPrefix + ".lock"
	tempPattern    = internalPrefix + "-tmp-*"

	// JWE parameters keyring writes and this backend accepts.
	jweAlg = jose.PBES2_HS256_A128KW
	jweEnc = jose.A256GCM
	// maxPBKDF2Iterations bounds the p2c header of an item read, so that a
	// planted file cannot make a read run for minutes. keyring writes 8192.
	maxPBKDF2Iterations = 1_000_000
)

// errBadKey: the item's content key does not unwrap with the passphrase.
// Either the passphrase is wrong or that part of the file is damaged.
var errBadKey = errors.New("does not decrypt with this passphrase")

// fileStore is a keyring.Keyring over a directory of encrypted items.
type fileStore struct {
	dir string
	// readOnly stores (aws-vault's, when importing) are never written, and
	// no lock file is made in them: aws-vault takes no lock anyway.
	readOnly bool
	// what names the store in messages: "credkit's file vault".
	what string
	// passphrase returns the passphrase, asking at most once; newStore
	// says the directory holds no item yet (the prompt differs).
	passphrase func(newStore bool) (pass, from string, err error)
	// envHint tells the user how to give the passphrase without a prompt.
	envHint string

	mu sync.Mutex
	// verified: the passphrase decrypts an item of the store (or the store
	// had none when this process wrote its first item).
	verified bool
}

var _ keyring.Keyring = (*fileStore)(nil)

// path is the file of item key: its name percent-encoded as keyring does
// ("/" and "%"). Names that would not be a file of the directory ("",
// ".", "..") get a name no item has, so they are never found.
func (s *fileStore) path(key string) string {
	name := percent.Encode(key, "/")
	if name == "" || name == "." || name == ".." {
		name = internalPrefix + "-invalid-name"
	}
	return filepath.Join(s.dir, name)
}

// lock takes the lock file's lock; it returns a no-op for read-only stores
// and for a directory that does not exist yet (there is nothing to read).
func (s *fileStore) lock(exclusive bool) (unlock func(), err error) {
	if s.readOnly {
		return func() {}, nil
	}
	f, err := os.OpenFile(filepath.Join(s.dir, lockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrNotExist) && !exclusive {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: open the lock file: %w", s.what, s.dir, err)
	}
	if err := lockFile(f, exclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s %s: lock %s: %w", s.what, s.dir, lockFileName, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

// itemFiles lists the item files of the directory: regular files whose
// names do not start with internalPrefix. A missing directory has none.
func (s *fileStore) itemFiles() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: list %s: %w", s.what, s.dir, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), internalPrefix) || !e.Type().IsRegular() {
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}

func (s *fileStore) Keys() ([]string, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, err := s.itemFiles()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(files))
	for _, f := range files {
		keys = append(keys, percent.Decode(f))
	}
	return keys, nil
}

func (s *fileStore) GetMetadata(key string) (keyring.Metadata, error) {
	fi, err := os.Stat(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Metadata{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Metadata{}, err
	}
	return keyring.Metadata{ModificationTime: fi.ModTime()}, nil
}

func (s *fileStore) Get(key string) (keyring.Item, error) {
	unlock, err := s.lock(false)
	if err != nil {
		return keyring.Item{}, err
	}
	defer unlock()
	path := s.path(key)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Item{}, fmt.Errorf("%s: read %s: %w", s.what, path, err)
	}
	pass, from, err := s.passphrase(false)
	if err != nil {
		return keyring.Item{}, err
	}
	item, err := s.decrypt(key, data, pass)
	if err == nil {
		s.setVerified()
		return item, nil
	}
	if !errors.Is(err, errBadKey) {
		return keyring.Item{}, s.corrupt(key, err)
	}
	// A wrong passphrase or a damaged key in this one file: the other
	// items tell which.
	if s.isVerified() {
		return keyring.Item{}, s.corrupt(key, errors.New("it does not decrypt with the passphrase that opens the other items"))
	}
	if err := s.checkPassphrase(pass, from, key); err != nil {
		return keyring.Item{}, err
	}
	if s.isVerified() {
		return keyring.Item{}, s.corrupt(key, errors.New("it does not decrypt with the passphrase that opens the other items"))
	}
	return keyring.Item{}, s.wrongPassphrase(from, 1, true)
}

func (s *fileStore) Set(item keyring.Item) error {
	if s.readOnly {
		return fmt.Errorf("%s %s is opened read-only", s.what, s.dir)
	}
	if err := s.ensureDir(); err != nil {
		return err
	}
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	s.removeStaleTemps()
	files, err := s.itemFiles()
	if err != nil {
		return err
	}
	pass, from, err := s.passphrase(len(files) == 0)
	if err != nil {
		return err
	}
	if err := s.checkWritable(item.Key, pass, from); err != nil {
		return err
	}
	plain, err := json.Marshal(item)
	if err != nil {
		return err
	}
	token, err := jose.Encrypt(string(plain), jweAlg, jweEnc, pass,
		jose.Headers(map[string]interface{}{"created": time.Now().UTC().Format(time.RFC3339)}))
	if err != nil {
		return fmt.Errorf("%s: encrypt item %q: %w", s.what, item.Key, err)
	}
	if err := writeAtomic(s.dir, filepath.Base(s.path(item.Key)), []byte(token)); err != nil {
		return fmt.Errorf("%s: write item %q: %w", s.what, item.Key, err)
	}
	s.setVerified()
	return nil
}

func (s *fileStore) Remove(key string) error {
	if s.readOnly {
		return fmt.Errorf("%s %s is opened read-only", s.what, s.dir)
	}
	unlock, err := s.lock(true)
	if err != nil {
		return err
	}
	defer unlock()
	path := s.path(key)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return keyring.ErrKeyNotFound
	}
	pass, from, err := s.passphrase(false)
	if err != nil {
		return err
	}
	if err := s.checkWritable(key, pass, from); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("%s: remove item %q: %w", s.what, key, err)
	}
	return atomicfile.SyncDir(s.dir)
}

// checkWritable runs before an item is written or removed, under the
// exclusive lock: the passphrase must open the store, and an item already
// at key must decrypt (a damaged item is left alone).
func (s *fileStore) checkWritable(key, pass, from string) error {
	if err := s.checkPassphrase(pass, from, ""); err != nil {
		return err
	}
	data, err := os.ReadFile(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: read %s: %w", s.what, s.path(key), err)
	}
	if _, err := s.decrypt(key, data, pass); err != nil {
		if errors.Is(err, errBadKey) {
			err = errors.New("it does not decrypt with the passphrase that opens the other items")
		}
		return s.corrupt(key, err)
	}
	return nil
}

// checkPassphrase makes sure the passphrase opens the store before it is
// trusted: one item (other than skip) must decrypt with it. A store with
// no item that could tell (empty, or only damaged items) accepts any
// passphrase.
func (s *fileStore) checkPassphrase(pass, from, skip string) error {
	if s.isVerified() {
		return nil
	}
	files, err := s.itemFiles()
	if err != nil {
		return err
	}
	refused := 0
	for _, f := range files {
		key := percent.Decode(f)
		if key == skip {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.dir, f))
		if err != nil {
			continue
		}
		_, err = s.decrypt(key, data, pass)
		if err == nil {
			s.setVerified()
			return nil
		}
		if errors.Is(err, errBadKey) {
			refused++
		}
	}
	if refused > 0 {
		return s.wrongPassphrase(from, refused, false)
	}
	return nil
}

func (s *fileStore) isVerified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified
}

func (s *fileStore) setVerified() {
	s.mu.Lock()
	s.verified = true
	s.mu.Unlock()
}

func (s *fileStore) wrongPassphrase(from string, refused int, onlyItem bool) error {
	what := fmt.Sprintf("decrypts none of its %d items", refused)
	switch {
	case onlyItem:
		what = "does not decrypt the item"
	case refused == 1:
		what = "does not decrypt its only item"
	}
	msg := fmt.Sprintf("%s %s: %v: the passphrase %s %s; use the passphrase the items were stored with (%s)",
		s.what, s.dir, ErrWrongPassphrase, from, what, s.envHint)
	if onlyItem {
		msg += "; if it is right, the item file is damaged"
	}
	return &passphraseError{msg: msg}
}

// passphraseError wraps ErrWrongPassphrase with the message above.
type passphraseError struct{ msg string }

func (e *passphraseError) Error() string { return e.msg }
func (e *passphraseError) Unwrap() error { return ErrWrongPassphrase }

func (s *fileStore) corrupt(key string, why error) error {
	return &CorruptItemError{Item: key, File: s.path(key), Reason: why.Error(), dir: s.dir}
}

// decrypt opens an item file's content. It returns errBadKey when the
// content key does not unwrap (wrong passphrase, or a damaged key) and
// another error, which never quotes the plaintext, when the file is not
// an item keyring could have written or its item is not key.
func (s *fileStore) decrypt(key string, data []byte, pass string) (keyring.Item, error) {
	token := string(data)
	if err := checkJWE(token); err != nil {
		return keyring.Item{}, err
	}
	plain, _, err := jose.Decode(token, pass)
	if err != nil {
		if strings.Contains(err.Error(), "integrity check failed") {
			return keyring.Item{}, errBadKey
		}
		return keyring.Item{}, fmt.Errorf("it does not decrypt: %v", err)
	}
	var item keyring.Item
	if err := json.Unmarshal([]byte(plain), &item); err != nil {
		return keyring.Item{}, errors.New("it decrypts, but not to the JSON of a keyring item")
	}
	if item.Key != key {
		// Names are not encrypted, the item inside is: a renamed (or
		// swapped) file must not pass for another profile's keys.
		return keyring.Item{}, fmt.Errorf("it holds the item %q, not %q (was the file renamed?)", item.Key, key)
	}
	return item, nil
}

// checkJWE checks that token is what keyring writes: a five-part JWE with
// PBES2-HS256+A128KW and A256GCM, no compression and a sane PBKDF2
// count. Anything else (a signed or unencrypted token, another algorithm)
// is refused before decryption.
func checkJWE(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 5 {
		return fmt.Errorf("it is not an encrypted item (a JWE has 5 dot-separated parts, it has %d)", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return errors.New("its JWE header is not base64url")
	}
	var h struct {
		Alg string   `json:"alg"`
		Enc string   `json:"enc"`
		Zip *string  `json:"zip"`
		P2C *float64 `json:"p2c"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return errors.New("its JWE header is not JSON")
	}
	if h.Alg != jweAlg || h.Enc != jweEnc {
		return fmt.Errorf("it is encrypted with %q/%q, not %s/%s as keyring writes", h.Alg, h.Enc, jweAlg, jweEnc)
	}
	if h.Zip != nil {
		return errors.New("it is compressed, which keyring never does")
	}
	if h.P2C == nil || *h.P2C < 1 || *h.P2C > maxPBKDF2Iterations {
		return fmt.Errorf("its PBKDF2 iteration count is missing or above %d", maxPBKDF2Iterations)
	}
	return nil
}

// ensureDir creates the directory (0700) if needed and refuses one that
// other users can open.
func (s *fileStore) ensureDir() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("%s: create %s: %w", s.what, s.dir, err)
	}
	return checkDirMode(s.dir, s.what)
}

// checkDirMode refuses a directory that is not one or that group or others
// may open (on Unix; Windows has no such bits).
func checkDirMode(dir, what string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", what, dir)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %s can be opened by other users (mode %04o); make it private with: chmod 700 %s",
			what, dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// removeStaleTemps deletes temporary files left by a process that died
// mid-write. The caller holds the exclusive lock, so none is in use.
func (s *fileStore) removeStaleTemps() {
	stale, _ := filepath.Glob(filepath.Join(s.dir, tempPattern))
	for _, f := range stale {
		os.Remove(f)
	}
}

// writeAtomic replaces dir/name with data (see atomicfile.Write: 0600,
// fsync, rename, fsync of dir). A reader sees the old or the new file,
// never a mix; a crash leaves at most a temporary file, which
// removeStaleTemps deletes.
func writeAtomic(dir, name string, data []byte) error {
	return atomicfile.Options{TempPattern: tempPattern}.Write(filepath.Join(dir, name), data)
}
