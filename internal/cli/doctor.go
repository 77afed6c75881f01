package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// doctorReport is what doctor found, for people (text) and scripts (JSON).
type doctorReport struct {
	Profile     string       `json:"profile"`
	Trace       *creds.Trace `json:"trace"`
	Credentials *credReport  `json:"credentials,omitempty"`
	Identity    *identity    `json:"identity,omitempty"`
	// ClockSkewSeconds is this clock minus STS's (positive: ahead).
	ClockSkewSeconds *int64   `json:"clock_skew_seconds,omitempty"`
	Region           string   `json:"region"`
	RegionFrom       string   `json:"region_from,omitempty"`
	Warnings         []string `json:"warnings"`
	Problems         []string `json:"problems"`
	OK               bool     `json:"ok"`
}

type credReport struct {
	Source      string `json:"source"`
	AccessKeyID string `json:"access_key_id"`
	KeyType     string `json:"key_type"`
	Temporary   bool   `json:"temporary"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	SecondsLeft *int64 `json:"seconds_left,omitempty"`
}

func newDoctorCmd(a *App) *cobra.Command {
	var o credOpts
	var asJSON, offline bool
	cmd := &cobra.Command{
		Use:   "doctor [--profile P] [--json] [--offline]",
		Short: "which credentials programs get here, from where, until when, and what is wrong",
		Long: "Shows where the AWS SDKs would look for credentials here, which source they would use\n" +
			"and why the others were skipped or shadowed, who the credentials belong to (STS\n" +
			"GetCallerIdentity), when they expire, how far this clock is from AWS's, and what\n" +
			"looks wrong. Exit code 0 when credentials were found and work, 1 otherwise.",
		Example: examples(
			"credkit doctor",
			"credkit doctor --profile dev",
			"credkit doctor --json --offline   # no network call"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.doctor(cmd.Context(), o, asJSON, offline)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.profile, "profile", "", "check this profile (as an explicit --profile: it goes ahead of environment keys)")
	fs.StringVar(&o.region, "region", "", "region for the STS call (default: AWS_REGION, the profile's, else us-east-1)")
	fs.StringVar(&o.mfaToken, "mfa-token", "", "MFA code for a profile with mfa_serial")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&offline, "offline", false, "do not call STS GetCallerIdentity")
	return cmd
}

func (a *App) doctor(ctx context.Context, o credOpts, asJSON, offline bool) error {
	rep, err := a.doctorCheck(ctx, o, offline)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(a.Stdout, rep); err != nil {
			return err
		}
	} else {
		a.printDoctor(&rep)
	}
	if !rep.OK {
		return silentError{ExitFailure}
	}
	return nil
}

// doctorCheck resolves the credential chain as the SDKs would and, unless
// offline, asks STS who the credentials are and how far this clock is from
// its own. What it finds wrong is in the report; the error is a usage
// error only.
func (a *App) doctorCheck(ctx context.Context, o credOpts, offline bool) (doctorReport, error) {
	now := a.Now()
	rep := doctorReport{Profile: source.ProfileName(a.Getenv, o.profile), Warnings: []string{}, Problems: []string{}}
	c, trace, files, err := a.resolve(ctx, &o)
	rep.Trace = trace
	if err != nil {
		if _, bad := err.(usageError); bad {
			return rep, err
		}
		rep.Problems = append(rep.Problems, err.Error())
	}
	if files != nil {
		rep.Region, rep.RegionFrom = source.Region(a.Getenv, files, rep.Profile)
		for _, w := range files.Warnings() {
			rep.Warnings = append(rep.Warnings, w.String())
		}
	}
	if o.region != "" {
		rep.Region, rep.RegionFrom = o.region, "--region"
	}
	if err == nil {
		cr := &credReport{Source: c.Source, AccessKeyID: c.AccessKeyID, KeyType: keyType(c.AccessKeyID), Temporary: c.Temporary()}
		if c.CanExpire() {
			cr.ExpiresAt = c.Expires.UTC().Format(time.RFC3339)
			left := int64(c.Expires.Sub(now) / time.Second)
			cr.SecondsLeft = &left
		}
		rep.Credentials = cr
		rep.Warnings = append(rep.Warnings, source.Warnings(a.Getenv, trace, c, now)...)
		if c.Expired(now) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the credentials expired at %s", c.Expires.UTC().Format(time.RFC3339)))
		}
		if !offline && !c.Expired(now) {
			region := rep.Region
			if region == "" {
				region = "us-east-1"
			}
			id, err := a.callerIdentity(ctx, c, files, o.profile, region)
			if id != nil && !id.ServerTime.IsZero() {
				skew := int64(now.Sub(id.ServerTime).Round(time.Second) / time.Second)
				rep.ClockSkewSeconds = &skew
				if skew > 300 || skew < -300 {
					rep.Warnings = append(rep.Warnings, fmt.Sprintf("this clock is %ds off STS's; beyond 300 s AWS refuses signatures (RequestTimeTooSkewed / Signature expired)", skew))
				}
			}
			if err != nil {
				rep.Problems = append(rep.Problems, err.Error())
			} else {
				rep.Identity = id
			}
		}
	}
	if rep.Region == "" {
		rep.Warnings = append(rep.Warnings, "no region: set AWS_REGION or region in the profile; SDK calls fail without one")
	}
	rep.OK = rep.Credentials != nil && len(rep.Problems) == 0
	return rep, nil
}

func (a *App) printDoctor(rep *doctorReport) {
	w := a.Stdout
	fmt.Fprintln(w, "Where the AWS SDKs look, in order:")
	if rep.Trace != nil {
		for _, s := range rep.Trace.Steps {
			line := fmt.Sprintf("  %-11s %s", s.Status, s.Source)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			if s.Error != "" && s.Status == creds.Failed {
				line += ": " + s.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w)
	if c := rep.Credentials; c != nil {
		exp := "no expiry"
		if c.ExpiresAt != "" {
			exp = fmt.Sprintf("expire at %s (%s)", c.ExpiresAt, leftString(*c.SecondsLeft))
		}
		fmt.Fprintf(w, "Credentials: %s (%s) from %s; %s\n", c.AccessKeyID, c.KeyType, c.Source, exp)
	} else {
		fmt.Fprintln(w, "Credentials: none found")
	}
	if id := rep.Identity; id != nil {
		fmt.Fprintf(w, "Identity:    %s (account %s)\n", id.ARN, id.Account)
	}
	if rep.ClockSkewSeconds != nil {
		fmt.Fprintf(w, "Clock:       %s\n", skewString(*rep.ClockSkewSeconds))
	}
	if rep.Region != "" {
		fmt.Fprintf(w, "Region:      %s (from %s)\n", rep.Region, rep.RegionFrom)
	}
	for _, s := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, s := range rep.Problems {
		fmt.Fprintf(w, "problem: %s\n", s)
	}
}

func leftString(sec int64) string {
	d := time.Duration(sec) * time.Second
	if d <= 0 {
		return "EXPIRED " + (-d).String() + " ago"
	}
	return "in " + d.String()
}

func skewString(sec int64) string {
	switch {
	case sec == 0:
		return "in step with STS"
	case sec > 0:
		return fmt.Sprintf("%ds ahead of STS", sec)
	}
	return fmt.Sprintf("%ds behind STS", -sec)
}
