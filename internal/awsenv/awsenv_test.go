package awsenv

import (
	"errors"
	"path/filepath"
	"testing"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestProfileName(t *testing.T) {
	for _, tc := range []struct {
		name, flag       string
		env              func(string) string
		wantName, wantAt string
	}{
		{"nothing named", "", envOf(), "default", FromDefault},
		{"flag wins over AWS_PROFILE", "cli", envOf("AWS_PROFILE", "env"), "cli", "--profile"},
		{"AWS_PROFILE before AWS_DEFAULT_PROFILE (aws-sdk-go-v2's order)", "", envOf("AWS_PROFILE", "env", "AWS_DEFAULT_PROFILE", "old"), "env", Profile},
		{"AWS_DEFAULT_PROFILE", "", envOf("AWS_DEFAULT_PROFILE", "old"), "old", DefaultProfile},
		{"empty AWS_PROFILE is unset", "", envOf("AWS_PROFILE", "", "AWS_DEFAULT_PROFILE", "old"), "old", DefaultProfile},
	} {
		if name, from := ProfileName(tc.env, tc.flag); name != tc.wantName || from != tc.wantAt {
			t.Errorf("%s: %q from %q, want %q from %q", tc.name, name, from, tc.wantName, tc.wantAt)
		}
	}
}

func TestProfileDecides(t *testing.T) {
	for _, tc := range []struct {
		name, flag string
		env        func(string) string
		want       bool
		why        string
	}{
		{"flag", "dev", envOf(), true, ""},
		{"flag wins over environment keys", "dev", envOf("AWS_ACCESS_KEY_ID", "AKIAENV", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"), true, ""},
		{"no profile named", "", envOf(), false, "neither AWS_PROFILE nor AWS_DEFAULT_PROFILE names a profile"},
		{"AWS_PROFILE", "", envOf("AWS_PROFILE", "dev"), true, ""},
		{"AWS_DEFAULT_PROFILE", "", envOf("AWS_DEFAULT_PROFILE", "dev"), true, ""},
		{"environment keys", "", envOf("AWS_PROFILE", "dev", "AWS_ACCESS_KEY_ID", "AKIAENV", "AWS_SECRET_ACCESS_KEY", "s"), false, "AWS_ACCESS_KEY_ID is set"},
		{"legacy secret alone", "", envOf("AWS_PROFILE", "dev", "AWS_SECRET_KEY", "s"), false, "AWS_SECRET_KEY is set"},
		{"web identity", "", envOf("AWS_PROFILE", "dev", "AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), false, "AWS_WEB_IDENTITY_TOKEN_FILE is set"},
		{"container endpoint", "", envOf("AWS_PROFILE", "dev", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/c"), false, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set"},
		{"IMDS endpoint", "", envOf("AWS_PROFILE", "dev", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://x/"), false, "AWS_EC2_METADATA_SERVICE_ENDPOINT is set"},
	} {
		if ok, why := ProfileDecides(tc.env, tc.flag); ok != tc.want || why != tc.why {
			t.Errorf("%s: %v %q, want %v %q", tc.name, ok, why, tc.want, tc.why)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for _, tc := range []struct {
		name, flag, profile string
		env                 func(string) string
		want, from          string
	}{
		{"flag first", "eu-west-1", "us-east-1", envOf("AWS_REGION", "ap-south-1"), "eu-west-1", "--region"},
		{"AWS_REGION", "", "us-east-1", envOf("AWS_REGION", "ap-south-1", "AWS_DEFAULT_REGION", "sa-east-1"), "ap-south-1", Region},
		{"AWS_DEFAULT_REGION", "", "us-east-1", envOf("AWS_DEFAULT_REGION", "sa-east-1"), "sa-east-1", DefaultRegion},
		{"profile", "", "us-east-1", envOf(), "us-east-1", "profile"},
		{"none", "", "", envOf(), "", ""},
	} {
		if r, from := RegionOf(tc.env, tc.flag, tc.profile); r != tc.want || from != tc.from {
			t.Errorf("%s: %q from %q, want %q from %q", tc.name, r, from, tc.want, tc.from)
		}
	}
}

func TestSharedFiles(t *testing.T) {
	home := filepath.FromSlash("/home/u")
	if p, from := ConfigFile.Locate(envOf(), home); p != filepath.Join(home, ".aws", "config") || from != FromDefaultLocation {
		t.Errorf("default config: %s from %s", p, from)
	}
	if p, from := CredentialsFile.Locate(envOf("AWS_SHARED_CREDENTIALS_FILE", "~/creds"), home); p != "~/creds" || from != CredentialsFileVar {
		t.Errorf("credentials from the variable: %s from %s", p, from)
	}
	for in, want := range map[string]string{
		"~":          home,
		"~/cfg":      filepath.Join(home, "cfg"),
		"/etc/cfg":   "/etc/cfg",
		"~other/cfg": "~other/cfg", // another user's home is not expanded
		"cfg~":       "cfg~",
	} {
		if got, err := ExpandHome(in, func() (string, error) { return home, nil }); err != nil || got != want {
			t.Errorf("ExpandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ExpandHome("~/cfg", func() (string, error) { return "", nil }); !errors.Is(err, ErrNoHome) {
		t.Errorf("without a home: %v", err)
	}
	noHome := errors.New("$HOME is not defined")
	if _, err := ExpandHome("~/cfg", func() (string, error) { return "", noHome }); !errors.Is(err, noHome) {
		t.Errorf("home's error: %v", err)
	}
	called := false
	if got, err := ExpandHome("/abs", func() (string, error) { called = true; return "", noHome }); err != nil || got != "/abs" || called {
		t.Errorf("an absolute path: %q %v, home looked up: %v", got, err, called)
	}
}

func TestHome(t *testing.T) {
	if h, err := Home(envOf("HOME", "/elsewhere")); err != nil || h != "/elsewhere" {
		t.Errorf("Home with HOME set: %q %v", h, err)
	}
}
