package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

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

func (f *vaultFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.backend, "backend", "", "keyring backend: "+strings.Join(vault.Backends(), ", ")+" (default: "+envBackend+", else "+vault.DefaultBackend(os.Getenv)+")")
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
		opts.Keys, opts.Sessions = s, s
		opts.OnSessionStoreError = a.warnSessionNotCached
	}
	return opts
}

func (a *App) warnSessionNotCached(err error) {
	fmt.Fprintf(a.Stderr, "credkit: warning: session not cached in the vault: %v\n", err)
}

// accessKeyIDPattern is the shape of an IAM user's access key id.
var accessKeyIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^AKIA[A-Z0-9]{12,124}$`) })

func (a *App) add(ctx context.Context, args []string) error {
	var (
		vf      vaultFlags
		fromEnv bool
	)
	fs := a.flagSet("add", "add PROFILE [--env] [--backend NAME]",
		"Store the long-term access key of an IAM user in the vault (the OS keyring or credkit's\n"+
			"encrypted file) under PROFILE. The key id and secret are asked for on the terminal,\n"+
			"without echo, or read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with --env; they\n"+
			"never appear in argv. A profile whose keys are in the vault needs no keys in\n"+
			"~/.aws/credentials: credkit signs with short STS sessions made from them (with the\n"+
			"profile's mfa_serial), cached in the vault.",
		"credkit add work",
		"AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... credkit add work --env",
		"credkit add work --backend file   # the encrypted file in ~/.credkit/keys",
	)
	vf.register(fs)
	fs.BoolVar(&fromEnv, "env", false, "read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	profile, err := oneProfile("add", pos)
	if err != nil {
		return err
	}
	if err := checkProfileName(profile); err != nil {
		return err
	}
	var c creds.Credentials
	if fromEnv {
		c.AccessKeyID = strings.TrimSpace(a.Getenv("AWS_ACCESS_KEY_ID"))
		c.SecretAccessKey = strings.TrimSpace(a.Getenv("AWS_SECRET_ACCESS_KEY"))
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return badInput("add --env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set")
		}
		if a.Getenv("AWS_SESSION_TOKEN") != "" {
			return badInput("add --env: AWS_SESSION_TOKEN is set: these are temporary credentials; the vault stores an IAM user's long-term key (AKIA...)")
		}
	} else {
		id, err := readLineFromTTY("Access key ID: ", "use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		if err != nil {
			return usageError{err}
		}
		secret, err := readSecretFromTTY("Secret access key: ", "use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		if err != nil {
			return usageError{err}
		}
		c.AccessKeyID, c.SecretAccessKey = id, secret
	}
	if !accessKeyIDPattern().MatchString(c.AccessKeyID) {
		if strings.HasPrefix(c.AccessKeyID, "ASIA") {
			return badInput("add: %s is a temporary key (ASIA...); the vault stores an IAM user's long-term key (AKIA...)", c.AccessKeyID)
		}
		return badInput("add: %q is not an access key id (AKIA followed by 16 upper-case letters and digits)", truncate(c.AccessKeyID, 24))
	}
	if c.SecretAccessKey == "" {
		return badInput("add: the secret access key is empty")
	}
	v, err := a.openVault(&vf)
	if err != nil {
		return err
	}
	if err := v.SetKeys(profile, c); err != nil {
		return err
	}
	// Sessions of the profile's previous key are dropped.
	if _, err := v.ClearSessions(profile); err != nil {
		fmt.Fprintf(a.Stderr, "credkit: warning: cached sessions of the previous key were not dropped (%v): run credkit clear %s\n", err, profile)
	}
	fmt.Fprintf(a.Stdout, "Stored key %s for profile %s in the %s.\n", c.AccessKeyID, profile, v.Describe())
	if files, err := a.loadFiles(); err == nil {
		if p, err := files.Profile(profile); err == nil {
			if _, ok := p.Get(awsconfig.KeyAccessKeyID); ok {
				fmt.Fprintf(a.Stderr, "credkit: warning: profile %s also has keys in plain text at %s; those win over the vault: remove them\n",
					profile, p.Pos(awsconfig.KeyAccessKeyID))
			}
		}
	}
	return nil
}

func readLineFromTTY(prompt, alternative string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("%s: there is no terminal to ask on: %s", strings.TrimSuffix(prompt, ": "), alternative)
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read from the terminal: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// checkProfileName refuses names that cannot be a profile.
func checkProfileName(p string) error {
	if p == "" || strings.ContainsAny(p, "[]\n\r\t") || strings.TrimSpace(p) != p {
		return badInput("%q cannot be a profile name (no brackets, tabs, newlines or surrounding spaces)", p)
	}
	return nil
}

// listEntry is one profile in credkit list.
type listEntry struct {
	Profile  string         `json:"profile"`
	Keys     string         `json:"keys"` // "vault", "file", "vault, file" or ""
	KeyID    string         `json:"access_key_id,omitempty"`
	Sessions []sessionEntry `json:"sessions"`
}

type sessionEntry struct {
	Kind      string    `json:"kind"`
	MFASerial string    `json:"mfa_serial,omitempty"`
	Expires   time.Time `json:"expires"`
	Left      string    `json:"time_left"`
}

func (a *App) list(ctx context.Context, args []string) error {
	var (
		vf     vaultFlags
		asJSON bool
	)
	fs := a.flagSet("list", "list [--json] [--backend NAME]",
		"List the profiles of the shared config files and the vault: where each one's long-term\n"+
			"keys are (vault, or a plaintext file), and the STS sessions cached in the vault with\n"+
			"the time they have left. No secret is printed.",
		"credkit list", "credkit list --json | jq '.[] | select(.keys == \"file\")'")
	vf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return badInput("list takes no arguments")
	}
	files, err := a.loadFiles()
	if err != nil {
		return err
	}
	v, err := a.openVault(&vf)
	if err != nil {
		return err
	}
	entries := map[string]*listEntry{}
	get := func(p string) *listEntry {
		if e, ok := entries[p]; ok {
			return e
		}
		e := &listEntry{Profile: p, Sessions: []sessionEntry{}}
		entries[p] = e
		return e
	}
	for _, p := range files.ProfileNames() {
		e := get(p)
		if prof, err := files.Profile(p); err == nil {
			if id, ok := prof.Get(awsconfig.KeyAccessKeyID); ok {
				e.Keys, e.KeyID = "file", strings.TrimSpace(id)
			}
		}
	}
	stored, err := v.Profiles()
	if err != nil {
		return err
	}
	for _, p := range stored {
		e := get(p)
		c, err := v.Keys(p)
		if err != nil {
			return err
		}
		if e.Keys == "file" {
			e.Keys = "vault, file"
		} else {
			e.Keys = "vault"
		}
		e.KeyID = c.AccessKeyID
	}
	sessions, err := v.Sessions()
	if err != nil {
		return err
	}
	now := a.Now()
	for _, s := range sessions {
		if !s.Expires.After(now) {
			continue
		}
		e := get(s.Profile)
		e.Sessions = append(e.Sessions, sessionEntry{Kind: s.Kind, MFASerial: s.MFASerial, Expires: s.Expires.UTC(), Left: s.Expires.Sub(now).Round(time.Second).String()})
	}
	out := make([]*listEntry, 0, len(entries))
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		out = append(out, entries[k])
	}
	if asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(a.Stdout, "Vault: %s\n\n", v.Describe())
	w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PROFILE\tKEYS\tACCESS KEY\tSESSIONS")
	for _, e := range out {
		var ss []string
		for _, s := range e.Sessions {
			x := s.Kind + " " + s.Left + " left"
			if s.MFASerial != "" {
				x += " (MFA)"
			}
			ss = append(ss, x)
		}
		keys := e.Keys
		if keys == "" {
			keys = "-"
		}
		id := e.KeyID
		if id == "" {
			id = "-"
		}
		sess := strings.Join(ss, ", ")
		if sess == "" {
			sess = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Profile, keys, id, sess)
	}
	return w.Flush()
}

func (a *App) remove(ctx context.Context, args []string) error {
	var (
		vf  vaultFlags
		yes bool
	)
	fs := a.flagSet("remove", "remove PROFILE [--yes] [--backend NAME]",
		"Delete a profile's long-term key and its cached sessions from the vault. The key itself\n"+
			"stays active in IAM (use credkit rotate, or delete it in IAM). Asks for confirmation on\n"+
			"the terminal unless --yes is given.",
		"credkit remove old-project", "credkit remove old-project --yes")
	vf.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	profile, err := oneProfile("remove", pos)
	if err != nil {
		return err
	}
	v, err := a.openVault(&vf)
	if err != nil {
		return err
	}
	c, err := v.Keys(profile)
	if err != nil {
		if errors.Is(err, vault.ErrNotFound) {
			return badInput("remove: the vault has no keys for profile %s (credkit list shows what it has)", profile)
		}
		return err
	}
	if !yes {
		answer, err := readLineFromTTY(fmt.Sprintf("Delete key %s of profile %s from the vault? (y/N): ", c.AccessKeyID, profile), "pass --yes")
		if err != nil {
			return usageError{err}
		}
		if !strings.EqualFold(answer, "y") && !strings.EqualFold(answer, "yes") {
			fmt.Fprintln(a.Stderr, "credkit: nothing deleted")
			return silentError{ExitFailure}
		}
	}
	if err := v.RemoveKeys(profile); err != nil {
		return err
	}
	n, err := v.ClearSessions(profile)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "Deleted key %s of profile %s and %d cached session(s) from the %s.\n", c.AccessKeyID, profile, n, v.Describe())
	return nil
}

func (a *App) clear(ctx context.Context, args []string) error {
	var vf vaultFlags
	fs := a.flagSet("clear", "clear [PROFILE] [--backend NAME]",
		"Delete the cached STS sessions of one profile or of all: those in the vault and those\n"+
			"credential-process cached on disk. The next use asks STS (and for an MFA code) again.\n"+
			"Long-term keys are kept.",
		"credkit clear", "credkit clear work")
	vf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return badInput("clear: give at most one profile name")
	}
	profile := ""
	if len(pos) == 1 {
		profile = pos[0]
	}
	// The sessions credential-process cached on disk go too.
	n, err := a.clearDiskSessions(profile)
	if err != nil {
		return err
	}
	if vf.backend != "" || vault.Exists(a.vaultConfig("")) {
		v, err := a.openVault(&vf)
		if err != nil {
			return err
		}
		m, err := v.ClearSessions(profile)
		if err != nil {
			return err
		}
		n += m
	}
	what := "all profiles"
	if profile != "" {
		what = "profile " + profile
	}
	fmt.Fprintf(a.Stdout, "Cleared %d session(s) of %s.\n", n, what)
	return nil
}

// clearDiskSessions deletes credential-process's cached sessions of
// profile (all when empty), whatever config files they were made for.
func (a *App) clearDiskSessions(profile string) (int, error) {
	files, err := filepath.Glob(filepath.Join(sessioncache.Dir(a.Getenv), "*.json"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		if profile != "" {
			var rec sessionRecord
			b, err := os.ReadFile(f)
			if err != nil || json.Unmarshal(b, &rec) != nil || rec.Profile != profile {
				continue
			}
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("remove cached session %s: %w", f, err)
		}
		n++
	}
	return n, nil
}

func (a *App) importCmd(ctx context.Context, args []string) error {
	var (
		vf          vaultFlags
		fromBackend string
		overwrite   bool
		sessions    bool
		asJSON      bool
	)
	fs := a.flagSet("import", "import aws-vault [PROFILE...] [--from-backend NAME] [--overwrite] [--sessions] [--json]",
		"Copy the long-term keys that aws-vault (v6/v7) stores into credkit's vault, so that moving\n"+
			"over takes one command and no re-typing of keys. aws-vault's store is found where aws-vault\n"+
			"looks (AWS_VAULT_BACKEND, AWS_VAULT_FILE_DIR, AWS_VAULT_FILE_PASSPHRASE, ...) and is only\n"+
			"read. Profiles whose keys credkit already has with other values are skipped unless\n"+
			"--overwrite is given. --sessions also copies aws-vault's live cached sessions. SSO tokens\n"+
			"are not copied. Nothing secret is printed.",
		"credkit import aws-vault",
		"credkit import aws-vault work personal",
		"AWS_VAULT_FILE_PASSPHRASE_FILE=... credkit import aws-vault --from-backend file --backend file",
	)
	vf.register(fs)
	fs.StringVar(&fromBackend, "from-backend", "", "aws-vault's backend (default: AWS_VAULT_BACKEND, else aws-vault's default here)")
	fs.BoolVar(&overwrite, "overwrite", false, "replace keys credkit already has for a profile")
	fs.BoolVar(&sessions, "sessions", false, "also import aws-vault's cached sessions that have not expired")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "aws-vault" {
		return badInput("import: say where from: credkit import aws-vault [PROFILE...] (aws-vault is the one store credkit imports)")
	}
	from, err := vault.OpenAWSVault(vault.Config{
		Backend: fromBackend, Getenv: a.Getenv,
		Passphrase: func(prompt string) (string, error) {
			return readSecretFromTTY("aws-vault's "+prompt, "set AWS_VAULT_FILE_PASSPHRASE")
		},
	})
	if err != nil {
		if errors.Is(err, vault.ErrUnknownBackend) {
			return asBadInput(err)
		}
		return err
	}
	v, err := a.openVault(&vf)
	if err != nil {
		return err
	}
	var profiles []string
	if len(pos) > 1 {
		profiles = pos[1:]
	}
	rep, err := v.Import(from, vault.ImportOptions{Overwrite: overwrite, Sessions: sessions, Now: a.Now(), Profiles: profiles})
	if asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return jerr
		}
	} else {
		for _, p := range rep.Keys {
			fmt.Fprintf(a.Stdout, "imported keys of profile %s\n", p)
		}
		for _, s := range rep.Sessions {
			fmt.Fprintf(a.Stdout, "imported %s session of profile %s (expires %s)\n", s.Kind, s.Profile, s.Expires.UTC().Format(time.RFC3339))
		}
		for _, s := range rep.Skipped {
			fmt.Fprintf(a.Stdout, "skipped %s: %s\n", s.Item, s.Reason)
		}
		if err == nil {
			fmt.Fprintf(a.Stdout, "%d profile(s) imported into the %s from aws-vault's store.\n", len(rep.Keys), v.Describe())
		}
	}
	if err != nil {
		return err
	}
	for _, p := range profiles {
		if !slices.Contains(rep.Keys, p) && !skippedProfile(rep, p) {
			return fmt.Errorf("import: aws-vault's store has no keys for profile %s", p)
		}
	}
	return nil
}

func skippedProfile(rep vault.ImportReport, p string) bool {
	for _, s := range rep.Skipped {
		if s.Item == p {
			return true
		}
	}
	return false
}

// oneProfile is the single PROFILE argument of a command.
func oneProfile(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", badInput("%s: give one profile name (see credkit %s --help)", cmd, cmd)
	}
	return pos[0], nil
}
