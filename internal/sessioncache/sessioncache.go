// Package sessioncache is the on-disk cache of `credkit credential-process`:
// one JSON file per profile and set of config files, mode 0600, under
// $XDG_CACHE_HOME/credkit/sessions (or ~/.cache/credkit/sessions).
//
// It imports nothing beyond encoding/json, hash/fnv and os, so that
// credkit-process, the small binary that answers a warm credential_process
// call, starts in a few milliseconds: a Go binary that links net/http or an
// AWS SDK client spends longer than that before main runs.
package sessioncache

import (
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/atomicfile"
)

// Margin: a cached session is reused while it has at least this long to live.
const Margin = 5 * time.Minute

// EnvRunning lists the profiles whose credential-process is running in
// this process's ancestors, to catch a profile whose credential_process
// calls itself.
const EnvRunning = "CREDKIT_CREDENTIAL_PROCESS_PROFILES"

// Output is the Version 1 credential_process JSON.
type Output struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

// Record is a cached session.
type Record struct {
	Profile     string `json:"profile"`
	Source      string `json:"source"`
	Credentials Output `json:"credentials"`
	// ConfigMod is the newest modification time of the config files when
	// the session was cached; a later edit invalidates it.
	ConfigMod time.Time `json:"config_mod"`
	// Region is the profile's region in the config files when the session
	// was cached ("" for none); nil in records that did not note it. Like
	// the session, it holds until the config files change.
	Region *string `json:"region,omitempty"`
}

// ProfileName is the profile a command means: the flag, else AWS_PROFILE,
// else AWS_DEFAULT_PROFILE, else "default" (source.ProfileName's rule).
func ProfileName(getenv func(string) string, flag string) string {
	switch {
	case flag != "":
		return flag
	case getenv("AWS_PROFILE") != "":
		return getenv("AWS_PROFILE")
	case getenv("AWS_DEFAULT_PROFILE") != "":
		return getenv("AWS_DEFAULT_PROFILE")
	}
	return "default"
}

// Cacheable reports whether the credentials of a command with profile flag
// flag come from the profile ProfileName names, so that they may be cached
// under it and answered from that cache: the flag is given, or
// AWS_PROFILE or AWS_DEFAULT_PROFILE names the profile and neither keys in
// the environment nor a web identity come before it in the SDKs' chain.
// Without a named profile the chain may end at the container endpoint or
// instance metadata, which are not the default profile's.
func Cacheable(getenv func(string) string, flag string) bool {
	if flag != "" {
		return true
	}
	if getenv("AWS_PROFILE") == "" && getenv("AWS_DEFAULT_PROFILE") == "" {
		return false
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		if getenv(k) != "" {
			return false
		}
	}
	return true
}

// Dir is the directory of the cache files.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "credkit", "sessions")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".cache", "credkit", "sessions")
}

// File names the cache of a profile for the config files getenv names:
// a 128-bit FNV-1a hash of them. A hash, not the names themselves, so any
// profile name makes a valid file name; FNV, not SHA-256, because the
// standard library's SHA-256 brings its FIPS 140 module's start-up with it,
// and nothing here needs a hash others cannot invert: the directory is the
// user's own.
func File(getenv func(string) string, profile string) string {
	h := fnv.New128a()
	for _, s := range []string{profile, getenv("AWS_CONFIG_FILE"), getenv("AWS_SHARED_CREDENTIALS_FILE"), getenv("HOME")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(Dir(getenv), hex.EncodeToString(h.Sum(nil))+".json")
}

// ConfigMod is the newest modification time of the shared config files.
func ConfigMod(getenv func(string) string) time.Time {
	var newest time.Time
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	for _, p := range []string{getenv("AWS_CONFIG_FILE"), getenv("AWS_SHARED_CREDENTIALS_FILE"), filepath.Join(home, ".aws", "config"), filepath.Join(home, ".aws", "credentials")} {
		if p == "" {
			continue
		}
		// "~/cfg" as awsconfig reads it.
		if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
			p = filepath.Join(home, p[1:])
		}
		if st, err := os.Stat(p); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

// ProfileRegion is rec's Region and whether it was noted.
func (rec *Record) ProfileRegion() (string, bool) {
	if rec.Region == nil {
		return "", false
	}
	return *rec.Region, true
}

// Read returns the record at path when it may be used now: owned by this
// user and readable by nobody else, for this profile, at least Margin from
// expiry, and cached after the last edit of the config files.
func Read(getenv func(string) string, path, profile string, now time.Time) (*Record, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode().Perm()&0o077 != 0 || !ownedByMe(st) {
		return nil, false // never trust a cache others can read or write
	}
	var rec Record
	if err := json.NewDecoder(f).Decode(&rec); err != nil || rec.Profile != profile || rec.Credentials.Version != 1 ||
		rec.Credentials.AccessKeyID == "" || rec.Credentials.SecretAccessKey == "" {
		return nil, false
	}
	exp, err := time.Parse(time.RFC3339, rec.Credentials.Expiration)
	if err != nil || exp.Sub(now) < Margin {
		return nil, false
	}
	if ConfigMod(getenv).After(rec.ConfigMod) {
		return nil, false
	}
	return &rec, true
}

// Write stores rec at path atomically (a private temporary file renamed
// over it), readable by the owner only.
func Write(path string, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return WritePrivate(path, b)
}

// WritePrivate writes content to path atomically with mode 0600 (see
// atomicfile.Write), creating its directory with mode 0700.
func WritePrivate(path string, content []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, content)
}

// Encode is the output credential-process prints: indented JSON and a
// newline.
func Encode(o Output) ([]byte, error) {
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
