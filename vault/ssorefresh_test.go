package vault

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// SSO refresh tokens are items of their own: encrypted, private, not
// listed as profiles, and a second vault opened on the directory reads
// them.
func TestFileSSORefreshToken(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	v, _ := openFileVault(t, dir, testPass)
	if err := v.SetKeys("dev", keys("AKIA0000000000000001")); err != nil {
		t.Fatal(err)
	}
	const key, url = "corp", "https://example.awsapps.com/start"
	const tok1, tok2 = "aorREFRESHTOKENONE", "aorREFRESHTOKENTWO"
	if _, ok, err := v.SSORefreshToken(key); ok || err != nil {
		t.Fatalf("empty vault: %v %v", ok, err)
	}
	for _, k := range []string{key, url} {
		if err := v.PutSSORefreshToken(k, tok1); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.PutSSORefreshToken(key, tok2); err != nil {
		t.Fatal(err)
	}
	if err := v.PutSSORefreshToken(key, ""); err == nil {
		t.Fatal("an empty token was stored")
	}
	w, _ := openFileVault(t, dir, testPass)
	for k, want := range map[string]string{key: tok2, url: tok1} {
		got, ok, err := w.SSORefreshToken(k)
		if err != nil || !ok || got != want {
			t.Fatalf("SSORefreshToken(%q) = %q %v %v, want %q", k, got, ok, err, want)
		}
		if has, err := w.HasSSORefreshToken(k); !has || err != nil {
			t.Fatalf("HasSSORefreshToken(%q) = %v %v", k, has, err)
		}
	}
	if ps, err := w.Profiles(); err != nil || !slices.Equal(ps, []string{"dev"}) {
		t.Fatalf("Profiles() = %v %v", ps, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte("REFRESHTOKEN")) {
			t.Fatalf("%s holds the refresh token in clear", e.Name())
		}
		if fi, _ := e.Info(); fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			t.Fatalf("%s has mode %v", e.Name(), fi.Mode().Perm())
		}
	}
	if removed, err := w.RemoveSSORefreshToken(key); !removed || err != nil {
		t.Fatalf("RemoveSSORefreshToken: %v %v", removed, err)
	}
	if removed, err := w.RemoveSSORefreshToken(key); removed || err != nil {
		t.Fatalf("second RemoveSSORefreshToken: %v %v", removed, err)
	}
	if _, ok, _ := w.SSORefreshToken(key); ok {
		t.Fatal("the token is still there")
	}
	if _, err := w.Keys("dev"); err != nil {
		t.Fatalf("the keys went with it: %v", err)
	}
}
