package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/policy"
)

func newPolicyCmd(a *App) *cobra.Command {
	return newGroupCmd("policy", "IAM policy evaluation: why a request is allowed or denied (policy eval)",
		"IAM policy evaluation: decides a request against identity, resource, boundary, session,\n"+
			"SCP and RCP documents as AWS does, and says which statement decided and why.",
		newPolicyEvalCmd(a))
}

// evalFlags are the flags of policy eval.
type evalFlags struct {
	principal, action, resource, resourceAccount         string
	context, identity                                    []string
	resourcePolicy, trustPolicy, boundary, sessionPolicy string
	scps                                                 levelsFlag
	rcps                                                 []string
	batch                                                string
	asJSON                                               bool
}

// levelsFlag collects --scp FILE into levels: --scp-level starts the
// next one. pflag sets flags in command-line order, so both flags share
// it.
type levelsFlag struct {
	levels [][]string
	// emptyLevel is set when --scp-level started a level no --scp
	// followed (or came first).
	emptyLevel bool
}

type scpFile struct{ l *levelsFlag }

func (f scpFile) String() string { return "" }
func (f scpFile) Type() string   { return "FILE" }
func (f scpFile) Set(v string) error {
	if len(f.l.levels) == 0 {
		f.l.levels = [][]string{nil}
	}
	last := len(f.l.levels) - 1
	f.l.levels[last] = append(f.l.levels[last], v)
	return nil
}

type scpLevel struct{ l *levelsFlag }

func (f scpLevel) String() string   { return "" }
func (f scpLevel) Type() string     { return "bool" }
func (f scpLevel) IsBoolFlag() bool { return true }
func (f scpLevel) Set(v string) error {
	if v != "true" {
		return errors.New("takes no value")
	}
	if len(f.l.levels) == 0 || len(f.l.levels[len(f.l.levels)-1]) == 0 {
		f.l.emptyLevel = true
	}
	f.l.levels = append(f.l.levels, nil)
	return nil
}

func newPolicyEvalCmd(a *App) *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use: "eval --principal ARN --action SERVICE:ACTION --resource ARN [--identity FILE ...] [flags]\n" +
			"  credkit policy eval --batch CASES.jsonl",
		Short: "decide a request against policy files and say which statement decided",
		Long: "Decides one request against policy documents read from files, in the order AWS evaluates\n" +
			"them: an explicit Deny anywhere, RCPs, each SCP level, the resource policy, identity\n" +
			"policies, the permissions boundary and the session policy, with AWS's same-account and\n" +
			"cross-account rules. Prints the decision, the message AWS would give, and each deciding\n" +
			"statement as FILE#INDEX(Sid) with the reason it matched or not.\n\n" +
			"SCP levels go from the organization root down to the account: --scp FILE adds a policy\n" +
			"to the current level, --scp-level starts the next. No --scp means the account is in no\n" +
			"organization. All --rcp files form one level: RCPFullAWSAccess is implied at every\n" +
			"level, so only their Deny statements decide.\n\n" +
			"--batch reads one JSON case per line (- for stdin) and writes one JSON answer per line,\n" +
			"in order: {\"id\", \"decision\", \"message\", \"statements\"}. A line that is not a valid\n" +
			"case is answered {\"id\", \"error\": \"line N: ...\"} and the batch goes on.\n\n" +
			"Exit codes: 0 allowed, 1 denied (implicitly or explicitly), 2 bad input. With --batch:\n" +
			"0 when every line was answered with a decision, 2 when any line was bad.",
		Example: examples(
			"credkit policy eval --principal arn:aws:iam::111122223333:user/dev --action s3:GetObject --resource arn:aws:s3:::bucket/key --identity dev.json",
			"credkit policy eval --principal arn:aws:sts::111122223333:assumed-role/app/s --action s3:PutObject --resource arn:aws:s3:::b/k --identity app.json --boundary boundary.json --scp root.json --scp-level --scp ou.json --context aws:SourceIp=10.0.0.5 --json",
			"credkit policy eval --batch cases.jsonl > answers.jsonl"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.batch != "" {
				if used := singleCaseFlags(cmd); used != "" {
					return usagef(cmd, "--batch takes its cases from the file: --%s cannot be given with it", used)
				}
				return a.policyBatch(f.batch)
			}
			var missing []string
			for _, m := range []struct{ name, v string }{{"--principal", f.principal}, {"--action", f.action}, {"--resource", f.resource}} {
				if m.v == "" {
					missing = append(missing, m.name)
				}
			}
			if missing != nil {
				return usagef(cmd, "policy eval needs %s (or --batch FILE)", strings.Join(missing, ", "))
			}
			if f.scps.emptyLevel || (len(f.scps.levels) > 0 && len(f.scps.levels[len(f.scps.levels)-1]) == 0) {
				return usagef(cmd, "--scp-level must sit between --scp files: each SCP level needs at least one --scp FILE")
			}
			return a.policyEval(&f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.principal, "principal", "", "the caller's `ARN` (user, role, assumed-role session, account root) or an AWS service (logging.s3.amazonaws.com)")
	fs.StringVar(&f.action, "action", "", "the action, `service:Action` (s3:GetObject)")
	fs.StringVar(&f.resource, "resource", "", "the resource `ARN`, or * for actions without one")
	fs.StringVar(&f.resourceAccount, "resource-account", "", "the `ACCOUNT` owning the resource (default: the resource ARN's, else the principal's)")
	fs.StringArrayVar(&f.context, "context", nil, "a condition key of the request, `KEY=VALUE`; repeat a key for a multi-valued key")
	fs.StringArrayVar(&f.identity, "identity", nil, "an identity-based policy `FILE` of the principal (repeatable)")
	fs.StringVar(&f.resourcePolicy, "resource-policy", "", "the resource-based policy `FILE`")
	fs.StringVar(&f.trustPolicy, "trust-policy", "", "the role's trust policy `FILE`, for sts:AssumeRole* on the role's ARN (it must allow the caller itself)")
	fs.StringVar(&f.boundary, "boundary", "", "the permissions boundary `FILE`")
	fs.Var(scpFile{&f.scps}, "scp", "a service control policy FILE of the current level (repeatable)")
	fs.Var(scpLevel{&f.scps}, "scp-level", "start the next SCP level (root first, the account last)")
	fs.Lookup("scp-level").NoOptDefVal = "true"
	fs.StringArrayVar(&f.rcps, "rcp", nil, "a resource control policy `FILE` (repeatable)")
	fs.StringVar(&f.sessionPolicy, "session-policy", "", "the session policy `FILE`")
	fs.StringVar(&f.batch, "batch", "", "read cases from `FILE` (- for stdin), one JSON object per line; answer one per line")
	fs.BoolVar(&f.asJSON, "json", false, `print {"id", "decision", "message", "statements": [{"policy", "index", "sid", "effect", "why"}]} as JSON`)
	return cmd
}

