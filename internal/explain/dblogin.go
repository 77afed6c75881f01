package explain

import (
	"regexp"
	"strconv"
	"strings"
)

// DatabaseLogin is what a refused database login says.
type DatabaseLogin struct {
	// Engine is "postgres", "mysql" (MySQL and MariaDB) or "rds-proxy"
	// (RDS Proxy, which speaks for either).
	Engine string `json:"engine"`
	// User is the database user the login was for, "" when the message
	// does not name it.
	User string `json:"user,omitempty"`
	// Host is the client's address as the server saw it (PostgreSQL's
	// "for host", MySQL's 'user'@'host'), not the server's.
	Host     string `json:"host,omitempty"`
	Database string `json:"database,omitempty"`
	// Server and Port are the server the client tried, when the client's
	// prefix names it (psql: connection to server at "HOST" (IP), port
	// PORT failed).
	Server string `json:"server,omitempty"`
	Port   string `json:"port,omitempty"`
	// Reason is what the server refused: "pam" (a token checked and
	// refused), "password" (checked as an ordinary password),
	// "no_encryption" (a connection without TLS), "access_denied"
	// (MySQL's 1045 with a password), "no_password" (1045 without one),
	// "cleartext_plugin" (the client will not send a cleartext password),
	// "insecure_transport" (the server requires TLS).
	Reason string `json:"reason"`
}

// Database login wordings. PostgreSQL's come from src/backend/libpq/auth.c
// (provoked from the fake RDS PostgreSQL in the tests); MySQL's 1045 from
// the server's ER_ACCESS_DENIED_ERROR (provoked from the fake RDS
// MariaDB), 3159 from ER_SECURE_TRANSPORT_REQUIRED (MariaDB with
// require_secure_transport=ON), 2059 from the client library's
// CR_AUTH_PLUGIN_CANNOT_LOAD ("Authentication plugin '%s' cannot be
// loaded: %s"; the MySQL client says "plugin not enabled" when
// mysql_clear_password is off), and go-sql-driver/mysql's
// ErrCleartextPassword ("this user requires clear text authentication",
// provoked in the tests). RDS Proxy answers a refused token with "The IAM
// authentication failed for the role ROLE. Check the IAM token for this
// role and try again." (its troubleshooting guide). The AWS JDBC wrapper
// adds no wording: it passes the driver's error on, after one more try
// with a fresh token when a cached one was refused.
var (
	pgPAMRE      = regexp.MustCompile(`PAM authentication failed for user "([^"]*)"`)
	pgPasswordRE = regexp.MustCompile(`password authentication failed for user "([^"]*)"`)
	pgHBARE      = regexp.MustCompile(`(?:pg_hba\.conf rejects connection|no pg_hba\.conf entry) for host "([^"]*)", user "([^"]*)", database "([^"]*)"(?:, (no encryption|SSL off|SSL encryption|SSL on|GSS encryption))?`)
	myDeniedRE   = regexp.MustCompile(`Access denied for user '([^']*)'@'([^']*)'(?: \(using password: (YES|NO)\))?`)
	myPluginRE   = regexp.MustCompile(`Authentication plugin '([^']+)' cannot be loaded|mysql_clear_password[^\n]*not enabled|requires clear text authentication`)
	myInsecureRE = regexp.MustCompile(`Connections using insecure transport are prohibited|SSL connection is required`)
	proxyIAMRE   = regexp.MustCompile(`The IAM authentication failed for the role (\S+?)\.? Check the IAM token`)
	psqlServerRE = regexp.MustCompile(`connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed`)
	myCodeRE     = regexp.MustCompile(`(?i)\bERROR (\d{4})(?: \(\w{5}\))?`)
)

func readDatabaseLogin(r *Refusal) bool {
	text := r.Message
	d := &DatabaseLogin{}
	switch {
	case pgPAMRE.MatchString(text):
		d.Engine, d.Reason, d.User = "postgres", "pam", pgPAMRE.FindStringSubmatch(text)[1]
	case pgPasswordRE.MatchString(text):
		d.Engine, d.Reason, d.User = "postgres", "password", pgPasswordRE.FindStringSubmatch(text)[1]
	case pgHBARE.MatchString(text):
		m := pgHBARE.FindStringSubmatch(text)
		d.Engine, d.Host, d.User, d.Database = "postgres", m[1], m[2], m[3]
		d.Reason = "rejected"
		if m[4] == "no encryption" || m[4] == "SSL off" {
			d.Reason = "no_encryption"
		}
	case proxyIAMRE.MatchString(text):
		d.Engine, d.Reason, d.User = "rds-proxy", "pam", proxyIAMRE.FindStringSubmatch(text)[1]
	case myDeniedRE.MatchString(text):
		m := myDeniedRE.FindStringSubmatch(text)
		d.Engine, d.User, d.Host, d.Reason = "mysql", m[1], m[2], "access_denied"
		if m[3] == "NO" {
			d.Reason = "no_password"
		}
	case myPluginRE.MatchString(text):
		d.Engine, d.Reason = "mysql", "cleartext_plugin"
	case myInsecureRE.MatchString(text):
		d.Engine, d.Reason = "mysql", "insecure_transport"
	default:
		return false
	}
	r.Kind, r.Database = KindDatabaseLogin, d
	if m := psqlServerRE.FindStringSubmatch(text); m != nil {
		d.Server, d.Port = m[1], m[2]
	}
	if m := myCodeRE.FindStringSubmatch(text); m != nil && d.Engine == "mysql" {
		r.Code = m[1]
	}
	user := "the user"
	if d.User != "" {
		user = strconv.Quote(d.User)
	}
	switch d.Reason {
	case "pam":
		r.Says = "PostgreSQL refused the password of " + user + ": with IAM database authentication the password is a token, and RDS refused it"
		if d.Engine == "rds-proxy" {
			r.Says = "RDS Proxy refused the IAM token of " + user
		}
	case "password":
		r.Says = "PostgreSQL checked the password of " + user + " as an ordinary password, not as an IAM token, and refused it"
	case "no_encryption":
		r.Says = "PostgreSQL refused a connection of " + user + " without TLS before asking for a password"
	case "rejected":
		r.Says = "PostgreSQL's pg_hba.conf refused the connection of " + user + " before asking for a password"
	case "access_denied":
		r.Says = "MySQL refused the login of " + user + " with the password (token) it was sent"
	case "no_password":
		r.Says = "MySQL refused the login of " + user + ": the client sent no password at all, so no token reached the server"
	case "cleartext_plugin":
		r.Says = "the MySQL client would not send the password in cleartext (mysql_clear_password), which IAM database authentication needs"
	case "insecure_transport":
		r.Says = "the MySQL server requires TLS and the connection had none"
	}
	return true
}

