package testpeer

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// PlainMariaDB starts a MariaDB server (Debian's package) without TLS on
// 127.0.0.1 and returns its port: its greeting lacks CLIENT_SSL, as an
// RDS endpoint never does, for tests of clients that must refuse it
// before sending a password. It has a user app@'%' with no password (a
// server with no user for a host answers that host with an error, not a
// greeting) and is killed when t ends.
func PlainMariaDB(t testing.TB) int {
	t.Helper()
	installDB, mariadbd := mariadbTools(t)
	var err error
	dir := t.TempDir()
	data, socket := filepath.Join(dir, "data"), filepath.Join(dir, "mysqld.sock")
	install := exec.Command(installDB, "--no-defaults", "--datadir="+data, "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db")
	install.Env = append(IsolatedAWSEnv(), "LC_ALL=C")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("testpeer: %s: %v\n%s", installDB, err, out)
	}
	var port int
	launch := func() (*process, error) {
		if port, err = freePort(); err != nil {
			return nil, err
		}
		argv := []string{mariadbd, "--no-defaults", "--datadir=" + data, "--socket=" + socket,
			"--pid-file=" + filepath.Join(dir, "mariadbd.pid"), "--port=" + strconv.Itoa(port),
			"--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve", "--skip-log-bin",
			"--innodb-buffer-pool-size=16M", "--skip-ssl"}
		return start(t, "plain MariaDB", argv, append(IsolatedAWSEnv(), "LC_ALL=C"), dir)
	}
	ready := func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", socket, "-u", "root", "-N", "-B", "-e", "SELECT 1")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if _, err := startWithRetry(t, launch, ready); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	cmd := exec.Command("mariadb", "--no-defaults", "-S", socket, "-u", "root", "-e", "CREATE USER app@'%'")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testpeer: creating app@'%%' on the plain MariaDB: %v\n%s", err, out)
	}
	return port
}
