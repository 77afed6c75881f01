package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/keyring"

	"github.com/credkit/credkit/creds"
)

// Environment variables of aws-vault v7 that OpenAWSVault reads (through
// Config.Getenv) to find aws-vault's store where aws-vault would.
const (
	EnvAWSVaultBackend        = "AWS_VAULT_BACKEND"
	EnvAWSVaultFilePassphrase = "AWS_VAULT_FILE_PASSPHRASE"
	EnvAWSVaultFileDir        = "AWS_VAULT_FILE_DIR"
	EnvAWSVaultPassDir        = "AWS_VAULT_PASS_PASSWORD_STORE_DIR"
	EnvAWSVaultPassCmd        = "AWS_VAULT_PASS_CMD"
	EnvAWSVaultPassPrefix     = "AWS_VAULT_PASS_PREFIX"
	EnvAWSVaultKeychainName   = "AWS_VAULT_KEYCHAIN_NAME"
	EnvAWSVaultCollection     = "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME"
)

// AWSVault is aws-vault's store, opened read-only to import from it.
type AWSVault struct {
	backend string
	desc    string
	kr      keyring.Keyring
}

// OpenAWSVault opens aws-vault v7's store read-only, with aws-vault's own
// defaults; Config fields that are set win over them:
//
//   - Backend: $AWS_VAULT_BACKEND, else aws-vault's default: the first
//     backend keyring offers here (wincred, keychain, secret-service,
//     kwallet, keyctl, pass, file, in that order);
//   - ServiceName: "aws-vault" (keychain "$AWS_VAULT_KEYCHAIN_NAME" or
//     "aws-vault", Secret Service collection
//     "$AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME" or "awsvault");
//   - FileDir: $AWS_VAULT_FILE_DIR, else ~/.awsvault/keys; the passphrase
//     comes from $AWS_VAULT_FILE_PASSPHRASE, else Passphrase (an empty
//     passphrase is accepted, as aws-vault does);
//   - PassDir: $AWS_VAULT_PASS_PASSWORD_STORE_DIR, else
//     $PASSWORD_STORE_DIR, else ~/.password-store; PassPrefix:
//     $AWS_VAULT_PASS_PREFIX, else none;
//   - KeyctlScope: "user" (aws-vault v7 sets none, which keyring refuses).
//
// Nothing is written to aws-vault's store, and no lock file is made in it.
func OpenAWSVault(cfg Config) (*AWSVault, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	or := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	s := &storeSpec{backend: or(cfg.Backend, getenv(EnvAWSVaultBackend))}
	if s.backend == "" {
		if avail := keyringBackends(); len(avail) > 0 {
			s.backend = avail[0]
		}
	}
	service := or(cfg.ServiceName, "aws-vault")
	s.kc = keyring.Config{
		ServiceName:              service,
		KeychainName:             or(getenv(EnvAWSVaultKeychainName), "aws-vault"),
		KeychainTrustApplication: true,
		LibSecretCollectionName:  or(getenv(EnvAWSVaultCollection), "awsvault"),
		KWalletAppID:             "aws-vault",
		KWalletFolder:            "aws-vault",
		WinCredPrefix:            "aws-vault",
		KeyCtlScope:              or(cfg.KeyctlScope, "user"),
		PassCmd:                  or(getenv(EnvAWSVaultPassCmd), "pass"),
		PassPrefix:               or(cfg.PassPrefix, getenv(EnvAWSVaultPassPrefix)),
	}
	switch s.backend {
	case BackendFile:
		dir := or(cfg.FileDir, getenv(EnvAWSVaultFileDir))
		if dir == "" {
			h, err := homeDir()
			if err != nil {
				return nil, fmt.Errorf("aws-vault's file store: %w", err)
			}
			dir = filepath.Join(h, ".awsvault", "keys")
		}
		dir, err := expandHome(dir)
		if err != nil {
			return nil, fmt.Errorf("aws-vault's file store: %w", err)
		}
		s.fileDir, s.readOnly, s.what = dir, true, "aws-vault's file store"
		s.envHint = "set " + EnvAWSVaultFilePassphrase
		s.pass = passphraseFunc(getenv, EnvAWSVaultFilePassphrase, "", cfg.Passphrase, s.what, dir, true)
	case BackendPass:
		dir, err := passDir(or(cfg.PassDir, getenv(EnvAWSVaultPassDir)), getenv, "PASSWORD_STORE_DIR")
		if err != nil {
			return nil, err
		}
		s.kc.PassDir = dir
	}
	kr, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("aws-vault's store: %w", err)
	}
	return &AWSVault{backend: s.backend, desc: s.describe(), kr: kr}, nil
}

