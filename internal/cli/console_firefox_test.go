package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// consoleRecorder records the identity each console page the lab serves
// shows, in order: what a browser that has no --dump-dom was shown.
type consoleRecorder struct {
	mu    sync.Mutex
	shown []string
}

var identitySpan = regexp.MustCompile(`<span id="identity">([^<]*)</span>`)

func (c *consoleRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/console/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		m := identitySpan.FindSubmatch(rec.Body.Bytes())
		c.mu.Lock()
		if m != nil {
			c.shown = append(c.shown, string(m[1]))
		} else {
			c.shown = append(c.shown, "")
		}
		c.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// last is the identity on the last console page served since the
// previous call. It waits a while for a browser still at work for a page
// that shows an identity (an ARN): a restarting Firefox may first restore
// its previous console tab, without the session cookie, before it loads
// the new sign-in. Without such a page it returns the last page's text
// ("" when none was served).
func (c *consoleRecorder) last() string {
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c.mu.Lock()
		signedIn := ""
		for _, s := range c.shown {
			if strings.HasPrefix(s, "arn:") {
				signedIn = s
			}
		}
		n := len(c.shown)
		if signedIn != "" || time.Now().After(deadline) {
			s := signedIn
			if s == "" && n > 0 {
				s = c.shown[n-1]
			}
			c.shown = nil
			c.mu.Unlock()
			return s
		}
		c.mu.Unlock()
	}
}

// consoleLab is a lab for credkit console, with credkit's environment
// and the files around it in a temporary directory.
type consoleLab struct {
	lab     *lab.Lab
	url     string
	env     map[string]string // credkit's environment
	cache   string            // XDG_CACHE_HOME
	argvLog string            // the browser's arguments, one a line
	doneLog string            // a line each time a browser command has ended
}

// browserDone waits until n browser commands have ended: credkit console
// returns once the browser has read its page, not when the browser ends.
func (c *consoleLab) browserDone(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(c.doneLog)
		if bytes.Count(b, []byte("\n")) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d browser commands ended in 90 s, want %d", bytes.Count(b, []byte("\n")), n)
		}
	}
}