// singleCaseFlags returns the name of a flag of a single case that was
// given, "" for none.
func singleCaseFlags(cmd *cobra.Command) string {
	for _, name := range []string{"principal", "action", "resource", "resource-account", "context", "identity", "resource-policy", "trust-policy", "boundary", "scp", "scp-level", "rcp", "session-policy", "json"} {
		if cmd.Flags().Changed(name) {
			return name
		}
	}
	return ""
}

// parseContextFlags reads --context KEY=VALUE flags; a key given again
// adds a value (key names compare case-insensitively, as in AWS).
func parseContextFlags(flags []string) (map[string][]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	names := map[string]string{} // lower-case name -> first spelling
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, badInput("--context %q: want KEY=VALUE, such as aws:SourceIp=10.0.0.5 (repeat a key for a multi-valued key)", kv)
		}
		if first, seen := names[strings.ToLower(k)]; seen {
			k = first
		} else {
			names[strings.ToLower(k)] = k
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// readPolicy reads and parses a policy file of kind; errors name the file
// and the JSON path of each problem, on one line.
func readPolicy(flag, file string, kind policy.Kind) (*policy.Labeled, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, badInput("%s: %v", flag, err)
	}
	p, err := policy.Parse(data, kind)
	if err != nil {
		return nil, badInput("%s %s: %s", flag, file, oneLine(err))
	}
	return &policy.Labeled{Label: file, Policy: p}, nil
}

