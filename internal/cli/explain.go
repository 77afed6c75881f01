package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/explain"
	"github.com/credkit/credkit/source"
)

func newExplainCmd(a *App) *cobra.Command {
	var o credOpts
	var asJSON, online bool
	cmd := &cobra.Command{
		Use:   "explain MESSAGE|- [--online [--profile P]] [--json]",
		Short: "why was this refused: read an AccessDenied message and list what can refuse it",
		Long: "Reads the text of an AccessDenied answer (any AWS wording, or an encoded authorization\n" +
			"message; - reads it from standard input), says who the caller is (an IAM user, a role\n" +
			"session, an Identity Center permission set, or an AWS service acting for you), the\n" +
			"action and the resource, and prints a ranked checklist of the policies that can refuse\n" +
			"it and what each needs.\n\n" +
			"With --online it also makes read-only calls with the current credentials: for\n" +
			"sts:AssumeRole it looks the role up (exactly, then ignoring case and path), evaluates\n" +
			"its trust policy for the caller, lists the condition keys the trust requires and\n" +
			"whether such a caller sends them, and reports the role's path, boundary,\n" +
			"MaxSessionDuration and age; it asks iam:SimulatePrincipalPolicy and decodes encoded\n" +
			"messages with sts:DecodeAuthorizationMessage, and evaluates the SCPs over the caller's\n" +
			"account when the credentials may read them (Organizations). A call that is refused\n" +
			"becomes a line of the output. Endpoints follow AWS_ENDPOINT_URL_IAM/_STS/\n" +
			"_ORGANIZATIONS, AWS_ENDPOINT_URL and the profile's.",
		Example: examples(
			`credkit explain "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k"`,
			`pbpaste | credkit explain - --online --profile prod`,
			`credkit explain --json "$ERR"`),
		Args: exactArgs(1, "the AccessDenied MESSAGE (or - to read it from standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.explain(cmd.Context(), &o, args[0], online, asJSON)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().MarkHidden("signing-time") // explain signs only its --online calls, now
	cmd.Flags().BoolVar(&online, "online", false, "also make read-only IAM and STS calls with the current credentials")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print denial, checklist and online findings as JSON")
	return cmd
}

func (a *App) explain(ctx context.Context, o *credOpts, text string, online, asJSON bool) error {
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(a.Stdin, 1<<20))
		if err != nil {
			return fmt.Errorf("read the message from standard input: %w", err)
		}
		text = string(b)
	}
	d, err := explain.Parse(text)
	if errors.Is(err, explain.ErrNotAccessDenied) {
		return badInput("MESSAGE: %v; paste the whole message, quoted", err)
	}
	if err != nil {
		return err
	}
	var found *explain.Online
	if online {
		clients, err := a.explainClients(ctx, o)
		if err != nil {
			return err
		}
		found = explain.Investigate(ctx, clients, d)
	}
	checks := explain.Checklist(d)
	if asJSON {
		return writeJSON(a.Stdout, struct {
			Denial    *explain.Denial `json:"denial"`
			Checklist []explain.Check `json:"checklist"`
			Online    *explain.Online `json:"online,omitempty"`
		}{d, checks, found})
	}
	w := a.Stdout
	if d.Caller.ARN != "" {
		fmt.Fprintf(w, "caller:   %s\n          %s\n", d.Caller.ARN, d.Caller.Description)
	}
	if d.Action != "" {
		fmt.Fprintf(w, "action:   %s\n", d.Action)
	}
	if d.Resource != "" {
		fmt.Fprintf(w, "resource: %s\n", d.Resource)
	}
	if d.PolicyType != "" {
		how := "no " + d.PolicyType + " allows it"
		if d.Explicit {
			how = "explicit deny in " + d.PolicyType
			if d.PolicyARN != "" {
				how += " " + d.PolicyARN
			}
		}
		fmt.Fprintf(w, "reason:   %s\n", how)
	}
	if d.Encoded != "" && found == nil {
		fmt.Fprintln(w, "encoded:  an encoded authorization message: --online decodes it with sts:DecodeAuthorizationMessage")
	}
	if found != nil {
		fmt.Fprintln(w, "\nfound online:")
		for _, f := range found.Findings {
			prefix := "  - "
			if f.Call != "" {
				prefix += f.Call + ": "
			}
			if f.Refused {
				prefix += "refused: "
			}
			fmt.Fprintln(w, prefix+f.Text)
		}
	}
	fmt.Fprintln(w, "\nwhat can refuse it, most likely first:")
	for _, c := range checks {
		fmt.Fprintf(w, "  %d. %s: %s\n", c.Rank, c.Policy, c.Needs)
		if c.Why != "" {
			fmt.Fprintf(w, "     (%s)\n", c.Why)
		}
	}
	return nil
}

// explainClients are IAM and STS clients signed with the current
// credentials, at the endpoints the environment and profile name.
func (a *App) explainClients(ctx context.Context, o *credOpts) (explain.Clients, error) {
	c, files, err := a.credentials(ctx, o)
	if err != nil {
		return explain.Clients{}, err
	}
	profile := source.ProfileName(a.Getenv, o.profile)
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, profile)
	}
	if region == "" {
		region = "us-east-1"
	}
	provider := awssdk.ToSDK(creds.Static{Creds: c})
	iopts := iam.Options{Region: "us-east-1", Credentials: provider, HTTPClient: a.HTTP, RetryMaxAttempts: 1}
	if e := source.ServiceEndpoint(a.Getenv, files, profile, "iam"); e != "" {
		iopts.BaseEndpoint = aws.String(e)
	}
	so := sts.Options{Region: region, Credentials: provider, HTTPClient: a.HTTP, RetryMaxAttempts: 1}
	if e := source.ServiceEndpoint(a.Getenv, files, profile, "sts"); e != "" {
		so.BaseEndpoint = aws.String(e)
	}
	// Organizations is global too: its requests are signed for us-east-1.
	oo := organizations.Options{Region: "us-east-1", Credentials: provider, HTTPClient: a.HTTP, RetryMaxAttempts: 1}
	if e := source.ServiceEndpoint(a.Getenv, files, profile, "organizations"); e != "" {
		oo.BaseEndpoint = aws.String(e)
	}
	return explain.Clients{IAM: iam.New(iopts), STS: sts.New(so), Orgs: organizations.New(oo), Now: func() time.Time { return a.Now() }}, nil
}
