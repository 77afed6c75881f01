package vault_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/vault"
)

func Example() {
	dir, _ := os.MkdirTemp("", "credkit-example-")
	defer os.RemoveAll(dir)
	getenv := func(k string) string {
		if k == vault.EnvFilePassphrase {
			return "correct horse battery staple"
		}
		return ""
	}
	v, err := vault.Open(vault.Config{Backend: vault.BackendFile, FileDir: filepath.Join(dir, "keys"), Getenv: getenv})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = v.SetKeys("work", creds.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := v.Keys("work")
	fmt.Println(c, err)

	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	session := creds.Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "secret", SessionToken: "token", Expires: now.Add(time.Hour)}
	v.PutSession(vault.SessionKey{Kind: vault.KindGetSessionToken, Profile: "work"}, session)
	s, ok, err := v.Session(vault.KindGetSessionToken, "work", "", now, 5*time.Minute)
	fmt.Println(s, ok, err)
	// Output:
	// AKIAIOSFODNN7EXAMPLE (secret redacted) from vault (file backend), profile work <nil>
	// ASIAIOSFODNN7EXAMPLE (secret redacted, session token redacted) from GetSessionToken session cached in the vault (file backend), profile work, expires 2025-01-01T13:00:00Z true <nil>
}
