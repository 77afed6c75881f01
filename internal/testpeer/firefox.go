package testpeer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	return browserPath(t, "headless Firefox", FirefoxEnv, "/usr/bin/firefox-esr", "firefox-esr")
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

// FirefoxScript writes an executable script that starts headless Firefox
// in the background with its arguments and returns at once, and returns
// the script's path: a browser for programs that start one themselves. A
// file:// page among the arguments is copied first and Firefox given the
// copy, because on a loaded machine Firefox can start later than such a
// program keeps its page. "-CreateProfile" runs in the foreground. stop
// ends the Firefox processes started so far, waiting for them to exit
// (and so to release their profiles); it runs at cleanup too.
func FirefoxScript(t testing.TB) (script string, stop func()) {
	t.Helper()
	path := Firefox(t)
	dir := t.TempDir()
	page, pids := filepath.Join(dir, "page.html"), filepath.Join(dir, "pids")
	text := "#!/bin/sh\n" +
		"for a do\n\tshift\n" +
		"\tcase \"$a\" in\n" +
		"\t-CreateProfile) exec " + shQuote(path) + " --headless -CreateProfile \"$@\" >/dev/null 2>&1;;\n" +
		"\tfile://*) cp \"${a#file://}\" " + shQuote(page) + " || exit 1; a=" + shQuote("file://"+page) + ";;\n" +
		"\tesac\n" +
		"\tset -- \"$@\" \"$a\"\n" +
		"done\n" +
		"setsid " + shQuote(path) + " --headless \"$@\" >/dev/null 2>&1 </dev/null &\n" +
		"echo $! >>" + shQuote(pids) + "\n"
	script = filepath.Join(t.TempDir(), "firefox-headless")
	if err := os.WriteFile(script, []byte(text), 0o700); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	stop = func() {
		b, _ := os.ReadFile(pids)
		os.Remove(pids)
		if len(b) > 0 {
			// Firefox writes cookies to the profile in the background, a
			// moment after it gets them.
			time.Sleep(3 * time.Second)
		}
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			p, err := os.FindProcess(pid)
			if err != nil {
				continue
			}
			p.Signal(syscall.SIGTERM)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if p.Signal(syscall.Signal(0)) != nil {
					break
				}
			}
			killTree(p)
		}
	}
	t.Cleanup(stop)
	return script, stop
}
