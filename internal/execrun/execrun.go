// Package execrun runs a command with a profile's credentials, the part of
// `credkit exec` after the credentials are known: the loopback endpoint
// (container or IMDSv2) or the environment the command gets, the variables
// that must not shadow them, and the child process itself, with signals
// forwarded and its exit code returned; and, before that, the session
// exec starts from (Session): the one credkit cached for the profile when
// it may still be used, so that a warm exec resolves nothing, else the
// full chain's. It imports no HTTP stack and no AWS SDK: the chain comes
// in as a function from the CLI.
package execrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/server"
)

// EnvExec marks a child of credkit exec (its value is the profile), to
// catch nesting.
const EnvExec = "CREDKIT_EXEC"

// Modes of exec.
const (
	ModeServer = "server" // container endpoint
	ModeIMDS   = "imds"   // IMDSv2 endpoint
	ModeEnv    = "env"    // keys in the environment
)

// ValidMode reports whether m is one of the modes.
func ValidMode(m string) bool { return m == ModeServer || m == ModeIMDS || m == ModeEnv }

// Shadowing are the variables a child must not inherit: they would win
// over (or fight with) the credentials credkit hands it.
var Shadowing = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED",
}

// NestedError is the refusal of an exec inside another one, or "" when
// environ's EnvExec is unset or nesting is allowed.
func NestedError(outer string, allow bool) string {
	if outer == "" || allow {
		return ""
	}
	return fmt.Sprintf("already inside credkit exec %s: the inner one would replace its credentials; pass --allow-nested if that is what you want", outer)
}

// Spec is one exec.
type Spec struct {
	Profile  string
	Mode     string // ModeServer, ModeIMDS or ModeEnv
	Region   string // "" when not known
	Provider creds.Provider
	// Current is what Provider answered just now: the keys of env mode,
	// the account of the IMDS identity document.
	Current creds.Credentials
	Path    string   // the command, as found on PATH
	Argv    []string // its arguments, Argv[0] as typed
	Environ []string // the environment to start from
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Now     func() time.Time
}

// ErrNotFound and ErrNotExecutable say why a command could not be started.
// Shells, env, timeout and docker run exit 127 and 126 for them; so does
// credkit exec.
var (
	ErrNotFound      = errors.New("command not found")
	ErrNotExecutable = errors.New("command not executable")
)

// LookPath finds the command name as exec.LookPath does, and says why it
// cannot be run with ErrNotFound or ErrNotExecutable.
func LookPath(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", startError(name, err)
	}
	return path, nil
}

// startError classifies an error from finding or starting name.
func startError(name string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		where := "on PATH"
		if strings.ContainsRune(name, os.PathSeparator) {
			where = "at that path"
		}
		return fmt.Errorf("%w: %q: no such file %s", ErrNotFound, name, where)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC), errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%w: %q: %v (is it a directory, or missing its execute bit?)", ErrNotExecutable, name, errors.Unwrap(err))
	}
	return fmt.Errorf("start %s: %w", name, err)
}

// ExitError ends exec with the child's exit code (128+N when signal N
// ended it); the child has said what it had to.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// Run runs the command as s says and waits for it. A nil error means it
// exited 0; an ExitError carries its code; any other error is credkit's
// (the endpoint or the start of the command failed).
func Run(s Spec) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	extra := []string{EnvExec + "=" + s.Profile}
	if s.Region != "" {
		extra = append(extra, "AWS_REGION="+s.Region, "AWS_DEFAULT_REGION="+s.Region)
	}
	c := s.Current
	switch s.Mode {
	case ModeEnv:
		extra = append(extra, "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey)
		if c.SessionToken != "" {
			extra = append(extra, "AWS_SESSION_TOKEN="+c.SessionToken)
		}
		if c.CanExpire() {
			extra = append(extra, "AWS_CREDENTIAL_EXPIRATION="+c.Expires.UTC().Format(time.RFC3339))
			fmt.Fprintf(s.Stderr, "credkit: warning: --mode env hands %s a snapshot that does not refresh: it expires at %s (in %s); use the default server mode for programs that run longer\n",
				s.Argv[0], c.Expires.UTC().Format(time.RFC3339), c.Expires.Sub(now()).Round(time.Second))
		}
	case ModeServer:
		tok, err := server.NewToken()
		if err != nil {
			return err
		}
		srv, err := server.Listen("", &server.ECS{Provider: s.Provider, Token: tok})
		if err != nil {
			return err
		}
		defer Close(srv)
		extra = append(extra, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+srv.URL+"/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN="+tok)
	case ModeIMDS:
		srv, err := server.Listen("", &server.IMDS{Provider: s.Provider, Role: s.Profile, Region: s.Region, AccountID: c.AccountID, Now: s.Now})
		if err != nil {
			return err
		}
		defer Close(srv)
		// With the trailing slash: the botocore of AWS CLI 2.9 appends
		// "latest/api/token" to the endpoint as it is.
		extra = append(extra, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+srv.URL+"/", "AWS_EC2_METADATA_DISABLED=false")
	default:
		return fmt.Errorf("exec mode %q: server, imds or env", s.Mode)
	}
	return RunChild(s.Path, s.Argv, ChildEnv(s.Environ, extra...), s.Stdin, s.Stdout, s.Stderr)
}

// Close stops an endpoint, giving requests in flight two seconds.
func Close(s *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Close(ctx)
}

// ChildEnv is environ without the shadowing variables and EnvExec, with
// extra added.
func ChildEnv(environ []string, extra ...string) []string {
	out := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k == EnvExec || isShadowing(k) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

func isShadowing(k string) bool {
	for _, s := range Shadowing {
		if s == k {
			return true
		}
	}
	return false
}

// RunChild runs the program at path with argv (argv[0] as typed) and env,
// stdio passed through and signals forwarded (but not those the terminal
// already sent the child), and waits for it. Its exit
// code other than 0 comes back as an ExitError; a command that cannot be
// started, as ErrNotFound or ErrNotExecutable.
func RunChild(path string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return RunChildFiles(path, argv, env, nil, stdin, stdout, stderr)
}

// RunChildFiles is RunChild with files the child inherits as descriptors
// 3, 4, ... (exec.Cmd.ExtraFiles): a secret handed over as /dev/fd/N
// rather than as a path on disk.
func RunChildFiles(path string, argv, env []string, files []*os.File, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args = argv
	cmd.Env = env
	cmd.ExtraFiles = files
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return startError(argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				if !sentByTerminal(sig) {
					cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ExitError{128 + int(ws.Signal())}
		}
		return ExitError{ee.ExitCode()}
	}
	return err
}
