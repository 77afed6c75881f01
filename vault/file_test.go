package vault

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/keyring"
)

func TestFileKeysRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, p := openFileVault(t, dir, testPass)
	if got, want := v.Describe(), "file backend, "+dir; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if v.Backend() != BackendFile {
		t.Errorf("Backend() = %q", v.Backend())
	}
	profiles := []string{"dev", "team/prod", "with space", "ünïcode", "100%"}
	for i, prof := range profiles {
		if err := v.SetKeys(prof, keys(fmt.Sprintf("AKIA%016d", i))); err != nil {
			t.Fatalf("SetKeys(%q): %v", prof, err)
		}
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("passphrase asked %d times, want once per Open", n)
	}
	if !strings.HasPrefix(p.prompts[0], "New passphrase for credkit's file vault "+dir) {
		t.Errorf("first prompt on an empty store = %q, want it to start with New passphrase", p.prompts[0])
	}

	// A new Open (a new process) reads them back.
	v2, p2 := openFileVault(t, dir, testPass)
	got, err := v2.Profiles()
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(profiles))
	if !slices.Equal(got, want) {
		t.Errorf("Profiles() = %q, want %q", got, want)
	}
	if p2.calls.Load() != 0 {
		t.Errorf("Profiles() asked for the passphrase")
	}
	for i, prof := range profiles {
		has, err := v2.HasKeys(prof)
		if err != nil || !has {
			t.Errorf("HasKeys(%q) = %v, %v", prof, has, err)
		}
		c, err := v2.Keys(prof)
		if err != nil {
			t.Fatalf("Keys(%q): %v", prof, err)
		}
		if c.AccessKeyID != fmt.Sprintf("AKIA%016d", i) || c.SecretAccessKey != testSecret || c.SessionToken != "" {
			t.Errorf("Keys(%q) = %v", prof, c)
		}
		if c.Source != "vault (file backend), profile "+prof {
			t.Errorf("Keys(%q).Source = %q", prof, c.Source)
		}
	}
	if p2.prompts[0] != "Passphrase for credkit's file vault "+dir+": " {
		t.Errorf("prompt on an existing store = %q", p2.prompts[0])
	}

	// Replace and remove.
	if err := v2.SetKeys("dev", keys("AKIAREPLACED00000000")); err != nil {
		t.Fatal(err)
	}
	if c, _ := v2.Keys("dev"); c.AccessKeyID != "AKIAREPLACED00000000" {
		t.Errorf("after replacing, Keys(dev) = %v", c)
	}
	if err := v2.RemoveKeys("dev"); err != nil {
		t.Fatal(err)
	}
	_, err = v2.Keys("dev")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "profile dev") {
		t.Errorf("Keys after RemoveKeys: %v, want ErrNotFound naming the profile", err)
	}
	if err := v2.RemoveKeys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveKeys twice: %v, want ErrNotFound", err)
	}
	if has, _ := v2.HasKeys("dev"); has {
		t.Error("HasKeys(dev) after RemoveKeys")
	}
}

func TestSetKeysRefuses(t *testing.T) {
	t.Parallel()
	v, _ := openFileVault(t, filepath.Join(t.TempDir(), "keys"), testPass)
	for _, tc := range []struct {
		name, profile string
		c             keysArg
		want          string
	}{
		{"session credentials", "dev", keysArg{testAKID, testSecret, testToken}, "session token"},
		{"no secret", "dev", keysArg{testAKID, "", ""}, "secret access key are needed"},
		{"empty profile", "", keysArg{testAKID, testSecret, ""}, "empty"},
		{"profile named like a session item", "sts.GetSessionToken,ZGV2,,1700000000", keysArg{testAKID, testSecret, ""}, "looks like"},
		{"profile named like an SSO token item", "oidc:https://x.awsapps.com/start", keysArg{testAKID, testSecret, ""}, "looks like"},
		{"profile named like the lock file", ".credkit.lock", keysArg{testAKID, testSecret, ""}, "keeps for its own files"},
		{"profile with a newline", "a\nb", keysArg{testAKID, testSecret, ""}, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := keys(tc.c.id)
			c.SecretAccessKey, c.SessionToken = tc.c.secret, tc.c.token
			err := v.SetKeys(tc.profile, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetKeys: %v, want an error containing %q", err, tc.want)
			}
			noSecrets(t, err)
		})
	}
}

