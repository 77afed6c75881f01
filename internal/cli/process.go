package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credkit/credkit/source"
)

// envProcessProfiles lists the profiles whose credential-process is
// running in this process's ancestors, to catch a profile whose
// credential_process calls itself.
const envProcessProfiles = "CREDKIT_CREDENTIAL_PROCESS_PROFILES"

// sessionCacheMargin: a cached session is reused while it has at least
// this long to live.
const sessionCacheMargin = 5 * time.Minute

// sessionRecord is a cached session on disk (mode 0600).
type sessionRecord struct {
	Profile     string        `json:"profile"`
	Source      string        `json:"source"`
	Credentials processOutput `json:"credentials"`
	// ConfigMod is the newest modification time of the config files when
	// the session was cached; a later edit invalidates it.
	ConfigMod time.Time `json:"config_mod"`
}

func (a *App) credentialProcess(ctx context.Context, args []string) error {
	var o credOpts
	var noCache bool
	fs := a.flagSet("credential-process", "credential-process --profile P",
		"Answers as a credential_process for the AWS SDKs and CLI: put\n"+
			"  credential_process = credkit credential-process --profile SOURCE\n"+
			"in a profile of ~/.aws/config, where SOURCE is the profile credkit resolves (static\n"+
			"keys, a role chain, SSO, ...). STS sessions are cached on disk (mode 0600, under\n"+
			"~/.cache/credkit/sessions) and reused until 5 minutes before they expire, so a program\n"+
			"that creates many clients pays for one STS call per session.",
		"credkit credential-process --profile dev-source",
		"aws configure set credential_process 'credkit credential-process --profile dev-source' --profile dev")
	o.register(fs)
	fs.BoolVar(&noCache, "no-cache", false, "neither read nor write the session cache")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("credential-process takes flags only, got %q", pos[0])
	}
	name := source.ProfileName(a.Getenv, o.profile)
	running := strings.Split(a.Getenv(envProcessProfiles), ",")
	if contains(running, name) {
		return fmt.Errorf("profile %s: its credentials come from credkit credential-process --profile %s again (%s); make the profile that credential_process names one with keys, a role or SSO, not the profile holding the credential_process line", name, name, strings.Join(append(running[1:], name), " -> "))
	}
	// Children (a credential_process of the source profile) inherit this.
	os.Setenv(envProcessProfiles, strings.Join(append(running, name), ","))

	cacheFile := ""
	if !noCache {
		cacheFile = a.sessionCacheFile(name)
		if rec, ok := a.readSession(cacheFile, name); ok {
			return writeJSON(a.Stdout, rec.Credentials)
		}
	}
	c, _, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	if c.Expired(a.Now()) {
		return fmt.Errorf("the credentials of profile %s (%s) expired at %s", name, c.Source, c.Expires.UTC().Format(time.RFC3339))
	}
	out := toProcessOutput(c)
	if cacheFile != "" && c.Temporary() && c.CanExpire() {
		if err := a.writeSession(cacheFile, sessionRecord{Profile: name, Source: c.Source, Credentials: out, ConfigMod: a.configMod()}); err != nil {
			fmt.Fprintf(a.Stderr, "credkit: warning: session not cached: %v\n", err)
		}
	}
	return writeJSON(a.Stdout, out)
}

func (a *App) cacheDir() string {
	if d := a.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "credkit", "sessions")
	}
	home := a.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".cache", "credkit", "sessions")
}

// sessionCacheFile names the cache of a profile, for these config files.
func (a *App) sessionCacheFile(profile string) string {
	h := sha256.New()
	for _, s := range []string{profile, a.Getenv("AWS_CONFIG_FILE"), a.Getenv("AWS_SHARED_CREDENTIALS_FILE"), a.Getenv("HOME")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(a.cacheDir(), hex.EncodeToString(h.Sum(nil))[:32]+".json")
}

// configMod is the newest modification time of the shared config files.
func (a *App) configMod() time.Time {
	var newest time.Time
	home := a.Getenv("HOME")
	for _, p := range []string{a.Getenv("AWS_CONFIG_FILE"), a.Getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(home, ".aws", "config"), filepath.Join(home, ".aws", "credentials")} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

func (a *App) readSession(path, profile string) (*sessionRecord, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode().Perm()&0o077 != 0 {
		return nil, false // never trust a cache others can read or write
	}
	var rec sessionRecord
	if err := json.NewDecoder(f).Decode(&rec); err != nil || rec.Profile != profile || rec.Credentials.Version != 1 {
		return nil, false
	}
	exp, err := time.Parse(time.RFC3339, rec.Credentials.Expiration)
	if err != nil || exp.Sub(a.Now()) < sessionCacheMargin {
		return nil, false
	}
	if a.configMod().After(rec.ConfigMod) {
		return nil, false
	}
	return &rec, true
}

// writeSession writes the record atomically, readable by the owner only.
func (a *App) writeSession(path string, rec sessionRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return writePrivate(path, string(b))
}
