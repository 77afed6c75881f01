package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/internal/awsenv"
	"github.com/credkit/credkit/internal/execrun"
	"github.com/credkit/credkit/rdsauth"
)

// dbConnectFlags are the flags of db connect.
type dbConnectFlags struct {
	engine, host, user, db, caBundle, client string
	port                                     int
}

func newDBConnectCmd(a *App) *cobra.Command {
	var o credOpts
	var f dbConnectFlags
	cmd := &cobra.Command{
		Use:   "connect --host HOST --port PORT --user USER [flags] [-- CLIENT-ARGS...]",
		Short: "run psql, mysql or mariadb logged in with a fresh RDS IAM token",
		Long: "Runs the database client logged in as USER on HOST:PORT with a fresh RDS IAM token,\n" +
			"over TLS verified against --ca-bundle, else the RDS CA bundle `credkit db ca fetch`\n" +
			"installed (~/" + rdsauth.CABundleName + "), else the system's roots.\n\n" +
			"The engine is --engine, else the port's (5432 postgres, 3306 mysql). The client is\n" +
			"--client, else psql for postgres and mysql or mariadb for mysql; its flavour (psql,\n" +
			"Oracle's MySQL client, MariaDB's) comes from its --version. The token never goes in\n" +
			"argv: psql gets it as PGPASSWORD with PGSSLMODE=verify-full and PGSSLROOTCERT; the\n" +
			"MySQL and MariaDB clients get an option file (--defaults-extra-file) holding it with\n" +
			"the CA, certificate verification and the cleartext plugin. On Linux it is a sealed\n" +
			"0600 file in memory that the client inherits and opens as /dev/fd/3: never on disk,\n" +
			"and gone with the client even if credkit is killed. Elsewhere it is a 0600 file in a\n" +
			"0700 directory ($XDG_RUNTIME_DIR/credkit/db, else ~/.cache/credkit/db) removed when\n" +
			"the client exits; one a killed credkit left is removed by the next db connect once\n" +
			"its token has expired. Arguments after -- are the client's; the connection settings\n" +
			"credkit gives come first and win.\n\n" +
			"Exit code: the client's when it ran (signals pass through); 2 for bad usage or input\n" +
			"(no port, unknown engine, unreadable --ca-bundle); 127 when the client is not found,\n" +
			"126 when it cannot be run; 1 for other failures (no credentials).",
		Example: examples(
			"credkit db connect --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app --db orders",
			"credkit db connect --host mydb.abc.us-east-1.rds.amazonaws.com --port 3306 --user app -- -e 'SELECT 1'",
			"credkit db connect --profile prod --host db.internal:6432 --engine postgres --user app --ca-bundle rds.pem",
			"credkit db connect --host mydb.abc.us-east-1.rds.amazonaws.com --port 3306 --user app --client /usr/bin/mariadb"),
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 0 && len(args) > 0 {
				return usagef(cmd, "%s takes the client's arguments after --, got %q", cmd.CommandPath(), args[0])
			}
			if f.host == "" || f.user == "" {
				return usagef(cmd, "db connect needs --host and --user (and --port)")
			}
			return a.dbConnect(cmd.Context(), &o, f, args)
		},
	}
	o.register(cmd.Flags())
	_ = cmd.Flags().MarkHidden("signing-time") // a token for another time would not log in
	f.registerTarget(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.db, "db", "", "database name (default: the client's)")
	fs.StringVar(&f.client, "client", "", "the client program, a path or a name on PATH (default: psql; mysql or mariadb)")
	return cmd
}

// registerTarget registers the flags naming the database and how its
// certificate is verified, which db connect and db doctor share.
func (f *dbConnectFlags) registerTarget(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.engine, "engine", "", "postgres or mysql (default: from the port, 5432 or 3306)")
	fs.StringVar(&f.host, "host", "", "database endpoint host name (or host:port)")
	fs.IntVar(&f.port, "port", 0, "database port (required: it is part of the signature)")
	fs.StringVar(&f.user, "user", "", "database user to log in as")
	fs.StringVar(&f.caBundle, "ca-bundle", "", "PEM file of the CAs the server's certificate must chain to (default: ~/"+rdsauth.CABundleName+", else the system's roots)")
	cmd.RegisterFlagCompletionFunc("engine", fixedValues(rdsauth.EnginePostgres, rdsauth.EngineMySQL))
}

// Client flavours db connect knows.
const (
	flavourPsql    = "psql"
	flavourMySQL   = "mysql"   // Oracle's client
	flavourMariaDB = "mariadb" // MariaDB's client (also installed as mysql)
)