// startConsoleLab starts a lab (its handler wrapped by wrap, if not nil)
// and gives credkit console, as its browser, a script that logs its
// arguments and runs browser with them.
func startConsoleLab(t *testing.T, wrap func(http.Handler) http.Handler, browser string) *consoleLab {
	t.Helper()
	l, err := lab.New(lab.Options{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	work := t.TempDir()
	cfg, err := lab.WriteConfig(l, srv.URL, filepath.Join(work, "aws"))
	if err != nil {
		t.Fatal(err)
	}
	c := &consoleLab{lab: l, url: srv.URL, cache: filepath.Join(work, "cache"), argvLog: filepath.Join(work, "argv.txt"), doneLog: filepath.Join(work, "done.txt")}
	wrapper := filepath.Join(work, "browser")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" >>'" + c.argvLog + "'\n'" + browser + "' \"$@\"\nrc=$?\necho $rc >>'" + c.doneLog + "'\nexit $rc\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	c.env = map[string]string{
		"PATH":                                "/usr/bin:/bin",
		"HOME":                                filepath.Join(work, "home"),
		"AWS_CONFIG_FILE":                     cfg.ConfigFile,
		"AWS_SHARED_CREDENTIALS_FILE":         cfg.CredentialsFile,
		"XDG_CACHE_HOME":                      c.cache,
		"CREDKIT_CONSOLE_FEDERATION_ENDPOINT": srv.URL + "/federation",
		"CREDKIT_CONSOLE_BROWSER_PATH":        wrapper,
	}
	return c
}

// credkit console --browser firefox makes a Firefox profile per AWS
// profile (with -CreateProfile, once) and signs each in as its own
// identity in headless Firefox; each profile keeps its session, and the
// sign-in URL is never in Firefox's argv.
func TestConsoleOpensFirefoxPerProfile(t *testing.T) {
	rec := &consoleRecorder{}
	firefox, stop := testpeer.FirefoxScript(t)
	c := startConsoleLab(t, rec.wrap, firefox)
	l, env, home, cache, argvLog := c.lab, c.env, c.env["HOME"], c.cache, c.argvLog
	userSecret := l.Users()[0].SecretAccessKey
	open := func(profile string) {
		t.Helper()
		args := []string{"console", "--profile", profile, "--browser", "firefox", "--destination", "s3"}
		r := runAt(t, time.Now, env, "", args...)
		if r.code != 0 {
			t.Fatalf("credkit %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "labsignin") || strings.Contains(r.stdout+r.stderr, userSecret) {
			t.Errorf("credkit %s printed the sign-in token or a secret:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "(Firefox profile credkit-"+profile+")") {
			t.Errorf("stderr does not name the Firefox profile:\n%s", r.stderr)
		}

	}
	roleARN := "arn:aws:sts::000000000000:assumed-role/lab-role/"
	fedARN := "arn:aws:sts::000000000000:federated-user/lab-user"
	shows := func(what, got, arn string) {
		t.Helper()
		if !strings.HasPrefix(got, arn) {
			t.Errorf("%s: the console page showed %q, want %s", what, got, arn)
		}
	}

	// Firefox runs on after credkit returns, as a browser does: each is
	// stopped once the lab has served it the console page.
	open(lab.DefaultRole)
	shows("profile "+lab.DefaultRole, rec.last(), roleARN)
	stop()
	open(lab.DefaultUser)
	shows("profile "+lab.DefaultUser, rec.last(), fedARN)
	stop()
	// Opening again reuses the profile Firefox has.
	open(lab.DefaultRole)
	shows("profile "+lab.DefaultRole+" again", rec.last(), roleARN)
	stop()

	var ini []byte
	for _, p := range []string{filepath.Join(home, ".config", "mozilla", "firefox", "profiles.ini"), filepath.Join(home, ".mozilla", "firefox", "profiles.ini")} {
		if b, err := os.ReadFile(p); err == nil {
			ini = b
		}
	}
	for _, p := range []string{lab.DefaultRole, lab.DefaultUser} {
		if n := bytes.Count(ini, []byte("Name=credkit-"+p+"\n")); n != 1 {
			t.Errorf("Firefox's profiles.ini has %d profiles credkit-%s, want 1:\n%s", n, p, ini)
		}
		dir := filepath.Join(cache, "credkit", "browser", ".firefox", p)
		if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("Firefox profile directory %s: %v %v, want a directory of mode 0700", dir, st, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "cookies.sqlite")); err != nil {
			t.Errorf("Firefox did not use the profile in %s: %v", dir, err)
		}
	}

	// Each Firefox profile keeps its own console session.
	var fenv []string
	for k, v := range env {
		if !strings.HasPrefix(k, "AWS_") {
			fenv = append(fenv, k+"="+v)
		}
	}
	testpeer.FirefoxVisit(t, fenv, "credkit-"+lab.DefaultUser, c.url+"/console/")
	shows("the user's Firefox profile later", rec.last(), fedARN)
	testpeer.FirefoxVisit(t, fenv, "credkit-"+lab.DefaultRole, c.url+"/console/")
	shows("the role's Firefox profile later", rec.last(), roleARN)

	argv, _ := os.ReadFile(argvLog)
	if strings.Contains(string(argv), "SigninToken") || strings.Contains(string(argv), "labsignin") {
		t.Errorf("Firefox's argv holds the sign-in URL:\n%s", argv)
	}
	if !strings.Contains(string(argv), "-P\ncredkit-"+lab.DefaultRole+"\n-new-tab\nfile://") {
		t.Errorf("Firefox was not given -P credkit-%s and the page:\n%s", lab.DefaultRole, argv)
	}
	pages, _ := os.ReadDir(filepath.Join(cache, "credkit", "browser", ".pages"))
	if len(pages) != 0 {
		t.Errorf("redirect pages left behind: %v", pages)
	}
}
