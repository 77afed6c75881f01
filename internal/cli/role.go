package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/credkit/credkit/policy"
	"github.com/credkit/credkit/policy/roles"
	"github.com/credkit/credkit/source"
)

func newRoleCmd(a *App) *cobra.Command {
	return newGroupCmd("role", "IAM roles: the exact name, differences, who may assume (role resolve, diff, trust-check)",
		"IAM roles: what a name or ARN really refers to, how two roles that look the same differ,\n"+
			"and whether a role's trust policy lets a principal assume it.",
		newRoleResolveCmd(a), newRoleDiffCmd(a), newRoleTrustCheckCmd(a))
}

// roleOpts are the flags of the role commands that read IAM.
type roleOpts struct {
	cred   credOpts
	asJSON bool
}

// register adds --profile and --mfa-token (as the signing commands
// have them) and --json.
func (o *roleOpts) register(fs *pflag.FlagSet, jsonHelp string) {
	all := pflag.NewFlagSet("", pflag.ContinueOnError)
	o.cred.register(all)
	for _, name := range []string{"profile", "mfa-token"} {
		fs.AddFlag(all.Lookup(name))
	}
	fs.BoolVar(&o.asJSON, "json", false, jsonHelp)
}

func newRoleResolveCmd(a *App) *cobra.Command {
	var o roleOpts
	cmd := &cobra.Command{
		Use:   "resolve ROLE [--profile P] [--json]",
		Short: "the role an ARN or name refers to: exact name, path, unique id, creation date",
		Long: "Looks ROLE (an ARN or a name) up in IAM (GetRole) and prints the role's canonical ARN,\n" +
			"with its exact case and path, its unique id (AROA…) and when it was created. When no\n" +
			"role has exactly that name, it lists the account's roles and names the one whose name\n" +
			"differs only in case: STS refuses AssumeRole for a name in the wrong case with the\n" +
			"same AccessDenied it gives a trust policy refusal. Exit 1 when the ARN or name as given\n" +
			"would not reach the role.",
		Example: examples(
			"credkit role resolve os-repo-prg-OpenSearchRepositoryRole",
			"credkit role resolve arn:aws:iam::123456789012:role/service/deploy --profile prod",
			"credkit role resolve deploy --json > deploy.json"),
		Args: exactArgs(1, "a role ARN or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := roles.ParseRef(args[0])
			if err != nil {
				return badInput("%v", err)
			}
			return a.roleResolve(cmd.Context(), &o, ref)
		},
	}
	o.register(cmd.Flags(), "print the role (trust policy, tags, attached and inline policies included) as JSON, the form role diff reads")
	return cmd
}

// roleIAM returns an IAM client signed with the current credentials.
func (a *App) roleIAM(ctx context.Context, o *credOpts) (*roles.IAM, error) {
	c, files, err := a.credentials(ctx, o)
	if err != nil {
		return nil, err
	}
	return roles.NewIAM(roles.IAMOptions{
		Credentials: c,
		Endpoint:    source.ServiceEndpoint(a.Getenv, files, source.ProfileName(a.Getenv, o.profile), "iam"),
		HTTPClient:  a.HTTP,
	}), nil
}

// resolveRole is roles.Resolve with, for a role not found whose ARN
// names another account than the credentials', the reason.
func (a *App) resolveRole(ctx context.Context, o *credOpts, c *roles.IAM, ref roles.Ref) (*roles.Resolution, error) {
	res, err := c.Resolve(ctx, ref)
	var nf *roles.NotFoundError
	if !errors.As(err, &nf) || ref.Account == "" {
		return res, err
	}
	creds, files, cerr := a.credentials(ctx, o)
	if cerr != nil {
		return res, err
	}
	region, _ := a.regionFor(o, files, "us-east-1")
	id, cerr := a.callerIdentity(ctx, creds, files, o.profile, region)
	if cerr != nil || id.Account == ref.Account {
		return res, err
	}
	return nil, fmt.Errorf("%w; the ARN names account %s but the credentials are of account %s, and IAM reads only its own account's roles: pass --profile for a profile of account %s", err, ref.Account, id.Account, ref.Account)
}