// Backend names the backend of aws-vault's store.
func (a *AWSVault) Backend() string { return a.backend }

// Describe says where aws-vault's store is, e.g. "file backend, /home/u/.awsvault/keys".
func (a *AWSVault) Describe() string { return a.desc }

func (a *AWSVault) names() ([]string, error) {
	names, err := a.kr.Keys()
	if err != nil {
		return nil, fmt.Errorf("list the items of aws-vault's store (%s): %w", a.desc, err)
	}
	sort.Strings(names)
	return names, nil
}

// Profiles lists the profiles with long-term keys in aws-vault's store,
// sorted, from item names only.
func (a *AWSVault) Profiles() ([]string, error) {
	names, err := a.names()
	if err != nil {
		return nil, err
	}
	return keysNames(names), nil
}

// Keys reads the long-term keys of profile from aws-vault's store.
func (a *AWSVault) Keys(profile string) (creds.Credentials, error) {
	item, err := getKeysItem(a.kr, profile)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return creds.Credentials{}, fmt.Errorf("profile %s has no keys in aws-vault's store (%s): %w", profile, a.desc, ErrNotFound)
	}
	if err != nil {
		return creds.Credentials{}, a.readError("the keys of profile "+profile, err)
	}
	c, err := decodeKeys(item.Data)
	if err != nil {
		return creds.Credentials{}, a.corrupt(profile, err)
	}
	c.Source = fmt.Sprintf("aws-vault (%s backend), profile %s", a.backend, profile)
	return c, nil
}

// Sessions lists the sessions in aws-vault's store of the kinds credkit
// caches (GetSessionToken and AssumeRole), expired ones too.
func (a *AWSVault) Sessions() ([]SessionKey, error) {
	names, err := a.names()
	if err != nil {
		return nil, err
	}
	var out []SessionKey
	for _, n := range names {
		if s, ok := parseSessionName(n); ok && s.known {
			out = append(out, s.key)
		}
	}
	return out, nil
}

func (a *AWSVault) session(name string, expires time.Time) (creds.Credentials, error) {
	item, err := a.kr.Get(name)
	if err != nil {
		return creds.Credentials{}, a.readError("the session "+name, err)
	}
	c, err := decodeSession(item.Data, expires)
	if err != nil {
		return creds.Credentials{}, a.corrupt(name, err)
	}
	return c, nil
}

func (a *AWSVault) readError(what string, err error) error {
	if _, isFile := a.kr.(*fileStore); isFile || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrWrongPassphrase) {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return fmt.Errorf("read %s from aws-vault's store (%s): %w", what, a.desc, err)
}

func (a *AWSVault) corrupt(name string, why error) error {
	if fs, ok := a.kr.(*fileStore); ok {
		return fs.corrupt(name, why)
	}
	return &CorruptItemError{Item: name, Reason: why.Error()}
}

// ImportOptions tune Import.
type ImportOptions struct {
	// Overwrite replaces keys credkit already has for a profile when
	// aws-vault's differ (credkit's cached sessions of that profile are
	// then cleared). Without it such profiles are skipped.
	Overwrite bool
	// Sessions also imports aws-vault's cached GetSessionToken and
	// AssumeRole sessions that have not expired at Now.
	Sessions bool
	// Now is the current time; it must be set when Sessions is.
	Now time.Time
	// Profiles limits the import to these profiles (their keys and
	// sessions); nil imports all and reports every item left behind.
	Profiles []string
}

// ImportReport says what Import did. It holds no secret.
type ImportReport struct {
	// Keys lists the profiles whose long-term keys were imported.
	Keys []string
	// Sessions lists the sessions imported.
	Sessions []SessionKey
	// Skipped lists aws-vault's items that were not imported, and why.
	Skipped []SkippedItem
}

// SkippedItem is an item of aws-vault's store that Import left behind.
type SkippedItem struct {
	// Item is the item's name in aws-vault's store.
	Item string
	// Reason says why, and what to do if it matters.
	Reason string
}

