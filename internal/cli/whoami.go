package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/credkit/credkit/source"
)

func (a *App) whoami(ctx context.Context, args []string) error {
	var o credOpts
	var asJSON bool
	fs := a.flagSet("whoami", "whoami [--profile P] [--json]",
		"Says who the current credentials belong to (STS GetCallerIdentity), where they come\n"+
			"from and when they expire, in one line.",
		"credkit whoami",
		"credkit whoami --profile prod --json")
	o.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print account, arn, user_id, source, access_key_id, expires_at as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("whoami takes no arguments, got %q", pos[0])
	}
	c, files, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, source.ProfileName(a.Getenv, o.profile))
	}
	if region == "" {
		region = "us-east-1"
	}
	id, err := a.callerIdentity(ctx, c, files, o.profile, region)
	if err != nil {
		return err
	}
	expires := ""
	if c.CanExpire() {
		expires = c.Expires.UTC().Format(time.RFC3339)
	}
	if asJSON {
		return writeJSON(a.Stdout, map[string]string{
			"account": id.Account, "arn": id.ARN, "user_id": id.UserID,
			"source": c.Source, "access_key_id": c.AccessKeyID, "expires_at": expires,
		})
	}
	line := fmt.Sprintf("%s (account %s) via %s", id.ARN, id.Account, c.Source)
	if expires != "" {
		line += fmt.Sprintf(", expires %s (%s)", expires, leftString(int64(c.Expires.Sub(a.Now())/time.Second)))
	}
	fmt.Fprintln(a.Stdout, line)
	return nil
}

func (a *App) export(ctx context.Context, args []string) error {
	var o credOpts
	var format string
	fs := a.flagSet("export", "export [--profile P] --format FORMAT",
		"Prints the current credentials for another program: as a credential_process answer,\n"+
			"shell variables, PowerShell, cmd.exe, fish, an INI profile or JSON. The output holds\n"+
			"the secret: pipe it, do not paste it into shared places. Exported session credentials\n"+
			"do not refresh; prefer credential_process or credkit exec for long-running programs.",
		"eval \"$(credkit export --profile dev --format env)\"",
		"credkit export --format powershell | Invoke-Expression",
		"credkit export --profile dev --format ini >> ~/.aws/credentials.tmp")
	o.register(fs)
	fs.StringVar(&format, "format", "env", "one of: process, env, env-no-export, powershell, windows-cmd, fish, ini, json")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("export takes no arguments, got %q", pos[0])
	}
	if !slices.Contains(exportFormats, format) {
		return badInput("--format %q: one of %v", format, exportFormats)
	}
	c, files, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, source.ProfileName(a.Getenv, o.profile))
	}
	if c.Expired(a.Now()) {
		return fmt.Errorf("the credentials from %s expired at %s", c.Source, c.Expires.UTC().Format(time.RFC3339))
	}
	if c.Temporary() && c.CanExpire() && format != "process" && format != "json" {
		fmt.Fprintf(a.Stderr, "credkit: note: these session credentials expire at %s and will not refresh\n", c.Expires.UTC().Format(time.RFC3339))
	}
	return writeExport(a.Stdout, format, o.profile, region, c)
}
