package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
)

// vaultEnv is the environment of a file vault in home.
func vaultEnv(home string, extra map[string]string) map[string]string {
	env := map[string]string{
		"HOME":                        home,
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"CREDKIT_BACKEND":             "file",
		"CREDKIT_FILE_PASSPHRASE":     "correct horse battery staple",
		"AWS_REGION":                  "us-east-1",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// dirDigest hashes the names and contents of the files under dir.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// The vault commands on a real file vault, and the chain signing with a
// cached session made from the stored key, against the lab's STS (which
// verifies every signature).
func TestVaultCommandsWithLab(t *testing.T) {
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	u := l.Users()[0]
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config"), []byte("[profile work]\nregion = us-east-1\n"), 0o600)
	env := vaultEnv(home, map[string]string{"AWS_ENDPOINT_URL": srv.URL})
	withKeys := vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey})
	now := time.Now

	r := runAt(t, now, withKeys, "", "add", "work", "--env")
	if r.code != 0 || !strings.Contains(r.stdout, "Stored key "+u.AccessKeyID+" for profile work") {
		t.Fatalf("add: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, u.SecretAccessKey) {
		t.Fatal("add printed the secret")
	}
	st, err := os.Stat(filepath.Join(home, ".credkit", "keys"))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("vault dir: %v %v", st, err)
	}
	for _, f := range mustGlob(t, filepath.Join(home, ".credkit", "keys", "*")) {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), u.SecretAccessKey) {
			t.Errorf("%s holds the secret in plain text", f)
		}
	}

	// Bad input.
	bad := vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "x", "AWS_SESSION_TOKEN": "t"})
	if r := runAt(t, now, bad, "", "add", "tmp", "--env"); r.code != ExitUsage || !strings.Contains(r.stderr, "temporary credentials") {
		t.Errorf("add of session keys: %d %s", r.code, r.stderr)
	}
	bad = vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": "not-a-key", "AWS_SECRET_ACCESS_KEY": "x"})
	if r := runAt(t, now, bad, "", "add", "tmp", "--env"); r.code != ExitUsage || !strings.Contains(r.stderr, "not an access key id") {
		t.Errorf("add of a malformed key id: %d %s", r.code, r.stderr)
	}
	if r := runAt(t, now, withKeys, "", "add", "x", "--env", "--backend", "nosuch"); r.code != ExitUsage || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("unknown backend: %d %s", r.code, r.stderr)
	}

	// whoami signs with a session made from the stored key, cached in the
	// vault: a second process reuses it.
	r = runAt(t, now, env, "", "whoami", "--profile", "work", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, ":user/"+u.Name) {
		t.Fatalf("whoami: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if l.Issued.Load() != 1 {
		t.Errorf("%d sessions issued, want 1 (GetSessionToken)", l.Issued.Load())
	}
	r = runAt(t, now, env, "", "doctor", "--profile", "work")
	if r.code != 0 || !strings.Contains(r.stdout, "vault (file backend) of profile work -> session token") {
		t.Errorf("doctor: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if l.Issued.Load() != 1 {
		t.Errorf("%d sessions issued after a second process, want 1: the cached session was not reused", l.Issued.Load())
	}

	r = runAt(t, now, env, "", "list", "--json")
	var entries []listEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code != 0 {
		t.Fatalf("list --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	var work *listEntry
	for i := range entries {
		if entries[i].Profile == "work" {
			work = &entries[i]
		}
	}
	if work == nil || work.Keys != "vault" || work.KeyID != u.AccessKeyID || len(work.Sessions) != 1 || work.Sessions[0].Kind != "GetSessionToken" {
		t.Fatalf("list: %+v", entries)
	}
	if r := runAt(t, now, env, "", "list"); r.code != 0 || !strings.Contains(r.stdout, "GetSessionToken") || !strings.Contains(r.stdout, "file backend") {
		t.Errorf("list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A wrong passphrase is refused and nothing is written.
	before := dirDigest(t, filepath.Join(home, ".credkit"))
	wrong := vaultEnv(home, map[string]string{"CREDKIT_FILE_PASSPHRASE": "wrong", "AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey})
	for _, args := range [][]string{{"list"}, {"add", "other", "--env"}, {"clear"}} {
		r := runAt(t, now, wrong, "", args...)
		if r.code != ExitFailure || !strings.Contains(r.stderr, "passphrase") {
			t.Errorf("%v with a wrong passphrase: %d %s", args, r.code, r.stderr)
		}
	}
	if dirDigest(t, filepath.Join(home, ".credkit")) != before {
		t.Error("a command with a wrong passphrase changed the vault")
	}

	if r := runAt(t, now, env, "", "clear", "work"); r.code != 0 || !strings.Contains(r.stdout, "Cleared 1 session(s) of profile work") {
		t.Errorf("clear: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runAt(t, now, env, "", "whoami", "--profile", "work"); r.code != 0 || l.Issued.Load() != 2 {
		t.Errorf("whoami after clear: %d (issued %d, want 2)\n%s", r.code, l.Issued.Load(), r.stderr)
	}

	// remove needs a confirmation; without a terminal, --yes.
	if r := runAt(t, now, env, "", "add", "work"); r.code != ExitUsage || !strings.Contains(r.stderr, "--env") {
		t.Errorf("add without --env and without a terminal: %d %s", r.code, r.stderr)
	}
	if r := runAt(t, now, env, "", "remove", "work"); r.code != ExitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("remove without --yes and without a terminal: %d %s", r.code, r.stderr)
	}
	if r := runAt(t, now, env, "", "remove", "nosuch", "--yes"); r.code != ExitUsage {
		t.Errorf("remove of an unknown profile: %d %s", r.code, r.stderr)
	}
	if r := runAt(t, now, env, "", "remove", "work", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "Deleted key "+u.AccessKeyID) {
		t.Errorf("remove: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runAt(t, now, env, "", "whoami", "--profile", "work"); r.code == 0 {
		t.Errorf("whoami after remove: %d %s", r.code, r.stdout)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// credkit rotate against moto's IAM and STS (signature checks on): the new
// key is stored and works, the old one is deleted and refused.
func TestRotateWithMoto(t *testing.T) {
	m := testpeer.Moto(t)
	id, secret := m.NewUserKeys(t, "rotator")
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, "config"), []byte("[profile work]\nregion = us-east-1\n"), 0o600)
	env := vaultEnv(home, map[string]string{"AWS_ENDPOINT_URL": m.Endpoint})
	add := vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret})
	if r := runAt(t, time.Now, add, "", "add", "work", "--env"); r.code != 0 {
		t.Fatalf("add: %s", r.stderr)
	}
	listKeys := func() []string {
		c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
			Credentials: awscreds.NewStaticCredentialsProvider(m.AdminAccessKeyID, m.AdminSecretAccessKey, "")})
		out, err := c.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String("rotator")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range out.AccessKeyMetadata {
			ids = append(ids, aws.ToString(k.AccessKeyId))
		}
		return ids
	}

	r := runAt(t, time.Now, env, "", "rotate", "work")
	if r.code != 0 || !strings.Contains(r.stdout, "old key "+id+" deleted") {
		t.Fatalf("rotate: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	keys := listKeys()
	if len(keys) != 1 || keys[0] == id {
		t.Fatalf("IAM keys of rotator after rotate: %v (old %s)", keys, id)
	}
	if arn, code := m.CallerIdentity(t, id, secret, ""); arn != "" || code != "InvalidClientTokenId" {
		t.Errorf("old key still works: %q %q", arn, code)
	}
	// The stored key is the new one, and it works.
	if r := runAt(t, time.Now, env, "", "list", "--json"); !strings.Contains(r.stdout, keys[0]) {
		t.Errorf("vault does not hold the new key %s:\n%s%s", keys[0], r.stdout, r.stderr)
	}
	// A user with two keys: rotate refuses and says which one to delete;
	// --delete-old deletes it.
	c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
		Credentials: awscreds.NewStaticCredentialsProvider(m.AdminAccessKeyID, m.AdminSecretAccessKey, "")})
	extra, err := c.CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String("rotator")})
	if err != nil {
		t.Fatal(err)
	}
	extraID := aws.ToString(extra.AccessKey.AccessKeyId)
	r = runAt(t, time.Now, env, "", "rotate", "work")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "--delete-old "+extraID) {
		t.Fatalf("rotate with two keys: %d\n%s", r.code, r.stderr)
	}
	if r := runAt(t, time.Now, env, "", "rotate", "work", "--delete-old", keys[0]); r.code != ExitUsage {
		t.Errorf("--delete-old of the stored key: %d %s", r.code, r.stderr)
	}
	if r := runAt(t, time.Now, env, "", "rotate", "work", "--delete-old", extraID); r.code != 0 {
		t.Fatalf("--delete-old: %d %s", r.code, r.stderr)
	}
	if k := listKeys(); len(k) != 1 || k[0] != keys[0] {
		t.Errorf("keys after --delete-old: %v", k)
	}
}

// A user whose IAM policy denies IAM calls without MFA (the lab's
// require_mfa, refused with AccessDenied as AWS does) rotates when the
// profile has mfa_serial: the IAM calls are signed with an MFA session,
// the one cached in the vault when there is one, so no second code.
func TestRotateWithMFARequired(t *testing.T) {
	seed := lab.DefaultSeed()
	seed.Users[0].RequireMFA = true
	l, err := lab.New(lab.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	u := l.Users()[0]
	home := t.TempDir()
	env := vaultEnv(home, map[string]string{"AWS_ENDPOINT_URL": srv.URL, "XDG_CACHE_HOME": filepath.Join(home, "cache")})
	if r := runAt(t, time.Now, vaultEnv(home, map[string]string{"AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey}), "", "add", "work", "--env"); r.code != 0 {
		t.Fatalf("add: %s", r.stderr)
	}
	// The lab, as AWS, accepts each code once, from one step before to one
	// after the current: each use below takes the code of another step,
	// made away from a step boundary.
	code := func(steps int) string {
		if s := time.Now().Unix() % 30; s >= 28 {
			time.Sleep(time.Duration(31-s) * time.Second)
		}
		c, err := lab.TOTP(u.MFASecret, time.Now().Add(time.Duration(steps)*30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Without mfa_serial the key itself signs, and IAM refuses it.
	os.WriteFile(filepath.Join(home, "config"), []byte("[profile work]\nregion = us-east-1\n"), 0o600)
	if r := runAt(t, time.Now, env, "", "rotate", "work"); r.code == 0 || !strings.Contains(r.stderr, "AccessDenied") || !strings.Contains(r.stderr, "explicit deny") {
		t.Fatalf("rotate without MFA: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// With mfa_serial: a session with MFA is made and cached by whoami;
	// rotate reuses it (no --mfa-token, no terminal).
	os.WriteFile(filepath.Join(home, "config"), []byte("[profile work]\nregion = us-east-1\nmfa_serial = "+u.MFASerial+"\n"), 0o600)
	if r := runAt(t, time.Now, env, "", "whoami", "--profile", "work", "--mfa-token", code(0)); r.code != 0 {
		t.Fatalf("whoami: %s", r.stderr)
	}
	r := runAt(t, time.Now, env, "", "rotate", "work")
	if r.code != 0 || !strings.Contains(r.stdout, "old key "+u.AccessKeyID+" deleted") {
		t.Fatalf("rotate with a cached MFA session: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	newKey := strings.Fields(r.stdout[strings.Index(r.stdout, "new key ")+len("new key "):])[0]

	// The old key is gone; the new one works (with a new MFA session,
	// since rotate dropped the old key's sessions).
	if r := runAt(t, time.Now, env, "", "whoami", "--profile", "work", "--mfa-token", code(1), "--json"); r.code != 0 || !strings.Contains(r.stdout, ":user/"+u.Name) {
		t.Fatalf("whoami with the new key: %d %s%s", r.code, r.stdout, r.stderr)
	}
	old := creds.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}
	if _, err := (&source.SessionToken{Source: creds.ProviderFunc(func(context.Context) (creds.Credentials, error) { return old, nil }), Options: source.STSOptions{Endpoint: srv.URL}}).Retrieve(context.Background()); err == nil || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("the old key still works: %v", err)
	}

	// And a second rotation asks for a code: --mfa-token gives it.
	r = runAt(t, time.Now, env, "", "rotate", "work", "--mfa-token", code(-1))
	if r.code != 0 || !strings.Contains(r.stdout, "old key "+newKey+" deleted") {
		t.Fatalf("rotate with --mfa-token: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// doctor reads STS's clock from its answer: the lab's clock runs ahead by
// 10 minutes (accepted, with a warning) or 20 (refused, and the skew still
// reported).
func TestDoctorClockSkewWithLab(t *testing.T) {
	for _, c := range []struct {
		skew    time.Duration
		ok      bool
		problem string
	}{{10 * time.Minute, true, ""}, {20 * time.Minute, false, "SignatureDoesNotMatch"}} {
		l, err := lab.New(lab.Options{ClockSkew: c.skew})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(l.Handler())
		u := l.Users()[0]
		env := map[string]string{"AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_STS": srv.URL}
		r := runAt(t, time.Now, env, "", "doctor", "--json")
		srv.Close()
		var rep doctorReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("skew %s: %v\n%s%s", c.skew, err, r.stdout, r.stderr)
		}
		want := -int64(c.skew / time.Second)
		if rep.ClockSkewSeconds == nil || *rep.ClockSkewSeconds < want-3 || *rep.ClockSkewSeconds > want+3 {
			t.Errorf("skew %s: clock_skew_seconds %v, want about %d", c.skew, rep.ClockSkewSeconds, want)
		}
		if !strings.Contains(strings.Join(rep.Warnings, "\n"), "off STS's") {
			t.Errorf("skew %s: no skew warning in %q", c.skew, rep.Warnings)
		}
		if rep.OK != c.ok || (c.ok && (rep.Identity == nil || rep.Identity.Endpoint != srv.URL || !strings.HasSuffix(rep.Identity.ARN, ":user/"+u.Name))) {
			t.Errorf("skew %s: ok %v identity %+v problems %q", c.skew, rep.OK, rep.Identity, rep.Problems)
		}
		if c.problem != "" && !strings.Contains(strings.Join(rep.Problems, "\n"), c.problem) {
			t.Errorf("skew %s: problems %q lack %s", c.skew, rep.Problems, c.problem)
		}
	}
}
