package lab

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// clearAWSEnv unsets the variables that would take precedence over the
// written files for the duration of the test.
func clearAWSEnv(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if v, ok := os.LookupEnv(k); ok {
			os.Unsetenv(k)
			t.Cleanup(func() { os.Setenv(k, v) })
		}
	}
}

// aws-sdk-go-v2's LoadDefaultConfig reads the written files: a user
// profile calls STS and IAM through endpoint_url, and a role profile
// assumes its role through the services section (the STS client of
// credential resolution does not see endpoint_url).
func TestWriteConfigWithSDK(t *testing.T) {
	clearAWSEnv(t)
	l, url := start(t, Options{})
	cfg, err := WriteConfig(l, url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	load := func(profile string) aws.Config {
		c, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigFiles([]string{cfg.ConfigFile}), config.WithSharedCredentialsFiles([]string{cfg.CredentialsFile}), config.WithSharedConfigProfile(profile))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	user := load(DefaultUser)
	id, err := sts.NewFromConfig(user).GetCallerIdentity(ctx, nil)
	if err != nil || *id.Arn != "arn:aws:iam::000000000000:user/lab-user" {
		t.Fatalf("STS with lab-user: %v", err)
	}
	keys, err := iam.NewFromConfig(user).ListAccessKeys(ctx, nil)
	if err != nil || len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != l.Users()[0].AccessKeyID {
		t.Fatalf("IAM with lab-user: %v", err)
	}
	for profile, want := range map[string]string{
		DefaultRole:         "arn:aws:sts::000000000000:assumed-role/lab-role/",
		DefaultExternalRole: "arn:aws:sts::000000000000:assumed-role/lab-partner-role/",
		DefaultWebRole:      "arn:aws:sts::000000000000:assumed-role/lab-web-role/lab-workload",
	} {
		id, err := sts.NewFromConfig(load(profile)).GetCallerIdentity(ctx, nil)
		if err != nil || !strings.HasPrefix(*id.Arn, want) {
			t.Errorf("%s: %v", profile, err)
		}
	}
}

// The built-in seed's files: which profiles, which is the default, what
// the MFA role asks for, and modes that keep the keys to their owner.
func TestWriteConfigFiles(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lab-aws")
	cfg, err := WriteConfig(l, "http://127.0.0.1:4567", dir)
	if err != nil {
		t.Fatal(err)
	}
	wantProfiles := []string{DefaultUser, DefaultRole, DefaultExternalRole, DefaultMFARole, DefaultWebRole, ServedProfile}
	if !slices.Equal(cfg.Profiles, wantProfiles) || cfg.DefaultProfile != DefaultRole {
		t.Errorf("profiles %v (default %s), want %v (default %s)", cfg.Profiles, cfg.DefaultProfile, wantProfiles, DefaultRole)
	}
	conf, err := os.ReadFile(cfg.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[profile lab-partner-role]\nrole_arn = arn:aws:iam::000000000000:role/lab-partner-role\nsource_profile = lab-user\nexternal_id = lab-external-id\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4567\nservices = credkit-lab\n",
		"[profile lab-mfa-role]\nrole_arn = arn:aws:iam::000000000000:role/lab-mfa-role\nsource_profile = lab-user\nmfa_serial = arn:aws:iam::000000000000:mfa/lab-user\n",
		"web_identity_token_file = " + filepath.Join(dir, "lab-web-role.web-identity-token") + "\n",
		"[services credkit-lab]\nsts =\n  endpoint_url = http://127.0.0.1:4567\niam =\n  endpoint_url = http://127.0.0.1:4567\n",
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks\n%s\nin\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), l.Users()[0].SecretAccessKey) {
		t.Error("the config file holds the secret key; it belongs in the credentials file")
	}
	cred, _ := os.ReadFile(cfg.CredentialsFile)
	if !strings.Contains(string(cred), "aws_secret_access_key = "+l.Users()[0].SecretAccessKey) {
		t.Errorf("credentials file:\n%s", cred)
	}
	mfa, _ := os.ReadFile(filepath.Join(dir, DefaultUser+".mfa"))
	if strings.TrimSpace(string(mfa)) != l.Users()[0].MFASecret {
		t.Errorf("%s.mfa holds %q", DefaultUser, mfa)
	}
	tok, _ := os.ReadFile(cfg.TokenFiles[0])
	if _, te := l.verifyJWT(string(tok)); te != nil {
		t.Errorf("web identity token file: %s", te.msg)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode: %v %v", fi.Mode(), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 4 {
		t.Errorf("files %v, want config, credentials, one .mfa and one token", files)
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", f, fi.Mode(), err)
		}
	}
}

// A seed without users: roles that need a source profile get none, the
// default is the served profile, and no half-written profile is left.
func TestWriteConfigWithoutUsers(t *testing.T) {
	seed := DefaultSeed()
	seed.Users = nil
	l, err := New(Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := WriteConfig(l, "http://127.0.0.1:4567", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{DefaultWebRole, ServedProfile}; !slices.Equal(cfg.Profiles, want) || cfg.DefaultProfile != ServedProfile {
		t.Errorf("profiles %v (default %s), want %v (default %s)", cfg.Profiles, cfg.DefaultProfile, want, ServedProfile)
	}
	conf, _ := os.ReadFile(cfg.ConfigFile)
	if strings.Contains(string(conf), "role/"+DefaultRole+"\n") {
		t.Errorf("config names %s with nothing to assume it with:\n%s", DefaultRole, conf)
	}
}

// RefreshTokens returns when its context ends.
func TestRefreshTokensStops(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := WriteConfig(l, "http://127.0.0.1:4567", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cfg.RefreshTokens(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RefreshTokens still running after its context ended")
	}
}
