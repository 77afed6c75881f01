package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
		Short: "why was this refused: read an AWS, database or signature refusal and list what can cause it",
		Long: "Reads the text of a refusal (- reads it from standard input), says in plain words what\n" +
			"it means and prints a ranked checklist of what can cause it, most likely first, each\n" +
			"with the credkit command that checks it. --json adds \"kind\", one of:\n" +
			"  access_denied     \"User: ARN is not authorized to perform: ...\", an encoded message\n" +
			"  database_login    PostgreSQL \"PAM authentication failed\", \"password authentication\n" +
			"                    failed\", \"pg_hba.conf rejects connection ... no encryption\"; MySQL\n" +
			"                    ERROR 1045 Access denied, 2059 (cleartext plugin), 3159 (no TLS)\n" +
			"  expired_token     ExpiredToken, ExpiredTokenException, RequestExpired, \"The provided\n" +
			"                    token has expired\", an SDK's expired SSO session\n" +
			"  invalid_token     InvalidClientTokenId, UnrecognizedClientException,\n" +
			"                    InvalidAccessKeyId, InvalidToken\n" +
			"  signature         SignatureDoesNotMatch (the server's canonical request and string to\n" +
			"                    sign, when it sends them, are read and shown)\n" +
			"  clock_skew        Signature expired / not yet current, RequestTimeTooSkewed, a\n" +
			"                    presigned URL's \"Request has expired\" (the skew is computed)\n" +
			"  root_assume_role  \"Roles may not be assumed by root accounts\"\n" +
			"  post_policy       an S3 upload form refused: \"Invalid according to Policy: Extra input\n" +
			"                    fields\", \"Policy Condition failed\", \"Policy expired\"\n\n" +
			"For an AccessDenied message it says who the caller is (an IAM user, a role session,\n" +
			"an Identity Center permission set, or an AWS service acting for you), the action and\n" +
			"the resource, and ranks the policies that can refuse it and what each needs.\n\n" +
			"With --online it also makes read-only calls with the current credentials. For\n" +
			"AccessDenied: for sts:AssumeRole it looks the role up (exactly, then ignoring case and\n" +
			"path), evaluates its trust policy for the caller, lists the condition keys the trust\n" +
			"requires and whether such a caller sends them, and reports the role's path, boundary,\n" +
			"MaxSessionDuration and age; it asks iam:SimulatePrincipalPolicy and decodes encoded\n" +
			"messages with sts:DecodeAuthorizationMessage, and evaluates the SCPs over the caller's\n" +
			"account when the credentials may read them (Organizations). A call that is refused\n" +
			"becomes a line of the output. Endpoints follow AWS_ENDPOINT_URL_IAM/_STS/\n" +
			"_ORGANIZATIONS, AWS_ENDPOINT_URL and the profile's. For the other kinds it does what\n" +
			"credkit doctor does: the credential chain (which source wins, what it shadows, until\n" +
			"when) and STS GetCallerIdentity with the clock's skew.",
		Example: examples(
			`credkit explain "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k"`,
			`pbpaste | credkit explain - --online --profile prod`,
			`credkit explain --json "$ERR"`,
			`credkit explain 'FATAL:  PAM authentication failed for user "app"'`,
			`aws s3 ls 2>&1 | credkit explain - --online`),
		Args: exactArgs(1, "the refusal MESSAGE (or - to read it from standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.explain(cmd.Context(), &o, args[0], online, asJSON)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().MarkHidden("signing-time") // explain signs only its --online calls, now
	cmd.Flags().BoolVar(&online, "online", false, "also make read-only IAM and STS calls with the current credentials (for other kinds than AccessDenied: what credkit doctor finds)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print kind, what the message says, checklist and online findings as JSON")
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
	r, err := explain.Read(text)
	if errors.Is(err, explain.ErrUnreadable) {
		return badInput("MESSAGE: %v; paste the whole message, quoted", err)
	}
	if err != nil {
		return err
	}
	if r.Kind != explain.KindAccessDenied {
		return a.explainRefusal(ctx, o, r, online, asJSON)
	}
	d := r.Denial
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
			Kind      explain.Kind    `json:"kind"`
			Denial    *explain.Denial `json:"denial"`
			Checklist []explain.Check `json:"checklist"`
			Online    *explain.Online `json:"online,omitempty"`
		}{r.Kind, d, checks, found})
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

