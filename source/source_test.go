package source

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// Secret values used in the tests; no error may contain them.
const (
	secretA = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	secretB = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	tokenA  = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

// absent marks a file the test does not create.
const absent = "\x00absent"

// fakeEnv is the environment a test sees; the real one is never read.
type fakeEnv map[string]string

func (e fakeEnv) get(k string) string { return e[k] }

// loadFiles writes ~/.aws/config and ~/.aws/credentials (unless absent)
// under a fresh home directory and loads them.
func loadFiles(t *testing.T, config, credentials string) *awsconfig.Files {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, ".aws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"config": config, "credentials": credentials} {
		if content == absent {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := awsconfig.Load(awsconfig.Options{HomeDir: home, Getenv: fakeEnv{}.get})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

// noSecrets fails when an error message shows a secret.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{secretA, secretB, tokenA} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains a secret: %q", err)
		}
	}
}

// containsAll fails unless msg contains every want.
func containsAll(t *testing.T, msg string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not contain %q", msg, w)
		}
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     fakeEnv
		wantOK  bool
		want    creds.Credentials
		wantErr []string
		wantIs  error
	}{
		{name: "nothing set", env: fakeEnv{}},
		{name: "only a session token", env: fakeEnv{"AWS_SESSION_TOKEN": tokenA}},
		{
			name:   "key id and secret",
			env:    fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secretA},
			wantOK: true,
			want:   creds.Credentials{AccessKeyID: "AKIDENV", SecretAccessKey: secretA, Source: "environment"},
		},
		{
			name: "session token, expiration and account id",
			env: fakeEnv{"AWS_ACCESS_KEY_ID": "ASIAENV", "AWS_SECRET_ACCESS_KEY": secretA, "AWS_SESSION_TOKEN": tokenA,
				"AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05.5+02:00", "AWS_ACCOUNT_ID": "123456789012"},
			wantOK: true,
			want: creds.Credentials{AccessKeyID: "ASIAENV", SecretAccessKey: secretA, SessionToken: tokenA,
				Expires: time.Date(2030, 1, 2, 1, 4, 5, 5e8, time.UTC), AccountID: "123456789012", Source: "environment"},
		},
		{
			name:   "legacy AWS_ACCESS_KEY and AWS_SECRET_KEY",
			env:    fakeEnv{"AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_KEY": secretB},
			wantOK: true,
			want:   creds.Credentials{AccessKeyID: "AKIDOLD", SecretAccessKey: secretB, Source: "environment"},
		},
		{
			name:   "the current names win over the legacy ones",
			env:    fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDNEW", "AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_ACCESS_KEY": secretA, "AWS_SECRET_KEY": secretB},
			wantOK: true,
			want:   creds.Credentials{AccessKeyID: "AKIDNEW", SecretAccessKey: secretA, Source: "environment"},
		},
		{
			name:   "current id with legacy secret",
			env:    fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDNEW", "AWS_SECRET_KEY": secretB},
			wantOK: true,
			want:   creds.Credentials{AccessKeyID: "AKIDNEW", SecretAccessKey: secretB, Source: "environment"},
		},
		{
			name:    "key id without secret",
			env:     fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SESSION_TOKEN": tokenA},
			wantErr: []string{"AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY) is not"},
			wantIs:  ErrPartialCredentials,
		},
		{
			name:    "secret without key id",
			env:     fakeEnv{"AWS_SECRET_ACCESS_KEY": secretA},
			wantErr: []string{"AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) is not"},
			wantIs:  ErrPartialCredentials,
		},
		{
			name:    "legacy secret without key id",
			env:     fakeEnv{"AWS_SECRET_KEY": secretA},
			wantErr: []string{"AWS_SECRET_KEY is set but AWS_ACCESS_KEY_ID"},
			wantIs:  ErrPartialCredentials,
		},
		{
			name:    "malformed expiration",
			env:     fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secretA, "AWS_CREDENTIAL_EXPIRATION": "2030-01-02 03:04:05"},
			wantErr: []string{`AWS_CREDENTIAL_EXPIRATION="2030-01-02 03:04:05" is not an RFC 3339 time`, "2006-01-02T15:04:05Z"},
		},
		{
			name:    "expiration as epoch seconds",
			env:     fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secretA, "AWS_CREDENTIAL_EXPIRATION": "1893456000"},
			wantErr: []string{"AWS_CREDENTIAL_EXPIRATION", "RFC 3339"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := Env(tc.env.get)
			noSecrets(t, err)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Env = %v, %v; want an error", got, ok)
				}
				containsAll(t, err.Error(), tc.wantErr...)
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tc.wantIs)
				}
				if ok || got != (creds.Credentials{}) {
					t.Errorf("Env returned credentials with an error: %v, %v", got, ok)
				}
				return
			}
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			if ok != tc.wantOK || !sameCreds(got, tc.want) {
				t.Errorf("Env = %#v, %v\n want %#v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// sameCreds compares every field, the secret included (Credentials'
// String hides it).
func sameCreds(a, b creds.Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecretAccessKey == b.SecretAccessKey &&
		a.SessionToken == b.SessionToken && a.Expires.Equal(b.Expires) &&
		a.Source == b.Source && a.AccountID == b.AccountID
}

func TestProfile(t *testing.T) {
	tests := []struct {
		name          string
		config, creds string
		profile       string
		want          creds.Credentials
		wantErr       []string
		wantIs        []error
		wantKind      string
	}{
		{
			name:    "keys in the credentials file",
			config:  "[profile dev]\nregion = eu-west-1\n",
			creds:   "[dev]\naws_access_key_id = AKIDCRED\naws_secret_access_key = " + secretA + "\n",
			profile: "dev",
			want:    creds.Credentials{AccessKeyID: "AKIDCRED", SecretAccessKey: secretA, Source: "shared credentials file (profile dev)"},
		},
		{
			name:    "keys in the config file",
			config:  "[profile dev]\naws_access_key_id = AKIDCFG\naws_secret_access_key = " + secretB + "\naws_session_token = " + tokenA + "\naws_account_id = 123456789012\n",
			creds:   absent,
			profile: "dev",
			want: creds.Credentials{AccessKeyID: "AKIDCFG", SecretAccessKey: secretB, SessionToken: tokenA, AccountID: "123456789012",
				Source: "shared config file (profile dev)"},
		},
		{
			name:    "the credentials file wins, with its own session token only",
			config:  "[default]\naws_access_key_id = AKIDCFG\naws_secret_access_key = " + secretB + "\naws_session_token = " + tokenA + "\n",
			creds:   "[default]\naws_access_key_id = AKIDCRED\naws_secret_access_key = " + secretA + "\n",
			profile: "default",
			want:    creds.Credentials{AccessKeyID: "AKIDCRED", SecretAccessKey: secretA, Source: "shared credentials file (profile default)"},
		},
		{
			name:     "role_arn with source_profile",
			config:   "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = base\n",
			creds:    "[admin]\naws_access_key_id = AKIDCRED\naws_secret_access_key = " + secretA + "\n",
			profile:  "admin",
			wantErr:  []string{"profile admin gets its credentials by assume role with source_profile base (role_arn at ~/.aws/config:2)", "only static keys"},
			wantIs:   []error{ErrNotStatic},
			wantKind: "assume role with source_profile base",
		},
		{
			name:     "role_arn with credential_source",
			config:   "[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n",
			creds:    absent,
			profile:  "ec2",
			wantIs:   []error{ErrNotStatic},
			wantKind: "assume role with credential_source Ec2InstanceMetadata",
		},
		{
			name:     "web identity",
			config:   "[profile k8s]\nrole_arn = arn:aws:iam::123456789012:role/r\nweb_identity_token_file = /var/run/token\n",
			creds:    absent,
			profile:  "k8s",
			wantErr:  []string{"by web identity (web_identity_token_file at ~/.aws/config:3)"},
			wantIs:   []error{ErrNotStatic},
			wantKind: "web identity",
		},
		{
			name:     "SSO session",
			config:   "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n",
			creds:    absent,
			profile:  "sso",
			wantErr:  []string{"by SSO (sso_session at ~/.aws/config:2)"},
			wantIs:   []error{ErrNotStatic},
			wantKind: "SSO",
		},
		{
			name:     "credential_process",
			config:   "[profile proc]\ncredential_process = /usr/local/bin/get-creds --profile x\n",
			creds:    absent,
			profile:  "proc",
			wantErr:  []string{"by credential_process (credential_process at ~/.aws/config:2)"},
			wantIs:   []error{ErrNotStatic},
			wantKind: "credential_process",
		},
		{
			name:    "static keys win over credential_process, as in aws-sdk-go-v2",
			config:  "[profile both]\ncredential_process = /bin/false\naws_access_key_id = AKIDCFG\naws_secret_access_key = " + secretB + "\n",
			creds:   absent,
			profile: "both",
			want:    creds.Credentials{AccessKeyID: "AKIDCFG", SecretAccessKey: secretB, Source: "shared config file (profile both)"},
		},
		{
			name:    "key id without secret names the key id's line",
			config:  absent,
			creds:   "[default]\nregion = x\naws_access_key_id = AKIDCRED\n",
			profile: "default",
			wantErr: []string{"profile default: aws_access_key_id at ~/.aws/credentials:3 has no aws_secret_access_key next to it in the shared credentials file"},
			wantIs:  []error{ErrPartialCredentials},
		},
		{
			name:    "secret without key id",
			config:  "[profile dev]\naws_secret_access_key = " + secretA + "\n",
			creds:   absent,
			profile: "dev",
			wantErr: []string{"aws_secret_access_key at ~/.aws/config:2 has no aws_access_key_id"},
			wantIs:  []error{ErrPartialCredentials},
		},
		{
			name:    "empty secret",
			config:  absent,
			creds:   "[dev]\naws_access_key_id = AKIDCRED\naws_secret_access_key =\n",
			profile: "dev",
			wantErr: []string{"aws_secret_access_key at ~/.aws/credentials:3 is empty"},
			wantIs:  []error{ErrPartialCredentials},
		},
		{
			name:    "keys are not combined across the files",
			config:  "[profile dev]\naws_secret_access_key = " + secretB + "\n",
			creds:   "[dev]\naws_access_key_id = AKIDCRED\n",
			profile: "dev",
			wantErr: []string{"aws_access_key_id at ~/.aws/credentials:2 has no aws_secret_access_key",
				"(the aws_secret_access_key at ~/.aws/config:2 is not used with keys from the shared credentials file)"},
			wantIs: []error{ErrPartialCredentials},
		},
		{
			name:    "a profile with no credentials",
			config:  "[profile dev]\nregion = eu-west-1\n",
			creds:   absent,
			profile: "dev",
			wantErr: []string{"no AWS credentials found in profile dev (~/.aws/config:1): it has no aws_access_key_id and aws_secret_access_key"},
			wantIs:  []error{ErrNoCredentials},
		},
		{
			name:    "a profile that does not exist",
			config:  "[profile dev]\nregion = eu-west-1\n",
			creds:   "[ci]\naws_access_key_id = AKIDCRED\naws_secret_access_key = " + secretA + "\n",
			profile: "prod",
			wantErr: []string{`profile "prod" not found in ~/.aws/config or ~/.aws/credentials; profiles found: ci, dev`},
			wantIs:  []error{awsconfig.ErrProfileNotFound},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := loadFiles(t, tc.config, tc.creds)
			got, err := Profile(files, tc.profile)
			noSecrets(t, err)
			if tc.wantErr != nil || tc.wantIs != nil {
				if err == nil {
					t.Fatalf("Profile = %v; want an error", got)
				}
				containsAll(t, err.Error(), tc.wantErr...)
				for _, is := range tc.wantIs {
					if !errors.Is(err, is) {
						t.Errorf("errors.Is(%q, %v) = false", err, is)
					}
				}
				if tc.wantKind != "" {
					var ns *NotStaticError
					if !errors.As(err, &ns) || ns.Kind != tc.wantKind || ns.Profile != tc.profile || !ns.Pos.IsValid() {
						t.Errorf("NotStaticError = %+v, want kind %q", ns, tc.wantKind)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Profile: %v", err)
			}
			if !sameCreds(got, tc.want) {
				t.Errorf("Profile = %#v\n want %#v", got, tc.want)
			}
		})
	}
}

func TestRegion(t *testing.T) {
	const config = "[default]\nregion = us-east-1\n[profile dev]\noutput = json\nregion = eu-west-1\n[profile none]\noutput = json\n"
	tests := []struct {
		name      string
		env       fakeEnv
		profile   string
		files     bool
		want      string
		wantFrom  string
		credsFile string
	}{
		{name: "AWS_REGION first", env: fakeEnv{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "sa-east-1"}, profile: "dev", files: true, want: "ap-south-1", wantFrom: "AWS_REGION"},
		{name: "then AWS_DEFAULT_REGION", env: fakeEnv{"AWS_DEFAULT_REGION": "sa-east-1"}, profile: "dev", files: true, want: "sa-east-1", wantFrom: "AWS_DEFAULT_REGION"},
		{name: "then the profile", env: fakeEnv{}, profile: "dev", files: true, want: "eu-west-1", wantFrom: "profile dev in ~/.aws/config"},
		{name: "an empty profile means AWS_PROFILE", env: fakeEnv{"AWS_PROFILE": "dev"}, files: true, want: "eu-west-1", wantFrom: "profile dev in ~/.aws/config"},
		{name: "an empty profile and no AWS_PROFILE means default", env: fakeEnv{}, files: true, want: "us-east-1", wantFrom: "profile default in ~/.aws/config"},
		{name: "a region in the credentials file counts", env: fakeEnv{}, profile: "ci", files: true, credsFile: "[ci]\nregion = ca-central-1\n", want: "ca-central-1", wantFrom: "profile ci in ~/.aws/credentials"},
		{name: "a profile without region", env: fakeEnv{}, profile: "none", files: true},
		{name: "a profile that does not exist", env: fakeEnv{}, profile: "prod", files: true},
		{name: "no files", env: fakeEnv{}, profile: "dev"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files *awsconfig.Files
			if tc.files {
				c := tc.credsFile
				if c == "" {
					c = absent
				}
				files = loadFiles(t, config, c)
			}
			got, from := Region(tc.env.get, files, tc.profile)
			if got != tc.want || from != tc.wantFrom {
				t.Errorf("Region = %q, %q; want %q, %q", got, from, tc.want, tc.wantFrom)
			}
		})
	}
}

func TestProfileName(t *testing.T) {
	tests := []struct {
		name string
		env  fakeEnv
		flag string
		want string
	}{
		{"the flag wins", fakeEnv{"AWS_PROFILE": "env", "AWS_DEFAULT_PROFILE": "olderenv"}, "flag", "flag"},
		{"then AWS_PROFILE", fakeEnv{"AWS_PROFILE": "env", "AWS_DEFAULT_PROFILE": "olderenv"}, "", "env"},
		{"then AWS_DEFAULT_PROFILE", fakeEnv{"AWS_DEFAULT_PROFILE": "olderenv"}, "", "olderenv"},
		{"an empty AWS_PROFILE does not count", fakeEnv{"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "olderenv"}, "", "olderenv"},
		{"else default", fakeEnv{}, "", "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProfileName(tc.env.get, tc.flag); got != tc.want {
				t.Errorf("ProfileName = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	const (
		credsFile = "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " + secretA + "\n" +
			"[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = " + secretB + "\n"
		configFile = "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/admin\nsource_profile = dev\n[profile empty]\nregion = x\n"
	)
	envKeys := fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secretA, "AWS_SESSION_TOKEN": tokenA}
	with := func(base fakeEnv, kv ...string) fakeEnv {
		out := fakeEnv{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name          string
		env           fakeEnv
		flag          string
		config, creds string
		nilFiles      bool
		wantKeyID     string
		wantSource    string
		wantErr       []string
		wantIs        []error
		wantNotIs     []error
	}{
		{
			name: "an explicit --profile wins over environment keys",
			env:  envKeys, flag: "dev", config: configFile, creds: credsFile,
			wantKeyID: "AKIDDEV", wantSource: "shared credentials file (profile dev)",
		},
		{
			name: "environment keys win over AWS_PROFILE",
			env:  with(envKeys, "AWS_PROFILE", "dev"), config: configFile, creds: credsFile,
			wantKeyID: "AKIDENV", wantSource: "environment",
		},
		{
			name: "environment keys win over the default profile",
			env:  envKeys, config: configFile, creds: credsFile,
			wantKeyID: "AKIDENV", wantSource: "environment",
		},
		{
			name: "AWS_PROFILE without environment keys",
			env:  fakeEnv{"AWS_PROFILE": "dev"}, config: configFile, creds: credsFile,
			wantKeyID: "AKIDDEV", wantSource: "shared credentials file (profile dev)",
		},
		{
			name: "AWS_DEFAULT_PROFILE",
			env:  fakeEnv{"AWS_DEFAULT_PROFILE": "dev"}, config: configFile, creds: credsFile,
			wantKeyID: "AKIDDEV",
		},
		{
			name: "the default profile",
			env:  fakeEnv{}, config: configFile, creds: credsFile,
			wantKeyID: "AKIDDEFAULT", wantSource: "shared credentials file (profile default)",
		},
		{
			name: "nothing anywhere",
			env:  fakeEnv{}, config: absent, creds: absent,
			wantErr: []string{
				"no AWS credentials found: looked at the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
				`profile "default" in ~/.aws/credentials (absent) and ~/.aws/config (absent) (no such profile)`,
				"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME for a profile with aws_access_key_id and aws_secret_access_key in ~/.aws/credentials",
			},
			wantIs: []error{ErrNoCredentials},
		},
		{
			name: "files without a default profile",
			env:  fakeEnv{}, config: configFile, creds: "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = " + secretB + "\n",
			wantErr: []string{`profile "default" in ~/.aws/credentials and ~/.aws/config (no such profile)`},
			wantIs:  []error{ErrNoCredentials},
		},
		{
			name: "a default profile without keys",
			env:  fakeEnv{}, config: "[default]\nregion = us-east-1\n", creds: absent,
			wantErr: []string{`profile "default" in ~/.aws/credentials (absent) and ~/.aws/config (it has no keys)`},
			wantIs:  []error{ErrNoCredentials},
		},
		{
			name: "no files at all",
			env:  fakeEnv{}, nilFiles: true,
			wantErr: []string{"in the shared credentials file and the shared config file", "with aws_access_key_id and aws_secret_access_key in the shared credentials file"},
			wantIs:  []error{ErrNoCredentials},
		},
		{
			name: "AWS_PROFILE names a missing profile",
			env:  fakeEnv{"AWS_PROFILE": "prod"}, config: configFile, creds: credsFile,
			wantErr:   []string{`using the profile from AWS_PROFILE: profile "prod" not found`, "profiles found: admin, default, dev, empty"},
			wantIs:    []error{awsconfig.ErrProfileNotFound},
			wantNotIs: []error{ErrNoCredentials},
		},
		{
			name: "--profile names a missing profile",
			env:  envKeys, flag: "prod", config: configFile, creds: credsFile,
			wantErr: []string{`using the profile from --profile: profile "prod" not found`},
			wantIs:  []error{awsconfig.ErrProfileNotFound},
		},
		{
			name: "--profile names a profile that assumes a role",
			env:  envKeys, flag: "admin", config: configFile, creds: credsFile,
			wantErr: []string{"profile admin gets its credentials by assume role", "role_arn at ~/.aws/config:2"},
			wantIs:  []error{ErrNotStatic},
		},
		{
			name: "AWS_PROFILE names a profile without keys",
			env:  fakeEnv{"AWS_PROFILE": "empty"}, config: configFile, creds: credsFile,
			wantErr: []string{"using the profile from AWS_PROFILE: no AWS credentials found in profile empty (~/.aws/config:4)"},
			wantIs:  []error{ErrNoCredentials},
		},
		{
			name: "partial environment keys are an error, not a fall-through",
			env:  fakeEnv{"AWS_ACCESS_KEY_ID": "AKIDENV"}, config: configFile, creds: credsFile,
			wantErr: []string{"AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY"},
			wantIs:  []error{ErrPartialCredentials},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var files *awsconfig.Files
			if !tc.nilFiles {
				files = loadFiles(t, tc.config, tc.creds)
			}
			got, err := Find(tc.env.get, files, tc.flag)
			noSecrets(t, err)
			if tc.wantErr != nil || tc.wantIs != nil {
				if err == nil {
					t.Fatalf("Find = %v; want an error", got)
				}
				containsAll(t, err.Error(), tc.wantErr...)
				for _, is := range tc.wantIs {
					if !errors.Is(err, is) {
						t.Errorf("errors.Is(%q, %v) = false", err, is)
					}
				}
				for _, is := range tc.wantNotIs {
					if errors.Is(err, is) {
						t.Errorf("errors.Is(%q, %v) = true", err, is)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if got.AccessKeyID != tc.wantKeyID || (tc.wantSource != "" && got.Source != tc.wantSource) {
				t.Errorf("Find = %v; want key %s from %q", got, tc.wantKeyID, tc.wantSource)
			}
		})
	}
}
