package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
	"github.com/credkit/credkit/source"
)

// credOpts are the flags every signing command shares.
type credOpts struct {
	profile     string
	region      string
	signingTime string
	mfaToken    string
	// allowInteractive: sign in to Identity Center when the SSO token is
	// missing or expired (the commands that register --allow-interactive).
	allowInteractive bool
}

func (o *credOpts) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.profile, "profile", "", "use this profile, ahead of environment keys (default: the SDKs' chain: environment, AWS_PROFILE or default, container, instance metadata)")
	fs.StringVar(&o.mfaToken, "mfa-token", "", "MFA code for a profile with mfa_serial (default: asked on the terminal)")
	fs.StringVar(&o.region, "region", "", "region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)")
	fs.StringVar(&o.signingTime, "signing-time", "", "sign as of this time (RFC3339, e.g. 2026-01-02T15:04:05Z) for reproducible output")
}

// when returns the signing time: the flag's value or now.
func (a *App) when(o *credOpts) (time.Time, error) {
	if o.signingTime == "" {
		return a.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, o.signingTime)
	if err != nil {
		return time.Time{}, badInput("--signing-time %q is not an RFC3339 time like 2026-01-02T15:04:05Z", o.signingTime)
	}
	return t, nil
}

func (a *App) loadFiles() (*awsconfig.Files, error) {
	files, err := awsconfig.Load(awsconfig.Options{Getenv: a.Getenv})
	if err != nil {
		return nil, asBadInput(err)
	}
	return files, nil
}

// credentials resolves credentials through the SDKs' chain (an explicit
// --profile first) and returns them with the config files.
func (a *App) credentials(ctx context.Context, o *credOpts) (creds.Credentials, *awsconfig.Files, error) {
	c, _, files, err := a.resolve(ctx, o)
	return c, files, err
}

// resolve runs the chain and returns the trace as well.
func (a *App) resolve(ctx context.Context, o *credOpts) (creds.Credentials, *creds.Trace, *awsconfig.Files, error) {
	files, err := a.loadFiles()
	if err != nil {
		return creds.Credentials{}, nil, nil, err
	}
	chain := source.DefaultChain(a.chainOptions(o, files))
	c, trace, err := chain.Resolve(ctx)
	if a.interactiveSSOLogin(ctx, o, files, err) {
		c, trace, err = source.DefaultChain(a.chainOptions(o, files)).Resolve(ctx)
	}
	if err != nil {
		if errors.Is(err, awsconfig.ErrProfileNotFound) && o.profile != "" {
			return c, trace, files, asBadInput(err)
		}
		if errors.Is(err, creds.ErrNoCredentials) {
			return c, trace, files, fmt.Errorf("%w: looked at %s; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME (run credkit doctor for details)", err, lookedAt(trace))
		}
		return c, trace, files, err
	}
	return c, trace, files, nil
}

func lookedAt(t *creds.Trace) string {
	var names []string
	for _, s := range t.Steps {
		names = append(names, s.Source)
	}
	return strings.Join(names, ", ")
}

// mfaPrompt asks for MFA codes: --mfa-token, else the terminal.
func (a *App) mfaPrompt(o *credOpts) source.MFAPrompt {
	return source.MFAPromptFunc(func(ctx context.Context, serial string) (string, error) {
		if o.mfaToken != "" {
			return o.mfaToken, nil
		}
		tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
		if err != nil {
			return "", fmt.Errorf("an MFA code is needed for %s and there is no terminal to ask on: pass --mfa-token CODE", serial)
		}
		defer tty.Close()
		fmt.Fprintf(tty, "MFA code for %s: ", serial)
		line, err := bufio.NewReader(tty).ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("read MFA code: %w", err)
		}
		return strings.TrimSpace(line), nil
	})
}

// regionFor returns the region to sign for; fallback is used when neither
// the flag, the environment nor the profile names one ("" for none).
func (a *App) regionFor(o *credOpts, files *awsconfig.Files, fallback string) (string, error) {
	r := o.region
	if r == "" && files != nil {
		r, _ = source.Region(a.Getenv, files, source.ProfileName(a.Getenv, o.profile))
	}
	if r == "" {
		r = fallback
	}
	if r == "" {
		return "", badInput("no region: pass --region, set AWS_REGION, or set region in the profile")
	}
	if err := sigv4.CheckRegion(r); err != nil {
		return "", asBadInput(err)
	}
	return r, nil
}

// expiresFlag parses a lifetime given as a Go duration (15m, 1h) or a
// number of seconds, within SigV4's 1 second to 7 days.
func expiresFlag(v string) (time.Duration, error) {
	var d time.Duration
	var n int64
	if _, err := fmt.Sscanf(v, "%d", &n); err == nil && fmt.Sprint(n) == v {
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, badInput("--expires %q is not a duration (like 15m, 1h, 7d is 168h) or a number of seconds", v)
	}
	if err := sigv4.CheckExpires(d); err != nil {
		return 0, badInput("--expires %s: %v", v, err)
	}
	return d, nil
}
