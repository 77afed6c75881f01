package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// KeyStore holds long-term keys outside the shared files (credkit's vault,
// an OS keyring). A profile with no keys in the files whose keys are in
// the store resolves through it, as if its keys were in the files.
type KeyStore interface {
	// StoredKeys returns a Provider of the keys stored for profile; ok is
	// false when there are none. Reading the keys may be costly (a
	// decryption): the Provider should read them on Retrieve, which is
	// not called when a cached session serves instead.
	StoredKeys(profile string) (p creds.Provider, ok bool, err error)
	// StoreName names the store in traces: "vault (file backend)".
	StoreName() string
}

// SessionStore caches STS sessions made from stored keys, so that an MFA
// code is asked for once per session and not once per process.
type SessionStore interface {
	// CachedSession returns a session of kind ("GetSessionToken" or
	// "AssumeRole") for profile and MFA serial that is still good for a
	// while; ok is false when there is none.
	CachedSession(kind, profile, mfaSerial string) (c creds.Credentials, ok bool)
	// StoreSession keeps c; an error is reported, not fatal.
	StoreSession(kind, profile, mfaSerial string, c creds.Credentials) error
}

// SessionLocker is what a SessionStore may also do: serialise the making
// of one session among processes, so that programs that miss the cache at
// the same moment ask for one MFA code, not one each. LockSession waits
// (until ctx ends) while another process makes the session; the caller
// looks in the store again once it holds the lock.
type SessionLocker interface {
	LockSession(ctx context.Context, kind, profile, mfaSerial string) (unlock func(), err error)
}

// Session kinds of a SessionStore.
const (
	SessionKindGetSessionToken = "GetSessionToken"
	SessionKindAssumeRole      = "AssumeRole"
)

// DefaultVaultSessionDuration is the lifetime asked of GetSessionToken for
// stored keys: one hour, like aws-vault, so that a lost laptop's sessions
// die soon.
const DefaultVaultSessionDuration = time.Hour

// storedSession is a Provider that returns a cached session when the store
// has one and otherwise asks inner and caches what it returns.
type storedSession struct {
	store                 SessionStore
	kind, profile, serial string
	inner                 creds.Provider
	// onStoreError receives a failure to cache (nil: ignored).
	onStoreError func(error)
	// source, if set, is what a cached session's Source must be: the
	// role's description, so that a session of another role (role_arn
	// edited since) is not reused.
	source string
}

func (s *storedSession) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if c, ok := s.cached(); ok {
		return c, nil
	}
	if l, ok := s.store.(SessionLocker); ok {
		unlock, err := l.LockSession(ctx, s.kind, s.profile, s.serial)
		if err != nil {
			return creds.Credentials{}, err
		}
		defer unlock()
		// Another process may have made it while this one waited.
		if c, ok := s.cached(); ok {
			return c, nil
		}
	}
	c, err := s.inner.Retrieve(ctx)
	if err != nil {
		return c, err
	}
	if err := s.store.StoreSession(s.kind, s.profile, s.serial, c); err != nil && s.onStoreError != nil {
		s.onStoreError(err)
	}
	return c, nil
}

func (s *storedSession) cached() (creds.Credentials, bool) {
	c, ok := s.store.CachedSession(s.kind, s.profile, s.serial)
	return c, ok && (s.source == "" || c.Source == s.source)
}

