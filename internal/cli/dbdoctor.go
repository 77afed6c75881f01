package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

// dbCheck is one finding of db doctor.
type dbCheck struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail, info
	Detail string `json:"detail"`
}

// Statuses of db doctor's checks.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
	checkInfo = "info"
)

// maxTokenSkew is how far the clock may be off before RDS refuses tokens
// (SigV4's five minutes).
const maxTokenSkew = 5 * time.Minute

func newDBDoctorCmd(a *App) *cobra.Command {
	var o credOpts
	var f dbConnectFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor --host HOST --port PORT --user USER [flags]",
		Short: "say why an RDS IAM login would fail, without logging in",
		Long: "Checks what an RDS IAM login of USER on HOST:PORT needs, without sending a token:\n" +
			"the credentials that would sign it (their source and expiry: a token signed with\n" +
			"session credentials stops working when they expire), the host name (an RDS endpoint,\n" +
			"not a CNAME; its region against the signing region), TLS (offered by the server and\n" +
			"verified against the CA bundle db connect would use), the clock against STS, the\n" +
			"caller's identity and the IAM resource its policy must allow, and what the database\n" +
			"user needs (GRANT rds_iam, or IDENTIFIED WITH AWSAuthenticationPlugin). Exit code 1\n" +
			"when a check failed.",
		Example: examples(
			"credkit db doctor --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app",
			"credkit db doctor --profile prod --host mydb.abc.us-east-1.rds.amazonaws.com --port 3306 --user app --json"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.host == "" || f.user == "" {
				return usagef(cmd, "db doctor needs --host and --user (and --port)")
			}
			return a.dbDoctor(cmd.Context(), &o, f, asJSON)
		},
	}
	o.register(cmd.Flags())
	_ = cmd.Flags().MarkHidden("signing-time")
	f.registerTarget(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&asJSON, "json", false, "print the checks as a JSON list of {check, status, detail}")
	return cmd
}

