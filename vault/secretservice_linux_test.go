package vault

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/keyring"

	"github.com/credkit/credkit/internal/testpeer"
)

// collectionPath is gnome-keyring's object path of the collection labelled
// name (ASCII letters and digits kept, other bytes as _XX).
func collectionPath(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return "/org/freedesktop/secrets/collection/" + b.String()
}

// TestSecretServiceBackend runs against gnome-keyring-daemon on a private
// session bus, in a process of its own (testpeer.InSecretServiceProcess):
// keyring registers its secret-service backend, on godbus's shared session
// bus connection, in its package initialisation only.
func TestSecretServiceBackend(t *testing.T) {
	bus := testpeer.InSecretServiceProcess(t)
	if bus == nil {
		return // ran in the child process
	}
	if !slices.Contains(Backends(), BackendSecretService) {
		t.Fatalf("Backends() = %q: no secret-service with a session bus", Backends())
	}
	if got := DefaultBackend(os.Getenv); got != BackendSecretService {
		t.Errorf("DefaultBackend with org.freedesktop.secrets on the session bus = %q, want %q", got, BackendSecretService)
	}
	if got := DefaultBackend(envOf()); got != BackendFile {
		t.Errorf("DefaultBackend without DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, BackendFile)
	}
	// The subtests share the daemon; each uses collections of its own.
	t.Run("missing collection", func(t *testing.T) { testSecretServiceMissingCollection(t, bus) })
	t.Run("credkit's store", func(t *testing.T) { testSecretServiceStore(t, bus) })
	t.Run("locked collection", func(t *testing.T) { testSecretServiceLocked(t, bus) })
	t.Run("import from aws-vault's store", func(t *testing.T) { testImportFromAWSVaultSecretService(t, bus) })
	t.Run("aws-vault reads credkit's store", func(t *testing.T) { testAWSVaultReadsSecretService(t, bus) })
	if items := bus.Items(t, collectionPath("login")); len(items) != 0 {
		t.Errorf("items were written to the login collection: %+v", items)
	}
}

func testSecretServiceStore(t *testing.T, bus *testpeer.SecretServiceBus) {
	path := bus.CreateCollection(t, DefaultServiceName, testPass)
	if path != collectionPath(DefaultServiceName) {
		t.Fatalf("collection %q created at %s, want %s", DefaultServiceName, path, collectionPath(DefaultServiceName))
	}
	cfg := Config{Backend: BackendSecretService, Getenv: envOf()}
	if Exists(cfg) {
		t.Error("Exists on an empty collection")
	}
	open := func() *Vault {
		v, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open secret-service backend: %v", err)
		}
		return v
	}
	v := open()
	if want := `secret-service backend, collection "credkit"`; v.Describe() != want {
		t.Errorf("Describe() = %q, want %q", v.Describe(), want)
	}
	exerciseBackend(t, v, open)
	if !Exists(cfg) {
		t.Error("Exists = false after storing keys")
	}

	// Storing keys again replaces the item.
	v = open()
	if err := v.SetKeys("team/prod", keys("AKIAREPLACED00000000")); err != nil {
		t.Fatalf("SetKeys over existing keys: %v", err)
	}
	if c, err := open().Keys("team/prod"); err != nil || c.AccessKeyID != "AKIAREPLACED00000000" || c.SecretAccessKey != testSecret {
		t.Errorf("Keys after replacing = %v, %v", c, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := v.PutSession(SessionKey{Kind: KindAssumeRole, Profile: "team/prod", MFASerial: mfaSerial}, session(sessionAKID, exp)); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	// What the Secret Service shows without reading a secret: one item
	// per name, labelled with it, with the profile attribute keyring
	// searches by, and no secret.
	items := bus.Items(t, path)
	var labels []string
	for _, it := range items {
		labels = append(labels, it.Label)
		// gnome-keyring may also set xdg:schema.
		for k, v := range it.Attributes {
			if k != "profile" && (k != "xdg:schema" || v != "org.freedesktop.Secret.Generic") {
				t.Errorf("item %s: unexpected attribute %s=%q", it.Path, k, v)
			}
		}
		if it.Attributes["profile"] != it.Label {
			t.Errorf("item %s: attributes %v, want profile=%q", it.Path, it.Attributes, it.Label)
		}
		for _, s := range []string{testSecret, testToken, testPass} {
			if strings.Contains(it.Label, s) || slices.ContainsFunc(slices.Collect(maps.Values(it.Attributes)), func(a string) bool { return strings.Contains(a, s) }) {
				t.Errorf("item %s shows a secret (%q...) in its label or attributes", it.Path, s[:4])
			}
		}
	}
	slices.Sort(labels)
	want := []string{SessionKey{Kind: KindAssumeRole, Profile: "team/prod", MFASerial: mfaSerial, Expires: exp}.itemName(), "team/prod"}
	if !slices.Equal(labels, want) {
		t.Errorf("item labels %q, want %q", labels, want)
	}

	// gnome-keyring keeps the collection encrypted with its password.
	b, err := os.ReadFile(filepath.Join(bus.DataDir, "keyrings", DefaultServiceName+".keyring"))
	if err != nil {
		t.Fatalf("the collection's file: %v", err)
	}
	for _, s := range []string{testSecret, testToken} {
		if strings.Contains(string(b), s) {
			t.Errorf("the collection's file holds a secret (%q...) in clear", s[:4])
		}
	}
}

// A collection that does not exist reads as empty. Writing asks the
// Secret Service to create it, which gnome-keyring does only after a
// prompt; here the prompt cannot be shown and is dismissed, so the write
// fails and nothing is created.
func testSecretServiceMissingCollection(t *testing.T, bus *testpeer.SecretServiceBus) {
	const name = "credkit-missing"
	cfg := Config{Backend: BackendSecretService, ServiceName: name, Getenv: envOf()}
	if Exists(cfg) {
		t.Error("Exists on a missing collection")
	}
	v, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open with a missing collection: %v", err)
	}
	if p, err := v.Profiles(); err != nil || len(p) != 0 {
		t.Errorf("Profiles() = %q, %v; want none", p, err)
	}
	if s, err := v.Sessions(); err != nil || len(s) != 0 {
		t.Errorf("Sessions() = %v, %v; want none", s, err)
	}
	if _, err := v.Keys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Keys: %v, want ErrNotFound", err)
	}
	if err := v.RemoveKeys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveKeys: %v, want ErrNotFound", err)
	}
	if _, ok, err := v.Session(KindGetSessionToken, "dev", "", time.Now(), 0); ok || err != nil {
		t.Errorf("Session = %v, %v; want none", ok, err)
	}

	err = v.SetKeys("dev", keys(testAKID))
	if err == nil {
		t.Fatal("SetKeys created the collection without a prompt")
	}
	if !strings.Contains(err.Error(), `secret-service backend, collection "`+name+`"`) || errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "did not create the collection") {
		t.Errorf("SetKeys into a collection that cannot be created: %v; want it to name the collection and say it was not created", err)
	}
	noSecrets(t, err)
	// The same vault still reads the collection as missing.
	if _, err := v.Keys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Keys after the failed write, same vault: %v, want ErrNotFound", err)
	}
	if err := v.RemoveKeys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RemoveKeys after the failed write, same vault: %v, want ErrNotFound", err)
	}
	err = v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, session(sessionAKID, time.Now().Add(time.Hour)))
	if err == nil {
		t.Error("PutSession created the collection without a prompt")
	}
	noSecrets(t, err)
	if slices.Contains(bus.Collections(t), collectionPath(name)) {
		t.Errorf("collection %s exists after the dismissed prompt", collectionPath(name))
	}
	if Exists(cfg) {
		t.Error("Exists after the failed writes")
	}
	v, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Keys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Keys after the failed write: %v, want ErrNotFound", err)
	}
}

