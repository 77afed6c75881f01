package execrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/front"
	"github.com/credkit/credkit/internal/sessioncache"
)

// execArgs are the arguments of exec the front end understands.
type execArgs struct {
	profile     string
	mode        string
	allowNested bool
	command     []string
}

// parseExec reads `PROFILE [--mode M] [--allow-nested] -- COMMAND...` in
// any order before the "--"; ok is false for anything else (other flags,
// --help, a command without "--"), which credkit-core handles.
func parseExec(args []string) (e execArgs, ok bool) {
	e.mode = ModeServer
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			e.command = args[i+1:]
			return e, e.profile != "" && len(e.command) > 0 && e.command[0] != "" && ValidMode(e.mode)
		case a == "--mode" || a == "-mode":
			if i+1 >= len(args) {
				return e, false
			}
			i++
			e.mode = args[i]
		case strings.HasPrefix(a, "--mode=") || strings.HasPrefix(a, "-mode="):
			_, e.mode, _ = strings.Cut(a, "=")
		case a == "--allow-nested" || a == "-allow-nested":
			e.allowNested = true
		case strings.HasPrefix(a, "-") || e.profile != "" || a == "":
			return e, false
		default:
			e.profile = a
		}
	}
	return e, false
}

// FromCache runs `credkit exec ARGS` from the session cache, for
// cmd/credkit; ok is false when it cannot, and nothing was done (the
// caller hands the command to credkit-core).
func FromCache(args []string) (code int, ok bool) {
	e, ok := parseExec(args)
	if !ok || NestedError(os.Getenv(EnvExec), e.allowNested) != "" {
		return 0, false
	}
	path, err := exec.LookPath(e.command[0])
	if err != nil {
		return 0, false
	}
	file := sessioncache.File(os.Getenv, e.profile)
	rec, ok := sessioncache.Read(os.Getenv, file, e.profile, time.Now())
	if !ok {
		return 0, false
	}
	profileRegion, ok := rec.ProfileRegion()
	if !ok {
		return 0, false
	}
	current, err := front.FromOutput(rec.Credentials)
	if err != nil {
		return 0, false
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = profileRegion
	}
	p := &cachedProfile{profile: e.profile, file: file, first: &current, stderr: os.Stderr, now: time.Now}
	if core, err := front.CoreBinary(); err != nil {
		fmt.Fprintf(os.Stderr, "credkit: warning: %v; the session of profile %s is served until it expires at %s and not refreshed\n", err, e.profile, current.Expires.UTC().Format(time.RFC3339))
	} else {
		p.core = core
	}
	err = Run(Spec{
		Profile: e.profile, Mode: e.mode, Region: region,
		Provider: creds.NewCache(p, creds.CacheOptions{}), Current: current,
		Path: path, Argv: e.command, Environ: os.Environ(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	var ee ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code, true
	case err != nil:
		fmt.Fprintf(os.Stderr, "credkit: %v\n", err)
		return 1, true
	}
	return 0, true
}

// cachedProfile provides a profile's session: the one in the cache while
// it may be used, then whatever `credkit-core credential-process` answers
// (which refreshes the session, asking for an MFA code if it must, and
// caches it).
type cachedProfile struct {
	profile, file string
	first         *creds.Credentials // the session read at start, answered once
	stderr        io.Writer
	now           func() time.Time
	core          string // credkit-core; "" when not found at start
}

func (p *cachedProfile) Retrieve(ctx context.Context) (creds.Credentials, error) {
	// The session read at start, unless the first request came so late
	// that the cache would no longer hand it out either.
	if c := p.first; c != nil {
		p.first = nil
		if c.TimeLeft(p.now()) >= sessioncache.Margin {
			return *c, nil
		}
	}
	if rec, ok := sessioncache.Read(os.Getenv, p.file, p.profile, p.now()); ok {
		if c, err := front.FromOutput(rec.Credentials); err == nil {
			return c, nil
		}
	}
	if p.core == "" {
		bin, err := front.CoreBinary()
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("refresh profile %s: %w", p.profile, err)
		}
		p.core = bin
	}
	cmd := exec.CommandContext(ctx, p.core, "credential-process", "--profile", p.profile)
	cmd.Stderr = p.stderr
	out, err := cmd.Output()
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("refresh profile %s: %s credential-process --profile %s: %v (its messages, if any, are above)", p.profile, front.Core, p.profile, err)
	}
	var o sessioncache.Output
	if err := json.Unmarshal(out, &o); err != nil {
		return creds.Credentials{}, fmt.Errorf("refresh profile %s: %s credential-process answered %d bytes that are not credential_process JSON: %v", p.profile, front.Core, len(out), err)
	}
	c, err := front.FromOutput(o)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("refresh profile %s: %s credential-process: %w", p.profile, front.Core, err)
	}
	return c, nil
}
