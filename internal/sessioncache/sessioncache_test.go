package sessioncache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

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

// The cache answers credential-process for the profile the chain would
// use, only where nothing in the environment may give other credentials,
// and never a profile whose credential_process calls itself.
func TestAnswer(t *testing.T) {
	dir := t.TempDir()
	base := map[string]string{"HOME": dir, "XDG_CACHE_HOME": filepath.Join(dir, "cache"), "AWS_CONFIG_FILE": filepath.Join(dir, "none")}
	with := func(kv ...string) func(string) string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return envOf(m)
	}
	now := time.Now()
	for _, p := range []string{"dev", "default"} {
		rec := Record{Profile: p, Credentials: Output{Version: 1, AccessKeyID: "ASIA" + strings.ToUpper(p), SecretAccessKey: "s", SessionToken: "t",
			Expiration: now.Add(time.Hour).UTC().Format(time.RFC3339)}}
		if err := Write(File(with(), p), rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		flag string
		env  func(string) string
		want string // the key answered, "" for none
	}{
		{"flag", "dev", with(), "ASIADEV"},
		{"flag wins over environment keys", "dev", with("AWS_ACCESS_KEY_ID", "AKIAENV", "AWS_SECRET_ACCESS_KEY", "s"), "ASIADEV"},
		{"AWS_PROFILE", "", with("AWS_PROFILE", "dev"), "ASIADEV"},
		{"AWS_DEFAULT_PROFILE", "", with("AWS_DEFAULT_PROFILE", "dev"), "ASIADEV"},
		{"no profile named: the chain may end at the container or IMDS", "", with(), ""},
		{"environment keys come before AWS_PROFILE", "", with("AWS_PROFILE", "dev", "AWS_ACCESS_KEY_ID", "AKIAENV", "AWS_SECRET_ACCESS_KEY", "s"), ""},
		{"web identity comes before AWS_PROFILE", "", with("AWS_PROFILE", "dev", "AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), ""},
		{"container endpoint set", "", with("AWS_PROFILE", "dev", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/c"), ""},
		{"calls itself", "dev", with("CREDKIT_CREDENTIAL_PROCESS_PROFILES", ",other,dev"), ""},
		{"another profile running", "dev", with("CREDKIT_CREDENTIAL_PROCESS_PROFILES", ",other"), "ASIADEV"},
		{"not cached", "prod", with(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := Answer(tc.env, tc.flag, now)
			var got Output
			if ok {
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("answer %q: %v", out, err)
				}
			}
			if ok != (tc.want != "") || got.AccessKeyID != tc.want {
				t.Errorf("answered %v %q, want %q", ok, got.AccessKeyID, tc.want)
			}
		})
	}
}

// A session read back from the cache is the credentials it was cached
// from; an answer that is not one is refused with the reason.
func TestOutputCredentials(t *testing.T) {
	exp := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c, err := Output{Version: 1, AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "t", AccountID: "123456789012", Expiration: exp.Format(time.RFC3339)}.Credentials()
	if err != nil || c.AccessKeyID != "ASIA" || c.SecretAccessKey != "s" || c.SessionToken != "t" || c.AccountID != "123456789012" || !c.Expires.Equal(exp) {
		t.Fatalf("credentials %+v, %v", c, err)
	}
	for _, bad := range []Output{{Version: 2, AccessKeyID: "A", SecretAccessKey: "s"}, {Version: 1, AccessKeyID: "A"}, {Version: 1, AccessKeyID: "A", SecretAccessKey: "s", Expiration: "soon"}} {
		if _, err := bad.Credentials(); err == nil {
			t.Errorf("%+v accepted", bad)
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
