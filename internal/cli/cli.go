// Package cli implements the credkit command: commands and flags (on
// spf13/cobra), output (text and JSON), exit codes and prompts. Library
// packages never print or exit; this package turns their values and
// errors into what a person or a script reads.
//
// Each command is built by its own constructor (newExecCmd, newDBTokenCmd,
// ...) from the App it runs in, so that tests inject the environment,
// the clock and the HTTP client. Help goes to stdout, and only when asked
// for; a mistake on the command line is one line on stderr and exit code 2.
//
// Exit codes: 0 success; 1 the operation failed (a request refused, a
// signature invalid, credentials not working); 2 bad usage or input
// (unknown command or flag, missing argument, malformed file, value out of
// range). credkit exec exits with its command's code, or 125 when credkit
// could not start it, 126 when the command is not executable, 127 when
// it is not found.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/credkit/credkit/internal/execrun"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	// The codes of credkit exec when its command did not run, as docker
	// run, env and timeout use them.
	ExitExecFailed    = 125
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// App is one run of the command, with everything it touches from the
// outside world injectable for tests.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	HTTP           *http.Client
	// Environ is the environment children of exec inherit.
	Environ func() []string

	// vaultRooted is set when the chain found a profile's keys in the
	// vault: its sessions are then cached there, encrypted, and nowhere
	// else.
	vaultRooted atomic.Bool
	// helpErr is a mistake found while help was being asked for
	// ("credkit nosuch --help"): cobra's help path returns no error.
	helpErr error
}

// Main runs credkit with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, Now: time.Now, HTTP: newHTTPClient(), Environ: os.Environ}
	return a.Run(ctx, args)
}

// newHTTPClient returns the client credkit sends signed requests with. It
// never follows redirects: a redirect would carry the session token header
// to another host, and a signature is valid for one host only.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run runs the command args name and maps its error to an exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	a.helpErr = nil
	root := newRootCmd(a)
	// cobra reads os.Args when given nil.
	root.SetArgs(append([]string{}, args...))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		err = a.helpErr
	}
	return a.exit(cmd, err)
}

// exit prints err (if any) as one line and returns the exit code.
func (a *App) exit(cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee execrun.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var se silentError
	if errors.As(err, &se) {
		return se.code
	}
	msg := err.Error()
	var ce *cmdLineError
	if errors.As(err, &ce) {
		msg += fmt.Sprintf("; run '%s --help'", ce.cmd.CommandPath())
	}
	fmt.Fprintf(a.Stderr, "credkit: %s\n", msg)
	switch {
	case errors.Is(err, execrun.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, execrun.ErrNotExecutable):
		return ExitNotExecutable
	case cmd != nil && cmd.CommandPath() == "credkit exec":
		// Whatever kept the command from running, usage included.
		return ExitExecFailed
	}
	var ue usageError
	if errors.As(err, &ue) || ce != nil {
		return ExitUsage
	}
	return ExitFailure
}

// usageError marks bad input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func asBadInput(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// cmdLineError is a mistake in the command line itself (an unknown flag or
// command, a missing or extra argument): exit code 2, and the message
// ends with where to read the command's usage.
type cmdLineError struct {
	cmd *cobra.Command
	err error
}

func (e *cmdLineError) Error() string { return e.err.Error() }
func (e *cmdLineError) Unwrap() error { return e.err }

// usagef is a cmdLineError of cmd.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return &cmdLineError{cmd, fmt.Errorf(format, args...)}
}

// silentError ends the command with a code after it printed its own
// explanation.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// flagError rewrites pflag's errors into credkit's words.
func flagError(cmd *cobra.Command, err error) error {
	var notExist *pflag.NotExistError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedShortnames() != "":
		// -profile: a single-dash long flag of credkit before cobra.
		if long := notExist.GetSpecifiedShortnames(); len(long) > 1 && cmd.Flags().Lookup(long) != nil {
			return usagef(cmd, "unknown flag -%s: long flags take two dashes: --%s", long, long)
		}
		return usagef(cmd, "unknown flag -%s", notExist.GetSpecifiedShortnames())
	case errors.As(err, &notExist):
		return usagef(cmd, "unknown flag --%s", notExist.GetSpecifiedName())
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		what := map[string]string{
			"int": "a whole number", "float64": "a number", "bool": "true or false",
			"duration": "a duration such as 30s, 15m or 2h",
		}[f.Value.Type()]
		if what == "" {
			return usagef(cmd, "--%s %q: %v", f.Name, invalid.GetValue(), errors.Unwrap(err))
		}
		return usagef(cmd, "--%s %q is not %s", f.Name, invalid.GetValue(), what)
	}
	return &cmdLineError{cmd, err}
}

// Argument checks: cobra's own say nothing of what the arguments are.

// noArgs refuses positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// exactArgs wants n arguments, named by what in messages.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < n:
			return usagef(cmd, "%s needs %s", cmd.CommandPath(), what)
		case len(args) > n:
			return usagef(cmd, "%s takes %s, got %d arguments (%q is one too many)", cmd.CommandPath(), what, len(args), args[n])
		}
		return nil
	}
}

// maxArgs allows up to n arguments.
func maxArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef(cmd, "%s takes at most %s, got %d arguments", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// unknownCommand is the error of a group given a command it lacks.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %s", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return &cmdLineError{cmd, errors.New(msg)}
}

// examples formats a command's examples for cobra's Example field.
func examples(lines ...string) string {
	return "  " + strings.Join(lines, "\n  ")
}
