// Package sessioncache is the on-disk cache of `credkit credential-process`:
// one JSON file per profile and set of config files, mode 0600, under
// $XDG_CACHE_HOME/credkit/sessions (or ~/.cache/credkit/sessions).
//
// Which profile a command means, and whether its environment lets the
// cache answer for that profile, follow internal/awsenv, the rules the
// full chain (package source) follows too.
//
// It imports nothing beyond encoding/json, hash/fnv and os (and creds and
// awsenv, which import no more), so that credkit-process, the small binary
// that answers a warm credential_process call, starts in a few
// milliseconds: a Go binary that links net/http or an AWS SDK client
// spends longer than that before main runs.
package sessioncache

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/awsenv"
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

// For is where the session of a command with profile flag flag is
// cached: name is the profile it means (awsenv.ProfileName) and file its
// cache file, or "" when the environment may give the command other
// credentials than that profile's (awsenv.ProfileDecides), so that the
// cache may neither answer for it nor keep its answer.
func For(getenv func(string) string, flag string) (name, file string) {
	name, _ = awsenv.ProfileName(getenv, flag)
	if ok, _ := awsenv.ProfileDecides(getenv, flag); !ok {
		return name, ""
	}
	return name, File(getenv, name)
}

// Answer is what `credential-process` with profile flag flag prints when
// the cache can answer it at now: the cache may answer for the profile
// (see For), its credential_process is not one that calls itself, and its
// cached session may be used (see Read). ok is false otherwise, and the
// command must resolve the profile.
func Answer(getenv func(string) string, flag string, now time.Time) (out []byte, ok bool) {
	name, file := For(getenv, flag)
	if file == "" || Running(getenv, name) {
		return nil, false
	}
	rec, ok := Read(getenv, file, name, now)
	if !ok {
		return nil, false
	}
	out, err := Encode(rec.Credentials)
	return out, err == nil
}

// Running reports whether credential-process for profile is running in
// this process's ancestors (EnvRunning): a credential_process that calls
// itself.
func Running(getenv func(string) string, profile string) bool {
	return slices.Contains(strings.Split(getenv(EnvRunning), ","), profile)
}

// Dir is the directory of the cache files.
func Dir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "credkit", "sessions")
	}
	home, _ := awsenv.Home(getenv)
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
	for _, s := range []string{profile, getenv(awsenv.ConfigFileVar), getenv(awsenv.CredentialsFileVar), getenv("HOME")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(Dir(getenv), hex.EncodeToString(h.Sum(nil))+".json")
}

// ConfigMod is the newest modification time of the shared config files,
// found where awsconfig reads them (awsenv.SharedFile).
func ConfigMod(getenv func(string) string) time.Time {
	var newest time.Time
	home, homeErr := awsenv.Home(getenv)
	for _, f := range []awsenv.SharedFile{awsenv.ConfigFile, awsenv.CredentialsFile} {
		p, _ := f.Locate(getenv, home)
		p, err := awsenv.ExpandHome(p, func() (string, error) { return home, homeErr })
		if err != nil {
			continue
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

// Credentials are the credentials of a credential_process answer, with
// Source "credkit session cache".
func (o Output) Credentials() (creds.Credentials, error) {
	if o.Version != 1 || o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return creds.Credentials{}, fmt.Errorf("credential_process answer without Version 1, AccessKeyId and SecretAccessKey")
	}
	c := creds.Credentials{AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, SessionToken: o.SessionToken, AccountID: o.AccountID, Source: "credkit session cache"}
	if o.Expiration != "" {
		t, err := time.Parse(time.RFC3339, o.Expiration)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("credential_process answer: Expiration %q is not an RFC 3339 time", o.Expiration)
		}
		c.Expires = t
	}
	return c, nil
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
