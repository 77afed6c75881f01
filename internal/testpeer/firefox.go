package testpeer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FirefoxEnv names a Firefox binary to use instead of /usr/bin/firefox-esr
// (Debian's firefox-esr package, which make deps installs).
const FirefoxEnv = "CREDKIT_FIREFOX"

// Firefox returns the path of headless-capable Firefox: $CREDKIT_FIREFOX,
// else /usr/bin/firefox-esr. Missing, it skips the test (fails it with
// CREDKIT_PEERS=require).
func Firefox(t testing.TB) string {
	t.Helper()
	path, from := os.Getenv(FirefoxEnv), FirefoxEnv
	if path == "" {
		path, from = "/usr/bin/firefox-esr", "Debian package firefox-esr"
	}
	if _, err := exec.LookPath(path); err != nil {
		missing(t, "headless Firefox", fmt.Sprintf("%s (from %s) is not an executable: %v", path, from, err))
	}
	return path
}

// FirefoxVisit loads url in headless Firefox with the named profile (-P)
// of the Firefox whose HOME is in env, follows the page's refreshes and
// redirects, and returns once the page has loaded (Firefox's --screenshot
// mode, which exits then). Firefox has no --dump-dom: what the page showed
// is for the server to record. Cookies persist in the profile.
func FirefoxVisit(t testing.TB, env []string, profile, url string) {
	t.Helper()
	path := Firefox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "shot.png")
	cmd := exec.CommandContext(ctx, path, "--headless", "-P", profile, "--screenshot", shot, url)
	cmd.Env = env
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { killTree(cmd.Process); return nil }
	cmd.WaitDelay = 5 * time.Second
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("testpeer: firefox -P %s --screenshot: %v\n%s", profile, err, out.lastLines(20))
	}
	if _, err := os.Stat(shot); err != nil {
		t.Fatalf("testpeer: firefox -P %s did not load %s: %v\n%s", profile, url, err, out.lastLines(20))
	}
}

// FirefoxScript writes an executable script that runs headless Firefox
// with its arguments, a program's "-P PROFILE -new-tab PAGE" turned into
// "-P PROFILE --screenshot FILE PAGE" so that Firefox exits once the page
// has loaded, and returns the script's path: a browser for programs that
// start one themselves.
func FirefoxScript(t testing.TB) string {
	t.Helper()
	path := Firefox(t)
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	shot := filepath.Join(t.TempDir(), "shot.png")
	script := "#!/bin/sh\n" +
		"for a do\n\tshift\n\tif [ \"$a\" = -new-tab ]; then set -- \"$@\" --screenshot " + quote(shot) + "; else set -- \"$@\" \"$a\"; fi\ndone\n" +
		"exec " + quote(path) + " --headless \"$@\" >/dev/null 2>&1\n"
	p := filepath.Join(t.TempDir(), "firefox-headless")
	if err := os.WriteFile(p, []byte(script), 0o700); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return p
}
