package vault

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/keyring"

	"github.com/credkit/credkit/internal/testpeer"
)

const mfaSerial = "arn:aws:iam::123456789012:mfa/alice"

// awsVault runs the real aws-vault with a private HOME and config file.
type awsVault struct {
	bin, home, config string
	env               []string
}

func newAWSVault(t *testing.T, extraEnv ...string) *awsVault {
	t.Helper()
	a := &awsVault{bin: testpeer.AWSVault(t), home: t.TempDir()}
	a.config = filepath.Join(a.home, "config")
	if err := os.WriteFile(a.config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a.env = append([]string{"HOME=" + a.home, "AWS_CONFIG_FILE=" + a.config}, extraEnv...)
	return a
}

// run runs aws-vault with args and extra environment and returns stdout.
func (a *awsVault) run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(a.bin, args...)
	cmd.Env = testpeer.IsolatedAWSEnv(append(append([]string{}, a.env...), env...)...)
	cmd.Dir = a.home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws-vault %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// add stores keys for profile with the real `aws-vault add --env`.
func (a *awsVault) add(t *testing.T, profile, id, secret string) {
	t.Helper()
	a.run(t, []string{"AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret}, "add", "--env", profile)
}

// seedSession writes a session item the way aws-vault's SessionKeyring
// does (through keyring), since aws-vault stores one only after asking STS.
func seedSession(t *testing.T, kr keyring.Keyring, itemType, profile, serial, id string, exp time.Time) string {
	t.Helper()
	name := fmt.Sprintf("%s,%s,%s,%d", itemType, b64.EncodeToString([]byte(profile)), b64.EncodeToString([]byte(serial)), exp.Unix())
	data := fmt.Sprintf(`{"AccessKeyId":%q,"Expiration":%q,"SecretAccessKey":%q,"SessionToken":%q}`,
		id, exp.UTC().Format(time.RFC3339), testSecret, testToken)
	if err := kr.Set(keyring.Item{Key: name, Data: []byte(data), Label: "aws-vault session for " + profile, Description: "aws-vault session"}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestImportFromAWSVaultFileBackend(t *testing.T) {
	av := newAWSVault(t, "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_PASSPHRASE="+testPass)
	av.add(t, "dev", "AKIADEV0000000000000", testSecret+"dev")
	av.add(t, "team/prod", "AKIAPROD000000000000", testSecret+"prod")
	avDir := filepath.Join(av.home, ".awsvault", "keys")

	now := time.Now().Truncate(time.Second)
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: avDir,
		FilePasswordFunc: func(string) (string, error) { return testPass, nil }})
	if err != nil {
		t.Fatal(err)
	}
	live := seedSession(t, kr, "sts.GetSessionToken", "dev", mfaSerial, "ASIALIVE", now.Add(time.Hour))
	expired := seedSession(t, kr, "sts.GetSessionToken", "dev", "", "ASIAEXPIRED", now.Add(-time.Hour))
	role := seedSession(t, kr, "sts.AssumeRole", "admin", mfaSerial, "ASIAROLE", now.Add(30*time.Minute))
	sso := seedSession(t, kr, "sso.GetRoleCredentials", "sso", "", "ASIASSO", now.Add(time.Hour))
	if err := kr.Set(keyring.Item{Key: "oidc:https://example.awsapps.com/start", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(avDir, "broken"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	// aws-vault itself reads the seeded session names as its own.
	if out := av.run(t, nil, "list"); !regexp.MustCompile(`(?m)^dev\s+dev\s+sts\.GetSessionToken:`).MatchString(out) {
		t.Fatalf("aws-vault list does not show the seeded session of dev:\n%s", out)
	}
	before := dirState(t, avDir)

	// aws-vault's defaults: HOME/.awsvault/keys, AWS_VAULT_FILE_PASSPHRASE.
	t.Setenv("HOME", av.home)
	from, err := OpenAWSVault(Config{Getenv: envOf(EnvAWSVaultBackend, "file", EnvAWSVaultFilePassphrase, testPass)})
	if err != nil {
		t.Fatal(err)
	}
	if from.Describe() != "file backend, "+avDir {
		t.Errorf("Describe() = %q, want the dir %s", from.Describe(), avDir)
	}
	if p, err := from.Profiles(); err != nil || !slices.Equal(p, []string{"broken", "dev", "team/prod"}) {
		t.Errorf("aws-vault Profiles() = %q, %v", p, err)
	}

	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, otherPass)
	rep, err := v.Import(from, ImportOptions{Sessions: true, Now: now})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !slices.Equal(rep.Keys, []string{"dev", "team/prod"}) {
		t.Errorf("imported keys %q", rep.Keys)
	}
	wantSessions := []SessionKey{
		{Kind: KindAssumeRole, Profile: "admin", MFASerial: mfaSerial, Expires: now.Add(30 * time.Minute)},
		{Kind: KindGetSessionToken, Profile: "dev", MFASerial: mfaSerial, Expires: now.Add(time.Hour)},
	}
	if len(rep.Sessions) != 2 || !sameKey(rep.Sessions[0], wantSessions[0]) || !sameKey(rep.Sessions[1], wantSessions[1]) {
		t.Errorf("imported sessions %+v, want %+v", rep.Sessions, wantSessions)
	}
	skipped := map[string]string{}
	for _, s := range rep.Skipped {
		skipped[s.Item] = s.Reason
	}
	for item, want := range map[string]string{
		"broken":                                 "damaged",
		expired:                                  "expired",
		sso:                                      "sso.GetRoleCredentials",
		"oidc:https://example.awsapps.com/start": "SSO access token",
	} {
		if !strings.Contains(skipped[item], want) {
			t.Errorf("skipped[%q] = %q, want it to say %q", item, skipped[item], want)
		}
	}
	if len(rep.Skipped) != 4 {
		t.Errorf("skipped %+v", rep.Skipped)
	}
	_, _ = live, role

	for p, want := range map[string][2]string{"dev": {"AKIADEV0000000000000", testSecret + "dev"}, "team/prod": {"AKIAPROD000000000000", testSecret + "prod"}} {
		c, err := v.Keys(p)
		if err != nil || c.AccessKeyID != want[0] || c.SecretAccessKey != want[1] {
			t.Errorf("credkit Keys(%s) after import = %v, %v", p, c, err)
		}
	}
	c, ok, err := v.Session(KindGetSessionToken, "dev", mfaSerial, now, time.Minute)
	if err != nil || !ok || c.AccessKeyID != "ASIALIVE" || c.SessionToken != testToken || !c.Expires.Equal(now.Add(time.Hour)) {
		t.Errorf("imported session = %v, %v, %v", c, ok, err)
	}

	// aws-vault's store is untouched: no lock file, nothing rewritten.
	if after := dirState(t, avDir); !sameState(before, after) {
		t.Errorf("aws-vault's store changed:\nbefore %v\nafter  %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}

	// Importing again changes nothing.
	rep, err = v.Import(from, ImportOptions{})
	if err != nil || len(rep.Keys) != 0 || !strings.Contains(fmt.Sprint(rep.Skipped), "already has these keys") {
		t.Errorf("second import: %+v, %v", rep, err)
	}

	// Keys that differ are replaced only with Overwrite.
	av.add(t, "dev", "AKIADEVROTATED000000", testSecret+"rotated")
	from2, err := OpenAWSVault(Config{Backend: BackendFile, FileDir: avDir, Getenv: envOf(EnvAWSVaultFilePassphrase, testPass)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = v.Import(from2, ImportOptions{Profiles: []string{"dev"}})
	if err != nil || len(rep.Keys) != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].Item != "dev" ||
		!strings.Contains(rep.Skipped[0].Reason, "overwrite") || !strings.Contains(rep.Skipped[0].Reason, "AKIADEV0000000000000") {
		t.Errorf("import of changed keys without overwrite: %+v, %v", rep, err)
	}
	if c, _ := v.Keys("dev"); c.AccessKeyID != "AKIADEV0000000000000" {
		t.Errorf("keys replaced without overwrite: %v", c)
	}
	rep, err = v.Import(from2, ImportOptions{Profiles: []string{"dev"}, Overwrite: true})
	if err != nil || !slices.Equal(rep.Keys, []string{"dev"}) {
		t.Errorf("import with overwrite: %+v, %v", rep, err)
	}
	if c, _ := v.Keys("dev"); c.AccessKeyID != "AKIADEVROTATED000000" {
		t.Errorf("keys not replaced with overwrite: %v", c)
	}
	if _, ok, _ := v.Session(KindGetSessionToken, "dev", mfaSerial, now, 0); ok {
		t.Error("sessions of the replaced keys were kept")
	}
	noSecrets(t, fmt.Errorf("%+v", rep))
}

func sameKey(a, b SessionKey) bool { return sameSession(a, b) && a.Expires.Equal(b.Expires) }

func TestImportFromAWSVaultWrongPassphrase(t *testing.T) {
	t.Parallel()
	av := newAWSVault(t, "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_PASSPHRASE="+testPass)
	av.add(t, "dev", "AKIADEV0000000000000", testSecret)
	from, err := OpenAWSVault(Config{Backend: BackendFile, FileDir: filepath.Join(av.home, ".awsvault", "keys"),
		Getenv: envOf(EnvAWSVaultFilePassphrase, otherPass)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	rep, err := v.Import(from, ImportOptions{})
	if !errors.Is(err, ErrWrongPassphrase) || !strings.Contains(err.Error(), EnvAWSVaultFilePassphrase) ||
		!strings.Contains(err.Error(), "aws-vault's file store") {
		t.Errorf("Import with the wrong aws-vault passphrase: %v", err)
	}
	noSecrets(t, err)
	if len(rep.Keys) != 0 {
		t.Errorf("imported %v", rep.Keys)
	}
	if p, _ := v.Profiles(); len(p) != 0 {
		t.Errorf("credkit's vault has %v", p)
	}
}

// The real aws-vault reads what credkit writes: keys, and sessions it
// finds by its own name matching and decodes as its own.
func TestAWSVaultReadsCredkitStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	av := newAWSVault(t, "AWS_VAULT_BACKEND=file", "AWS_VAULT_FILE_DIR="+dir, "AWS_VAULT_FILE_PASSPHRASE="+testPass)
	checkAWSVaultReads(t, v, av)
}

// testImportFromAWSVaultPass is a subtest of TestPassBackend, which makes
// the password store (a GnuPG key takes seconds to make).
func testImportFromAWSVaultPass(t *testing.T, store *testpeer.PassStore) {
	av := newAWSVault(t, append([]string{"AWS_VAULT_BACKEND=pass", "AWS_VAULT_PASS_PASSWORD_STORE_DIR=" + store.Dir,
		"AWS_VAULT_PASS_PREFIX=aws-vault"}, store.Env...)...)
	av.add(t, "dev", "AKIADEV0000000000000", testSecret)
	from, err := OpenAWSVault(Config{Getenv: envOf(EnvAWSVaultBackend, "pass", EnvAWSVaultPassDir, store.Dir, EnvAWSVaultPassPrefix, "aws-vault")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "pass backend, " + filepath.Join(store.Dir, "aws-vault"); from.Describe() != want {
		t.Errorf("Describe() = %q, want %q", from.Describe(), want)
	}
	v, _ := openFileVault(t, filepath.Join(t.TempDir(), "keys"), testPass)
	rep, err := v.Import(from, ImportOptions{})
	if err != nil || !slices.Equal(rep.Keys, []string{"dev"}) {
		t.Fatalf("Import: %+v, %v", rep, err)
	}
	if c, err := v.Keys("dev"); err != nil || c.SecretAccessKey != testSecret {
		t.Errorf("Keys(dev) = %v, %v", c, err)
	}
}

func TestImportNeedsNowForSessions(t *testing.T) {
	t.Parallel()
	v, _ := openFileVault(t, filepath.Join(t.TempDir(), "keys"), testPass)
	if _, err := v.Import(&AWSVault{}, ImportOptions{Sessions: true}); err == nil || !strings.Contains(err.Error(), "Now") {
		t.Errorf("Import with Sessions and no Now: %v", err)
	}
}

func TestMakefilePinsAWSVault(t *testing.T) {
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AWSVAULT_VERSION\s*:=\s*(\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != testpeer.AWSVaultVersion {
		t.Errorf("Makefile AWSVAULT_VERSION = %q, testpeer.AWSVaultVersion = %q: keep them equal", m, testpeer.AWSVaultVersion)
	}
}

// checkAWSVaultReads stores keys of two profiles and an MFA session of one
// in v, then checks that aws-vault (av, pointed at the same store) prints
// them: the keys with --no-session, and the session credkit cached.
func checkAWSVaultReads(t *testing.T, v *Vault, av *awsVault) {
	t.Helper()
	for _, p := range []string{"dev", "withmfa"} {
		if err := v.SetKeys(p, keys(testAKID)); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "withmfa", MFASerial: mfaSerial}, session(sessionAKID, exp)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(av.config, []byte("[profile withmfa]\nmfa_serial = "+mfaSerial+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := av.run(t, nil, "export", "--no-session", "dev")
	for _, want := range []string{"AWS_ACCESS_KEY_ID=" + testAKID + "\n", "AWS_SECRET_ACCESS_KEY=" + testSecret + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("aws-vault export --no-session dev does not print the keys credkit stored")
		}
	}
	// With mfa_serial set, aws-vault looks for a cached GetSessionToken
	// session before calling STS (there is no network here): it must find
	// credkit's and print it.
	out = av.run(t, nil, "export", "withmfa")
	for _, want := range []string{"AWS_ACCESS_KEY_ID=" + sessionAKID + "\n", "AWS_SESSION_TOKEN=" + testToken + "\n",
		"AWS_CREDENTIAL_EXPIRATION=" + exp.Format(time.RFC3339) + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("aws-vault export withmfa does not print the session credkit cached (%s...)", want[:20])
		}
	}
}