// explainRefusal prints a refusal other than AccessDenied: what it says,
// its fields, what credkit doctor finds with --online, and the ranked
// causes.
func (a *App) explainRefusal(ctx context.Context, o *credOpts, r *explain.Refusal, online, asJSON bool) error {
	causes := explain.Causes(r)
	var found *doctorReport
	var chain *explain.Chain
	if online {
		rep, err := a.doctorCheck(ctx, *o, false)
		if err != nil {
			return err
		}
		found = &rep
		if c := rep.Credentials; c != nil {
			chain = &explain.Chain{Source: c.Source, Expired: c.SecondsLeft != nil && *c.SecondsLeft <= 0, Region: rep.Region}
			if rep.Trace != nil && rep.Trace.Chosen == source.LinkEnvironment {
				chain.ShadowedProfile = a.Getenv(source.EnvProfile)
			}
			causes = explain.WithChain(causes, *chain)
		}
	}
	if asJSON {
		return writeJSON(a.Stdout, struct {
			*explain.Refusal
			Checklist []explain.Cause `json:"checklist"`
			Chain     *explain.Chain  `json:"chain,omitempty"`
			Online    *doctorReport   `json:"online,omitempty"`
		}{r, causes, chain, found})
	}
	w := a.Stdout
	kind := string(r.Kind)
	if r.Code != "" {
		kind += " (" + r.Code + ")"
	}
	fmt.Fprintf(w, "kind:     %s\n", kind)
	fmt.Fprintf(w, "says:     %s\n", r.Says)
	if r.Operation != "" {
		fmt.Fprintf(w, "call:     %s\n", r.Operation)
	}
	if db := r.Database; db != nil {
		fmt.Fprintf(w, "engine:   %s\n", db.Engine)
		if db.User != "" {
			fmt.Fprintf(w, "user:     %s\n", db.User)
		}
		if db.Server != "" {
			fmt.Fprintf(w, "server:   %s port %s\n", db.Server, db.Port)
		}
		if db.Host != "" {
			fmt.Fprintf(w, "from:     %s (the client's address, as the server saw it)\n", db.Host)
		}
		if db.Database != "" {
			fmt.Fprintf(w, "database: %s\n", db.Database)
		}
	}
	if t := r.Token; t != nil && t.AccessKeyID != "" {
		fmt.Fprintf(w, "key:      %s\n", t.AccessKeyID)
	}
	if s := r.Signature; s != nil {
		printSignature(w, s)
	}
	if p := r.PostPolicy; p != nil && p.Field != "" {
		fmt.Fprintf(w, "field:    %s\n", p.Field)
	}
	if found != nil {
		fmt.Fprintln(w, "\nfound online (credkit doctor):")
		a.printDoctor(found)
	}
	fmt.Fprintln(w, "\nwhat can cause it, most likely first:")
	for _, c := range causes {
		fmt.Fprintf(w, "  %d. %s: %s\n", c.Rank, c.Cause, c.Check)
		if c.Command != "" {
			fmt.Fprintf(w, "     check: %s\n", c.Command)
		}
		if c.Why != "" {
			fmt.Fprintf(w, "     (%s)\n", c.Why)
		}
	}
	return nil
}

// printSignature shows what the server signed, as far as it said.
func printSignature(w io.Writer, s *explain.SignatureMismatch) {
	if s.AccessKeyID != "" {
		fmt.Fprintf(w, "key:      %s\n", s.AccessKeyID)
	}
	if s.Scope != nil {
		fmt.Fprintf(w, "scope:    %s/%s/%s/aws4_request (signed at %s)\n", s.Scope.Date, s.Scope.Region, s.Scope.Service, s.RequestTime)
	}
	if c := s.Canonical; c != nil && c.Method != "" {
		fmt.Fprintln(w, "\nthe server's canonical request:")
		fmt.Fprintf(w, "  method:         %s\n", c.Method)
		fmt.Fprintf(w, "  path:           %s\n", c.Path)
		fmt.Fprintf(w, "  query:          %s\n", c.Query)
		for _, h := range c.Headers {
			fmt.Fprintf(w, "  header:         %s: %s\n", h.Name, h.Value)
		}
		fmt.Fprintf(w, "  signed headers: %s\n", strings.Join(c.SignedHeaders, ";"))
		fmt.Fprintf(w, "  payload hash:   %s\n", c.PayloadHash)
	}
	if len(s.Differ) > 0 {
		fmt.Fprintln(w, "\nwhat commonly differs, with the server's values:")
		for _, d := range s.Differ {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
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
