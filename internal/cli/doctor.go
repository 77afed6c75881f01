package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// doctorReport is what doctor found, for people (text) and scripts (JSON).
type doctorReport struct {
	Environment []credentialReport `json:"environment"`
	Profiles    []credentialReport `json:"profiles"`
	Profile     string             `json:"profile"`
	Chosen      *credentialReport  `json:"chosen"`
	Region      string             `json:"region"`
	RegionFrom  string             `json:"region_from"`
	Warnings    []string           `json:"warnings"`
	Problems    []string           `json:"problems"`
}

type credentialReport struct {
	Source      string `json:"source"`
	Profile     string `json:"profile,omitempty"`
	AccessKeyID string `json:"access_key_id,omitempty"`
	KeyType     string `json:"key_type,omitempty"`
	Temporary   bool   `json:"temporary"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	Error       string `json:"error,omitempty"`
}

func report(c creds.Credentials, err error) credentialReport {
	r := credentialReport{Source: c.Source, AccessKeyID: c.AccessKeyID, Temporary: c.Temporary()}
	if c.AccessKeyID != "" {
		r.KeyType = keyType(c.AccessKeyID)
	}
	if c.CanExpire() {
		r.ExpiresAt = c.Expires.UTC().Format(time.RFC3339)
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func (a *App) doctor(ctx context.Context, args []string) error {
	var profile string
	var asJSON bool
	fs := a.flagSet("doctor", "doctor [--profile P] [--json]",
		"Shows which AWS credentials are present, where they come from, which one a program\n"+
			"using an AWS SDK would get, and what looks wrong. Exit code 0 when credentials were\n"+
			"found, 1 when none were.",
		"credkit doctor",
		"credkit doctor --profile dev --json")
	fs.StringVar(&profile, "profile", "", "the profile to check (default: AWS_PROFILE, then default)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("doctor takes no arguments, got %q", pos[0])
	}
	now := a.Now()
	rep := doctorReport{Profile: source.ProfileName(a.Getenv, profile), Warnings: []string{}, Problems: []string{}}

	envCreds, envFound, envErr := source.Env(a.Getenv)
	if envFound || envErr != nil {
		rep.Environment = append(rep.Environment, report(envCreds, envErr))
		if envErr != nil {
			rep.Problems = append(rep.Problems, envErr.Error())
		}
	}
	files, filesErr := awsconfig.Load(awsconfig.Options{Getenv: a.Getenv})
	if filesErr != nil {
		rep.Problems = append(rep.Problems, filesErr.Error())
	}
	if files != nil {
		for _, name := range files.ProfileNames() {
			c, err := source.Profile(files, name)
			if err != nil && errors.Is(err, source.ErrNotStatic) {
				continue // not a static-key profile: other sources resolve it
			}
			r := report(c, err)
			r.Profile = name
			if r.Source == "" {
				r.Source = "profile " + name
			}
			rep.Profiles = append(rep.Profiles, r)
		}
	}

	chosen, chooseErr := source.Find(a.Getenv, files, profile)
	if chooseErr == nil {
		r := report(chosen, nil)
		rep.Chosen = &r
		if chosen.Expired(now) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the chosen credentials (%s) expired at %s, %s ago; get new ones", chosen.Source, chosen.Expires.UTC().Format(time.RFC3339), now.Sub(chosen.Expires).Round(time.Second)))
		} else if chosen.CanExpire() && chosen.Expires.Sub(now) < 15*time.Minute {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the chosen credentials expire in %s (at %s)", chosen.Expires.Sub(now).Round(time.Second), chosen.Expires.UTC().Format(time.RFC3339)))
		}
		if envFound && profile == "" && a.Getenv("AWS_PROFILE") != "" && chosen.Source == envCreds.Source {
			msg := fmt.Sprintf("AWS_ACCESS_KEY_ID in the environment shadows AWS_PROFILE=%s: SDKs use the environment keys and ignore the profile", a.Getenv("AWS_PROFILE"))
			if envCreds.Temporary() {
				msg += "; they are session credentials that cannot refresh"
				if envCreds.CanExpire() {
					msg += " and expire at " + envCreds.Expires.UTC().Format(time.RFC3339)
				}
			}
			rep.Warnings = append(rep.Warnings, msg+". Unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN to use the profile.")
		}
		if !chosen.Temporary() && chosen.Source != envCreds.Source {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the long-term keys of %s sit in a plaintext file", chosen.Source))
		}
	} else {
		if errors.Is(chooseErr, awsconfig.ErrProfileNotFound) && profile != "" {
			return asBadInput(chooseErr) // --profile names no profile
		}
		rep.Problems = append(rep.Problems, chooseErr.Error())
	}
	if files != nil {
		rep.Region, rep.RegionFrom = source.Region(a.Getenv, files, rep.Profile)
	}
	if rep.Region == "" {
		rep.Warnings = append(rep.Warnings, "no region: set AWS_REGION or region in the profile; SDK calls will fail without one")
	}

	if asJSON {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		a.printDoctor(&rep)
	}
	if rep.Chosen == nil {
		return silentError{ExitFailure}
	}
	if len(rep.Problems) > 0 {
		return silentError{ExitFailure}
	}
	return nil
}

func (a *App) printDoctor(rep *doctorReport) {
	w := a.Stdout
	line := func(r credentialReport) string {
		s := r.AccessKeyID + " (" + r.KeyType + ")"
		if r.Temporary {
			s += ", with session token"
		}
		if r.ExpiresAt != "" {
			s += ", expires " + r.ExpiresAt
		}
		if r.Error != "" {
			s = "error: " + r.Error
		}
		return s
	}
	fmt.Fprintln(w, "Environment:")
	if len(rep.Environment) == 0 {
		fmt.Fprintln(w, "  no AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
	}
	for _, r := range rep.Environment {
		fmt.Fprintf(w, "  %s\n", line(r))
	}
	fmt.Fprintln(w, "Profiles with static keys:")
	if len(rep.Profiles) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, r := range rep.Profiles {
		fmt.Fprintf(w, "  %-16s %s  [%s]\n", r.Profile, line(r), r.Source)
	}
	fmt.Fprintln(w)
	if rep.Chosen != nil {
		fmt.Fprintf(w, "An AWS SDK here would use: %s (%s)\n", rep.Chosen.Source, rep.Chosen.AccessKeyID)
	} else {
		fmt.Fprintln(w, "No credentials found.")
	}
	if rep.Region != "" {
		fmt.Fprintf(w, "Region: %s (from %s)\n", rep.Region, rep.RegionFrom)
	}
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, s := range rep.Problems {
		fmt.Fprintf(w, "problem: %s\n", s)
	}
}
