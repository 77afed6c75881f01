package testpeer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// PostgresBinEnv names a directory holding initdb, postgres and pg_isready
// to use instead of the newest /usr/lib/postgresql/*/bin.
const PostgresBinEnv = "CREDKIT_POSTGRES_BIN"

// FakeRDSPostgres starts a PostgreSQL server (Debian's package) that
// authenticates like RDS for PostgreSQL with IAM: TLS connections from
// loopback log in with PAM, whose module hands the password to the token
// verifier; connections without TLS are refused with pg_hba.conf's "no
// encryption" error, and a refused token with `PAM authentication failed
// for user "..."`. The superuser AdminUser logs in over the unix socket in
// Socket without a password. The role rds_iam exists, as on RDS. The
// server runs as the postgres system user and is killed when t ends.
func FakeRDSPostgres(t testing.TB) *FakeRDS {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		missing(t, "PostgreSQL server", err.Error())
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		missing(t, "PostgreSQL server", "no postgres system user to run it as: "+err.Error())
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	asPostgres := func(argv ...string) []string {
		return append([]string{"setpriv", "--reuid=" + pgUser.Uid, "--regid=" + pgUser.Gid, "--init-groups", "--"}, argv...)
	}

	r := newFakeRDS(t, "postgres")
	r.AdminUser = "rdsadmin"
	data := filepath.Join(r.dir, "data")
	r.Socket = filepath.Join(r.dir, "sock")
	for _, d := range []string{data, r.Socket} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("testpeer: %v", err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatalf("testpeer: %v", err)
		}
	}
	if err := os.Chown(filepath.Join(r.dir, "server.key"), uid, gid); err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	env := append(IsolatedAWSEnv(), "LC_ALL=C", "HOME="+r.dir)
	argv := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", r.AdminUser,
		"--auth=trust", "--no-sync", "--locale=C", "-E", "UTF8")
	initdb := exec.Command(argv[0], argv[1:]...)
	initdb.Env = env
	initdb.Dir = r.dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("testpeer: initdb: %v\n%s", err, out)
	}
	hba := fmt.Sprintf(`# fake RDS: IAM logins over TLS only
local   all  %[1]s  trust
local   all  all    reject
hostssl all  all    127.0.0.1/32  pam pamservice=%[2]s
hostssl all  all    ::1/128       pam pamservice=%[2]s
host    all  all    127.0.0.1/32  reject
host    all  all    ::1/128       reject
`, r.AdminUser, r.PAMService)
	hbaFile := filepath.Join(data, "pg_hba.conf")
	if err := os.WriteFile(hbaFile, []byte(hba), 0o600); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	if err := os.Chown(hbaFile, uid, gid); err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	launch := func() (*process, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := r.setPort(port); err != nil {
			return nil, err
		}
		argv := asPostgres(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
			"-k", r.Socket,
			"-c", "listen_addresses=localhost",
			"-c", "ssl=on",
			"-c", "ssl_cert_file="+filepath.Join(r.dir, "server.crt"),
			"-c", "ssl_key_file="+filepath.Join(r.dir, "server.key"),
			"-c", "log_connections=on",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=60",
			"-c", "shared_buffers=16MB",
		)
		return start(t, "fake RDS PostgreSQL", argv, env, r.dir)
	}
	ready := func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", r.Socket, "-p", strconv.Itoa(r.Port), "-U", r.AdminUser, "-d", "postgres")
		return cmd.Run()
	}
	r.server, err = startWithRetry(t, launch, ready)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	r.AdminExec(t, "CREATE ROLE rds_iam NOLOGIN")
	return r
}

// postgresBin finds the directory of the PostgreSQL server programs.
func postgresBin() (string, error) {
	if d := os.Getenv(PostgresBinEnv); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb in /usr/lib/postgresql/*/bin (Debian package postgresql) and %s is not set", PostgresBinEnv)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// AdminDSN returns a connection string for the superuser over the private
// unix socket: libpq's key=value form for PostgreSQL (for psql and pgx),
// go-sql-driver/mysql's form for MariaDB.
func (r *FakeRDS) AdminDSN() string {
	if r.Engine == "mysql" {
		return "root@unix(" + r.Socket + ")/mysql"
	}
	return fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable", r.Socket, r.Port, r.AdminUser)
}

// AdminExec runs SQL as the superuser with the engine's command-line
// client and returns its output: rows as tab-separated lines, without
// headers.
func (r *FakeRDS) AdminExec(t testing.TB, sql string) string {
	t.Helper()
	var cmd *exec.Cmd
	if r.Engine == "mysql" {
		cmd = exec.Command("mariadb", "--no-defaults", "-S", r.Socket, "-u", "root", "-N", "-B", "-e", sql)
	} else {
		cmd = exec.Command("psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", r.AdminDSN(), "-c", sql)
	}
	cmd.Env = append(IsolatedAWSEnv(), "PGPASSWORD=", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testpeer: %s as %s on the fake RDS: %v\n%s", sql, r.AdminUser, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// AddIAMUser creates a database user that logs in with IAM tokens only:
// on PostgreSQL a login role granted rds_iam, with no password, owning a
// database of its own name; on MariaDB a user IDENTIFIED VIA pam REQUIRE
// SSL with all privileges.
func (r *FakeRDS) AddIAMUser(t testing.TB, name string) {
	t.Helper()
	if r.Engine == "mysql" {
		q := quoteMySQL(name)
		r.AdminExec(t, fmt.Sprintf("CREATE USER %s@'%%' IDENTIFIED VIA pam USING %s REQUIRE SSL; GRANT ALL PRIVILEGES ON *.* TO %s@'%%'",
			q, quoteMySQL(r.PAMService), q))
		return
	}
	q := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	r.AdminExec(t, fmt.Sprintf("CREATE ROLE %s LOGIN; GRANT rds_iam TO %s", q, q))
	r.AdminExec(t, fmt.Sprintf("CREATE DATABASE %s OWNER %s", q, q))
}

func quoteMySQL(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Psql logs in to the PostgreSQL fake RDS as user with password, as a
// client of RDS does (psql, TLS verify-full against CAFile, database
// postgres), runs `select current_user` and returns psql's output. env
// adds to or replaces psql's environment (PGSSLMODE=disable, say).
func (r *FakeRDS) Psql(user, password string, env ...string) (string, error) {
	cmd := exec.Command("psql", "-X", "-At", "-h", r.Host, "-p", strconv.Itoa(r.Port), "-U", user, "-d", "postgres", "-c", "select current_user")
	cmd.Env = append(IsolatedAWSEnv("PGPASSWORD="+password, "PGSSLMODE=verify-full", "PGSSLROOTCERT="+r.CAFile, "PGCONNECT_TIMEOUT=10", "LC_ALL=C"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