type keysArg struct{ id, secret, token string }

func TestFileSessions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const serial = "arn:aws:iam::123456789012:mfa/alice"
	put := func(kind, profile, mfa, id string, exp time.Time) {
		t.Helper()
		if err := v.PutSession(SessionKey{Kind: kind, Profile: profile, MFASerial: mfa}, session(id, exp)); err != nil {
			t.Fatalf("PutSession: %v", err)
		}
	}
	put(KindGetSessionToken, "dev", serial, "ASIAOLDER", now.Add(30*time.Minute))
	put(KindGetSessionToken, "dev", serial, "ASIANEWER", now.Add(50*time.Minute))
	put(KindGetSessionToken, "dev", "", "ASIANOMFA", now.Add(40*time.Minute))
	put(KindAssumeRole, "admin", serial, "ASIAROLE", now.Add(20*time.Minute))
	put(KindGetSessionToken, "stale", "", "ASIASTALE", now.Add(-time.Minute))
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}

	// Listing needs no passphrase.
	v2, p2 := openFileVault(t, dir, "")
	list, err := v2.Sessions()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range list {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s", s.Profile, s.Kind, s.MFASerial, s.Expires.Sub(now)))
	}
	// Putting the newer dev+MFA session removed the older one.
	want := []string{
		"admin/AssumeRole/" + serial + "/20m0s",
		"dev/GetSessionToken//40m0s",
		"dev/GetSessionToken/" + serial + "/50m0s",
		"stale/GetSessionToken//-1m0s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Sessions() =\n%q\nwant\n%q", got, want)
	}
	if p2.calls.Load() != 0 {
		t.Error("Sessions() asked for the passphrase")
	}
	if profiles, _ := v2.Profiles(); !slices.Equal(profiles, []string{"dev"}) {
		t.Errorf("Profiles() = %q, want only dev: sessions are not profiles with keys", profiles)
	}

	v3, _ := openFileVault(t, dir, testPass)
	for _, tc := range []struct {
		name               string
		kind, profile, mfa string
		margin             time.Duration
		wantID             string // "" = none
	}{
		{"newest session with MFA", KindGetSessionToken, "dev", serial, 5 * time.Minute, "ASIANEWER"},
		{"session without MFA is its own", KindGetSessionToken, "dev", "", 5 * time.Minute, "ASIANOMFA"},
		{"margin larger than the time left", KindGetSessionToken, "dev", serial, time.Hour, ""},
		{"role session", KindAssumeRole, "admin", serial, 5 * time.Minute, "ASIAROLE"},
		{"other kind", KindAssumeRole, "dev", serial, 0, ""},
		{"expired", KindGetSessionToken, "stale", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok, err := v3.Session(tc.kind, tc.profile, tc.mfa, now, tc.margin)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantID != "") || c.AccessKeyID != tc.wantID {
				t.Fatalf("Session = %v, %v; want %q", c, ok, tc.wantID)
			}
			if ok && (c.SessionToken != testToken || c.SecretAccessKey != testSecret || c.Expires.IsZero() ||
				!strings.Contains(c.Source, "session cached in the vault (file backend), profile "+tc.profile)) {
				t.Errorf("Session = %#v (source %q)", c, c.Source)
			}
		})
	}
	// The expired session was removed by the lookups.
	list, _ = v3.Sessions()
	for _, s := range list {
		if s.Profile == "stale" {
			t.Errorf("expired session still listed after Session(): %+v", s)
		}
	}

	n, err := v3.ClearSessions("dev")
	if err != nil || n != 2 {
		t.Errorf("ClearSessions(dev) = %d, %v; want 2", n, err)
	}
	n, err = v3.ClearSessions("")
	if err != nil || n != 1 {
		t.Errorf("ClearSessions(all) = %d, %v; want 1", n, err)
	}
	if list, _ := v3.Sessions(); len(list) != 0 {
		t.Errorf("sessions left after clearing: %v", list)
	}
	if c, err := v3.Keys("dev"); err != nil || c.AccessKeyID != testAKID {
		t.Errorf("keys after clearing sessions: %v, %v", c, err)
	}
}

