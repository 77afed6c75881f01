package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/credkit/credkit/rdsauth"
)

func (a *App) db(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "token" {
		return a.dbToken(ctx, args[1:])
	}
	w := a.Stderr
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		w = a.Stdout
	}
	fmt.Fprintln(w, "Usage:\n  credkit db token --host HOST --port PORT --user USER [--region REGION]\n\nRun \"credkit db token --help\" for flags and examples.")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return nil
	}
	return badInput("db needs a subcommand: token")
}

func (a *App) dbToken(ctx context.Context, args []string) error {
	var o credOpts
	var host, user string
	var port int
	var asJSON bool
	fs := a.flagSet("db token", "db token --host HOST --port PORT --user USER [flags]",
		"Prints an RDS IAM authentication token: the password for USER on HOST:PORT, valid\n"+
			"15 minutes (and no longer than the session credentials signing it). Connect with TLS;\n"+
			"MySQL/MariaDB clients need --enable-cleartext-plugin.",
		"PGPASSWORD=\"$(credkit db token --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app)\" psql \"host=mydb.abc.eu-west-1.rds.amazonaws.com user=app sslmode=require\"",
		"MYSQL_PWD=\"$(credkit db token --host mydb.abc.us-east-1.rds.amazonaws.com --port 3306 --user app)\" mysql -h mydb.abc.us-east-1.rds.amazonaws.com -u app --enable-cleartext-plugin --ssl-mode=REQUIRED",
		"credkit db token --host mydb.abc.us-east-1.rds.amazonaws.com --port 5432 --user app --json")
	o.register(fs)
	fs.StringVar(&host, "host", "", "database endpoint host name (or host:port)")
	fs.IntVar(&port, "port", 0, "database port (required: it is part of the signature)")
	fs.StringVar(&user, "user", "", "database user the token logs in as")
	fs.BoolVar(&asJSON, "json", false, "print {\"token\", \"endpoint\", \"user\", \"region\", \"expires_at\"} as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("db token takes flags only, got %q", pos[0])
	}
	if host == "" || user == "" {
		return badInput("db token needs --host and --user (and --port)")
	}
	endpoint := host
	if port != 0 {
		if port < 1 || port > 65535 {
			return badInput("--port %d is not 1 to 65535", port)
		}
		if _, _, err := net.SplitHostPort(host); err == nil {
			return badInput("--host %q already has a port and --port %d was given; give the port once", host, port)
		}
		endpoint = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if _, err := rdsauth.Endpoint(endpoint); err != nil {
		return badInput("%v (pass --port)", err)
	}
	t, err := a.when(&o)
	if err != nil {
		return err
	}
	c, files, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	// The region in an RDS host name is the database's: it wins over the
	// environment and the profile, which may well name another.
	_, hostRegion := inferScope(host)
	ro := o
	if ro.region == "" {
		ro.region = hostRegion
	}
	region, err := a.regionFor(&ro, files, "")
	if err != nil {
		return err
	}
	if hostRegion != "" && region != hostRegion {
		fmt.Fprintf(a.Stderr, "credkit: warning: signing for %s but the host name says %s; RDS refuses a token signed for another region (PAM authentication failed)\n", region, hostRegion)
	}
	tok, err := rdsauth.BuildToken(rdsauth.Request{Endpoint: endpoint, Region: region, User: user, Time: t}, c)
	if err != nil {
		return asBadInput(err)
	}
	expires := t.Add(rdsauth.Lifetime)
	if c.CanExpire() && c.Expires.Before(expires) {
		expires = c.Expires
		fmt.Fprintf(a.Stderr, "credkit: warning: the session credentials signing this token expire at %s, before the token's 15 minutes are up\n", c.Expires.UTC().Format(time.RFC3339))
	}
	if asJSON {
		return writeJSON(a.Stdout, map[string]string{"token": tok, "endpoint": endpoint, "user": user, "region": region, "expires_at": expires.UTC().Format(time.RFC3339)})
	}
	fmt.Fprintln(a.Stdout, tok)
	return nil
}