// Import copies long-term keys (and, with opt.Sessions, live sessions)
// from aws-vault's store into v. Items that cannot or should not be copied
// (SSO tokens, expired sessions, session kinds credkit does not cache,
// damaged items, profiles whose keys differ from credkit's without
// opt.Overwrite) are listed in the report's Skipped. It stops at the first
// error that is not about one item (a wrong passphrase, a failed write),
// returning what was done so far.
func (v *Vault) Import(from *AWSVault, opt ImportOptions) (ImportReport, error) {
	var rep ImportReport
	if opt.Sessions && opt.Now.IsZero() {
		return rep, errors.New("import from aws-vault: ImportOptions.Now is needed to import sessions")
	}
	names, err := from.names()
	if err != nil {
		return rep, err
	}
	selected := func(profile string) bool { return opt.Profiles == nil || slices.Contains(opt.Profiles, profile) }
	skip := func(item, reason string) { rep.Skipped = append(rep.Skipped, SkippedItem{item, reason}) }
	// itemError turns a failure to read one item into a skip; other
	// failures end the import.
	itemError := func(item string, err error) error {
		var ce *CorruptItemError
		if errors.As(err, &ce) {
			reason := "damaged: " + ce.Reason
			if ce.File != "" {
				reason += " (" + ce.File + ")"
			}
			skip(item, reason)
			return nil
		}
		return fmt.Errorf("import from aws-vault: %w", err)
	}

	// Keys first: replacing a profile's keys clears its credkit sessions,
	// which must not take imported sessions with them.
	type session struct {
		name string
		sessionName
	}
	var sessions []session
	for _, name := range names {
		switch s, isSession := parseSessionName(name); {
		case strings.HasPrefix(name, oidcPrefix):
			if opt.Profiles == nil {
				skip(name, "an SSO access token: credkit does not import these; sign in to SSO again when needed")
			}
		case isSession:
			sessions = append(sessions, session{name, s})
		case isOldSessionName(name):
			if opt.Profiles == nil {
				skip(name, "a session in the format of aws-vault before v6, long expired")
			}
		case !selected(name):
		default:
			if err := v.importKeys(from, name, opt, &rep, skip); err != nil {
				if err := itemError(name, err); err != nil {
					return rep, err
				}
			}
		}
	}
	for _, s := range sessions {
		name := s.name
		switch {
		case !selected(s.key.Profile):
		case !s.known:
			skip(name, fmt.Sprintf("a %s session: credkit caches only GetSessionToken and AssumeRole sessions", s.itemType))
		case !opt.Sessions:
			skip(name, "a cached session: sessions are imported only when asked for")
		case !opt.Now.Before(s.key.Expires):
			skip(name, "a session that expired at "+s.key.Expires.UTC().Format(time.RFC3339))
		default:
			c, err := from.session(name, s.key.Expires)
			if err != nil {
				if err := itemError(name, err); err != nil {
					return rep, err
				}
				continue
			}
			if !opt.Now.Before(c.Expires) {
				skip(name, "a session that expired at "+c.Expires.UTC().Format(time.RFC3339))
				continue
			}
			if err := v.PutSession(s.key, c); err != nil {
				return rep, fmt.Errorf("import from aws-vault: %w", err)
			}
			k := s.key
			k.Expires = c.Expires.Truncate(time.Second)
			rep.Sessions = append(rep.Sessions, k)
		}
	}
	return rep, nil
}

// importKeys imports the long-term keys of one profile.
func (v *Vault) importKeys(from *AWSVault, profile string, opt ImportOptions, rep *ImportReport, skip func(item, reason string)) error {
	if err := checkProfile(profile); err != nil {
		skip(profile, err.Error())
		return nil
	}
	c, err := from.Keys(profile)
	if err != nil {
		return err
	}
	if c.Temporary() {
		skip(profile, "it holds temporary credentials (a session token), not an IAM user's long-term keys")
		return nil
	}
	has, err := v.HasKeys(profile)
	if err != nil {
		return err
	}
	if has {
		old, err := v.Keys(profile)
		switch {
		case errors.Is(err, ErrCorrupt):
			skip(profile, "credkit's own item for this profile is damaged: "+err.Error())
			return nil
		case err != nil:
			return err
		case old.AccessKeyID == c.AccessKeyID && old.SecretAccessKey == c.SecretAccessKey:
			skip(profile, "credkit's vault already has these keys")
			return nil
		case !opt.Overwrite:
			skip(profile, fmt.Sprintf("credkit's vault has other keys (%s) for this profile; import with overwrite to replace them with %s",
				creds.RedactKeyID(old.AccessKeyID), creds.RedactKeyID(c.AccessKeyID)))
			return nil
		}
	}
	if err := v.SetKeys(profile, creds.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, AccountID: c.AccountID}); err != nil {
		return err
	}
	if has {
		if _, err := v.ClearSessions(profile); err != nil {
			return err
		}
	}
	rep.Keys = append(rep.Keys, profile)
	return nil
}
