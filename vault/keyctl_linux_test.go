package vault

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKeyctlBackend(t *testing.T) {
	b := make([]byte, 6)
	rand.Read(b)
	service := "credkit-test-" + hex.EncodeToString(b)
	cfg := Config{Backend: BackendKeyctl, ServiceName: service, Getenv: envOf()}
	v, err := Open(cfg)
	if err != nil {
		t.Skipf("the kernel keyring cannot be used here: %v", err)
	}
	t.Cleanup(func() {
		if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", service, 0); err == nil {
			unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		}
	})
	if want := `keyctl backend, keyring "` + service + `" in the user keyring`; v.Describe() != want {
		t.Errorf("Describe() = %q, want %q", v.Describe(), want)
	}
	open := func() *Vault {
		v, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	exerciseBackend(t, v, open)
	if !Exists(cfg) {
		t.Error("Exists = false with keys stored")
	}
	if Exists(Config{Backend: BackendKeyctl, ServiceName: service + "-none"}) {
		t.Error("Exists = true for a keyring never written")
	}
	if unixKeyringExists(service + "-none") {
		t.Error("Exists created the keyring it looked for")
	}

	_, err = Open(Config{Backend: BackendKeyctl, ServiceName: service, KeyctlScope: "galaxy"})
	if err == nil {
		t.Error("Open with an unknown keyctl scope succeeded")
	}
}

func unixKeyringExists(name string) bool {
	_, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", name, 0)
	return err == nil
}
