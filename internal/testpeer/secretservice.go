package testpeer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus"
)

// Well-known names and paths of the Secret Service and of gnome-keyring.
const (
	secretsName      = "org.freedesktop.secrets"
	secretsPath      = dbus.ObjectPath("/org/freedesktop/secrets")
	secretServiceIfc = "org.freedesktop.Secret.Service"
	collectionIfc    = "org.freedesktop.Secret.Collection"
	itemIfc          = "org.freedesktop.Secret.Item"
	// gnome-keyring's interface for creating and unlocking collections
	// with a password given in the call instead of through a prompt.
	gnomeKeyringInternalIfc = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
)

// SecretServiceChildEnv is set in the environment of the test process that
// InSecretServiceProcess starts; it holds the SecretServiceBus as JSON.
const SecretServiceChildEnv = "CREDKIT_TESTPEER_SECRET_SERVICE"

// SecretServiceBus is a private D-Bus session bus with gnome-keyring-daemon
// serving the Secret Service (org.freedesktop.secrets) on it.
//
// The bus offers no service activation: nothing starts on it but the two
// daemons, and gnome-keyring cannot reach a prompter (gcr-prompter), so
// every prompt it makes (to create a collection through the Secret Service
// API, or to unlock a locked one) completes at once as dismissed.
// CreateCollection and UnlockCollection use gnome-keyring's own
// prompt-less calls instead.
type SecretServiceBus struct {
	// Address is the bus address, for DBUS_SESSION_BUS_ADDRESS.
	Address string
	// Env is DBUS_SESSION_BUS_ADDRESS=Address, for child processes.
	Env []string
	// DataDir is gnome-keyring's XDG_DATA_HOME; collections are stored in
	// DataDir/keyrings/NAME.keyring.
	DataDir string
	// LoginPassword is the password of the "login" collection, which
	// gnome-keyring creates (unlocked) at startup.
	LoginPassword string
}

// SecretService starts a private D-Bus session bus (dbus-daemon) and
// gnome-keyring-daemon with only its secrets component on it, unlocking
// (creating) the login collection with a random password. Both run with
// HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR
// in a temporary directory, so the user's own keyrings and session bus are
// never touched. It returns once org.freedesktop.secrets is owned on the
// bus and the login collection is listed; both daemons are killed when t
// ends.
//
// The current process's session bus is not changed: see
// InSecretServiceProcess for code that uses godbus's shared connection.
//
// dbus-daemon or gnome-keyring-daemon missing from PATH is a missing peer
// (skip, or fail with CREDKIT_PEERS=require).
func SecretService(t testing.TB) *SecretServiceBus {
	t.Helper()
	bins := map[string]string{}
	for _, tool := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			missing(t, "a Secret Service (Debian packages dbus, gnome-keyring)", tool+" is not on PATH")
		}
		bins[tool] = p
	}
	// Unix socket paths must stay short: a directory in /tmp.
	dir, err := os.MkdirTemp("", "credkit-dbus-")
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	sub := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatalf("testpeer: %v", err)
		}
		return p
	}
	home, runtime := sub("home"), sub("run")
	s := &SecretServiceBus{
		Address:       "unix:path=" + filepath.Join(dir, "bus"),
		DataDir:       sub("data"),
		LoginPassword: randomHex(t, 12),
	}
	s.Env = []string{"DBUS_SESSION_BUS_ADDRESS=" + s.Address}

	config := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(config, []byte(busConfig(s.Address)), 0o600); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + s.DataDir,
		"XDG_CONFIG_HOME=" + sub("config"),
		"XDG_CACHE_HOME=" + sub("cache"),
		"XDG_RUNTIME_DIR=" + runtime,
		"DBUS_SESSION_BUS_ADDRESS=" + s.Address,
		"LC_ALL=C.UTF-8",
		// Keep GLib from looking for dconf and gvfs on the bus.
		"GSETTINGS_BACKEND=memory",
		"GIO_USE_VFS=local",
	}

	bus, err := startProcess(t, "dbus-daemon",
		[]string{bins["dbus-daemon"], "--config-file=" + config, "--nofork", "--nopidfile"}, env, dir, nil)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	if err := bus.waitReady(func(ctx context.Context) error {
		conn, err := s.dial(ctx)
		if err != nil {
			return err
		}
		conn.Close()
		return nil
	}); err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	keyring, err := startProcess(t, "gnome-keyring-daemon",
		[]string{bins["gnome-keyring-daemon"], "--foreground", "--components=secrets", "--unlock"},
		env, dir, strings.NewReader(s.LoginPassword))
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	if err := keyring.waitReady(func(ctx context.Context) error {
		conn, err := s.dial(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		var owned bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&owned); err != nil {
			return err
		}
		if !owned {
			return errors.New(secretsName + " has no owner on the bus yet")
		}
		paths, err := collections(ctx, conn)
		if err != nil {
			return err
		}
		if !slices.Contains(paths, string(secretsPath)+"/collection/login") {
			return fmt.Errorf("no login collection yet (collections: %q)", paths)
		}
		return nil
	}); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return s
}