// dbClient is the client program db connect runs.
type dbClient struct {
	path    string // found
	name    string // as typed, argv[0]
	flavour string
	version string // first line of --version
}

func (a *App) dbConnect(ctx context.Context, o *credOpts, f dbConnectFlags, clientArgs []string) error {
	tgt, err := dbTargetOf(f.host, f.port, f.engine)
	if err != nil {
		return err
	}
	endpoint, host, port, engine := tgt.endpoint, tgt.host, tgt.port, tgt.engine
	portStr := strconv.Itoa(port)
	caFile, err := a.dbCAFile(f.caBundle)
	if err != nil {
		return err
	}
	client, err := findDBClient(ctx, engine, f.client)
	if err != nil {
		return err
	}
	m, err := a.mintDBToken(ctx, o, endpoint, f.user, a.Now(), true)
	if err != nil {
		return err
	}

	argv := []string{client.name}
	var env []string
	var files []*os.File
	switch client.flavour {
	case flavourPsql:
		// The connection settings as one conninfo argument: psql lets it
		// win over its -h/-p/-U options, so the token cannot be sent to
		// another server by a client argument.
		conninfo := fmt.Sprintf("host=%s port=%d user=%s sslmode=verify-full sslrootcert=%s",
			conninfoValue(host), port, conninfoValue(f.user), conninfoValue(caFile))
		if f.db != "" {
			conninfo += " dbname=" + conninfoValue(f.db)
		}
		argv = append(argv, "--dbname="+conninfo)
		// The same in the environment, for a client argument -d that
		// replaces the conninfo.
		env = append(env, "PGHOST="+host, "PGPORT="+portStr, "PGUSER="+f.user,
			"PGPASSWORD="+m.token, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+caFile)
		if f.db != "" {
			env = append(env, "PGDATABASE="+f.db)
		}
	default:
		opt, err := newClientOptionFile(a.Getenv, mysqlOptionFile(client.flavour, host, port, f.user, m.token, caFile))
		if err != nil {
			return err
		}
		defer opt.remove()
		files = opt.files
		// --defaults-extra-file must be the first option.
		argv = append(argv, "--defaults-extra-file="+opt.path)
		if f.db != "" {
			argv = append(argv, "--database="+f.db)
		}
	}
	argv = append(argv, clientArgs...)
	return execrun.RunChildFiles(client.path, argv, dbChildEnv(a.childEnv(), env), files, a.Stdin, a.Stdout, a.Stderr)
}

// dbTarget is the database a db command is about.
type dbTarget struct {
	endpoint string // host:port, checked
	host     string
	port     int
	engine   string // rdsauth.EnginePostgres or EngineMySQL
}

// dbTargetOf checks --host, --port and --engine: the engine is --engine,
// else the port's.
func dbTargetOf(hostFlag string, portFlag int, engineFlag string) (dbTarget, error) {
	endpoint, err := dbEndpoint(hostFlag, portFlag)
	if err != nil {
		return dbTarget{}, err
	}
	host, portStr, err := net.SplitHostPort(endpoint)
	if err != nil {
		return dbTarget{}, badInput("%v", err)
	}
	port, _ := strconv.Atoi(portStr)
	engine := rdsauth.EngineOfPort(port)
	if engineFlag != "" {
		if engine, err = rdsauth.ParseEngine(engineFlag); err != nil {
			return dbTarget{}, badInput("--engine: %v", err)
		}
	} else if engine == "" {
		return dbTarget{}, badInput("cannot tell the engine from port %d: pass --engine postgres or --engine mysql", port)
	}
	return dbTarget{endpoint: endpoint, host: host, port: port, engine: engine}, nil
}

