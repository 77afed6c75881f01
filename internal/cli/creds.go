package cli

import (
	"errors"
	"flag"
	"fmt"
	"time"

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
}

func (o *credOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.profile, "profile", "", "use the static keys of this profile in the shared credentials file (default: environment, then AWS_PROFILE)")
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

// credentials finds the credentials to sign with.
func (a *App) credentials(o *credOpts) (creds.Credentials, *awsconfig.Files, error) {
	files, err := a.loadFiles()
	if err != nil {
		return creds.Credentials{}, nil, err
	}
	c, err := source.Find(a.Getenv, files, o.profile)
	if err != nil {
		if errors.Is(err, awsconfig.ErrProfileNotFound) {
			return c, files, asBadInput(err)
		}
		return c, files, err
	}
	return c, files, nil
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
