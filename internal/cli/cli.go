// Package cli implements the credkit command: flags, output (text and
// JSON), exit codes and prompts. Library packages never print or exit;
// this package turns their values and errors into what a person or a
// script reads.
//
// Exit codes: 0 success; 1 the operation failed (a request refused, a
// signature invalid, credentials not working); 2 bad input (unknown
// command or flag, malformed file, value out of range).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
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

// command is one credkit subcommand.
type command struct {
	name    string
	summary string
	run     func(a *App, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"doctor", "which credentials programs get here, from where, until when, and what is wrong", (*App).doctor},
		{"whoami", "who the current credentials belong to, in one line", (*App).whoami},
		{"export", "print the current credentials as shell variables, credential_process JSON, INI, ...", (*App).export},
		{"credential-process", "answer as a credential_process, with a session cache", (*App).credentialProcess},
		{"add", "store an IAM user's long-term key in the vault (OS keyring or encrypted file)", (*App).add},
		{"list", "profiles, where their keys are, and the sessions cached in the vault", (*App).list},
		{"remove", "delete a profile's key and sessions from the vault", (*App).remove},
		{"clear", "delete the STS sessions cached in the vault", (*App).clear},
		{"rotate", "replace a stored key with a new one (IAM), and delete the old one", (*App).rotate},
		{"import", "move keys from another store into the vault (import aws-vault)", (*App).importCmd},
		{"exec", "run a command with a profile's credentials, served so that they refresh", (*App).execCmd},
		{"serve", "serve a profile's credentials on a loopback ECS or IMDS endpoint", (*App).serve},
		{"sign", "sign a raw HTTP request from a file or stdin and print it", (*App).sign},
		{"curl", "sign and send a request, like curl", (*App).curl},
		{"presign", "presign an S3 URL (presign url) or an S3 POST upload form (presign post)", (*App).presign},
		{"db", "RDS IAM database authentication tokens (db token)", (*App).db},
		{"token", "decode and verify presigned URLs and RDS tokens (token inspect)", (*App).token},
		{"lab", "a local AWS credential emulator whose credentials expire in seconds", (*App).labCmd},
	}
}

// Run dispatches to a subcommand and maps its error to an exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return a.Run(ctx, []string{args[1], "--help"})
		}
		if len(args) == 0 {
			a.usage(a.Stderr)
			return ExitUsage
		}
		a.usage(a.Stdout)
		return ExitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(a.Stdout, "credkit", Version)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return a.exit(c.run(a, ctx, args[1:]))
		}
	}
	fmt.Fprintf(a.Stderr, "credkit: unknown command %q\n\n", args[0])
	a.usage(a.Stderr)
	return ExitUsage
}

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

func (a *App) usage(w io.Writer) {
	fmt.Fprintln(w, "credkit: AWS credentials that never go stale, never leak, and explain themselves.")
	fmt.Fprintln(w, "\nUsage: credkit COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"credkit COMMAND --help\" for a command's flags and examples.")
}

// exit prints err (if any) as one line and returns the exit code.
func (a *App) exit(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var se silentError
	if errors.As(err, &se) {
		return se.code
	}
	fmt.Fprintf(a.Stderr, "credkit: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
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

// silentError ends the command with a code after it printed its own
// explanation.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// flagSet makes a FlagSet whose --help shows the usage line, the
// description and the examples.
func (a *App) flagSet(name, usage, description string, examples ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := a.Stdout
		fmt.Fprintf(w, "Usage: credkit %s\n\n%s\n\nFlags:\n", usage, description)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if len(examples) > 0 {
			fmt.Fprintln(w, "\nExamples:")
			for _, e := range examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
	}
	return fs
}

// parse parses flags that may come before or after positional arguments
// and returns the positional ones. "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
				return nil, err
			}
			return nil, badInput("%s: %v (see credkit %s --help)", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at "--" too; everything after it is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
