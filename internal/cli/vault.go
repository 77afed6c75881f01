package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/vault"
)

// accessKeyIDPattern is the shape of an IAM user's access key id.
var accessKeyIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^AKIA[A-Z0-9]{12,124}$`) })

func newAddCmd(a *App) *cobra.Command {
	var (
		vf      vaultFlags
		fromEnv bool
	)
	cmd := &cobra.Command{
		Use:   "add PROFILE [--env] [--backend NAME]",
		Short: "store an IAM user's long-term key in the vault (OS keyring or encrypted file)",
		Long: "Store the long-term access key of an IAM user in the vault (the OS keyring or credkit's\n" +
			"encrypted file) under PROFILE. The key id and secret are asked for on the terminal,\n" +
			"without echo, or read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with --env; they\n" +
			"never appear in argv. A profile whose keys are in the vault needs no keys in\n" +
			"~/.aws/credentials: credkit signs with short STS sessions made from them (with the\n" +
			"profile's mfa_serial), cached in the vault.",
		Example: examples(
			"credkit add work",
			"AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=... credkit add work --env",
			"credkit add work --backend file   # the encrypted file in ~/.credkit/keys"),
		Args: exactArgs(1, "one profile name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.add(cmd.Context(), args[0], vf, fromEnv)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	fs := cmd.Flags()
	vf.register(fs)
	fs.BoolVar(&fromEnv, "env", false, "read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	return cmd
}

func (a *App) add(ctx context.Context, profile string, vf vaultFlags, fromEnv bool) error {
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

func newListCmd(a *App) *cobra.Command {
	var (
		vf     vaultFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--json] [--backend NAME]",
		Short: "profiles, where their keys are, and the sessions cached in the vault",
		Long: "List the profiles of the shared config files and the vault: where each one's long-term\n" +
			"keys are (vault, or a plaintext file), and the STS sessions cached in the vault with\n" +
			"the time they have left. No secret is printed.",
		Example: examples(
			"credkit list",
			"credkit list --json | jq '.[] | select(.keys == \"file\")'"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.list(cmd.Context(), vf, asJSON)
		},
	}
	fs := cmd.Flags()
	vf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *App) list(ctx context.Context, vf vaultFlags, asJSON bool) error {
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

func newRemoveCmd(a *App) *cobra.Command {
	var (
		vf  vaultFlags
		yes bool
	)
	cmd := &cobra.Command{
		Use:   "remove PROFILE [--yes] [--backend NAME]",
		Short: "delete a profile's key and sessions from the vault",
		Long: "Delete a profile's long-term key and its cached sessions from the vault. The key itself\n" +
			"stays active in IAM (use credkit rotate, or delete it in IAM). Asks for confirmation on\n" +
			"the terminal unless --yes is given.",
		Example: examples(
			"credkit remove old-project",
			"credkit remove old-project --yes"),
		Args: exactArgs(1, "one profile name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.remove(cmd.Context(), args[0], vf, yes)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	fs := cmd.Flags()
	vf.register(fs)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}

func (a *App) remove(ctx context.Context, profile string, vf vaultFlags, yes bool) error {
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

func newClearCmd(a *App) *cobra.Command {
	var vf vaultFlags
	cmd := &cobra.Command{
		Use:   "clear [PROFILE] [--backend NAME]",
		Short: "delete the STS sessions cached in the vault",
		Long: "Delete the cached STS sessions of one profile or of all: those in the vault and those\n" +
			"credential-process cached on disk. The next use asks STS (and for an MFA code) again.\n" +
			"Long-term keys are kept.",
		Example: examples(
			"credkit clear",
			"credkit clear work"),
		Args: maxArgs(1, "one profile name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile := ""
			if len(args) == 1 {
				profile = args[0]
			}
			return a.clear(cmd.Context(), profile, vf)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	fs := cmd.Flags()
	vf.register(fs)
	return cmd
}

func (a *App) clear(ctx context.Context, profile string, vf vaultFlags) error {
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

func newImportCmd(a *App) *cobra.Command {
	var (
		vf          vaultFlags
		fromBackend string
		overwrite   bool
		sessions    bool
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "import aws-vault [PROFILE...] [--from-backend NAME] [--overwrite] [--sessions] [--json]",
		Short: "move keys from another store into the vault (import aws-vault)",
		Long: "Copy the long-term keys that aws-vault (v6/v7) stores into credkit's vault, so that moving\n" +
			"over takes one command and no re-typing of keys. aws-vault's store is found where aws-vault\n" +
			"looks (AWS_VAULT_BACKEND, AWS_VAULT_FILE_DIR, AWS_VAULT_FILE_PASSPHRASE, ...) and is only\n" +
			"read. Profiles whose keys credkit already has with other values are skipped unless\n" +
			"--overwrite is given. --sessions also copies aws-vault's live cached sessions. SSO tokens\n" +
			"are not copied. Nothing secret is printed.",
		Example: examples(
			"credkit import aws-vault",
			"credkit import aws-vault work personal",
			"AWS_VAULT_FILE_PASSPHRASE_FILE=... credkit import aws-vault --from-backend file --backend file"),
		Args: importArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importCmd(cmd.Context(), args[1:], vf, importFlags{fromBackend, overwrite, sessions, asJSON})
		},
	}
	fs := cmd.Flags()
	vf.register(fs)
	fs.StringVar(&fromBackend, "from-backend", "", "aws-vault's backend (default: AWS_VAULT_BACKEND, else aws-vault's default here)")
	fs.BoolVar(&overwrite, "overwrite", false, "replace keys credkit already has for a profile")
	fs.BoolVar(&sessions, "sessions", false, "also import aws-vault's cached sessions that have not expired")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return withPrefix([]string{"aws-vault"}, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeProfiles(cmd, args, toComplete)
	}
	return cmd
}

// importFlags are the flags of import.
type importFlags struct {
	fromBackend                 string
	overwrite, sessions, asJSON bool
}

// importArgs wants the store to import from: aws-vault, the one credkit
// reads.
func importArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 || args[0] != "aws-vault" {
		return usagef(cmd, "import: say where from: credkit import aws-vault [PROFILE...] (aws-vault is the one store credkit imports)")
	}
	return nil
}

func (a *App) importCmd(ctx context.Context, profiles []string, vf vaultFlags, f importFlags) error {
	fromBackend, overwrite, sessions, asJSON := f.fromBackend, f.overwrite, f.sessions, f.asJSON
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
