package testpeer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// FakeRDSMariaDB starts a MariaDB server (Debian's package) that
// authenticates like RDS for MySQL with IAM: users made by AddIAMUser are
// IDENTIFIED VIA pam REQUIRE SSL, and the auth_pam plugin with
// pam_use_cleartext_plugin=ON asks clients for the password in cleartext
// (mysql_clear_password), as RDS's AWSAuthenticationPlugin does. A refused
// token fails with error 1045 (Access denied). The anonymous users that
// mariadb-install-db creates are dropped, or every login would match them.
// root logs in over the unix socket in Socket (unix_socket
// authentication). The server listens on 127.0.0.1 only, runs as root (so
// that auth_pam's setuid helper may run the PAM module) and is killed when
// t ends.
func FakeRDSMariaDB(t testing.TB) *FakeRDS {
	t.Helper()
	installDB, mariadbd := mariadbTools(t)
	var err error

	r := newFakeRDS(t, "mysql")
	r.AdminUser = "root"
	r.Host = "localhost"
	data := filepath.Join(r.dir, "data")
	r.Socket = filepath.Join(r.dir, "mysqld.sock")
	install := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=socket", "--skip-test-db")
	install.Env = append(IsolatedAWSEnv(), "LC_ALL=C")
	install.Dir = r.dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("testpeer: %s: %v\n%s", installDB, err, out)
	}

	launch := func() (*process, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := r.setPort(port); err != nil {
			return nil, err
		}
		argv := []string{mariadbd, "--no-defaults",
			"--datadir=" + data,
			"--socket=" + r.Socket,
			"--pid-file=" + filepath.Join(r.dir, "mariadbd.pid"),
			"--port=" + strconv.Itoa(port),
			"--bind-address=127.0.0.1",
			"--user=root",
			"--skip-name-resolve",
			"--skip-log-bin",
			"--innodb-buffer-pool-size=16M",
			"--plugin-load-add=auth_pam",
			"--pam-use-cleartext-plugin=ON",
			"--ssl-ca=" + r.CAFile,
			"--ssl-cert=" + filepath.Join(r.dir, "server.crt"),
			"--ssl-key=" + filepath.Join(r.dir, "server.key"),
			"--max-connections=100",
			// Connection attributes are only visible in performance_schema.
			"--performance-schema=ON",
		}
		return start(t, "fake RDS MariaDB", argv, append(IsolatedAWSEnv(), "LC_ALL=C"), r.dir)
	}
	ready := func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", r.Socket, "-u", "root", "-N", "-B", "-e", "SELECT 1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	r.server, err = startWithRetry(t, launch, ready)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	r.AdminExec(t, "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES")
	return r
}

// lookPathAny returns the first of names found on PATH (or, for a path, that
// exists).
func lookPathAny(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		if filepath.IsAbs(n) {
			if _, err := os.Stat(n); err == nil {
				return n, nil
			}
		}
	}
	return "", fmt.Errorf("none of %v found (Debian package mariadb-server)", names)
}

// mariadbTools finds mariadb-install-db and mariadbd, and checks that the
// mariadb client is there, or skips t (fails it under CREDKIT_PEERS=require).
func mariadbTools(t testing.TB) (installDB, mariadbd string) {
	t.Helper()
	installDB, err := lookPathAny("mariadb-install-db", "mysql_install_db")
	if err != nil {
		missing(t, "MariaDB server", err.Error())
	}
	mariadbd, err = lookPathAny("mariadbd", "/usr/sbin/mariadbd")
	if err != nil {
		missing(t, "MariaDB server", err.Error())
	}
	if _, err := exec.LookPath("mariadb"); err != nil {
		missing(t, "MariaDB client", err.Error())
	}
	return installDB, mariadbd
}