// dbChildEnv drops the variables that would send the client (and the
// token) elsewhere or weaken TLS, and adds extra.
func dbChildEnv(environ, extra []string) []string {
	drop := map[string]bool{
		"PGHOST": true, "PGHOSTADDR": true, "PGPORT": true, "PGUSER": true, "PGDATABASE": true, "PGSERVICE": true, "PGSERVICEFILE": true,
		"PGPASSWORD": true, "PGPASSFILE": true, "PGSSLMODE": true, "PGSSLROOTCERT": true, "PGREQUIRESSL": true,
		"MYSQL_PWD": true, "MYSQL_HOST": true, "MYSQL_TCP_PORT": true,
	}
	out := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// conninfoValue quotes v for a libpq conninfo string.
func conninfoValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " '\\\t\n") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// mysqlOptionFile is the [client] option file of the MySQL and MariaDB
// clients: the login with the token, TCP (a "localhost" host would
// otherwise mean the local socket), and TLS verified against caFile, in
// each flavour's words.
func mysqlOptionFile(flavour, host string, port int, user, token, caFile string) []byte {
	var b strings.Builder
	b.WriteString("[client]\n")
	fmt.Fprintf(&b, "host=%s\nport=%d\nprotocol=TCP\n", optionValue(host), port)
	fmt.Fprintf(&b, "user=%s\npassword=%s\n", optionValue(user), optionValue(token))
	fmt.Fprintf(&b, "ssl-ca=%s\n", optionValue(caFile))
	if flavour == flavourMariaDB {
		// MariaDB's client allows the cleartext plugin by default (its
		// option is obsolete there) and verifies with this switch.
		b.WriteString("ssl\nssl-verify-server-cert\n")
	} else {
		b.WriteString("ssl-mode=VERIFY_IDENTITY\nenable-cleartext-plugin\n")
	}
	return []byte(b.String())
}

// optionValue quotes v for a MySQL option file.
func optionValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

// dbCAFile returns the CA file the client verifies the server with: the
// flag's, else the installed RDS bundle, else the system's roots.
func (a *App) dbCAFile(flag string) (string, error) {
	if flag != "" {
		if err := checkCAFile(flag, a.Now()); err != nil {
			return "", badInput("--ca-bundle %s: %v", flag, err)
		}
		return filepath.Abs(flag)
	}
	if home, err := awsenv.Home(a.Getenv); err == nil {
		path := rdsauth.CABundlePath(home)
		if _, err := os.Stat(path); err == nil {
			if err := checkCAFile(path, a.Now()); err != nil {
				return "", fmt.Errorf("RDS CA bundle %s: %v; run credkit db ca fetch to replace it", path, err)
			}
			return path, nil
		}
	}
	if v := a.Getenv("SSL_CERT_FILE"); v != "" {
		return v, nil
	}
	for _, p := range rdsauth.SystemCAFiles {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no CA bundle to verify the server with: none given (--ca-bundle), none installed (run credkit db ca fetch) and no system roots in %s", strings.Join(rdsauth.SystemCAFiles, ", "))
}

// checkCAFile checks that path is a readable PEM bundle with a valid
// certificate.
func checkCAFile(path string, now time.Time) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return unwrapPath(err)
	}
	_, err = rdsauth.ParseBundle(data, now)
	return err
}

// findDBClient finds the client for engine (or the one given) and its
// flavour.
func findDBClient(ctx context.Context, engine, given string) (dbClient, error) {
	var names []string
	switch {
	case given != "":
		names = []string{given}
	case engine == rdsauth.EnginePostgres:
		names = []string{"psql"}
	default:
		names = []string{"mysql", "mariadb"}
	}
	var lookErr error
	for _, name := range names {
		path, err := execrun.LookPath(name)
		if err != nil {
			if lookErr == nil {
				lookErr = err
			}
			continue
		}
		c := dbClient{path: path, name: name}
		c.flavour, c.version, err = clientFlavour(ctx, path)
		if err != nil {
			return dbClient{}, err
		}
		want := engine == rdsauth.EnginePostgres
		if (c.flavour == flavourPsql) != want {
			return dbClient{}, badInput("--client %s is %q, not a %s client", name, c.version, engine)
		}
		return c, nil
	}
	if given == "" && engine == rdsauth.EngineMySQL {
		return dbClient{}, fmt.Errorf("no mysql or mariadb client on PATH: install one, or pass --client PATH")
	}
	return dbClient{}, fmt.Errorf("%w (pass --client PATH)", lookErr)
}

// clientFlavour runs path --version and tells psql, Oracle's MySQL client
// and MariaDB's apart.
func clientFlavour(ctx context.Context, path string) (flavour, version string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		return "", version, fmt.Errorf("%s --version: %v; is it psql, mysql or mariadb?", path, err)
	}
	switch {
	case strings.Contains(version, "PostgreSQL"):
		return flavourPsql, version, nil
	case strings.Contains(version, "MariaDB"):
		return flavourMariaDB, version, nil
	case strings.Contains(version, "MySQL") || strings.HasPrefix(version, "mysql "):
		return flavourMySQL, version, nil
	}
	return "", version, badInput("%s --version says %q: not psql, mysql or mariadb", path, version)
}

// unwrapPath is err without the path an *fs.PathError repeats (the caller
// names the file already).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
