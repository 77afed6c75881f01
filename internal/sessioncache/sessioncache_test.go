package sessioncache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credkit/credkit/source"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The fast binary must pick the profile the full chain picks.
func TestProfileNameMatchesSource(t *testing.T) {
	for _, tc := range []struct {
		flag string
		env  map[string]string
	}{
		{"", nil},
		{"flag", map[string]string{"AWS_PROFILE": "env"}},
		{"", map[string]string{"AWS_PROFILE": "env", "AWS_DEFAULT_PROFILE": "old"}},
		{"", map[string]string{"AWS_DEFAULT_PROFILE": "old"}},
		{"", map[string]string{"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "old"}},
	} {
		if got, want := ProfileName(envOf(tc.env), tc.flag), source.ProfileName(envOf(tc.env), tc.flag); got != want {
			t.Errorf("flag %q env %v: %q, source says %q", tc.flag, tc.env, got, want)
		}
	}
}

func TestReadRefusesWhatMayNotBeUsed(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(cfg, old, old)
	env := envOf(map[string]string{"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "HOME": dir, "XDG_CACHE_HOME": filepath.Join(dir, "cache")})
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	good := Record{Profile: "dev", Source: "assume role", ConfigMod: ConfigMod(env), Credentials: Output{
		Version: 1, AccessKeyID: "ASIAEXAMPLEEXAMPLE12", SecretAccessKey: "secret", SessionToken: "token",
		Expiration: now.Add(Margin + time.Second).Format(time.RFC3339)}}
	path := File(env, "dev")
	if filepath.Dir(path) != filepath.Join(dir, "cache", "credkit", "sessions") {
		t.Fatalf("cache file %s", path)
	}
	if err := Write(path, good); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if rec, ok := Read(env, path, "dev", now); !ok || rec.Credentials != good.Credentials {
		t.Fatalf("a good record was refused: %+v %v", rec, ok)
	}
	if File(env, "other") == path || File(envOf(map[string]string{"AWS_CONFIG_FILE": "/elsewhere", "HOME": dir, "XDG_CACHE_HOME": filepath.Join(dir, "cache")}), "dev") == path {
		t.Error("the cache file does not depend on the profile and the config files")
	}

	for name, tc := range map[string]struct {
		edit    func(r *Record)
		mode    os.FileMode
		profile string
		now     time.Time
		raw     string
	}{
		"other profile":       {profile: "prod"},
		"inside the margin":   {now: now.Add(2 * time.Second)},
		"expired":             {now: now.Add(time.Hour)},
		"readable by others":  {mode: 0o640},
		"bad expiration":      {edit: func(r *Record) { r.Credentials.Expiration = "soon" }},
		"no expiration":       {edit: func(r *Record) { r.Credentials.Expiration = "" }},
		"version 2":           {edit: func(r *Record) { r.Credentials.Version = 2 }},
		"no secret":           {edit: func(r *Record) { r.Credentials.SecretAccessKey = "" }},
		"config edited since": {edit: func(r *Record) { r.ConfigMod = old.Add(-time.Minute) }},
		"truncated":           {raw: `{"profile":"dev","credentials":{"Version":1,`},
		"not json":            {raw: "AKIA..."},
	} {
		t.Run(name, func(t *testing.T) {
			rec := good
			if tc.edit != nil {
				tc.edit(&rec)
			}
			p := filepath.Join(dir, "case.json")
			if tc.raw != "" {
				if err := WritePrivate(p, []byte(tc.raw)); err != nil {
					t.Fatal(err)
				}
			} else if err := Write(p, rec); err != nil {
				t.Fatal(err)
			}
			if tc.mode != 0 {
				os.Chmod(p, tc.mode)
			}
			profile, at := "dev", now
			if tc.profile != "" {
				profile = tc.profile
			}
			if !tc.now.IsZero() {
				at = tc.now
			}
			if got, ok := Read(env, p, profile, at); ok {
				t.Errorf("used: %+v", got)
			}
		})
	}
}

// Encode writes what encoding/json's indented form gives, so the fast
// binary and credkit print the same bytes.
func TestEncode(t *testing.T) {
	o := Output{Version: 1, AccessKeyID: "ASIA", SecretAccessKey: "s", Expiration: "2026-11-22T12:00:00Z"}
	b, err := Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIA\",\n  \"SecretAccessKey\": \"s\",\n  \"Expiration\": \"2026-11-22T12:00:00Z\"\n}\n"
	if string(b) != want {
		t.Errorf("got\n%s", b)
	}
	var back Output
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&back); err != nil || back != o {
		t.Errorf("round trip %+v %v", back, err)
	}
}

func TestLock(t *testing.T) {
	path := LockFile(envOf(map[string]string{"XDG_CACHE_HOME": t.TempDir()}), "vault", "GetSessionToken", "dev", "")
	unlock, err := Lock(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", st, err)
	}
	// A second holder (another open file, as another process has) waits,
	// is told who holds it, and gives up when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	holder := -1
	if _, err := Lock(ctx, path, func(pid int) { holder = pid }); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: %v", err)
	}
	if holder != os.Getpid() {
		t.Errorf("holder %d, want %d", holder, os.Getpid())
	}
	got := make(chan error)
	go func() {
		u, err := Lock(context.Background(), path, nil)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("took a held lock: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lock was not handed over after unlock")
	}
}

// Only a profile the SDKs' chain would end at is cached and answered from
// the cache: keys in the environment and a web identity come before a
// profile named by AWS_PROFILE; without a named profile the chain may end
// at the container endpoint or instance metadata.
func TestCacheable(t *testing.T) {
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want bool
	}{
		{"dev", nil, true},
		{"dev", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE"}, true}, // --profile wins over everything
		{"", nil, false},
		{"", map[string]string{"AWS_PROFILE": "dev"}, true},
		{"", map[string]string{"AWS_DEFAULT_PROFILE": "dev"}, true},
		{"", map[string]string{"AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s"}, false},
		{"", map[string]string{"AWS_PROFILE": "dev", "AWS_SECRET_KEY": "s"}, false},
		{"", map[string]string{"AWS_PROFILE": "dev", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn"}, false},
		{"", map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c"}, false},
	} {
		if got := Cacheable(envOf(tc.env), tc.flag); got != tc.want {
			t.Errorf("Cacheable(%v, %q) = %v, want %v", tc.env, tc.flag, got, tc.want)
		}
	}
}

// A config file named "~/..." (as awsconfig reads it) is the one whose
// edits invalidate the cache.
func TestConfigModExpandsHome(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "cfg")
	os.WriteFile(cfg, []byte("[profile dev]\n"), 0o600)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(cfg, old, old)
	env := envOf(map[string]string{"HOME": home, "AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": "~/none"})
	if got := ConfigMod(env); !got.Equal(old) {
		t.Fatalf("ConfigMod = %v, want the mod time of ~/cfg %v", got, old)
	}
	later := old.Add(30 * time.Minute)
	os.Chtimes(cfg, later, later)
	if got := ConfigMod(env); !got.Equal(later) {
		t.Errorf("after an edit ConfigMod = %v, want %v", got, later)
	}
}
