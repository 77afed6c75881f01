package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/source"
)

func newWhoamiCmd(a *App) *cobra.Command {
	var o credOpts
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whoami [--profile P] [--json]",
		Short: "who the current credentials belong to, in one line",
		Long: "Says who the current credentials belong to (STS GetCallerIdentity), where they come\n" +
			"from and when they expire, in one line.",
		Example: examples(
			"credkit whoami",
			"credkit whoami --profile prod --json"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.whoami(cmd.Context(), &o, asJSON)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print account, arn, user_id, source, access_key_id, expires_at as JSON")
	return cmd
}

func (a *App) whoami(ctx context.Context, o *credOpts, asJSON bool) error {
	c, files, err := a.credentials(ctx, o)
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

func newExportCmd(a *App) *cobra.Command {
	var o credOpts
	var format string
	cmd := &cobra.Command{
		Use:   "export [--profile P] [--format FORMAT]",
		Short: "print the current credentials as shell variables, credential_process JSON, INI, ...",
		Long: "Prints the current credentials for another program: as a credential_process answer,\n" +
			"shell variables, PowerShell, cmd.exe, fish, an INI profile or JSON. The output holds\n" +
			"the secret: pipe it, do not paste it into shared places. Exported session credentials\n" +
			"do not refresh; prefer credential_process or credkit exec for long-running programs.",
		Example: examples(
			"eval \"$(credkit export --profile dev --format env)\"",
			"credkit export --format powershell | Invoke-Expression",
			"credkit export --profile dev --format ini >> ~/.aws/credentials.tmp"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.export(cmd.Context(), &o, format)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "env", "one of: "+strings.Join(exportFormats, ", "))
	cmd.RegisterFlagCompletionFunc("format", fixedValues(exportFormats...))
	return cmd
}

func (a *App) export(ctx context.Context, o *credOpts, format string) error {
	if !slices.Contains(exportFormats, format) {
		return badInput("--format %q: one of %v", format, exportFormats)
	}
	c, files, err := a.credentials(ctx, o)
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
