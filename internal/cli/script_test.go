package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary also the credkit of the scripts in
// testdata/script: testscript puts a copy named credkit on their PATH,
// which runs Main as cmd/credkit does.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"credkit": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs the command-line scripts, one per command or group:
// each shows a command line, its exit code, its stdout and its stderr.
// UPDATE_SCRIPTS=1 rewrites the golden files in the archives (help
// texts) from what credkit prints now.
//
// Scripts run credkit as "exits CODE credkit ARGS...": the exit code is
// part of every line, and the run fails when credkit prints a secret
// where it must not.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, "cache"))
			// Never the real instance metadata address, nor a keyring.
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			env.Setenv("CREDKIT_NO_VAULT", "1")
			// The secrets the scripts' files and variables hold.
			env.Setenv("TEST_SECRET", testSecret)
			env.Setenv("TEST_TOKEN", testToken)
			return os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
	})
}

// cmdExits runs a command and checks its exit code:
//
//	exits CODE COMMAND [ARGS...]
//
// For credkit it also checks that no secret reached stderr, nor stdout
// of a command that does not hand credentials out.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("exits takes no !: its CODE says what is expected")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: CODE %q is not a number", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%v", err)
	}
	if args[1] == "credkit" {
		stdout, stderr := ts.ReadFile("stdout"), ts.ReadFile("stderr")
		secrets := []string{testSecret, testToken, ts.Getenv("AWS_SECRET_ACCESS_KEY"), ts.Getenv("AWS_SESSION_TOKEN")}
		if leak := secretLeak(args[2:], stdout, stderr, secrets...); leak != "" {
			ts.Fatalf("credkit %s", leak)
		}
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