// A locked collection: names are listed, but reading, writing and removing
// fail with an error saying it is locked (gnome-keyring's unlock prompt
// cannot be shown here and is dismissed); unlocked again, everything is
// there.
func testSecretServiceLocked(t *testing.T, bus *testpeer.SecretServiceBus) {
	const name = "credkit-locked"
	path := bus.CreateCollection(t, name, testPass)
	cfg := Config{Backend: BackendSecretService, ServiceName: name, Getenv: envOf()}
	v, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := v.SetKeys("dev", keys(testAKID)); err != nil {
		t.Fatal(err)
	}
	if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "dev"}, session(sessionAKID, now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}

	bus.LockCollection(t, path)
	where := `secret-service backend, collection "` + name + `"`
	locked := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s in a locked collection succeeded", what)
			return
		}
		if !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), "locked") || errors.Is(err, ErrNotFound) {
			t.Errorf("%s in a locked collection: %v; want it to name the collection and say it is locked", what, err)
		}
		noSecrets(t, err)
	}
	for _, v := range []*Vault{v, func() *Vault {
		v, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open with the collection locked: %v", err)
		}
		return v
	}()} {
		if p, err := v.Profiles(); err != nil || !slices.Equal(p, []string{"dev"}) {
			t.Errorf("Profiles() with the collection locked = %q, %v", p, err)
		}
		_, err := v.Keys("dev")
		locked("Keys", err)
		_, ok, err := v.Session(KindGetSessionToken, "dev", "", now, time.Minute)
		if ok {
			t.Error("Session returned a session from a locked collection")
		}
		locked("Session", err)
		locked("SetKeys", v.SetKeys("prod", keys(testAKID)))
		locked("RemoveKeys", v.RemoveKeys("dev"))
		_, err = v.ClearSessions("")
		locked("ClearSessions", err)
	}
	if !bus.CollectionLocked(t, path) {
		t.Fatal("the collection was unlocked without its password")
	}

	bus.UnlockCollection(t, path, testPass)
	if c, err := v.Keys("dev"); err != nil || c.AccessKeyID != testAKID || c.SecretAccessKey != testSecret {
		t.Errorf("Keys after unlocking = %v, %v", c, err)
	}
	if c, ok, err := v.Session(KindGetSessionToken, "dev", "", now, time.Minute); err != nil || !ok || c.SessionToken != testToken {
		t.Errorf("Session after unlocking = %v, %v, %v", c, ok, err)
	}
	if p, err := v.Profiles(); err != nil || !slices.Equal(p, []string{"dev"}) {
		t.Errorf("Profiles() after unlocking = %q, %v", p, err)
	}
}

