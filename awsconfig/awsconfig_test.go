package awsconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// absent marks a file that the test does not create.
const absent = "\x00absent"

// fakeEnv is the environment a test sees; the real one is never read.
type fakeEnv map[string]string

func (e fakeEnv) get(k string) string { return e[k] }

// writeFiles creates ~/.aws/config and ~/.aws/credentials under a fresh
// home directory (unless absent) and returns Options that read them.
func writeFiles(t *testing.T, config, credentials string) Options {
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
	return Options{HomeDir: home, Getenv: fakeEnv{}.get}
}

func load(t *testing.T, config, credentials string) *Files {
	t.Helper()
	f, err := Load(writeFiles(t, config, credentials))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

func TestProfiles(t *testing.T) {
	tests := []struct {
		name          string
		config, creds string
		profile       string
		want          map[string]string            // key -> value (every key of the profile)
		pos           map[string]string            // key -> file:line
		nested        map[string]map[string]string // key -> nested block
		defined       []string
	}{
		{
			name:    "credentials file wins over config file for the same key",
			config:  "[profile dev]\nregion = eu-west-1\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = secretconfig\n",
			creds:   "[dev]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = secretcreds\n",
			profile: "dev",
			want: map[string]string{
				"region":                "eu-west-1",
				"aws_access_key_id":     "AKIDCREDS",
				"aws_secret_access_key": "secretcreds",
			},
			pos: map[string]string{
				"region":            "~/.aws/config:2",
				"aws_access_key_id": "~/.aws/credentials:2",
			},
			defined: []string{"~/.aws/config:1", "~/.aws/credentials:1"},
		},
		{
			name:    "keys are case-insensitive, section names are not",
			config:  "[profile Dev]\nREGION = us-east-1\nRole_Arn: arn:aws:iam::123456789012:role/x\n",
			creds:   absent,
			profile: "Dev",
			want:    map[string]string{"region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/x"},
			pos:     map[string]string{"Region": "~/.aws/config:2", "ROLE_ARN": "~/.aws/config:3"},
		},
		{
			name:    "[default] then [profile default]: the later section is used",
			config:  "[default]\nregion = us-east-1\noutput = json\n\n[profile default]\nregion = eu-west-1\n",
			creds:   absent,
			profile: "default",
			want:    map[string]string{"region": "eu-west-1"},
			pos:     map[string]string{"region": "~/.aws/config:6"},
			defined: []string{"~/.aws/config:5"},
		},
		{
			name:    "[profile default] then [default]: the later section is used",
			config:  "[profile default]\nregion = eu-west-1\n[default]\nregion = us-east-1\n",
			creds:   absent,
			profile: "default",
			want:    map[string]string{"region": "us-east-1"},
			pos:     map[string]string{"region": "~/.aws/config:4"},
		},
		{
			name:    "nested block",
			config:  "[profile dev]\ns3 =\n  max_concurrent_requests = 10\n  Addressing_Style = path\nregion = us-east-2\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"s3": "", "region": "us-east-2"},
			pos:     map[string]string{"s3": "~/.aws/config:2", "region": "~/.aws/config:5"},
			nested:  map[string]map[string]string{"s3": {"max_concurrent_requests": "10", "Addressing_Style": "path"}},
		},
		{
			name:    "nested block with empty and comment lines inside",
			config:  "[profile dev]\ns3 =\n\n  # a comment\n  a = 1 ; kept\n\n  b=2\n\nregion = x\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"s3": "", "region": "x"},
			nested:  map[string]map[string]string{"s3": {"a": "1 ; kept", "b": "2"}},
		},
		{
			name:    "comments: full-line # and ; even indented; inline ones are part of the value",
			config:  "# top\n; top\n[profile dev]\n  # indented comment\nregion = us-east-1 # not a comment\noutput = json;x\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"region": "us-east-1 # not a comment", "output": "json;x"},
			pos:     map[string]string{"region": "~/.aws/config:5", "output": "~/.aws/config:6"},
		},
		{
			name:    "a value continued on deeper indented lines",
			config:  "[profile dev]\ncredential_process = /bin/tool\n   --flag\nregion = us-east-1\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"credential_process": "/bin/tool\n--flag", "region": "us-east-1"},
			pos:     map[string]string{"region": "~/.aws/config:4"},
		},
		{
			name:    "split at the first = or :, quotes kept",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::1:role/a=b\nendpoint_url: http://localhost:4566\nx = \"quoted\"\n",
			creds:   absent,
			profile: "dev",
			want: map[string]string{
				"role_arn":     "arn:aws:iam::1:role/a=b",
				"endpoint_url": "http://localhost:4566",
				"x":            `"quoted"`,
			},
		},
		{
			name:    "[DEFAULT] keys are inherited by every section of its file",
			config:  "[DEFAULT]\noutput = json\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n",
			creds:   "[DEFAULT]\ncli_pager =\n[dev]\nx = 1\n",
			profile: "dev",
			want:    map[string]string{"output": "json", "region": "eu-west-1", "cli_pager": "", "x": "1"},
			pos:     map[string]string{"output": "~/.aws/config:2", "region": "~/.aws/config:5", "cli_pager": "~/.aws/credentials:2"},
		},
		{
			name:    "quoted profile name",
			config:  "[profile \"my profile\"]\nregion = ap-south-1\n",
			creds:   absent,
			profile: "my profile",
			want:    map[string]string{"region": "ap-south-1"},
		},
		{
			name:    "profile only in the credentials file",
			config:  absent,
			creds:   "[ci]\naws_access_key_id = AKIDCI\naws_secret_access_key = s\n",
			profile: "ci",
			want:    map[string]string{"aws_access_key_id": "AKIDCI", "aws_secret_access_key": "s"},
			defined: []string{"~/.aws/credentials:1"},
		},
		{
			name:    "CRLF and CR line ends, BOM",
			config:  "\ufeff[default]\r\nregion = us-east-1\r\noutput = json\rx = 1\n",
			creds:   absent,
			profile: "default",
			want:    map[string]string{"region": "us-east-1", "output": "json", "x": "1"},
			pos:     map[string]string{"x": "~/.aws/config:4"},
		},
		{
			name:    "indented section and keys",
			config:  "  [profile dev]\n  region = us-east-1\n  output = json\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"region": "us-east-1", "output": "json"},
		},
		{
			name:    "unknown keys are kept",
			config:  "[profile dev]\nmy_tool_setting = yes\n",
			creds:   absent,
			profile: "dev",
			want:    map[string]string{"my_tool_setting": "yes"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t, tc.config, tc.creds)
			p, err := f.Profile(tc.profile)
			if err != nil {
				t.Fatalf("Profile(%q): %v", tc.profile, err)
			}
			if p.Name != tc.profile {
				t.Errorf("Name = %q", p.Name)
			}
			got := map[string]string{}
			for _, k := range p.Keys() {
				got[k], _ = p.Get(k)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("values:\n got %q\nwant %q", got, tc.want)
			}
			for k, want := range tc.pos {
				if g := p.Pos(k).String(); g != want {
					t.Errorf("Pos(%q) = %q, want %q", k, g, want)
				}
			}
			for k, want := range tc.nested {
				g, ok := p.Nested(k)
				if !ok || !reflect.DeepEqual(g, want) {
					t.Errorf("Nested(%q) = %q, %v; want %q", k, g, ok, want)
				}
			}
			if tc.defined != nil {
				var g []string
				for _, d := range p.Defined() {
					g = append(g, d.String())
				}
				if !reflect.DeepEqual(g, tc.defined) {
					t.Errorf("Defined() = %q, want %q", g, tc.defined)
				}
			}
		})
	}
}

