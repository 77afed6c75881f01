package testpeer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ChromiumEnv names a Chromium or Chrome binary to use instead of
// /usr/bin/chromium (Debian's chromium package, which make deps installs).
const ChromiumEnv = "CREDKIT_CHROMIUM"

// chromiumHeadless are the flags of every headless run: no sandbox (tests
// may run as root), no GPU, and virtual time, so that a page's meta
// refresh and redirects are followed before the DOM is dumped.
var chromiumHeadless = []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
	"--no-default-browser-check", "--virtual-time-budget=10000", "--dump-dom"}

// Chromium returns the path of headless-capable Chromium: $CREDKIT_CHROMIUM,
// else /usr/bin/chromium. Missing, it skips the test (fails it with
// CREDKIT_PEERS=require).
func Chromium(t testing.TB) string {
	t.Helper()
	return browserPath(t, "headless Chromium", ChromiumEnv, "/usr/bin/chromium", "chromium")
}

// ChromiumDumpDOM loads url in headless Chromium with the profile in
// userDataDir (made when missing) and returns the DOM once the page and
// the redirects it leads to have loaded. Cookies persist in userDataDir
// from one run to the next, as in a browser left open.
func ChromiumDumpDOM(t testing.TB, userDataDir, url string) string {
	t.Helper()
	path := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	argv := append(append([]string{}, chromiumHeadless...), "--user-data-dir="+userDataDir, url)
	cmd := exec.CommandContext(ctx, path, argv...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { killTree(cmd.Process); return nil }
	cmd.WaitDelay = 5 * time.Second
	var stdout bytes.Buffer
	stderr := &tail{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("testpeer: chromium --dump-dom: %v\n%s", err, stderr.lastLines(20))
	}
	return stdout.String()
}

// ChromiumScript writes an executable script that runs headless Chromium
// with its arguments ("$@": a program's --user-data-dir and page) and
// appends the dumped DOM to domFile, and returns the script's path: a
// browser for programs that start one themselves.
func ChromiumScript(t testing.TB, domFile string) string {
	t.Helper()
	path := Chromium(t)
	var flags []string
	for _, f := range chromiumHeadless {
		flags = append(flags, shQuote(f))
	}
	script := "#!/bin/sh\nexec " + shQuote(path) + " " + strings.Join(flags, " ") + ` "$@" >>` + shQuote(domFile) + " 2>/dev/null\n"
	p := filepath.Join(t.TempDir(), "chromium-headless")
	if err := os.WriteFile(p, []byte(script), 0o700); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return p
}