// oneLine joins the lines of a joined error with "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func (a *App) policyEval(f *evalFlags) error {
	ctx, err := parseContextFlags(f.context)
	if err != nil {
		return err
	}
	var ps policy.Policies
	for _, file := range f.identity {
		l, err := readPolicy("--identity", file, policy.Identity)
		if err != nil {
			return err
		}
		ps.Identity = append(ps.Identity, *l)
	}
	if f.resourcePolicy != "" {
		if ps.Resource, err = readPolicy("--resource-policy", f.resourcePolicy, policy.Resource); err != nil {
			return err
		}
	}
	if f.trustPolicy != "" {
		if ps.Trust, err = readPolicy("--trust-policy", f.trustPolicy, policy.Trust); err != nil {
			return err
		}
	}
	if f.boundary != "" {
		if ps.Boundary, err = readPolicy("--boundary", f.boundary, policy.Boundary); err != nil {
			return err
		}
	}
	if f.sessionPolicy != "" {
		l, err := readPolicy("--session-policy", f.sessionPolicy, policy.Session)
		if err != nil {
			return err
		}
		ps.Session = []policy.Labeled{*l}
	}
	for _, level := range f.scps.levels {
		var lv []policy.Labeled
		for _, file := range level {
			l, err := readPolicy("--scp", file, policy.SCP)
			if err != nil {
				return err
			}
			lv = append(lv, *l)
		}
		ps.SCPs = append(ps.SCPs, lv)
	}
	if len(f.rcps) > 0 {
		var lv []policy.Labeled
		for _, file := range f.rcps {
			l, err := readPolicy("--rcp", file, policy.RCP)
			if err != nil {
				return err
			}
			lv = append(lv, *l)
		}
		ps.RCPs = [][]policy.Labeled{lv}
	}
	if !isServicePrincipal(f.principal) {
		if err := checkARNFlag("--principal", f.principal, false); err != nil {
			return err
		}
	}
	if err := checkARNFlag("--resource", f.resource, true); err != nil {
		return err
	}
	if !strings.Contains(f.action, ":") {
		return badInput("--action %q: want service:Action, such as s3:GetObject", f.action)
	}
	d := policy.Evaluate(ps, policy.Request{
		Principal: f.principal, Action: f.action, Resource: f.resource,
		ResourceAccount: f.resourceAccount, Context: ctx,
	})
	if f.asJSON {
		if err := writeJSON(a.Stdout, policy.NewAnswer("", d)); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.Stdout, d.Outcome)
		if d.Message != "" {
			fmt.Fprintln(a.Stdout, d.Message)
		}
		printStatements(a.Stdout, d.Deciding)
		if len(d.Deciding) == 0 && d.Outcome == policy.ImplicitlyDenied {
			fmt.Fprintln(a.Stdout, "  (no policy of that kind was given)")
		}
	}
	if d.Outcome != policy.Allowed {
		return silentError{ExitFailure}
	}
	return nil
}

// checkARNFlag wants an ARN with its six parts ("*" too when star).
func checkARNFlag(flag, v string, star bool) error {
	if star && v == "*" {
		return nil
	}
	if parts := strings.SplitN(v, ":", 6); len(parts) != 6 || parts[0] != "arn" {
		return badInput("%s %q is not an ARN: want arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE", flag, v)
	}
	return nil
}

// isServicePrincipal reports whether p names an AWS service
// (logging.s3.amazonaws.com).
func isServicePrincipal(p string) bool {
	return !strings.Contains(p, ":") && (strings.HasSuffix(p, ".amazonaws.com") || strings.HasSuffix(p, ".amazonaws.com.cn"))
}

// printStatements prints deciding statements as FILE#INDEX(Sid).
func printStatements(w io.Writer, rs []policy.StatementResult) {
	for _, r := range rs {
		ref := r.Policy + "#" + strconv.Itoa(r.Index)
		if r.Sid != "" {
			ref += "(" + r.Sid + ")"
		}
		state := "does not match"
		if r.Matched {
			state = "matches"
		}
		fmt.Fprintf(w, "  %s %s %s: %s\n", ref, r.Effect, state, r.Why)
	}
}

// policyBatch answers the cases of file (- for stdin), one per line.
func (a *App) policyBatch(file string) error {
	var in io.Reader = a.Stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return badInput("--batch: %v", err)
		}
		defer fh.Close()
		in = fh
	}
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriter(a.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	bad := 0
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			ans := batchAnswer(n, line)
			if ans.Error != "" {
				bad++
			}
			if err := enc.Encode(ans); err != nil {
				return err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			w.Flush()
			return fmt.Errorf("--batch %s: line %d: %v", file, n, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		name := file
		if name == "-" {
			name = "stdin"
		}
		fmt.Fprintf(a.Stderr, "credkit: %d case(s) of %s were not valid; their answers hold the error\n", bad, name)
		return silentError{ExitUsage}
	}
	return nil
}

// batchAnswer answers one line of a batch.
func batchAnswer(n int, line []byte) policy.Answer {
	c, err := policy.ParseCase(line)
	if err != nil {
		// The id, when the line has a readable one, ties the error to
		// its case.
		var probe struct {
			ID json.RawMessage `json:"id"`
		}
		var id string
		if json.Unmarshal(line, &probe) == nil {
			json.Unmarshal(probe.ID, &id)
		}
		return policy.Answer{ID: id, Error: fmt.Sprintf("line %d: %s", n, oneLine(err))}
	}
	ans := c.Evaluate()
	if ans.Error != "" {
		ans.Error = fmt.Sprintf("line %d: %s", n, ans.Error)
	}
	return ans
}
