package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

func newDBCmd(a *App) *cobra.Command {
	return newGroupCmd("db", "RDS IAM database authentication: tokens, clients, the RDS CA bundle",
		"RDS IAM database authentication: tokens that are a database user's password for 15\n"+
			"minutes, signed with the current credentials.",
		newDBTokenCmd(a),
		newDBConnectCmd(a),
		newDBProxyCmd(a),
		newDBDoctorCmd(a),
		newDBCACmd(a))
}

// dbTokenFlags are the flags of db token.
type dbTokenFlags struct {
	host, user string
	port       int
	asJSON     bool
}

func newDBTokenCmd(a *App) *cobra.Command {
	var o credOpts
	var f dbTokenFlags
	cmd := &cobra.Command{
		Use:   "token --host HOST --port PORT --user USER [flags]",
		Short: "print an RDS IAM authentication token",
		Long: "Prints an RDS IAM authentication token: the password for USER on HOST:PORT, valid\n" +
			"15 minutes (and no longer than the session credentials signing it). Connect with TLS;\n" +
			"MySQL/MariaDB clients need --enable-cleartext-plugin.",
		Example: examples(
			"PGPASSWORD=\"$(credkit db token --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app)\" psql \"host=mydb.abc.eu-west-1.rds.amazonaws.com user=app sslmode=require\"",
			"MYSQL_PWD=\"$(credkit db token --host mydb.abc.us-east-1.rds.amazonaws.com --port 3306 --user app)\" mysql -h mydb.abc.us-east-1.rds.amazonaws.com -u app --enable-cleartext-plugin --ssl-mode=REQUIRED",
			"credkit db token --host mydb.abc.us-east-1.rds.amazonaws.com --port 5432 --user app --json"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.host == "" || f.user == "" {
				return usagef(cmd, "db token needs --host and --user (and --port)")
			}
			return a.dbToken(cmd.Context(), &o, f)
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&f.host, "host", "", "database endpoint host name (or host:port)")
	fs.IntVar(&f.port, "port", 0, "database port (required: it is part of the signature)")
	fs.StringVar(&f.user, "user", "", "database user the token logs in as")
	fs.BoolVar(&f.asJSON, "json", false, "print {\"token\", \"endpoint\", \"user\", \"region\", \"expires_at\"} as JSON")
	return cmd
}

func (a *App) dbToken(ctx context.Context, o *credOpts, f dbTokenFlags) error {
	endpoint, err := dbEndpoint(f.host, f.port)
	if err != nil {
		return err
	}
	t, err := a.when(o)
	if err != nil {
		return err
	}
	m, err := a.mintDBToken(ctx, o, endpoint, f.user, t, false)
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(a.Stdout, map[string]string{"token": m.token, "endpoint": endpoint, "user": f.user, "region": m.region, "expires_at": m.expires.UTC().Format(time.RFC3339)})
	}
	fmt.Fprintln(a.Stdout, m.token)
	return nil
}

// dbEndpoint joins --host and --port into host:port and checks it.
func dbEndpoint(host string, port int) (string, error) {
	endpoint := host
	if port != 0 {
		if port < 1 || port > 65535 {
			return "", badInput("--port %d is not 1 to 65535", port)
		}
		if _, _, err := net.SplitHostPort(host); err == nil {
			return "", badInput("--host %q already has a port and --port %d was given; give the port once", host, port)
		}
		endpoint = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if _, err := rdsauth.Endpoint(endpoint); err != nil {
		return "", badInput("%v (pass --port)", err)
	}
	return endpoint, nil
}

// mintedToken is an RDS token with what it was made from.
type mintedToken struct {
	token   string
	region  string
	creds   creds.Credentials
	expires time.Time // the token's end, or the credentials' when sooner
}

// mintDBToken signs a token for user at endpoint (checked host:port) at t
// with the credentials of o, warning on stderr when the region or the
// credentials' lifetime will make RDS refuse it. With refuseExpired,
// session credentials that have expired by t are an error instead: RDS
// would only answer "PAM authentication failed".
func (a *App) mintDBToken(ctx context.Context, o *credOpts, endpoint, user string, t time.Time, refuseExpired bool) (mintedToken, error) {
	c, files, err := a.credentials(ctx, o)
	if err != nil {
		return mintedToken{}, err
	}
	if refuseExpired && c.CanExpire() && !t.Before(c.Expires) {
		return mintedToken{}, fmt.Errorf("the session credentials from %s expired at %s: RDS refuses every token they sign; get a fresh session (credkit exec, or --profile) instead of keys copied into the environment",
			c.Source, c.Expires.UTC().Format(time.RFC3339))
	}
	// The region in an RDS host name is the database's: it wins over the
	// environment and the profile, which may well name another.
	_, hostRegion := inferScope(endpoint)
	ro := *o
	if ro.region == "" {
		ro.region = hostRegion
	}
	region, err := a.regionFor(&ro, files, "")
	if err != nil {
		return mintedToken{}, err
	}
	if hostRegion != "" && region != hostRegion {
		fmt.Fprintf(a.Stderr, "credkit: warning: signing for %s but the host name says %s; RDS refuses a token signed for another region (PAM authentication failed)\n", region, hostRegion)
	}
	tok, err := rdsauth.BuildToken(rdsauth.Request{Endpoint: endpoint, Region: region, User: user, Time: t}, c)
	if err != nil {
		return mintedToken{}, asBadInput(err)
	}
	expires := t.Add(rdsauth.Lifetime)
	if c.CanExpire() && c.Expires.Before(expires) {
		expires = c.Expires
		fmt.Fprintf(a.Stderr, "credkit: warning: the session credentials signing this token expire at %s, before the token's 15 minutes are up\n", c.Expires.UTC().Format(time.RFC3339))
	}
	return mintedToken{token: tok, region: region, creds: c, expires: expires}, nil
}