func TestNestedPositions(t *testing.T) {
	f := load(t, "[profile dev]\ns3 =\n  max_concurrent_requests = 10\n\n  addressing_style = path\n", absent)
	p, err := f.Profile("dev")
	if err != nil {
		t.Fatal(err)
	}
	if g := p.NestedPos("s3", "addressing_style").String(); g != "~/.aws/config:5" {
		t.Errorf("NestedPos = %q", g)
	}
	if _, ok := p.Nested("region"); ok {
		t.Error("Nested(region) reported a block that is not there")
	}
}

func TestTypedAccessors(t *testing.T) {
	f := load(t, `[profile dev]
aws_access_key_id = AKIDEXAMPLE
aws_secret_access_key = secretvalue
aws_session_token = tokenvalue
region = eu-central-1
role_arn = arn:aws:iam::123456789012:role/r
source_profile = base
credential_source = Environment
credential_process = /usr/bin/tool
sso_session = corp
endpoint_url = http://127.0.0.1:9000
web_identity_token_file = /tmp/token
`, absent)
	p, err := f.Profile("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want string }{
		{p.AccessKeyID(), "AKIDEXAMPLE"},
		{p.SecretAccessKey(), "secretvalue"},
		{p.SessionToken(), "tokenvalue"},
		{p.Region(), "eu-central-1"},
		{p.RoleARN(), "arn:aws:iam::123456789012:role/r"},
		{p.SourceProfile(), "base"},
		{p.CredentialSource(), "Environment"},
		{p.CredentialProcess(), "/usr/bin/tool"},
		{p.SSOSession(), "corp"},
		{p.EndpointURL(), "http://127.0.0.1:9000"},
		{p.WebIdentityTokenFile(), "/tmp/token"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if k, ok := p.Origin("region"); !ok || k != KindConfig {
		t.Errorf("Origin(region) = %v, %v", k, ok)
	}
}

func TestSSOSessionsAndServices(t *testing.T) {
	f := load(t, `[profile dev]
sso_session = corp
services = local
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
[services local]
s3 =
  endpoint_url = http://127.0.0.1:9000
`, absent)
	s, ok := f.SSOSession("corp")
	if !ok {
		t.Fatal("SSOSession(corp) not found")
	}
	if v, _ := s.Get("sso_region"); v != "us-east-1" || s.Pos("sso_region").String() != "~/.aws/config:6" {
		t.Errorf("sso_region = %q at %s", v, s.Pos("sso_region"))
	}
	svc, ok := f.Services("local")
	if !ok {
		t.Fatal("Services(local) not found")
	}
	if m, _ := svc.Nested("s3"); m["endpoint_url"] != "http://127.0.0.1:9000" {
		t.Errorf("services s3 = %q", m)
	}
	if _, ok := f.SSOSession("other"); ok {
		t.Error("SSOSession(other) found")
	}
	if got := f.ProfileNames(); !reflect.DeepEqual(got, []string{"dev"}) {
		t.Errorf("ProfileNames = %q: sso-session and services sections are not profiles", got)
	}
}

func TestProfileNamesAndSources(t *testing.T) {
	f := load(t,
		"[default]\nregion = us-east-1\n[profile dev]\nregion = x\n[profile both]\nregion = y\n[preview]\ncloudfront = true\n",
		"[both]\naws_access_key_id = A\naws_secret_access_key = s\n[ci]\naws_access_key_id = B\naws_secret_access_key = s\n")
	if got, want := f.ProfileNames(), []string{"both", "ci", "default", "dev"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ProfileNames = %q, want %q", got, want)
	}
	tests := []struct {
		profile string
		want    []string
	}{
		{"both", []string{"~/.aws/config:5", "~/.aws/credentials:1"}},
		{"ci", []string{"~/.aws/credentials:4"}},
		{"dev", []string{"~/.aws/config:3"}},
		{"preview", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range f.ProfileSources(tc.profile) {
			got = append(got, p.String())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ProfileSources(%q) = %q, want %q", tc.profile, got, tc.want)
		}
	}
	if p, ok := f.ProfileIn(KindCredentials, "both"); !ok || p.Region() != "" || p.AccessKeyID() != "A" {
		t.Errorf("ProfileIn(credentials, both) = %v, %v", p, ok)
	}
	if p, ok := f.ProfileIn(KindConfig, "both"); !ok || p.Region() != "y" || p.AccessKeyID() != "" {
		t.Errorf("ProfileIn(config, both) = %v, %v", p, ok)
	}
	if _, ok := f.ProfileIn(KindConfig, "ci"); ok {
		t.Error("ProfileIn(config, ci) found a profile that is only in the credentials file")
	}
}

func TestFileLocations(t *testing.T) {
	home := t.TempDir()
	other := t.TempDir()
	tests := []struct {
		name        string
		opts        Options
		env         fakeEnv
		wantConfig  string
		wantCreds   string
		wantFromCfg string
	}{
		{
			name:        "defaults under the home directory",
			opts:        Options{HomeDir: home},
			wantConfig:  filepath.Join(home, ".aws", "config"),
			wantCreds:   filepath.Join(home, ".aws", "credentials"),
			wantFromCfg: "default location",
		},
		{
			name:        "environment variables",
			opts:        Options{HomeDir: home},
			env:         fakeEnv{"AWS_CONFIG_FILE": filepath.Join(other, "c"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(other, "k")},
			wantConfig:  filepath.Join(other, "c"),
			wantCreds:   filepath.Join(other, "k"),
			wantFromCfg: "AWS_CONFIG_FILE",
		},
		{
			name:        "options win over the environment",
			opts:        Options{HomeDir: home, ConfigFile: filepath.Join(other, "oc"), CredentialsFile: filepath.Join(other, "ok")},
			env:         fakeEnv{"AWS_CONFIG_FILE": filepath.Join(other, "c")},
			wantConfig:  filepath.Join(other, "oc"),
			wantCreds:   filepath.Join(other, "ok"),
			wantFromCfg: "Options",
		},
		{
			name:        "a leading ~/ is the home directory",
			opts:        Options{HomeDir: home},
			env:         fakeEnv{"AWS_CONFIG_FILE": "~/cfg"},
			wantConfig:  filepath.Join(home, "cfg"),
			wantCreds:   filepath.Join(home, ".aws", "credentials"),
			wantFromCfg: "AWS_CONFIG_FILE",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Getenv = tc.env.get
			f, err := Load(tc.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			c, k := f.ConfigFile(), f.CredentialsFile()
			if c.Path != tc.wantConfig || k.Path != tc.wantCreds || c.From != tc.wantFromCfg {
				t.Errorf("config %q (from %s), credentials %q; want %q (from %s), %q", c.Path, c.From, k.Path, tc.wantConfig, tc.wantFromCfg, tc.wantCreds)
			}
			if c.Exists || k.Exists {
				t.Errorf("missing files reported as existing")
			}
			if strings.HasPrefix(c.Path, home) && !strings.HasPrefix(c.Display, "~") {
				t.Errorf("Display = %q, want it under ~", c.Display)
			}
		})
	}
}

func TestMissingFiles(t *testing.T) {
	f := load(t, absent, absent)
	if f.ConfigFile().Exists || f.CredentialsFile().Exists {
		t.Error("absent files reported as existing")
	}
	if n := f.ProfileNames(); len(n) != 0 {
		t.Errorf("ProfileNames = %q", n)
	}
	_, err := f.Profile("default")
	if !errors.Is(err, ErrProfileNotFound) {
		t.Fatalf("err = %v, want ErrProfileNotFound", err)
	}
	want := `profile "default" not found in ~/.aws/config (absent) or ~/.aws/credentials (absent); no profiles are defined`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestUnreadableFile(t *testing.T) {
	opts := writeFiles(t, absent, absent)
	// A directory where the config file should be cannot be read.
	if err := os.Mkdir(filepath.Join(opts.HomeDir, ".aws", "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Load(opts)
	if err == nil || !strings.Contains(err.Error(), "~/.aws/config") || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("err = %v, want one naming ~/.aws/config as a directory", err)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name          string
		config, creds string
		want          []string // substrings of the error, in order
	}{
		{
			name:   "unterminated section header",
			config: "[default]\nregion = us-east-1\n\n[profile x\nregion = eu-west-1\n",
			want:   []string{"~/.aws/config:4: unterminated section header"},
		},
		{
			name:   "unterminated section header on the first line",
			config: "[profile x\nregion = eu-west-1\n",
			want:   []string{"~/.aws/config:1: unterminated section header"},
		},
		{
			name:  "line with no = or :",
			creds: "[dev]\naws_access_key_id = AKID\nthis line is wrong\n",
			want:  []string{"~/.aws/credentials:3: not a key = value line"},
		},
		{
			name:   "several malformed lines are all reported",
			config: "[default]\nbad one\nregion = x\nbad two\n",
			want:   []string{"~/.aws/config:2: not a key", "~/.aws/config:4: not a key"},
		},
		{
			name:   "key before any section",
			config: "region = us-east-1\n[default]\n",
			want:   []string{"~/.aws/config:1: text before the first [section] header"},
		},
		{
			name:   "duplicate section",
			config: "[profile a]\nx = 1\n[profile b]\n[profile a]\ny = 2\n",
			want:   []string{"~/.aws/config:4: section [profile a] is already defined at line 1"},
		},
		{
			name:   "duplicate key, differing in case",
			config: "[profile a]\nregion = x\nRegion = y\n",
			want:   []string{"~/.aws/config:3: key region is already set in [profile a] at line 2"},
		},
		{
			name:   "nested line without =",
			config: "[profile a]\ns3 =\n  max_concurrent_requests: 10\n",
			want:   []string{"~/.aws/config:3: in the nested block of s3 (line 2)"},
		},
		{
			name:   "empty key name",
			config: "[profile a]\n= value\n",
			want:   []string{"~/.aws/config:2: a value with no key name"},
		},
		{
			name:   "empty section name",
			config: "[]\n",
			want:   []string{"~/.aws/config:1: empty section name"},
		},
		{
			name:   "invalid UTF-8",
			config: "[profile a]\nregion = \xff\n",
			want:   []string{"~/.aws/config:2: not valid UTF-8"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.config == "" {
				tc.config = absent
			}
			if tc.creds == "" {
				tc.creds = absent
			}
			_, err := Load(writeFiles(t, tc.config, tc.creds))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q (in order)", msg, w)
				}
				rest = rest[i+len(w):]
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !pe.Pos.IsValid() {
				t.Errorf("errors.As(*ParseError) = %v, %v", pe, err)
			}
		})
	}
}

// The secret values used below; none of them may appear in an error or a
// warning.
var testSecrets = []string{
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"FwoGZXIvYXdzEXAMPLETOKEN",
	"hunter2-secret",
}

func TestSecretsNeverInErrors(t *testing.T) {
	s0, s1, s2 := testSecrets[0], testSecrets[1], testSecrets[2]
	tests := []struct {
		name          string
		config, creds string
	}{
		{"secret on a line with no =", absent, "[dev]\naws_access_key_id = AKID\naws_secret_access_key " + s0 + "\n"},
		{"bare secret line", absent, "[dev]\n" + s0 + "\n"},
		{"token on a line before any section", "aws_session_token = " + s1 + "\n[default]\n", absent},
		{"secret in an unterminated header", "[profile " + s2 + "\n", absent},
		{"secret in a duplicate key", absent, "[dev]\naws_secret_access_key = " + s0 + "\naws_secret_access_key = " + s2 + "\n"},
		{"secret in a nested block", "[profile a]\ns3 =\n  " + s0 + "\n", absent},
		{"secret with invalid UTF-8", absent, "[dev]\naws_secret_access_key = " + s0 + "\xff\n"},
		{"many malformed lines", absent, "[dev]\n" + strings.Repeat(s2+"\n", 20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFiles(t, tc.config, tc.creds))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, s := range testSecrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error contains a secret: %q", err)
				}
			}
			if !strings.Contains(err.Error(), ":") {
				t.Errorf("error %q has no file:line", err)
			}
		})
	}

	// Warnings about values must not show them either.
	f := load(t, absent, "[DEFAULT]\nx = 1\n[dev]\naws_secret_access_key = "+s0+" # note\naws_session_token = \""+s1+"\"\n  "+s2+"\n[profile x]\n")
	if len(f.Warnings()) < 3 {
		t.Errorf("expected warnings, got %q", f.Warnings())
	}
	for _, w := range f.Warnings() {
		for _, s := range testSecrets {
			if strings.Contains(w.String(), s) {
				t.Errorf("warning contains a secret: %q", w)
			}
		}
	}
}

func TestProfileNotFound(t *testing.T) {
	tests := []struct {
		name          string
		config, creds string
		profile       string
		want          []string
	}{
		{
			name:    "lists the profiles of both files",
			config:  "[default]\nregion = x\n[profile dev]\nregion = y\n",
			creds:   "[ci]\naws_access_key_id = AKID\naws_secret_access_key = s\n",
			profile: "prod",
			want:    []string{`profile "prod" not found in ~/.aws/config or ~/.aws/credentials; profiles found: ci, default, dev`},
		},
		{
			name:    "a config-file section without the profile prefix",
			config:  "[prod]\nregion = x\n",
			creds:   absent,
			profile: "prod",
			want:    []string{"~/.aws/config:1 has [prod], which the config file does not read as a profile: write [profile prod]"},
		},
		{
			name:    "a credentials-file section with the profile prefix",
			config:  absent,
			creds:   "[profile prod]\naws_access_key_id = AKID\naws_secret_access_key = s\n",
			profile: "prod",
			want:    []string{`profiles found: profile prod`, `in the credentials file write [prod]`},
		},
		{
			name:    "a name that differs in case",
			config:  "[profile Prod]\nregion = x\n",
			creds:   absent,
			profile: "prod",
			want:    []string{`did you mean "Prod"?`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t, tc.config, tc.creds)
			_, err := f.Profile(tc.profile)
			if !errors.Is(err, ErrProfileNotFound) {
				t.Fatalf("err = %v, want ErrProfileNotFound", err)
			}
			var pnf *ProfileNotFoundError
			if !errors.As(err, &pnf) || pnf.Name != tc.profile || len(pnf.Files) != 2 {
				t.Fatalf("errors.As = %+v", pnf)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "AKID") || strings.Contains(err.Error(), "= s") {
				t.Errorf("error shows values: %q", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name          string
		config, creds string
		want          string // substring of one warning, with its position
	}{
		{"inline comment", "[default]\nregion = us-east-1 # prod\n", absent, `~/.aws/config:2: the value of region contains "#"`},
		{"quoted value", "[default]\nregion = 'us-east-1'\n", absent, "~/.aws/config:2: the value of region is in quotes"},
		{"indented key continues a value", "[default]\nregion = us-east-1\n  output = json\n", absent, "~/.aws/config:3: this indented line continues the value of region (line 2)"},
		{"[DEFAULT]", "[DEFAULT]\nregion = x\n", absent, "~/.aws/config:1: [DEFAULT]"},
		{"section without profile prefix", "[dev]\nregion = x\n", absent, "~/.aws/config:1: [dev] is not a profile"},
		{"[profiles x] read as a profile", "[profiles x]\nregion = x\n", absent, `~/.aws/config:1: [profiles x]: the AWS CLI and boto3 read this as profile "x"`},
		{"profile section with two names", "[profile a b]\nregion = x\n", absent, "~/.aws/config:1: [profile a b] is ignored"},
		{"[default] and [profile default]", "[default]\n[profile default]\n", absent, `~/.aws/config:2: [profile default] defines profile "default" again (first at line 1): the AWS CLI and boto3 use this later one; aws-sdk-go-v2 uses [profile default]`},
		{"profile prefix in the credentials file", absent, "[profile ci]\nx = 1\n", `~/.aws/credentials:1: [profile ci] is a profile named "profile ci"`},
		{"key that looks like a broken header", "[default]\n[profile x = y\n", absent, "~/.aws/config:2: key [profile x starts with ["},
		{"byte order mark", "\ufeff[default]\n", absent, "~/.aws/config:1: the file starts with a UTF-8 byte order mark"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t, tc.config, tc.creds)
			var all []string
			for _, w := range f.Warnings() {
				all = append(all, w.String())
				if strings.Contains(w.String(), tc.want) {
					return
				}
			}
			t.Errorf("no warning contains %q; warnings:\n%s", tc.want, strings.Join(all, "\n"))
		})
	}
	if w := load(t, "[default]\nregion = us-east-1\n[profile dev]\ns3 =\n  a = 1\n[sso-session s]\nsso_region = x\n[preview]\ncloudfront = true\n", "[dev]\nx = 1\n").Warnings(); len(w) != 0 {
		t.Errorf("a clean pair of files gave warnings: %q", w)
	}
}

func TestLooseFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not apply")
	}
	tests := []struct {
		name  string
		creds string
		mode  os.FileMode
		want  bool
	}{
		{"secret in a file others can read", "[dev]\naws_access_key_id = A\naws_secret_access_key = s\n", 0o644, true},
		{"secret in a 0600 file", "[dev]\naws_access_key_id = A\naws_secret_access_key = s\n", 0o600, false},
		{"no secret in a file others can read", "[dev]\nregion = x\n", 0o644, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := writeFiles(t, absent, tc.creds)
			if err := os.Chmod(filepath.Join(opts.HomeDir, ".aws", "credentials"), tc.mode); err != nil {
				t.Fatal(err)
			}
			f, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			got := false
			for _, w := range f.Warnings() {
				if strings.Contains(w.String(), "~/.aws/credentials: the file holds aws_secret_access_key and others can read it (mode 0644): chmod 600 ~/.aws/credentials") {
					got = true
				}
			}
			if got != tc.want {
				t.Errorf("mode warning = %v, want %v; warnings %q", got, tc.want, f.Warnings())
			}
		})
	}
}

func TestShlexSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "profile dev", want: []string{"profile", "dev"}},
		{in: "profile   dev ", want: []string{"profile", "dev"}},
		{in: `profile "my dev"`, want: []string{"profile", "my dev"}},
		{in: `profile 'a"b'`, want: []string{"profile", `a"b`}},
		{in: `profile "a\"b\\c\d"`, want: []string{"profile", `a"b\c\d`}},
		{in: `profile a\ b`, want: []string{"profile", "a b"}},
		{in: `profile x"y z"w`, want: []string{"profile", "xy zw"}},
		{in: `profile ''`, want: []string{"profile", ""}},
		{in: `profile "x`, wantErr: true},
		{in: `profile x\`, wantErr: true},
	}
	for _, tc := range tests {
		got, err := shlexSplit(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("shlexSplit(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