// withStoredSessions makes the chain of a profile rooted in stored keys
// use STS sessions instead of the keys: GetSessionToken (with the MFA
// device of the chain, if any) cached in the session store, and, when a
// role needed MFA, the role's credentials cached too. Roles assumed with
// an MFA session need no code of their own, as on AWS.
func withStoredSessions(c *ProfileChain, store SessionStore, sts STSOptions, mfaSerial string, rootMFA MFAPrompt, onErr func(error)) {
	// The MFA device and the way to get its code come from the same
	// profile: the top one, else the first role (from the root) with
	// mfa_serial. A profile without mfa_process uses the root profile's.
	serial, mfaOpts := mfaSerial, sts
	if serial == "" {
		for _, h := range c.Hops {
			if h.MFASerial != "" {
				serial, mfaOpts = h.MFASerial, h.Options
				break
			}
		}
	}
	if _, ok := mfaOpts.MFA.(*MFAProcess); !ok && rootMFA != nil {
		mfaOpts.MFA = rootMFA
	}
	keys := c.Root
	session := &storedSession{
		store: store, kind: SessionKindGetSessionToken, profile: c.RootProfile, serial: serial,
		inner:        &SessionToken{Source: keys, Duration: DefaultVaultSessionDuration, MFASerial: serial, Options: mfaOpts},
		onStoreError: onErr,
	}
	c.Root = session
	c.rootSession = "session token (cached in the vault)"
	if serial != "" {
		c.rootSession = "session token with MFA device " + serial + " (cached in the vault)"
	}
	needed := false
	for _, h := range c.Hops {
		if h.MFASerial != "" {
			needed = true
			h.MFASerial = ""
		}
	}
	if len(c.Hops) > 0 {
		c.Hops[0].Source = session
		if needed {
			last := c.Hops[len(c.Hops)-1]
			c.final = &storedSession{store: store, kind: SessionKindAssumeRole, profile: c.Profile, serial: serial, inner: last, onStoreError: onErr, source: last.what()}
		}
	}
}

// MFAProcess is an MFAPrompt that runs a command (a profile's mfa_process)
// and reads the code from its stdout: a password manager or a TOTP tool.
// The command is split into words like credential_process and run
// without a shell; its stderr goes to Stderr (nil: the parent's).
type MFAProcess struct {
	Command string
	Stderr  io.Writer
	// Timeout bounds a run; 0 means one minute (a person may have to
	// touch a key).
	Timeout time.Duration
}

// ErrMFAProcessOutput is wrapped by the error of an mfa_process whose
// output is not a code.
var ErrMFAProcessOutput = errors.New("mfa_process did not print an MFA code")

// MFACode runs the command.
func (m *MFAProcess) MFACode(ctx context.Context, serial string) (string, error) {
	args, err := splitCommandLine(m.Command)
	if err != nil {
		return "", fmt.Errorf("mfa_process cannot be split into words: %v", err)
	}
	if len(args) == 0 {
		return "", errors.New("mfa_process is empty")
	}
	t := m.Timeout
	if t == 0 {
		t = time.Minute
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = m.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.WaitDelay = processWaitDelay
	out, err := cmd.Output()
	prog := "mfa_process (program " + args[0] + ")"
	var ee *exec.ExitError
	switch {
	case err != nil && parent.Err() != nil:
		return "", fmt.Errorf("%s was stopped: %w", prog, parent.Err())
	case err != nil && ctx.Err() != nil:
		return "", fmt.Errorf("%s did not print a code within %v and was killed", prog, t)
	case errors.As(err, &ee):
		return "", fmt.Errorf("%s exited with status %d", prog, ee.ExitCode())
	case err != nil:
		return "", fmt.Errorf("%s cannot be run: %v", prog, err)
	}
	code := strings.TrimSpace(string(out))
	if !isMFACode(code) {
		// The output is not quoted: it may be a secret printed by mistake.
		return "", fmt.Errorf("%s printed %d bytes that are not a 6-digit code for %s: %w", prog, len(out), serial, ErrMFAProcessOutput)
	}
	return code, nil
}

func isMFACode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// storedOnly is the chain of a profile that is in the key store but not in
// the files: its keys, through a session when a session store is set.
func storedOnly(files *awsconfig.Files, name string, opts ProfileOptions) (*ProfileChain, bool, error) {
	keys, ok, err := opts.Keys.StoredKeys(name)
	if err != nil {
		return nil, false, fmt.Errorf("profile %s: %s: %w", name, opts.Keys.StoreName(), err)
	}
	if !ok {
		return nil, false, nil
	}
	chain := &ProfileChain{Profile: name, Root: keys, RootKind: opts.Keys.StoreName(), RootProfile: name, Rules: opts.Rules}
	if opts.Sessions != nil {
		sts := opts.STS
		if sts.Region == "" {
			sts.Region, _ = Region(orEnv(opts.Getenv), files, name)
		}
		if sts.Endpoint == "" {
			sts.Endpoint = serviceEndpoint(orEnv(opts.Getenv), nil, nil, EnvEndpointURLSTS, "sts")
		}
		withStoredSessions(chain, opts.Sessions, sts, "", nil, opts.OnSessionStoreError)
	}
	return chain, true, nil
}
