package vault

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// exerciseBackend runs keys and sessions through an opened vault.
func exerciseBackend(t *testing.T, v *Vault, reopen func() *Vault) {
	t.Helper()
	now := time.Now()
	for i, p := range []string{"dev", "team/prod"} {
		if err := v.SetKeys(p, keys(fmt.Sprintf("AKIA%016d", i))); err != nil {
			t.Fatalf("SetKeys(%s): %v", p, err)
		}
	}
	if err := v.PutSession(SessionKey{Kind: KindGetSessionToken, Profile: "dev", MFASerial: "arn:aws:iam::123456789012:mfa/a"},
		session(sessionAKID, now.Add(time.Hour))); err != nil {
		t.Fatalf("PutSession: %v", err)
	}
	if err := v.PutSession(SessionKey{Kind: KindAssumeRole, Profile: "team/prod"}, session("ASIAROLE", now.Add(-time.Minute))); err != nil {
		t.Fatalf("PutSession: %v", err)
	}

	v = reopen()
	if p, err := v.Profiles(); err != nil || !slices.Equal(p, []string{"dev", "team/prod"}) {
		t.Errorf("Profiles() = %q, %v", p, err)
	}
	c, err := v.Keys("team/prod")
	if err != nil || c.AccessKeyID != "AKIA0000000000000001" || c.SecretAccessKey != testSecret {
		t.Errorf("Keys(team/prod) = %v, %v", c, err)
	}
	if s, err := v.Sessions(); err != nil || len(s) != 2 {
		t.Errorf("Sessions() = %v, %v", s, err)
	}
	c, ok, err := v.Session(KindGetSessionToken, "dev", "arn:aws:iam::123456789012:mfa/a", now, time.Minute)
	if err != nil || !ok || c.SessionToken != testToken {
		t.Errorf("Session = %v, %v, %v", c, ok, err)
	}
	if s, _ := v.Sessions(); len(s) != 1 {
		t.Errorf("the expired session was not removed by Session: %v", s)
	}
	if n, err := v.ClearSessions(""); n != 1 || err != nil {
		t.Errorf("ClearSessions = %d, %v", n, err)
	}
	if err := v.RemoveKeys("dev"); err != nil {
		t.Errorf("RemoveKeys: %v", err)
	}
	if _, err := v.Keys("dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Keys after RemoveKeys: %v", err)
	}
}

func TestPassBackend(t *testing.T) {
	store := testpeer.Pass(t)
	t.Run("credkit's store", func(t *testing.T) { testPassStore(t, store) })
	t.Run("import from aws-vault's store", func(t *testing.T) { testImportFromAWSVaultPass(t, store) })
}

func testPassStore(t *testing.T, store *testpeer.PassStore) {
	cfg := Config{Backend: BackendPass, PassDir: store.Dir, Getenv: envOf()}
	if Exists(cfg) {
		t.Error("Exists on an empty password store")
	}
	open := func() *Vault {
		v, err := Open(cfg)
		if err != nil {
			t.Fatalf("Open pass backend: %v", err)
		}
		return v
	}
	v := open()
	if want := "pass backend, " + store.Dir + "/credkit"; v.Describe() != want {
		t.Errorf("Describe() = %q, want %q", v.Describe(), want)
	}
	exerciseBackend(t, v, open)
	if !Exists(cfg) {
		t.Error("Exists = false after storing keys")
	}

	_, err := Open(Config{Backend: BackendPass, PassDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "pass init") {
		t.Errorf("Open of an uninitialised password store: %v, want a hint to run pass init", err)
	}
}