func TestPutSessionRefuses(t *testing.T) {
	t.Parallel()
	v, _ := openFileVault(t, filepath.Join(t.TempDir(), "keys"), testPass)
	exp := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name string
		k    SessionKey
		c    func() (c keysArg, exp time.Time)
	}{
		{"unknown kind", SessionKey{Kind: "GetFederationToken", Profile: "dev"}, func() (keysArg, time.Time) { return keysArg{sessionAKID, testSecret, testToken}, exp }},
		{"no profile", SessionKey{Kind: KindGetSessionToken}, func() (keysArg, time.Time) { return keysArg{sessionAKID, testSecret, testToken}, exp }},
		{"long-term keys", SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, func() (keysArg, time.Time) { return keysArg{testAKID, testSecret, ""}, exp }},
		{"no expiry", SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, func() (keysArg, time.Time) { return keysArg{sessionAKID, testSecret, testToken}, time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, e := tc.c()
			c := session(a.id, e)
			c.SecretAccessKey, c.SessionToken = a.secret, a.token
			err := v.PutSession(tc.k, c)
			if err == nil {
				t.Fatal("PutSession succeeded")
			}
			noSecrets(t, err)
		})
	}
}

func TestFileWrongPassphrase(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, session(sessionAKID, time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)

	wrong, p := openFileVault(t, dir, otherPass)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("%s with the wrong passphrase: %v, want ErrWrongPassphrase", what, err)
		}
		for _, want := range []string{dir, "wrong passphrase", EnvFilePassphraseFile} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", what, err, want)
			}
		}
		noSecrets(t, err)
	}
	_, err := wrong.Keys("dev")
	check("Keys", err)
	check("SetKeys of a new profile", wrong.SetKeys("prod", keys(testAKID)))
	check("SetKeys over an existing profile", wrong.SetKeys("dev", keys("AKIAOVERWRITE0000000")))
	check("RemoveKeys", wrong.RemoveKeys("dev"))
	check("PutSession", wrong.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "prod"}, session(sessionAKID, time.Now().Add(time.Hour))))
	_, err = wrong.ClearSessions("")
	check("ClearSessions", err)
	_, _, err = wrong.Session(KindGetSessionToken, "dev", "", time.Now(), 0)
	check("Session", err)
	if n := p.calls.Load(); n != 1 {
		t.Errorf("passphrase asked %d times, want at most once per Open", n)
	}
	delete(before, lockFileName)
	after := dirState(t, dir)
	delete(after, lockFileName)
	if !sameState(before, after) {
		t.Errorf("the store changed after writes with a wrong passphrase:\nbefore %v\nafter  %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}

	// From the environment, the message says where the passphrase came from.
	fromEnv, err := Open(Config{Backend: BackendFile, FileDir: dir, Getenv: envOf(EnvFilePassphrase, otherPass)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = fromEnv.Keys("dev")
	if !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "from "+EnvFilePassphrase) {
		t.Errorf("wrong passphrase from the environment: %v", err)
	}
	noSecrets(t, err)
}

func TestFilePassphraseSources(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte(testPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(emptyFile, nil, 0o600)

	for _, tc := range []struct {
		name    string
		getenv  func(string) string
		prompt  func(string) (string, error)
		wantErr string // "" = works
	}{
		{"environment variable", envOf(EnvFilePassphrase, testPass), nil, ""},
		{"file named by the environment, trailing newline ignored", envOf(EnvFilePassphraseFile, passFile), nil, ""},
		{"variable wins over file", envOf(EnvFilePassphrase, testPass, EnvFilePassphraseFile, emptyFile), nil, ""},
		{"prompt", envOf(), func(string) (string, error) { return testPass, nil }, ""},
		{"nothing", envOf(), nil, "needs a passphrase: set " + EnvFilePassphraseFile},
		{"missing file", envOf(EnvFilePassphraseFile, passFile+".missing"), nil, "read the passphrase file named by " + EnvFilePassphraseFile},
		{"empty file", envOf(EnvFilePassphraseFile, emptyFile), nil, "is empty"},
		{"prompt fails", envOf(), func(string) (string, error) { return "", errors.New("no terminal") }, "no terminal"},
		{"empty answer", envOf(), func(string) (string, error) { return "", nil }, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			prompt := tc.prompt
			if prompt != nil {
				inner := prompt
				prompt = func(s string) (string, error) { calls++; return inner(s) }
			}
			v, err := Open(Config{Backend: BackendFile, FileDir: dir, Getenv: tc.getenv, Passphrase: prompt})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				c, err := v.Keys("dev")
				if tc.wantErr == "" {
					if err != nil || c.SecretAccessKey != testSecret {
						t.Fatalf("Keys: %v, %v", c, err)
					}
				} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Keys: %v, want an error containing %q", err, tc.wantErr)
				}
				noSecrets(t, err)
			}
			if calls > 1 {
				t.Errorf("prompt called %d times, want at most once", calls)
			}
		})
	}
}

