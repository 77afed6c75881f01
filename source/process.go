package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// DefaultProcessTimeout bounds a credential_process run, as in
// aws-sdk-go-v2 (botocore has no limit).
const DefaultProcessTimeout = time.Minute

// maxProcessOutput bounds what is read of a process's stdout.
const maxProcessOutput = 1 << 20

// processWaitDelay is how long Retrieve waits for stdout to close after the
// process has exited or been killed (a child it started may hold it open).
const processWaitDelay = time.Second

// ErrProcessOutput is wrapped by the error for a credential_process whose
// stdout is not valid Version 1 credentials.
var ErrProcessOutput = errors.New("invalid credential_process output")

// ProcessOptions tune a Process. The zero value gives the defaults.
type ProcessOptions struct {
	// Timeout bounds a run; the process is killed when it is reached.
	// Zero means DefaultProcessTimeout, negative means no limit.
	Timeout time.Duration
	// Stdin is the process's standard input. nil means the parent's, as in
	// the SDKs (a process may prompt for an MFA code); give
	// strings.NewReader("") for none, as a server should.
	Stdin io.Reader
	// Stderr receives the process's standard error, which is not captured
	// (it is where a process prompts). nil means the parent's, as in
	// aws-sdk-go-v2 (botocore captures it); io.Discard drops it.
	Stderr io.Writer
	// Env is added to the parent's environment ("KEY=value"; a key given
	// here wins).
	Env []string
	// AccountID is used when the output has no AccountId: botocore uses the
	// profile's aws_account_id.
	AccountID string
	// Now is the clock that judges Expiration (time.Now when nil).
	Now func() time.Time
}

// Process gets credentials by running a profile's credential_process, as
// botocore's ProcessProvider does: the command is split into words like
// Python's shlex.split and run directly, without a shell (aws-sdk-go-v2
// instead runs it with "sh -c", so shell syntax such as pipes, $VAR or ~
// works there and not here). Each Retrieve runs it once.
//
// No error contains the command's arguments (they may hold secrets) or its
// output: errors name the program only.
//
// A Process is safe for concurrent use.
type Process struct {
	command string
	program string // base name of the first word; "" when it cannot be split
	opts    ProcessOptions
}

// NewProcess returns a Process for the credential_process command. A
// command that cannot be split (an unclosed quote) gives an error from
// Retrieve.
func NewProcess(command string, opts ProcessOptions) *Process {
	if opts.Timeout == 0 {
		opts.Timeout = DefaultProcessTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Process{command: command, opts: opts}
	if args, err := splitCommandLine(command); err == nil && len(args) > 0 {
		p.program = filepath.Base(args[0])
	}
	return p
}

// Program is the base name of the program the command runs; empty when
// the command cannot be split or is empty.
func (p *Process) Program() string { return p.program }

// Source is what Retrieve puts in Credentials.Source, e.g.
// "credential_process (program aws-vault)".
func (p *Process) Source() string {
	if p.program == "" {
		return "credential_process"
	}
	return fmt.Sprintf("credential_process (program %s)", p.program)
}

// processOutputKeys are the keys of the Version 1 output.
var processOutputKeys = []string{"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"}

// Retrieve runs the command and reads its stdout, which must be the
// Version 1 JSON object: "Version" (the number 1), "AccessKeyId" and
// "SecretAccessKey" (required, non-empty), "SessionToken" and
// "Expiration" (RFC 3339; absent or null means the credentials do not
// expire) and "AccountId" (optional). Key names are matched exactly, as
// botocore does. Credentials whose Expiration has passed are an error
// wrapping creds.ErrExpired; other invalid output wraps ErrProcessOutput.
func (p *Process) Retrieve(ctx context.Context) (creds.Credentials, error) {
	args, err := splitCommandLine(p.command)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("credential_process cannot be split into words: %v", err)
	}
	if len(args) == 0 {
		return creds.Credentials{}, errors.New("credential_process is empty")
	}
	name := p.Source()

	parent := ctx
	if p.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.opts.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), p.opts.Env...)
	cmd.Stdin = p.opts.Stdin
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	cmd.Stderr = p.opts.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	out := &cappedBuffer{max: maxProcessOutput}
	cmd.Stdout = out
	cmd.WaitDelay = processWaitDelay

	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err != nil && parent.Err() != nil:
		return creds.Credentials{}, fmt.Errorf("%s: stopped: %w", name, parent.Err())
	case err != nil && ctx.Err() != nil:
		return creds.Credentials{}, fmt.Errorf("%s did not finish within %v (the credential_process timeout) and was killed: %w",
			name, p.opts.Timeout, context.DeadlineExceeded)
	case out.overflow:
		return creds.Credentials{}, fmt.Errorf("%s wrote more than %d bytes to stdout: %w", name, maxProcessOutput, ErrProcessOutput)
	case errors.As(err, &ee):
		if ee.ExitCode() >= 0 {
			return creds.Credentials{}, fmt.Errorf("%s exited with status %d (its stderr, where it says why, is not captured)", name, ee.ExitCode())
		}
		return creds.Credentials{}, fmt.Errorf("%s ended abnormally: %s", name, ee.ProcessState)
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited successfully but a child it started kept stdout
		// open: use what it wrote.
	case err != nil:
		// Could not start: exec.Error and fs.PathError name argv[0] only.
		return creds.Credentials{}, fmt.Errorf("%s cannot be run: %v", name, err)
	}

	c, err := parseProcessOutput(out.buf, p.opts.Now())
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", name, err)
	}
	if c.AccountID == "" {
		c.AccountID = p.opts.AccountID
	}
	c.Source = name
	return c, nil
}