// roleJSON is a role as role resolve --json prints it.
type roleJSON struct {
	*roles.Role
	Problems []string `json:"problems,omitempty"`
}

func (a *App) roleResolve(ctx context.Context, o *roleOpts, ref roles.Ref) error {
	c, err := a.roleIAM(ctx, &o.cred)
	if err != nil {
		return err
	}
	res, err := a.resolveRole(ctx, &o.cred, c, ref)
	if err != nil {
		return err
	}
	if o.asJSON {
		if err := c.Fetch(ctx, res.Role); err != nil {
			return err
		}
		if err := writeJSON(a.Stdout, roleJSON{res.Role, res.Problems}); err != nil {
			return err
		}
	} else {
		a.printRole(a.Stdout, res.Role)
	}
	if len(res.Problems) > 0 {
		return fmt.Errorf("%s does not name this role as STS reads it: %s", ref, strings.Join(res.Problems, "; "))
	}
	return nil
}

func (a *App) printRole(w io.Writer, r *roles.Role) {
	fmt.Fprintln(w, r.ARN)
	fmt.Fprintf(w, "  name:        %s\n", r.Name)
	fmt.Fprintf(w, "  path:        %s\n", r.Path)
	fmt.Fprintf(w, "  unique id:   %s\n", r.RoleID)
	if !r.CreateDate.IsZero() {
		age := a.Now().Sub(r.CreateDate)
		fmt.Fprintf(w, "  created:     %s (%s ago)\n", r.CreateDate.UTC().Format(time.RFC3339), roundAge(age))
		if age < time.Minute {
			fmt.Fprintln(w, "  note:        a role this new may not be visible to STS yet (IAM is eventually consistent): AssumeRole can be refused for a little while")
		}
	}
	if r.MaxSessionDuration > 0 {
		fmt.Fprintf(w, "  max session: %ds\n", r.MaxSessionDuration)
	}
	if r.PermissionsBoundary != "" {
		fmt.Fprintf(w, "  boundary:    %s\n", r.PermissionsBoundary)
	}
}

func roundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// loadRole reads ROLE: a JSON file when one exists at that path, else
// the role of that ARN or name in IAM (policies included).
func (a *App) loadRole(ctx context.Context, o *credOpts, arg string, client **roles.IAM) (*roles.Role, []string, error) {
	if data, err := os.ReadFile(arg); err == nil {
		r, err := roles.Decode(data)
		if err != nil {
			return nil, nil, badInput("%s: %v", arg, err)
		}
		return r, nil, nil
	} else if !errors.Is(err, os.ErrNotExist) || strings.HasSuffix(arg, ".json") {
		return nil, nil, badInput("read role file: %v", err)
	}
	ref, err := roles.ParseRef(arg)
	if err != nil {
		return nil, nil, badInput("%v (nor is it a file)", err)
	}
	if *client == nil {
		if *client, err = a.roleIAM(ctx, o); err != nil {
			return nil, nil, err
		}
	}
	res, err := a.resolveRole(ctx, o, *client, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := (*client).Fetch(ctx, res.Role); err != nil {
		return nil, nil, err
	}
	return res.Role, res.Problems, nil
}

func newRoleDiffCmd(a *App) *cobra.Command {
	var o roleOpts
	cmd := &cobra.Command{
		Use:   "diff A B [--profile P] [--json]",
		Short: "what differs between two roles, and whether it changes who may assume them",
		Long: "Compares two roles, each an ARN or name read from IAM, or a JSON file: the output of\n" +
			"credkit role resolve --json, of aws iam get-role, or one RoleDetailList element of aws iam\n" +
			"get-account-authorization-details. It compares the trust policies statement by\n" +
			"statement (normalised, unique ids mapped back to ARNs), name, path, permissions\n" +
			"boundary, MaxSessionDuration, tags, attached and inline policies and age, and says of\n" +
			"each difference whether it can change who may assume the role. Exit 0 when the roles\n" +
			"do not differ, 1 when they do.",
		Example: examples(
			"credkit role diff os-repo-prg-OpenSearchRepositoryRole os-repo-prg-OpenSearchRepositoryRole-new",
			"credkit role diff prod-role.json arn:aws:iam::123456789012:role/service/prod-role --json",
			"aws iam get-role --role-name old > old.json && credkit role diff old.json new"),
		Args: exactArgs(2, "two roles (ARNs, names or JSON files)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.roleDiff(cmd.Context(), &o, args[0], args[1])
		},
	}
	o.register(cmd.Flags(), `print {"a", "b", "differences": [{"field", "a", "b", "changes_who_may_assume", "why"}], "not_compared"} as JSON`)
	return cmd
}

func (a *App) roleDiff(ctx context.Context, o *roleOpts, argA, argB string) error {
	var client *roles.IAM
	ra, pa, err := a.loadRole(ctx, &o.cred, argA, &client)
	if err != nil {
		return err
	}
	rb, pb, err := a.loadRole(ctx, &o.cred, argB, &client)
	if err != nil {
		return err
	}
	opts := roles.DiffOptions{Now: a.Now()}
	if client != nil {
		if opts.IDs, err = client.UniqueIDs(ctx); err != nil {
			fmt.Fprintf(a.Stderr, "credkit: warning: unique ids in trust policies are not mapped to ARNs: %v\n", err)
		}
	}
	diffs, err := roles.Diff(ra, rb, opts)
	if err != nil {
		return badInput("%v", err)
	}
	for _, p := range pa {
		diffs = append(diffs, roles.Difference{Field: "name given", A: argA, ChangesWhoMayAssume: true, Why: p})
	}
	for _, p := range pb {
		diffs = append(diffs, roles.Difference{Field: "name given", B: argB, ChangesWhoMayAssume: true, Why: p})
	}
	notCompared := []string{}
	for _, u := range ra.Unknown {
		notCompared = append(notCompared, "A: "+u)
	}
	for _, u := range rb.Unknown {
		notCompared = append(notCompared, "B: "+u)
	}
	if o.asJSON {
		if diffs == nil {
			diffs = []roles.Difference{}
		}
		if err := writeJSON(a.Stdout, map[string]any{"a": ra.ARN, "b": rb.ARN, "differences": diffs, "not_compared": notCompared}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "A: %s\nB: %s\n", ra.ARN, rb.ARN)
		if len(diffs) == 0 {
			fmt.Fprintln(a.Stdout, "The roles do not differ in what decides who may assume them or what they may do.")
		}
		for _, d := range diffs {
			mark := "  does not change who may assume"
			if d.ChangesWhoMayAssume {
				mark = "! can change who may assume"
			}
			fmt.Fprintf(a.Stdout, "%s: %s\n", mark, d.Field)
			if d.A != "" {
				fmt.Fprintf(a.Stdout, "    A: %s\n", d.A)
			}
			if d.B != "" {
				fmt.Fprintf(a.Stdout, "    B: %s\n", d.B)
			}
			fmt.Fprintf(a.Stdout, "    %s\n", d.Why)
		}
		for _, n := range notCompared {
			fmt.Fprintf(a.Stdout, "not compared: %s\n", n)
		}
	}
	if len(diffs) > 0 {
		return silentError{ExitFailure}
	}
	return nil
}

func newRoleTrustCheckCmd(a *App) *cobra.Command {
	var o roleOpts
	var as, action, trustFile string
	var context []string
	cmd := &cobra.Command{
		Use:   "trust-check ROLE --as PRINCIPAL [--context KEY=VALUE ...] [--trust-policy FILE] [--json]",
		Short: "whether a role's trust policy lets a principal assume it",
		Long: "Evaluates a role's trust policy alone for a principal: an IAM user, role or session ARN,\n" +
			"an account, a service (es.amazonaws.com) or an identity provider (an OIDC or SAML\n" +
			"provider ARN, accounts.google.com). ROLE is an ARN or name read from IAM, or a JSON\n" +
			"file as role diff reads; with --trust-policy FILE, ROLE is only the role's ARN and IAM\n" +
			"is not read. The action is sts:AssumeRole, or AssumeRoleWithWebIdentity or\n" +
			"AssumeRoleWithSAML for identity providers, unless --action says otherwise. Exit 0 when\n" +
			"the trust policy allows, 1 when it refuses.",
		Example: examples(
			"credkit role trust-check os-repo-prg-OpenSearchRepositoryRole --as es.amazonaws.com",
			"credkit role trust-check deploy --as arn:aws:sts::111122223333:assumed-role/ci/run-42 --context sts:ExternalId=abc",
			"credkit role trust-check arn:aws:iam::123456789012:role/gh --trust-policy trust.json --as arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com --context token.actions.githubusercontent.com:sub=repo:o/r:ref:refs/heads/main"),
		Args: exactArgs(1, "a role (ARN, name or JSON file)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if as == "" {
				return usagef(cmd, "role trust-check needs --as PRINCIPAL (an ARN, account id, service or identity provider)")
			}
			ctxKeys, err := parseContextFlags(context)
			if err != nil {
				return err
			}
			return a.roleTrustCheck(cmd.Context(), &o, args[0], trustFile, roles.TrustRequest{Principal: principalArg(as), Action: action, Context: ctxKeys})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&as, "as", "", "the `PRINCIPAL` asking: an ARN, an account id, a service (es.amazonaws.com) or an identity provider")
	fs.StringVar(&action, "action", "", "the STS `ACTION` (default: sts:AssumeRole, or the web identity or SAML one for identity providers)")
	fs.StringArrayVar(&context, "context", nil, "a condition key of the request, `KEY=VALUE`; repeat a key for a multi-valued key")
	fs.StringVar(&trustFile, "trust-policy", "", "read the trust policy from `FILE` instead of IAM (ROLE is then the role's ARN)")
	o.register(fs, `print {"role", "principal", "action", "decision", "message", "statements", "notes"} as JSON`)
	return cmd
}

// principalArg turns an account id into its root ARN, as AWS reads a
// Principal naming an account.
func principalArg(p string) string {
	if len(p) == 12 && strings.Trim(p, "0123456789") == "" {
		return "arn:aws:iam::" + p + ":root"
	}
	return p
}

func (a *App) roleTrustCheck(ctx context.Context, o *roleOpts, arg, trustFile string, req roles.TrustRequest) error {
	var role *roles.Role
	if trustFile != "" {
		_, path, name, ok := roles.SplitARN(arg)
		if !ok {
			return badInput("with --trust-policy, ROLE must be the role's ARN (arn:aws:iam::ACCOUNT:role/NAME), not %q", arg)
		}
		doc, err := os.ReadFile(trustFile)
		if err != nil {
			return badInput("--trust-policy: %v", err)
		}
		role = &roles.Role{ARN: arg, Name: name, Path: path, TrustPolicy: doc}
		req.Label = trustFile
	} else {
		var client *roles.IAM
		r, problems, err := a.loadRole(ctx, &o.cred, arg, &client)
		if err != nil {
			return err
		}
		for _, p := range problems {
			fmt.Fprintf(a.Stderr, "credkit: warning: %s\n", p)
		}
		role = r
		if _, err := os.Stat(arg); err == nil {
			req.Label = arg
		}
		if client != nil {
			if req.IDs, err = client.UniqueIDs(ctx); err != nil {
				fmt.Fprintf(a.Stderr, "credkit: warning: unique ids in the trust policy are not mapped to ARNs: %v\n", err)
			}
		}
	}
	res, err := roles.TrustCheck(role, req)
	if err != nil {
		where := trustFile
		if where == "" {
			where = arg
		}
		return badInput("%s: %s", where, oneLine(err))
	}
	if o.asJSON {
		ans := policy.NewAnswer("", policy.Decision{Outcome: res.Outcome, Message: res.Message, Deciding: res.Deciding})
		if err := writeJSON(a.Stdout, map[string]any{
			"role": res.Role, "principal": res.Principal, "principal_type": res.Kind, "action": res.Action,
			"decision": ans.Decision, "message": ans.Message, "statements": ans.Statements, "notes": append([]string{}, res.Notes...),
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "%s: %s (%s) %s %s\n", res.Outcome, res.Principal, res.Kind, res.Action, res.Role)
		if res.Message != "" {
			fmt.Fprintln(a.Stdout, res.Message)
		}
		printStatements(a.Stdout, res.Deciding)
		for _, n := range res.Notes {
			fmt.Fprintf(a.Stdout, "note: %s\n", n)
		}
	}
	if res.Outcome != policy.Allowed {
		return silentError{ExitFailure}
	}
	return nil
}