func TestFileCorruptItem(t *testing.T) {
	t.Parallel()
	jweParts := func(t *testing.T, file string) []string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(b), ".")
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir, file string)
		want   string
	}{
		{"garbage", func(t *testing.T, dir, file string) {
			os.WriteFile(file, []byte("not a JWE at all"), 0o600)
		}, "not an encrypted item"},
		{"truncated by a crash of another program", func(t *testing.T, dir, file string) {
			b, _ := os.ReadFile(file)
			os.WriteFile(file, b[:len(b)/2], 0o600)
		}, "damaged"},
		{"empty", func(t *testing.T, dir, file string) {
			os.WriteFile(file, nil, 0o600)
		}, "not an encrypted item"},
		{"ciphertext tampered", func(t *testing.T, dir, file string) {
			p := jweParts(t, file)
			ct, _ := base64.RawURLEncoding.DecodeString(p[3])
			ct[0] ^= 1
			p[3] = base64.RawURLEncoding.EncodeToString(ct)
			os.WriteFile(file, []byte(strings.Join(p, ".")), 0o600)
		}, "does not decrypt"},
		{"wrapped key tampered", func(t *testing.T, dir, file string) {
			p := jweParts(t, file)
			k, _ := base64.RawURLEncoding.DecodeString(p[1])
			k[3] ^= 1
			p[1] = base64.RawURLEncoding.EncodeToString(k)
			os.WriteFile(file, []byte(strings.Join(p, ".")), 0o600)
		}, "does not decrypt with the passphrase that opens the other items"},
		{"unencrypted token planted", func(t *testing.T, dir, file string) {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))
			body := base64.RawURLEncoding.EncodeToString([]byte(`{"Key":"victim","Data":"e30="}`))
			os.WriteFile(file, []byte(h+"."+body+"."), 0o600)
		}, "not an encrypted item"},
		{"other algorithm planted", func(t *testing.T, dir, file string) {
			p := jweParts(t, file)
			p[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"dir","enc":"A256GCM"}`))
			os.WriteFile(file, []byte(strings.Join(p, ".")), 0o600)
		}, `encrypted with "dir"`},
		{"huge PBKDF2 count planted", func(t *testing.T, dir, file string) {
			p := jweParts(t, file)
			p[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":1e12,"p2s":"AAAA"}`))
			os.WriteFile(file, []byte(strings.Join(p, ".")), 0o600)
		}, "iteration count"},
		{"another profile's file copied over", func(t *testing.T, dir, file string) {
			b, _ := os.ReadFile(filepath.Join(dir, "prod"))
			os.WriteFile(file, b, 0o600)
		}, `holds the item "prod", not "victim"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			v, _ := openFileVault(t, dir, testPass)
			for _, p := range []string{"victim", "prod"} {
				if err := v.SetKeys(p, keys(testAKID)); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "victim")
			tc.damage(t, dir, file)
			damaged, _ := os.ReadFile(file)

			v2, _ := openFileVault(t, dir, testPass)
			_, err := v2.Keys("victim")
			var ce *CorruptItemError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Keys of a damaged item: %v, want a *CorruptItemError", err)
			}
			if ce.File != file || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, file, tc.want)
			}
			noSecrets(t, err)

			// Never overwritten or removed.
			for what, err := range map[string]error{
				"SetKeys":    v2.SetKeys("victim", keys("AKIANEWKEY0000000000")),
				"RemoveKeys": v2.RemoveKeys("victim"),
			} {
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s over a damaged item: %v, want ErrCorrupt", what, err)
				}
			}
			if after, _ := os.ReadFile(file); string(after) != string(damaged) {
				t.Error("the damaged file was changed")
			}
			// The rest of the store works.
			if c, err := v2.Keys("prod"); err != nil || c.SecretAccessKey != testSecret {
				t.Errorf("Keys(prod) next to a damaged item: %v, %v", c, err)
			}
			if err := v2.SetKeys("new", keys(testAKID)); err != nil {
				t.Errorf("SetKeys(new) next to a damaged item: %v", err)
			}
			if profiles, err := v2.Profiles(); err != nil || !slices.Equal(profiles, []string{"new", "prod", "victim"}) {
				t.Errorf("Profiles() = %q, %v", profiles, err)
			}
		})
	}
}

func TestFileCorruptSessionIsPassedOver(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	now := time.Now()
	k := SessionKey{Kind: KindGetSessionToken, Profile: "dev"}
	if err := v.PutSession(k, session("ASIAGOOD", now.Add(30*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// A newer session item, damaged.
	k.Expires = now.Add(50 * time.Minute)
	bad := filepath.Join(dir, k.itemName())
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, ok, err := v.Session(KindGetSessionToken, "dev", "", now, time.Minute)
	if err != nil || !ok || c.AccessKeyID != "ASIAGOOD" {
		t.Errorf("Session next to a damaged newer one = %v, %v, %v; want the good one", c, ok, err)
	}
	os.Remove(filepath.Join(dir, (SessionKey{Kind: KindGetSessionToken, Profile: "dev", Expires: now.Add(30 * time.Minute)}).itemName()))
	_, ok, err = v.Session(KindGetSessionToken, "dev", "", now, time.Minute)
	if ok || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Session with only a damaged one = %v, %v; want ErrCorrupt naming %s", ok, err, bad)
	}
	n, err := v.ClearSessions("")
	if n != 0 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("ClearSessions = %d, %v; want 0 and ErrCorrupt", n, err)
	}
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the damaged session file was removed: %v", err)
	}
}

func TestFileOnlyItemUndecryptable(t *testing.T) {
	t.Parallel()
	// With one item, a wrong passphrase and a damaged key look the same:
	// the error says both.
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	wrong, _ := openFileVault(t, dir, otherPass)
	_, err := wrong.Keys("dev")
	if !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), "if it is right, the item file is damaged") {
		t.Errorf("Keys: %v", err)
	}
}

func TestFilePermissionsAndAtomicity(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "a", "keys")
	v, _ := openFileVault(t, dir, testPass)
	for i := 0; i < 5; i++ {
		if err := v.SetKeys("dev", keys(fmt.Sprintf("AKIA%016d", i))); err != nil {
			t.Fatal(err)
		}
		if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, session(sessionAKID, time.Now().Add(time.Duration(i+1)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %04o, want 0700", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if len(entries) != 3 { // dev, one session, the lock file
		t.Errorf("files in the store: %v", slices.Sorted(maps.Keys(dirState(t, dir))))
	}

	// A temporary file left by a process that died mid-write is never an
	// item and is cleaned up by the next write.
	stale := filepath.Join(dir, ".credkit-tmp-123456")
	os.WriteFile(stale, []byte("half a JWE"), 0o600)
	if p, _ := v.Profiles(); !slices.Equal(p, []string{"dev"}) {
		t.Errorf("Profiles() with a stale temporary file = %q", p)
	}
	if err := v.SetKeys("prod", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("stale temporary file not cleaned up: %v", left)
	}

	// A directory other users can open is refused, with the fix.
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	_, err = Open(Config{Backend: BackendFile, FileDir: open, Getenv: envOf(EnvFilePassphrase, testPass)})
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+open) {
		t.Errorf("Open of a 0755 dir: %v, want a refusal naming chmod 700", err)
	}
}

func TestFileHomeDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	v, err := Open(Config{Backend: BackendFile, Getenv: envOf(EnvFilePassphrase, testPass)})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(home, ".credkit", "keys")
	if v.Describe() != "file backend, "+want {
		t.Errorf("Describe() = %q, want the dir %s", v.Describe(), want)
	}
	if Exists(Config{Backend: BackendFile, Getenv: envOf()}) {
		t.Error("Exists before anything was stored")
	}
	if _, err := os.Stat(want); err == nil {
		t.Error("Open or Exists created the directory before a write")
	}
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	if !Exists(Config{Backend: BackendFile, Getenv: envOf()}) {
		t.Error("Exists after SetKeys = false")
	}
	tilde, err := Open(Config{Backend: BackendFile, FileDir: "~/.credkit/keys", Getenv: envOf(EnvFilePassphrase, testPass)})
	if err != nil || tilde.Describe() != v.Describe() {
		t.Errorf("~/ is not the home directory: %v, %v", tilde.Describe(), err)
	}
}

// keyring's own file backend must read what credkit writes, and the other
// way round: the format is the same.
func TestFileFormatIsKeyrings(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	if err := v.SetKeys("team/dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: func(string) (string, error) { return testPass, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	item, err := kr.Get("team/dev")
	if err != nil {
		t.Fatalf("keyring reads credkit's item: %v", err)
	}
	if c, err := decodeKeys(item.Data); err != nil || c.SecretAccessKey != testSecret {
		t.Errorf("keyring's view of credkit's item: %v, %v", c, err)
	}
	data, _ := encodeKeys(keys("AKIAFROMKEYRING00000"))
	if err := kr.Set(keyring.Item{Key: "written/by keyring", Data: data}); err != nil {
		t.Fatal(err)
	}
	if c, err := v.Keys("written/by keyring"); err != nil || c.AccessKeyID != "AKIAFROMKEYRING00000" {
		t.Errorf("credkit reads keyring's item: %v, %v", c, err)
	}
}

func TestUnknownBackend(t *testing.T) {
	for _, name := range []string{"gnome", "wincred", "keychain"} {
		if slices.Contains(Backends(), name) {
			continue
		}
		_, err := Open(Config{Backend: name})
		if !errors.Is(err, ErrUnknownBackend) {
			t.Errorf("Open(%q): %v, want ErrUnknownBackend", name, err)
			continue
		}
		for _, b := range Backends() {
			if !strings.Contains(err.Error(), b) {
				t.Errorf("Open(%q): %q does not list the available backend %s", name, err, b)
			}
		}
	}
	b := Backends()
	if len(b) == 0 || b[0] != DefaultBackend(os.Getenv) || !slices.Contains(b, BackendFile) {
		t.Errorf("Backends() = %q: want the default (%s) first, and file", b, DefaultBackend(os.Getenv))
	}
	if runtime.GOOS == "linux" && DefaultBackend(envOf()) != BackendFile {
		t.Errorf("DefaultBackend without a D-Bus session bus = %q, want file", DefaultBackend(envOf()))
	}
}