// testImportFromAWSVaultSecretService: the real aws-vault stores keys in
// its collection "awsvault"; credkit imports them, and a session, from
// there into its own collection.
func testImportFromAWSVaultSecretService(t *testing.T, bus *testpeer.SecretServiceBus) {
	av := newAWSVault(t, "AWS_VAULT_BACKEND=secret-service")
	avPath := bus.CreateCollection(t, "awsvault", testPass)
	av.add(t, "dev", "AKIADEV0000000000000", testSecret+"dev")
	av.add(t, "team/prod", "AKIAPROD000000000000", testSecret+"prod")

	now := time.Now().Truncate(time.Second)
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.SecretServiceBackend},
		ServiceName: "aws-vault", LibSecretCollectionName: "awsvault"})
	if err != nil {
		t.Fatal(err)
	}
	seedSession(t, kr, "sts.GetSessionToken", "dev", mfaSerial, "ASIALIVE", now.Add(time.Hour))
	expired := seedSession(t, kr, "sts.GetSessionToken", "dev", "", "ASIAEXPIRED", now.Add(-time.Hour))
	if out := av.run(t, nil, "list"); !regexp.MustCompile(`(?m)^dev\s+dev\s+sts\.GetSessionToken:`).MatchString(out) {
		t.Fatalf("aws-vault list does not show the seeded session of dev:\n%s", out)
	}
	before := bus.Items(t, avPath)

	// secret-service is aws-vault's default here: the first backend
	// keyring offers on Linux with a session bus.
	from, err := OpenAWSVault(Config{Getenv: envOf()})
	if err != nil {
		t.Fatal(err)
	}
	if want := `secret-service backend, collection "awsvault"`; from.Backend() != BackendSecretService || from.Describe() != want {
		t.Errorf("OpenAWSVault: %s, %q; want %s, %q", from.Backend(), from.Describe(), BackendSecretService, want)
	}
	if p, err := from.Profiles(); err != nil || !slices.Equal(p, []string{"dev", "team/prod"}) {
		t.Errorf("aws-vault Profiles() = %q, %v", p, err)
	}

	bus.CreateCollection(t, "credkit-import", testPass)
	v, err := Open(Config{Backend: BackendSecretService, ServiceName: "credkit-import", Getenv: envOf()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.Import(from, ImportOptions{Sessions: true, Now: now})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !slices.Equal(rep.Keys, []string{"dev", "team/prod"}) {
		t.Errorf("imported keys %q", rep.Keys)
	}
	if len(rep.Sessions) != 1 || !sameKey(rep.Sessions[0], SessionKey{Kind: KindGetSessionToken, Profile: "dev", MFASerial: mfaSerial, Expires: now.Add(time.Hour)}) {
		t.Errorf("imported sessions %+v", rep.Sessions)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Item != expired || !strings.Contains(rep.Skipped[0].Reason, "expired") {
		t.Errorf("skipped %+v, want the expired session", rep.Skipped)
	}
	for p, want := range map[string][2]string{"dev": {"AKIADEV0000000000000", testSecret + "dev"}, "team/prod": {"AKIAPROD000000000000", testSecret + "prod"}} {
		c, err := v.Keys(p)
		if err != nil || c.AccessKeyID != want[0] || c.SecretAccessKey != want[1] {
			t.Errorf("credkit Keys(%s) after import = %v, %v", p, c, err)
		}
	}
	c, ok, err := v.Session(KindGetSessionToken, "dev", mfaSerial, now, time.Minute)
	if err != nil || !ok || c.AccessKeyID != "ASIALIVE" || c.SessionToken != testToken {
		t.Errorf("imported session = %v, %v, %v", c, ok, err)
	}
	noSecrets(t, fmt.Errorf("%+v", rep))

	if after := bus.Items(t, avPath); !slices.EqualFunc(before, after, func(a, b testpeer.SecretItem) bool { return a.Path == b.Path && a.Label == b.Label }) {
		t.Errorf("aws-vault's collection changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// testAWSVaultReadsSecretService: the real aws-vault, pointed at credkit's
// collection, reads the keys and the session credkit stored.
func testAWSVaultReadsSecretService(t *testing.T, bus *testpeer.SecretServiceBus) {
	const name = "credkit-shared"
	av := newAWSVault(t, "AWS_VAULT_BACKEND=secret-service", "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME="+name)
	bus.CreateCollection(t, name, testPass)
	v, err := Open(Config{Backend: BackendSecretService, ServiceName: name, Getenv: envOf()})
	if err != nil {
		t.Fatal(err)
	}
	checkAWSVaultReads(t, v, av)
}
