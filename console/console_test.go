package console

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// Every region botocore knows maps to its partition's hosts; regions of
// partitions without a public console sign-in are refused.
func TestPartitionsAgreeWithBotocore(t *testing.T) {
	py := testpeer.Python(t)
	out, err := exec.Command(py, "-c", `
import json, os, botocore
d = json.load(open(os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")))
print(json.dumps({p["partition"]: {"regions": sorted(p["regions"])} for p in d["partitions"]}))
`).Output()
	if err != nil {
		t.Fatalf("botocore endpoints: %v", err)
	}
	var parts map[string]struct {
		Regions []string
	}
	if err := json.Unmarshal(out, &parts); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"aws", "aws-cn", "aws-us-gov"} {
		if len(parts[id].Regions) == 0 {
			t.Fatalf("botocore lists no regions of %s", id)
		}
	}
	n := 0
	for id, p := range parts {
		for _, r := range p.Regions {
			n++
			got, err := PartitionOfRegion(r)
			if _, public := PartitionByID(id); !public {
				if !errors.Is(err, ErrNoConsolePartition) {
					t.Errorf("region %s of %s: %v, %v; want ErrNoConsolePartition", r, id, got, err)
				}
				continue
			}
			if err != nil || got.ID != id {
				t.Errorf("region %s: partition %q (%v), botocore says %s", r, got.ID, err, id)
			}
		}
	}
	t.Logf("%d regions of %d partitions", n, len(parts))
}