// busConfig is a session bus configuration listening on address, with no
// service activation and no policy restrictions.
func busConfig(address string) string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(address)
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>` + esc + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

// callTimeout bounds each D-Bus call the helpers make.
const callTimeout = 10 * time.Second

// dial opens a private connection to the bus.
func (s *SecretServiceBus) dial(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.Dial(s.Address)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := conn.Auth(nil)
		if err == nil {
			err = conn.Hello()
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to the bus %s: %w", s.Address, err)
	}
	return conn, nil
}

// with runs f with a private connection to the bus, failing t on error.
func (s *SecretServiceBus) with(t testing.TB, what string, f func(ctx context.Context, conn *dbus.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		t.Fatalf("testpeer: %s: %v", what, err)
	}
	defer conn.Close()
	if err := f(ctx, conn); err != nil {
		t.Fatalf("testpeer: %s: %v", what, err)
	}
}

func collections(ctx context.Context, conn *dbus.Conn) ([]string, error) {
	var v dbus.Variant
	err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		secretServiceIfc, "Collections").Store(&v)
	if err != nil {
		return nil, err
	}
	paths, ok := v.Value().([]dbus.ObjectPath)
	if !ok {
		return nil, fmt.Errorf("Collections is a %s, not an array of object paths", v.Signature())
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = string(p)
	}
	return out, nil
}

// Collections lists the object paths of the collections.
func (s *SecretServiceBus) Collections(t testing.TB) []string {
	t.Helper()
	var out []string
	s.with(t, "list collections", func(ctx context.Context, conn *dbus.Conn) (err error) {
		out, err = collections(ctx, conn)
		return err
	})
	return out
}

// secret is the Secret Service's Secret struct, (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// plainSecret opens a "plain" session on conn and wraps password for it.
func plainSecret(ctx context.Context, conn *dbus.Conn, password string) (secret, error) {
	var output dbus.Variant
	var session dbus.ObjectPath
	err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, secretServiceIfc+".OpenSession", 0,
		"plain", dbus.MakeVariant("")).Store(&output, &session)
	if err != nil {
		return secret{}, fmt.Errorf("OpenSession: %w", err)
	}
	return secret{Session: session, Parameters: []byte{}, Value: []byte(password), ContentType: "text/plain"}, nil
}

// CreateCollection creates a collection labelled label, protected by
// password, without a prompt, and returns its object path
// (/org/freedesktop/secrets/collection/ID, ID derived from label by
// gnome-keyring). The collection is unlocked.
func (s *SecretServiceBus) CreateCollection(t testing.TB, label, password string) string {
	t.Helper()
	var path dbus.ObjectPath
	s.with(t, "create collection "+label, func(ctx context.Context, conn *dbus.Conn) error {
		master, err := plainSecret(ctx, conn, password)
		if err != nil {
			return err
		}
		props := map[string]dbus.Variant{collectionIfc + ".Label": dbus.MakeVariant(label)}
		return conn.Object(secretsName, secretsPath).CallWithContext(ctx, gnomeKeyringInternalIfc+".CreateWithMasterPassword", 0,
			props, master).Store(&path)
	})
	return string(path)
}

// LockCollection locks the collection at path.
func (s *SecretServiceBus) LockCollection(t testing.TB, path string) {
	t.Helper()
	s.with(t, "lock "+path, func(ctx context.Context, conn *dbus.Conn) error {
		var locked []dbus.ObjectPath
		var prompt dbus.ObjectPath
		if err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, secretServiceIfc+".Lock", 0,
			[]dbus.ObjectPath{dbus.ObjectPath(path)}).Store(&locked, &prompt); err != nil {
			return err
		}
		if !slices.Contains(locked, dbus.ObjectPath(path)) {
			return fmt.Errorf("Lock returned %q and prompt %s", locked, prompt)
		}
		return nil
	})
}

// UnlockCollection unlocks the collection at path with its password,
// without a prompt.
func (s *SecretServiceBus) UnlockCollection(t testing.TB, path, password string) {
	t.Helper()
	s.with(t, "unlock "+path, func(ctx context.Context, conn *dbus.Conn) error {
		master, err := plainSecret(ctx, conn, password)
		if err != nil {
			return err
		}
		return conn.Object(secretsName, secretsPath).CallWithContext(ctx, gnomeKeyringInternalIfc+".UnlockWithMasterPassword", 0,
			dbus.ObjectPath(path), master).Store()
	})
}

// CollectionLocked reports whether the collection at path is locked.
func (s *SecretServiceBus) CollectionLocked(t testing.TB, path string) bool {
	t.Helper()
	var locked bool
	s.with(t, "read Locked of "+path, func(ctx context.Context, conn *dbus.Conn) error {
		var v dbus.Variant
		if err := conn.Object(secretsName, dbus.ObjectPath(path)).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
			collectionIfc, "Locked").Store(&v); err != nil {
			return err
		}
		var ok bool
		if locked, ok = v.Value().(bool); !ok {
			return fmt.Errorf("Locked is a %s", v.Signature())
		}
		return nil
	})
	return locked
}

// SecretItem is what the Secret Service shows of an item without its
// secret.
type SecretItem struct {
	Path       string
	Label      string
	Attributes map[string]string
}

// Items lists the items of the collection at path with their labels and
// attributes (gnome-keyring shows these of a locked collection too).
func (s *SecretServiceBus) Items(t testing.TB, path string) []SecretItem {
	t.Helper()
	var out []SecretItem
	s.with(t, "list the items of "+path, func(ctx context.Context, conn *dbus.Conn) error {
		get := func(obj dbus.ObjectPath, ifc, prop string) (dbus.Variant, error) {
			var v dbus.Variant
			err := conn.Object(secretsName, obj).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ifc, prop).Store(&v)
			return v, err
		}
		v, err := get(dbus.ObjectPath(path), collectionIfc, "Items")
		if err != nil {
			return err
		}
		paths, _ := v.Value().([]dbus.ObjectPath)
		for _, p := range paths {
			it := SecretItem{Path: string(p)}
			if v, err = get(p, itemIfc, "Label"); err != nil {
				return err
			}
			it.Label, _ = v.Value().(string)
			if v, err = get(p, itemIfc, "Attributes"); err != nil {
				return err
			}
			it.Attributes, _ = v.Value().(map[string]string)
			out = append(out, it)
		}
		return nil
	})
	return out
}

// InSecretServiceProcess runs the test t in a process of its own whose
// session bus is a SecretService bus. This is what code using godbus's
// shared session bus connection (dbus.SessionBus) needs, such as keyring's
// secret-service backend: that connection is made once per process, to the
// bus named by DBUS_SESSION_BUS_ADDRESS, and keyring only registers the
// backend in its package initialisation when the bus answers.
//
// Called in the test binary go test started, it starts SecretService, runs
// the test binary again with -test.run selecting t alone, with
// DBUS_SESSION_BUS_ADDRESS set to the private bus and SecretServiceChildEnv
// set, and returns nil once the child has exited: the caller must return.
// The child's verdict becomes t's (a skip in the child skips t) and its
// output is logged (with -v, or when it failed). Called in that child, it
// returns the bus, and the test goes on there.
func InSecretServiceProcess(t *testing.T) *SecretServiceBus {
	t.Helper()
	if j := os.Getenv(SecretServiceChildEnv); j != "" {
		var s SecretServiceBus
		if err := json.Unmarshal([]byte(j), &s); err != nil {
			t.Fatalf("testpeer: %s: %v", SecretServiceChildEnv, err)
		}
		if got := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != s.Address {
			t.Fatalf("testpeer: DBUS_SESSION_BUS_ADDRESS is %q, want the private bus %q", got, s.Address)
		}
		return &s
	}
	s := SecretService(t)
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	timeout := 10 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = max(time.Until(d)-5*time.Second, 10*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"-test.run=" + runPattern(t.Name()), "-test.v=true", "-test.count=1",
		"-test.timeout=" + (timeout - time.Second).String()}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, SecretServiceChildEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "DBUS_SESSION_BUS_ADDRESS="+s.Address, SecretServiceChildEnv+"="+string(j))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { killTree(cmd.Process); return nil }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	output := strings.TrimRight(out.String(), "\n")
	name := regexp.QuoteMeta(t.Name())
	switch {
	case err != nil:
		t.Fatalf("testpeer: the test in a process with a Secret Service on its session bus (%s %s) failed after %v: %v\n%s",
			os.Args[0], strings.Join(args, " "), time.Since(start).Round(time.Millisecond), err, output)
	case regexp.MustCompile(`(?m)^\s*--- SKIP: ` + name + ` `).MatchString(output):
		t.Skipf("testpeer: skipped in the process with a Secret Service on its session bus:\n%s", output)
	case !regexp.MustCompile(`(?m)^\s*--- PASS: ` + name + ` `).MatchString(output):
		t.Fatalf("testpeer: the process with a Secret Service on its session bus did not run %s (%s %s):\n%s",
			t.Name(), os.Args[0], strings.Join(args, " "), output)
	case testing.Verbose():
		t.Logf("in a process with a Secret Service on its session bus (%v):\n%s", time.Since(start).Round(time.Millisecond), output)
	}
	return nil
}

// runPattern is a -test.run pattern selecting exactly the test named name
// (as t.Name() gives it, subtests separated by "/").
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
