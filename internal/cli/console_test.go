package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// credkit console starts the browser itself: headless Chromium (behind a
// script that records its argv) with one user-data-dir per profile. Each
// profile's page shows its own identity, and keeps it; the sign-in URL
// appears neither in the browser's argv nor in credkit's output, and the
// redirect page is gone afterwards.
func TestConsoleOpensChromiumPerProfile(t *testing.T) {
	dom := filepath.Join(t.TempDir(), "dom.html")
	c := startConsoleLab(t, nil, testpeer.ChromiumScript(t, dom))
	l, env, cache, argvLog := c.lab, c.env, c.cache, c.argvLog
	userSecret := l.Users()[0].SecretAccessKey
	opened := 0
	open := func(profile string, more ...string) string {
		t.Helper()
		os.Remove(dom)
		args := append([]string{"console", "--profile", profile, "--browser", "chromium", "--destination", "cloudwatch"}, more...)
		r := runAt(t, time.Now, env, "", args...)
		if r.code != 0 {
			t.Fatalf("credkit %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "labsignin") || strings.Contains(r.stdout+r.stderr, userSecret) {
			t.Errorf("credkit %s printed the sign-in token or a secret:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "credkit: opening the console as ") {
			t.Errorf("stderr does not say what was opened:\n%s", r.stderr)
		}
		opened++
		c.browserDone(t, opened)
		b, _ := os.ReadFile(dom)
		return string(b)
	}
	shows := func(dom, arn string) bool { return strings.Contains(dom, `<span id="identity">`+arn) }
	roleARN := "arn:aws:sts::000000000000:assumed-role/lab-role/"
	fedARN := "arn:aws:sts::000000000000:federated-user/lab-user"

	if d := open(lab.DefaultRole); !shows(d, roleARN) || !strings.Contains(d, "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1") {
		t.Errorf("profile %s:\n%s", lab.DefaultRole, d)
	}
	if d := open(lab.DefaultUser); !shows(d, fedARN) {
		t.Errorf("profile %s:\n%s", lab.DefaultUser, d)
	}
	dirRole := filepath.Join(cache, "credkit", "browser", lab.DefaultRole)
	dirUser := filepath.Join(cache, "credkit", "browser", lab.DefaultUser)
	for _, d := range []string{dirRole, dirUser} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("browser profile %s: %v %v, want a directory of mode 0700", d, st, err)
		}
	}
	// Each browser profile keeps its own console session.
	if d := testpeer.ChromiumDumpDOM(t, dirRole, c.url+"/console/"); !shows(d, roleARN) {
		t.Errorf("the role's browser profile later:\n%s", d)
	}
	if d := testpeer.ChromiumDumpDOM(t, dirUser, c.url+"/console/"); !shows(d, fedARN) {
		t.Errorf("the user's browser profile later:\n%s", d)
	}
	// --logout-first goes through the logout page and signs in again.
	if d := open(lab.DefaultRole, "--logout-first"); !shows(d, roleARN) {
		t.Errorf("after --logout-first:\n%s", d)
	}

	argv, _ := os.ReadFile(argvLog)
	if strings.Contains(string(argv), "SigninToken") || strings.Contains(string(argv), "labsignin") {
		t.Errorf("the browser's argv holds the sign-in URL:\n%s", argv)
	}
	if !strings.Contains(string(argv), "--user-data-dir="+dirRole+"\n") || !strings.Contains(string(argv), "--user-data-dir="+dirUser+"\n") {
		t.Errorf("the browser was not given one user-data-dir per profile:\n%s", argv)
	}
	pages, _ := os.ReadDir(filepath.Join(cache, "credkit", "browser", ".pages"))
	if len(pages) != 0 {
		t.Errorf("redirect pages left behind: %v", pages)
	}
}
