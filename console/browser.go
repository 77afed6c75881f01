package console

import (
	"errors"
	"fmt"
	"html"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/atomicfile"
)

// Browsers are the values of --browser.
var Browsers = []string{"chromium", "chrome", "firefox", "open"}

// ErrUnknownBrowser marks a browser name not in Browsers.
var ErrUnknownBrowser = errors.New("unknown browser")

// Browser is how to start one browser with an isolated profile.
type Browser struct {
	// Name is one of Browsers.
	Name string
	// Exec is the executable; "" means the first of the browser's usual
	// names found on PATH.
	Exec string
	// DataDir is the per-profile directory of Chromium and Chrome
	// (--user-data-dir).
	DataDir string
	// FirefoxProfile is Firefox's profile name (-P).
	FirefoxProfile string
	// FirefoxDir is where ProfileCommand makes FirefoxProfile's
	// directory when Firefox does not know the profile yet.
	FirefoxDir string
}

var executables = map[string][]string{
	"chromium": {"chromium", "chromium-browser"},
	"chrome":   {"google-chrome", "google-chrome-stable", "chrome"},
	"firefox":  {"firefox", "firefox-esr"},
}

// CheckBrowser reports ErrUnknownBrowser for a name not in Browsers.
func CheckBrowser(name string) error {
	for _, b := range Browsers {
		if b == name {
			return nil
		}
	}
	return fmt.Errorf("%w %q: choose one of %s", ErrUnknownBrowser, name, strings.Join(Browsers, ", "))
}

// Command is the argv that opens page (a file:// URL, not the secret
// sign-in URL) in b.
func (b Browser) Command(page string) ([]string, error) {
	exe, err := b.executable()
	if err != nil {
		return nil, err
	}
	switch b.Name {
	case "chromium", "chrome":
		return []string{exe, "--user-data-dir=" + b.DataDir, "--no-first-run", "--no-default-browser-check", page}, nil
	case "firefox":
		return []string{exe, "-P", b.FirefoxProfile, "-new-tab", page}, nil
	}
	return []string{exe, page}, nil
}

// ProfileCommand is the argv to run before Command so that b's profile
// exists, or nil when there is nothing to make. For Firefox it is
// -CreateProfile "NAME DIR", which opens no window and leaves a profile
// of that name alone when Firefox already has one.
func (b Browser) ProfileCommand() ([]string, error) {
	if b.Name != "firefox" {
		return nil, CheckBrowser(b.Name)
	}
	if b.FirefoxProfile == "" || strings.ContainsAny(b.FirefoxProfile, " \t\n") || b.FirefoxDir == "" {
		return nil, fmt.Errorf("browser firefox: need a profile name without spaces and a directory, not %q and %q", b.FirefoxProfile, b.FirefoxDir)
	}
	exe, err := b.executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, "--headless", "-CreateProfile", b.FirefoxProfile + " " + b.FirefoxDir}, nil
}

// executable is b.Exec, or the first of the browser's usual names found
// on PATH.
func (b Browser) executable() (string, error) {
	if err := CheckBrowser(b.Name); err != nil {
		return "", err
	}
	if b.Exec != "" {
		return b.Exec, nil
	}
	names := executables[b.Name]
	if b.Name == "open" {
		names = []string{"xdg-open"}
		if runtime.GOOS == "darwin" {
			names = []string{"open"}
		}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browser %s: none of %s is on PATH", b.Name, strings.Join(names, ", "))
}

// ProfileDirName makes an AWS profile name safe as one path element.
func ProfileDirName(profile string) string {
	if profile == "" {
		profile = "default"
	}
	b := []byte(profile)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

// PageLifetime is how long a redirect page is of use: the sign-in token
// in it expires then. Pages older than that (left by a run that was
// killed) are removed by the next WritePage.
const PageLifetime = 15 * time.Minute

// WritePage writes, in dir (made 0700), a page of mode 0600 that sends
// the browser on to signinURL at once, and returns its file:// URL and
// path. The caller removes it once the browser has read it.
func WritePage(dir, signinURL string) (pageURL, path string, err error) {
	esc := html.EscapeString(signinURL)
	page := `<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<meta http-equiv="refresh" content="0;url=` + esc + `"><title>Signing in to the AWS console</title></head>` +
		`<body><p>Signing in to the AWS console&hellip;</p></body></html>`
	path, err = atomicfile.Transient{Dir: dir, Prefix: "signin-", Suffix: ".html", MaxAge: PageLifetime}.Write([]byte(page))
	if err != nil {
		return "", "", fmt.Errorf("page: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	return "file://" + filepath.ToSlash(abs), path, nil
}