func (a *App) dbDoctor(ctx context.Context, o *credOpts, f dbConnectFlags, asJSON bool) error {
	tgt, err := dbTargetOf(f.host, f.port, f.engine)
	if err != nil {
		return err
	}
	caFile, caErr := a.dbCAFile(f.caBundle)
	var u usageError
	if errors.As(caErr, &u) {
		return caErr
	}
	var checks []dbCheck
	add := func(check, status, format string, args ...any) {
		checks = append(checks, dbCheck{check, status, fmt.Sprintf(format, args...)})
	}
	now := a.Now()

	// The credentials that would sign the token.
	c, trace, files, credErr := a.resolve(ctx, o)
	switch {
	case credErr != nil:
		add("credentials", checkFail, "%v", credErr)
	case c.CanExpire() && !now.Before(c.Expires):
		add("credentials", checkFail, "the session credentials from %s expired at %s (%s ago): RDS refuses every token they sign (PAM authentication failed / Access denied); get a fresh session (credkit exec, or a profile with --profile) instead of keys copied into the environment",
			c.Source, c.Expires.UTC().Format(time.RFC3339), now.Sub(c.Expires).Round(time.Second))
	case c.CanExpire() && c.Expires.Sub(now) < rdsauth.Lifetime:
		add("credentials", checkWarn, "the session credentials from %s expire at %s (in %s), before a token signed now would (15 minutes): a client that caches the token fails after that; sign with longer-lived credentials or refresh the token",
			c.Source, c.Expires.UTC().Format(time.RFC3339), c.Expires.Sub(now).Round(time.Second))
	case c.CanExpire():
		add("credentials", checkOK, "session credentials %s from %s, valid until %s", creds.RedactKeyID(c.AccessKeyID), c.Source, c.Expires.UTC().Format(time.RFC3339))
	default:
		add("credentials", checkOK, "long-term keys %s from %s", creds.RedactKeyID(c.AccessKeyID), c.Source)
	}
	if trace != nil {
		for _, w := range trace.Warnings {
			add("credentials", checkWarn, "%s", w)
		}
	}

	// The host name and the region the token is signed for.
	_, hostRegion := inferScope(tgt.host)
	region := ""
	if credErr == nil {
		ro := *o
		if ro.region == "" {
			ro.region = hostRegion
		}
		region, _ = a.regionFor(&ro, files, "")
	}
	switch {
	case isRDSHost(tgt.host):
		add("host", checkOK, "%s is an RDS endpoint name in %s", tgt.host, hostRegion)
	default:
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cname, _ := net.DefaultResolver.LookupCNAME(lctx, tgt.host)
		cancel()
		cname = strings.TrimSuffix(cname, ".")
		if cname != "" && !strings.EqualFold(cname, tgt.host) && isRDSHost(cname) {
			add("host", checkFail, "%s is a CNAME of %s: RDS accepts only tokens signed for its own endpoint name; use --host %s", tgt.host, cname, cname)
			_, hostRegion = inferScope(cname)
		} else {
			add("host", checkWarn, "%s is not an RDS endpoint name (NAME.ID.REGION.rds.amazonaws.com): fine for a local test server or a proxy that logs in itself, but RDS refuses tokens signed for any other name", tgt.host)
		}
	}
	switch {
	case region == "" && credErr == nil:
		add("region", checkFail, "no region to sign for: pass --region or set AWS_REGION")
	case hostRegion != "" && region != "" && region != hostRegion:
		add("region", checkFail, "the token would be signed for %s but the database is in %s: RDS refuses it; drop --region or pass --region %s", region, hostRegion, hostRegion)
	case region != "":
		add("region", checkOK, "tokens are signed for %s", region)
	}

	// TLS, verified the way db connect verifies.
	if caErr != nil {
		add("tls", checkFail, "%v", caErr)
	} else {
		a.dbDoctorTLS(ctx, tgt, caFile, add)
	}

	// Who signs, the clock, and the IAM resource the policy must allow.
	account := ""
	if credErr == nil && region != "" {
		id, err := a.callerIdentity(ctx, c, files, o.profile, region)
		if err != nil {
			add("identity", checkWarn, "STS GetCallerIdentity failed, so the account and the clock are not checked: %v", err)
		} else {
			account = id.Account
			add("identity", checkOK, "tokens are signed as %s (account %s)", id.ARN, id.Account)
			if !id.ServerTime.IsZero() {
				skew := now.Sub(id.ServerTime).Round(time.Second)
				if skew > maxTokenSkew || skew < -maxTokenSkew {
					add("clock", checkFail, "this clock is %s off STS's: RDS refuses tokens dated more than 5 minutes off; set the time (NTP)", skew)
				} else {
					add("clock", checkOK, "%s off STS's", skew)
				}
			}
		}
	}
	arnRegion, arnAccount := region, account
	if arnRegion == "" {
		arnRegion = "REGION"
	}
	if arnAccount == "" {
		arnAccount = "ACCOUNT"
	}
	add("policy", checkInfo, "the caller's IAM policy must allow rds-db:connect on arn:aws:rds-db:%s:%s:dbuser:DBI_RESOURCE_ID/%s (DBI_RESOURCE_ID is the instance's DbiResourceId, db-..., or the cluster's DbClusterResourceId, cluster-...: aws rds describe-db-instances --query 'DBInstances[].[DBInstanceIdentifier,DbiResourceId]')",
		arnRegion, arnAccount, f.user)
	if tgt.engine == rdsauth.EnginePostgres {
		add("database", checkInfo, "the user needs: CREATE USER %s; GRANT rds_iam TO %s;", pgIdent(f.user), pgIdent(f.user))
	} else {
		add("database", checkInfo, "the user needs: CREATE USER '%s' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL; (clients send the token with the cleartext plugin)", strings.ReplaceAll(f.user, "'", "''"))
	}

	failed := false
	for _, ch := range checks {
		failed = failed || ch.Status == checkFail
	}
	if asJSON {
		if err := writeJSON(a.Stdout, checks); err != nil {
			return err
		}
	} else {
		for _, ch := range checks {
			fmt.Fprintf(a.Stdout, "%-4s  %-11s %s\n", ch.Status, ch.Check, ch.Detail)
		}
	}
	if failed {
		return silentError{ExitFailure}
	}
	return nil
}

// dbDoctorTLS probes TLS on the target and verifies its certificate
// against caFile.
func (a *App) dbDoctorTLS(ctx context.Context, tgt dbTarget, caFile string, add func(check, status, format string, args ...any)) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		add("tls", checkFail, "CA bundle %s: %v", caFile, unwrapPath(err))
		return
	}
	b, err := rdsauth.ParseBundle(data, a.Now())
	if err != nil {
		add("tls", checkFail, "CA bundle %s: %v", caFile, err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := rdsauth.ProbeTLS(pctx, tgt.engine, tgt.host, tgt.port, b.CertPool())
	switch {
	case errors.Is(err, rdsauth.ErrTLSRefused):
		add("tls", checkFail, "%s does not offer TLS: RDS IAM logins need it (turn on TLS on the server; RDS always has it)", tgt.endpoint)
	case err != nil:
		add("tls", checkFail, "%s: %v", tgt.endpoint, err)
	case p.VerifyErr != nil:
		add("tls", checkFail, "%s's certificate (%s) does not verify against %s for %s: %v; clients that verify refuse it and send no token (run credkit db ca fetch, or pass --ca-bundle)",
			tgt.endpoint, p.Subject, caFile, tgt.host, p.VerifyErr)
	default:
		add("tls", checkOK, "%s, certificate %s verified against %s for %s, valid until %s", p.Version, p.Subject, caFile, tgt.host, p.NotAfter.UTC().Format("2006-01-02"))
	}
}

// isRDSHost reports whether host is an RDS endpoint name.
func isRDSHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return strings.HasSuffix(h, ".rds.amazonaws.com") || strings.HasSuffix(h, ".rds.amazonaws.com.cn")
}

// pgIdent quotes a PostgreSQL identifier when it needs it.
func pgIdent(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
	}
	return s
}