// databaseCauses ranks what makes a database refuse an IAM login. The
// reason in the message moves its own cause to the top.
func databaseCauses(d *DatabaseLogin) []Cause {
	user, port := commandWord(d.User, "USER"), "5432"
	if d.Engine == "mysql" {
		port = "3306"
	}
	host := commandWord(d.Server, "ENDPOINT")
	if d.Port != "" {
		port = d.Port
	}
	target := "--host " + host + " --port " + port + " --user " + user
	doctor := "credkit db doctor " + target
	byReason := func(reason string, score int) int {
		if d.Reason == reason {
			return score + 200
		}
		return score
	}
	grant := "GRANT rds_iam TO " + user + " (run as the master user); without it RDS checks the token as an ordinary password"
	tls := "sslmode=require or verify-full (PGSSLMODE), with the RDS CA bundle for verify-full"
	if d.Engine == "mysql" {
		grant = "the user must be CREATE USER " + user + " IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' (check with SHOW CREATE USER)"
		tls = "--ssl-mode=REQUIRED or VERIFY_IDENTITY (MySQL client), --ssl (MariaDB client), tls=true in a driver"
	}
	out := []Cause{
		{score: 80, Cause: "expired signing credentials",
			Check:   "the token was signed with session credentials that have expired since: RDS refuses it even within its 15 minutes. The chain's winner may be AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN that an IDE or wrapper put in the environment, ahead of AWS_PROFILE; db doctor shows the signer, its source and its expiry",
			Command: doctor},
		{score: 70, Cause: "token older than 15 minutes",
			Check:   "a token is valid for 15 minutes from its signing; a plugin, GUI tool or connection pool that caches it fails on the next login. Get a fresh token for every login: db connect signs one per client, db proxy one per connection",
			Command: "credkit db proxy " + target},
		{score: 65, Cause: "token for another endpoint, region or user",
			Check:   "the token must be signed for the exact host:port the client connects to (the instance or cluster endpoint, not a CNAME, a proxy or another endpoint), for the region in that host name, and for this user name (case matters); token inspect shows what the refused token was signed for, by whom and until when",
			Command: `printf '%s' "$TOKEN" | credkit token inspect`},
		{score: 55, Cause: "IAM policy",
			Check:   "a policy of the signer must allow rds-db:connect on arn:aws:rds-db:REGION:ACCOUNT:dbuser:DbiResourceId/" + user + " (the resource id db-..., not the instance name; cluster-... for Aurora); db doctor prints the exact ARN",
			Command: doctor},
		{score: 45, Cause: "IAM authentication not enabled",
			Check:   "the instance or cluster must have IAM database authentication enabled (IAMDatabaseAuthenticationEnabled; modifying it takes effect after a while); db doctor reads it",
			Command: doctor},
		{score: byReason("password", 40), Cause: "database user not set up for IAM", Check: grant, Command: doctor},
		{score: byReason("no_encryption", byReason("insecure_transport", byReason("rejected", 20))), Cause: "no TLS",
			Check:   "IAM logins need TLS: " + tls + "; db connect and db proxy always use it",
			Command: "credkit db connect " + target},
	}
	if d.Engine == "mysql" {
		out = append(out,
			Cause{score: byReason("cleartext_plugin", 15), Cause: "client will not send the token in cleartext",
				Check:   "the token goes as a cleartext password (mysql_clear_password): mysql --enable-cleartext-plugin, LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN=1, allowCleartextPasswords=true (Go), enable_cleartext_plugin (Connector/J's authenticationPlugins); db connect sets it",
				Command: "credkit db connect " + target},
			Cause{score: byReason("no_password", 10), Cause: "no token sent", Why: noPasswordWhy(d),
				Check:   "the client sent an empty password: the token was never made (an error hidden in a script), its variable is unset, or the client was not told to use it (MYSQL_PWD, -p, password=); db connect hands the token to the client itself",
				Command: "credkit db connect " + target},
		)
	}
	return out
}

// noPasswordWhy says how far "using password: NO" can be trusted.
func noPasswordWhy(d *DatabaseLogin) string {
	if d.Reason != "no_password" {
		return ""
	}
	return "the server says no password arrived; MariaDB's auth_pam says so even when one did, so when the client did send a token the causes below apply"
}

// commandWord is s when it can stand in a command line as it is, else
// the placeholder.
func commandWord(s, placeholder string) string {
	if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@") != "" {
		return placeholder
	}
	return s
}