// parseProcessOutput checks and reads the Version 1 output. No error
// quotes the output, except the Version and Expiration values.
func parseProcessOutput(stdout []byte, now time.Time) (creds.Credentials, error) {
	if len(strings.TrimSpace(string(stdout))) == 0 {
		return creds.Credentials{}, fmt.Errorf("%w: it printed nothing on stdout", ErrProcessOutput)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(stdout, &obj); err != nil {
		return creds.Credentials{}, fmt.Errorf("%w: stdout is not a JSON object (%d bytes; %s)", ErrProcessOutput, len(stdout), jsonProblem(err))
	}
	if obj == nil {
		return creds.Credentials{}, fmt.Errorf("%w: stdout is JSON null, not an object", ErrProcessOutput)
	}

	// hint names a key that differs from a wanted one in case only.
	hint := func(want string) string {
		for k := range obj {
			if k != want && strings.EqualFold(k, want) {
				return fmt.Sprintf(" (it has %q: key names are case-sensitive)", k)
			}
		}
		return ""
	}
	str := func(key string) (string, error) {
		raw, ok := obj[key]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a JSON string", ErrProcessOutput, key)
		}
		return s, nil
	}

	v, ok := obj["Version"]
	switch {
	case !ok:
		return creds.Credentials{}, fmt.Errorf("%w: it has no Version (want \"Version\": 1)%s", ErrProcessOutput, hint("Version"))
	case strings.TrimSpace(string(v)) != "1":
		return creds.Credentials{}, fmt.Errorf("%w: Version is %s; the only version is 1", ErrProcessOutput, truncate(strings.TrimSpace(string(v)), 20))
	}

	vals := map[string]string{}
	for _, k := range processOutputKeys[1:] {
		s, err := str(k)
		if err != nil {
			return creds.Credentials{}, err
		}
		vals[k] = s
	}
	var missing []string
	for _, k := range []string{"AccessKeyId", "SecretAccessKey"} {
		if vals[k] == "" {
			missing = append(missing, k+hint(k))
		}
	}
	if len(missing) > 0 {
		return creds.Credentials{}, fmt.Errorf("%w: it has no %s", ErrProcessOutput, strings.Join(missing, " and no "))
	}

	c := creds.Credentials{
		AccessKeyID:     vals["AccessKeyId"],
		SecretAccessKey: vals["SecretAccessKey"],
		SessionToken:    vals["SessionToken"],
		AccountID:       vals["AccountId"],
	}
	if e := vals["Expiration"]; e != "" {
		t, err := time.Parse(time.RFC3339, e)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("%w: Expiration %q is not an RFC 3339 time such as 2006-01-02T15:04:05Z", ErrProcessOutput, truncate(e, 40))
		}
		if !now.Before(t) {
			return creds.Credentials{}, fmt.Errorf("it returned credentials that expired at %s (%v ago): %w",
				t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second), creds.ErrExpired)
		}
		c.Expires = t
	}
	return c, nil
}

// cappedBuffer keeps up to max bytes and fails writes beyond.
type cappedBuffer struct {
	buf      []byte
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		b.overflow = true
		return 0, errors.New("stdout too large")
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

var (
	errNoClosingQuotation = awsconfig.ErrNoClosingQuote
	errNoEscapedCharacter = awsconfig.ErrNoEscaped
)

// splitCommandLine splits credential_process as botocore does (on every
// platform but Windows): Python's shlex.split, as awsconfig.SplitWords.
func splitCommandLine(s string) ([]string, error) { return awsconfig.SplitWords(s) }