func TestPartitionHosts(t *testing.T) {
	for _, tc := range []struct{ region, signin, console, federation string }{
		{"", "signin.aws.amazon.com", "console.aws.amazon.com", "https://signin.aws.amazon.com/federation"},
		{"eu-west-1", "signin.aws.amazon.com", "console.aws.amazon.com", "https://signin.aws.amazon.com/federation"},
		{"cn-north-1", "signin.amazonaws.cn", "console.amazonaws.cn", "https://signin.amazonaws.cn/federation"},
		{"us-gov-west-1", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com", "https://signin.amazonaws-us-gov.com/federation"},
	} {
		p, err := PartitionOfRegion(tc.region)
		if err != nil || p.SigninHost != tc.signin || p.ConsoleHost != tc.console || p.FederationURL() != tc.federation {
			t.Errorf("region %q: %+v %v %s", tc.region, p, err, p.FederationURL())
		}
	}
}

func TestDestination(t *testing.T) {
	aws, _ := PartitionOfRegion("")
	cn, _ := PartitionOfRegion("cn-north-1")
	gov, _ := PartitionOfRegion("us-gov-west-1")
	cases := []struct {
		name    string
		p       Partition
		arg     string
		region  string
		want    string
		wantErr string
	}{
		{"home without a region", aws, "", "", "https://console.aws.amazon.com/console/home", ""},
		{"home in a region", aws, "", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1", ""},
		{"service without a region", aws, "s3", "", "https://console.aws.amazon.com/s3/home", ""},
		{"service in a region", aws, "ec2", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1", ""},
		{"service in China", cn, "s3", "cn-north-1", "https://cn-north-1.console.amazonaws.cn/s3/home?region=cn-north-1", ""},
		{"service in GovCloud", gov, "iam", "us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com/iam/home?region=us-gov-west-1", ""},
		{"console URL", aws, "https://console.aws.amazon.com/iam/home#/roles", "", "https://console.aws.amazon.com/iam/home#/roles", ""},
		{"regional console URL", aws, "https://eu-west-1.console.aws.amazon.com/lambda/home", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/lambda/home", ""},
		{"China console URL", cn, "https://console.amazonaws.cn/s3/", "cn-north-1", "https://console.amazonaws.cn/s3/", ""},
		{"another site", aws, "https://evil.example.com/", "", "", "the host must be console.aws.amazon.com"},
		{"a look-alike host", aws, "https://console.aws.amazon.com.evil.example/", "", "", "not console.aws.amazon.com.evil.example"},
		{"a suffix without a dot", aws, "https://evilconsole.aws.amazon.com/", "", "", "the host must be"},
		{"http", aws, "http://console.aws.amazon.com/", "", "", "the scheme must be https"},
		{"user info", aws, "https://a@console.aws.amazon.com/", "", "", "no user name or port"},
		{"a port", aws, "https://console.aws.amazon.com:8443/", "", "", "no user name or port"},
		{"another partition's console", aws, "https://console.amazonaws.cn/", "", "", "partition aws"},
		{"javascript", aws, "javascript:alert(1)", "", "", "give a service name"},
		{"a service name with a slash", aws, "s3/buckets", "", "", "give a service name"},
		{"upper case", aws, "S3", "", "", "give a service name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Destination(tc.p, tc.arg, tc.region)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrDestination) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Destination(%q) = %q, %v; want ErrDestination saying %q", tc.arg, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Destination(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		arn       string
		temporary bool
		kind      Kind
		name      string
		err       error
	}{
		{"arn:aws:sts::111122223333:assumed-role/admin/me", true, KindRole, "", nil},
		{"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/me@example.com", true, KindRole, "", nil},
		{"arn:aws-cn:sts::111122223333:federated-user/bob", true, KindFederated, "", nil},
		{"arn:aws:iam::111122223333:user/alice", false, KindUser, "alice", nil},
		{"arn:aws:iam::111122223333:user/division/team/alice", false, KindUser, "alice", nil},
		{"arn:aws:iam::111122223333:user/" + strings.Repeat("x", 40), false, KindUser, strings.Repeat("x", 32), nil},
		{"arn:aws:iam::111122223333:root", false, KindRoot, "root", nil},
		{"arn:aws:iam::111122223333:user/alice", true, KindUserSession, "", ErrSessionToken},
		{"arn:aws:iam::111122223333:root", true, KindUserSession, "", ErrSessionToken},
	}
	for _, tc := range cases {
		kind, name, err := Classify(tc.arn, tc.temporary)
		if kind != tc.kind || name != tc.name || !errors.Is(err, tc.err) {
			t.Errorf("Classify(%s, %v) = %v %q %v; want %v %q %v", tc.arn, tc.temporary, kind, name, err, tc.kind, tc.name, tc.err)
		}
	}
	if _, _, err := Classify("not-an-arn", false); err == nil {
		t.Error("a caller that is not an ARN was classified")
	}
}

func TestFederationName(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                       "alice",
		strings.Repeat("a", 33):       strings.Repeat("a", 32),
		"first.last@example.com":      "first.last@example.com",
		"a":                           "a-",
		"with space/and:colon":        "with-space-and-colon",
		"x" + strings.Repeat("é", 20): ("x" + strings.Repeat("--", 20))[:32],
	} {
		if got := FederationName(in); got != want {
			t.Errorf("FederationName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlanDuration(t *testing.T) {
	cases := []struct {
		name        string
		kind        Kind
		d           time.Duration
		session     time.Duration
		federation  time.Duration
		noteMention string
	}{
		{"role default", KindRole, 0, time.Hour, 0, ""},
		{"role 4h", KindRole, 4 * time.Hour, 4 * time.Hour, 0, ""},
		{"role under 15m", KindRole, 5 * time.Minute, 15 * time.Minute, 0, "became 15m0s"},
		{"role over 12h", KindRole, 20 * time.Hour, 12 * time.Hour, 0, "became 12h0m0s"},
		{"role at 12h", KindRole, 12 * time.Hour, 12 * time.Hour, 0, ""},
		{"role fractions of a second", KindRole, time.Hour + time.Millisecond, time.Hour, 0, "became 1h0m0s"},
		{"federated default", KindFederated, 0, 0, 0, ""},
		{"federated asked", KindFederated, 2 * time.Hour, 0, 0, "lasts as long as its credentials"},
		{"user default", KindUser, 0, 0, time.Hour, ""},
		{"user 24h", KindUser, 24 * time.Hour, 0, 24 * time.Hour, ""},
		{"user over 36h", KindUser, 48 * time.Hour, 0, 36 * time.Hour, "became 36h0m0s"},
		{"user under 15m", KindUser, time.Minute, 0, 15 * time.Minute, "became 15m0s"},
		{"root default", KindRoot, 0, 0, time.Hour, ""},
		{"root capped at 1h", KindRoot, 4 * time.Hour, 0, time.Hour, "root user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanDuration(tc.kind, tc.d)
			if p.SessionDuration != tc.session || p.FederationDuration != tc.federation {
				t.Errorf("PlanDuration(%v, %s) = %+v; want SessionDuration %s, FederationDuration %s", tc.kind, tc.d, p, tc.session, tc.federation)
			}
			if (tc.noteMention == "") != (p.Note == "") || !strings.Contains(p.Note, tc.noteMention) {
				t.Errorf("note %q, want one mentioning %q", p.Note, tc.noteMention)
			}
		})
	}
}

func TestBrowserCommand(t *testing.T) {
	page := "file:///home/u/.cache/credkit/browser/.pages/signin-1.html"
	cases := []struct {
		b    Browser
		want []string
	}{
		{Browser{Name: "chromium", Exec: "/usr/bin/chromium", DataDir: "/c/prod"}, []string{"/usr/bin/chromium", "--user-data-dir=/c/prod", "--no-first-run", "--no-default-browser-check", page}},
		{Browser{Name: "chrome", Exec: "google-chrome", DataDir: "/c/dev"}, []string{"google-chrome", "--user-data-dir=/c/dev", "--no-first-run", "--no-default-browser-check", page}},
		{Browser{Name: "firefox", Exec: "firefox", FirefoxProfile: "credkit-prod"}, []string{"firefox", "-P", "credkit-prod", "-new-tab", page}},
		{Browser{Name: "open", Exec: "xdg-open"}, []string{"xdg-open", page}},
	}
	for _, tc := range cases {
		got, err := tc.b.Command(page)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q %v, want %q", tc.b.Name, got, err, tc.want)
		}
	}
	for _, name := range []string{"netscape", "", "Chromium"} {
		if _, err := (Browser{Name: name, Exec: "x"}).Command(page); !errors.Is(err, ErrUnknownBrowser) || strings.Contains(err.Error(), "\n") {
			t.Errorf("browser %q: %v, want a one-line ErrUnknownBrowser", name, err)
		}
	}
}

func TestBrowserProfileCommand(t *testing.T) {
	ff := Browser{Name: "firefox", Exec: "/usr/bin/firefox-esr", FirefoxProfile: "credkit-prod", FirefoxDir: "/home/u/.cache/credkit/browser/.firefox/prod"}
	got, err := ff.ProfileCommand()
	want := []string{"/usr/bin/firefox-esr", "--headless", "-CreateProfile", "credkit-prod /home/u/.cache/credkit/browser/.firefox/prod"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("firefox: %q %v, want %q", got, err, want)
	}
	for _, b := range []Browser{{Name: "chromium", Exec: "chromium", DataDir: "/c/prod"}, {Name: "open", Exec: "xdg-open"}} {
		if got, err := b.ProfileCommand(); got != nil || err != nil {
			t.Errorf("%s: %q %v, want nothing to run", b.Name, got, err)
		}
	}
	for _, b := range []Browser{{Name: "firefox", Exec: "firefox", FirefoxProfile: "credkit-a b", FirefoxDir: "/d"}, {Name: "firefox", Exec: "firefox", FirefoxProfile: "credkit-a"}} {
		if _, err := b.ProfileCommand(); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want a one-line error", b, err)
		}
	}
	if _, err := (Browser{Name: "netscape", Exec: "x"}).ProfileCommand(); !errors.Is(err, ErrUnknownBrowser) {
		t.Errorf("netscape: %v, want ErrUnknownBrowser", err)
	}
}

func TestProfileDirName(t *testing.T) {
	for in, want := range map[string]string{"prod": "prod", "": "default", "a/b": "a_b", "..": "_..", "team one": "team_one"} {
		if got := ProfileDirName(in); got != want {
			t.Errorf("ProfileDirName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWritePageIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pages")
	secret := "https://signin.aws.amazon.com/federation?Action=login&Destination=x&SigninToken=tok\"><script>"
	page, path, err := WritePage(dir, secret)
	if err != nil {
		t.Fatal(err)
	}
	if page != "file://"+path || strings.Contains(page, "SigninToken") {
		t.Errorf("page URL %q for %s", page, path)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("page mode %v %v, want 0600", fi.Mode(), err)
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("page directory mode %v, want 0700", di.Mode())
	}
	// A page older than PageLifetime goes with the next WritePage; a
	// recent one stays.
	stale := filepath.Join(dir, "signin-stale.html")
	os.WriteFile(stale, []byte("x"), 0o600)
	os.Chtimes(stale, time.Now().Add(-PageLifetime-time.Minute), time.Now().Add(-PageLifetime-time.Minute))
	if _, _, err := WritePage(dir, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale page was kept: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a recent page was removed: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `content="0;url=https://signin.aws.amazon.com/federation?Action=login&amp;Destination=x&amp;SigninToken=tok&#34;&gt;&lt;script&gt;"`) {
		t.Errorf("page does not redirect to the escaped URL:\n%s", b)
	}
}
