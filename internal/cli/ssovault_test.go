package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
	"github.com/credkit/credkit/vault"
)

// sso login --store vault: the token file holds no refresh token, the
// vault does; aws-sdk-go-v2 uses the access token while it lasts but
// cannot refresh it, credkit can (and stores the rotated refresh token
// back); logout clears both.
func TestSSORefreshTokenInVault(t *testing.T) {
	sl := newSSOLab(t, lab.Options{SSO: lab.SSOOptions{RotateRefreshTokens: true}})
	env := map[string]string{"CREDKIT_BACKEND": "file", "CREDKIT_FILE_PASSPHRASE": "correct horse battery staple"}
	for k, v := range sl.env {
		env[k] = v
	}
	v, err := vault.Open(vault.Config{Backend: "file", FileDir: filepath.Join(sl.home, ".credkit", "keys"),
		Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	r := runAt(t, time.Now, env, "", "sso", "login", "--sso-session", lab.SSOSession, "--use-device-code", "--store", "vault")
	if r.code != 0 || !strings.Contains(r.stdout, "refresh token in the vault") {
		t.Fatalf("login: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	file, _ := source.SSOTokenCacheFile(filepath.Join(sl.home, ".aws", "sso", "cache"), lab.SSOSession)
	fields := readJSONFields(t, file)
	if _, has := fields["refreshToken"]; has {
		t.Fatalf("the token file holds a refreshToken: %v", keysOf(fields))
	}
	for _, k := range []string{"accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt"} {
		if fields[k] == "" || fields[k] == nil {
			t.Fatalf("the token file lacks %s: %v", k, keysOf(fields))
		}
	}
	rt1, ok, err := v.SSORefreshToken(lab.SSOSession)
	if err != nil || !ok || rt1 == "" {
		t.Fatalf("vault: %q %v %v", rt1, ok, err)
	}
	if strings.Contains(r.stdout+r.stderr, rt1) {
		t.Fatal("login printed the refresh token")
	}

	r = runAt(t, time.Now, env, "", "sso", "status", "--json")
	var st []ssoStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || !st[0].SignedIn || !st[0].Refreshable || st[0].RefreshToken != "vault" {
		t.Fatalf("status: %v %s%s", err, r.stdout, r.stderr)
	}
	r = runAt(t, time.Now, env, "", "sso", "status")
	if !strings.Contains(r.stdout, "refresh possible (refresh token in the vault)") {
		t.Fatalf("status: %s", r.stdout)
	}

	// aws-sdk-go-v2 uses the unexpired access token from the file.
	ctx := context.Background()
	client := ssooidc.New(ssooidc.Options{Region: lab.Region, BaseEndpoint: aws.String(sl.url)})
	tok, err := ssocreds.NewSSOTokenProvider(client, file).RetrieveBearerToken(ctx)
	if err != nil || tok.Value != fields["accessToken"] {
		t.Fatalf("aws-sdk-go-v2: %v", err)
	}

	// Expired: aws-sdk-go-v2 cannot refresh it (no refresh token in the
	// file); credkit can, from the vault.
	ft, extra, err := source.ReadSSOToken(file)
	if err != nil {
		t.Fatal(err)
	}
	ft.ExpiresAt = source.FormatSSOTime(time.Now().Add(-time.Minute))
	if err := source.WriteSSOToken(file, ft, extra); err != nil {
		t.Fatal(err)
	}
	if _, err := ssocreds.NewSSOTokenProvider(client, file).RetrieveBearerToken(ctx); err == nil {
		t.Fatal("aws-sdk-go-v2 refreshed a token whose refresh token is in the vault")
	}
	if n := sl.lab.SSOCalls()["CreateToken:refresh_token"]; n != 0 {
		t.Fatalf("%d refresh grants before credkit's", n)
	}
	profile := lab.SSOProfilePrefix + lab.DefaultRole
	r = runAt(t, time.Now, env, "", "credential-process", "--profile", profile)
	if r.code != 0 || !strings.Contains(r.stdout, `"AccessKeyId"`) {
		t.Fatalf("credential-process: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if n := sl.lab.SSOCalls()["CreateToken:refresh_token"]; n != 1 {
		t.Fatalf("the lab saw %d refresh grants, want 1 (%v)", n, sl.lab.SSOCalls())
	}
	after := readJSONFields(t, file)
	if _, has := after["refreshToken"]; has || after["accessToken"] == fields["accessToken"] {
		t.Fatalf("after the refresh the file holds %v (new access token: %v)", keysOf(after), after["accessToken"] != fields["accessToken"])
	}
	rt2, ok, err := v.SSORefreshToken(lab.SSOSession)
	if err != nil || !ok || rt2 == "" || rt2 == rt1 {
		t.Fatalf("the vault does not hold the rotated refresh token: ok=%v rotated=%v %v", ok, rt2 != rt1, err)
	}
	for _, secret := range []string{rt1, rt2, ft.AccessToken, ft.ClientSecret} {
		if strings.Contains(r.stderr, secret) {
			t.Fatal("a secret is in the output")
		}
	}
	// aws-sdk-go-v2 uses the access token credkit refreshed.
	if tok, err := ssocreds.NewSSOTokenProvider(client, file).RetrieveBearerToken(ctx); err != nil || tok.Value != after["accessToken"] {
		t.Fatalf("aws-sdk-go-v2 after credkit's refresh: %v", err)
	}

	r = runAt(t, time.Now, env, "", "sso", "logout", "--sso-session", lab.SSOSession)
	if r.code != 0 || !strings.Contains(r.stdout, "removed the refresh token from the vault") {
		t.Fatalf("logout: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("the token file is still there: %v", err)
	}
	if _, ok, err := v.SSORefreshToken(lab.SSOSession); ok || err != nil {
		t.Fatalf("the vault still holds the refresh token (%v)", err)
	}
}

// A login to the file store after one to the vault drops the vault's
// refresh token, which is stale from then on.
func TestSSOLoginToFileForgetsVaultToken(t *testing.T) {
	sl := newSSOLab(t, lab.Options{})
	env := map[string]string{"CREDKIT_BACKEND": "file", "CREDKIT_FILE_PASSPHRASE": "correct horse battery staple"}
	for k, v := range sl.env {
		env[k] = v
	}
	for _, store := range []string{"vault", "file"} {
		if r := runAt(t, time.Now, env, "", "sso", "login", "--sso-session", lab.SSOSession, "--use-device-code", "--store", store); r.code != 0 {
			t.Fatalf("login --store %s: %s%s", store, r.stdout, r.stderr)
		}
	}
	r := runAt(t, time.Now, env, "", "sso", "status", "--json")
	var st []ssoStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || st[0].RefreshToken != "file" {
		t.Fatalf("status: %v %s", err, r.stdout)
	}
	v, _ := vault.Open(vault.Config{Backend: "file", FileDir: filepath.Join(sl.home, ".credkit", "keys"), Getenv: func(k string) string { return env[k] }})
	if ok, err := v.HasSSORefreshToken(lab.SSOSession); ok || err != nil {
		t.Fatalf("the vault still holds a refresh token (%v)", err)
	}
	r = runAt(t, time.Now, env, "", "sso", "login", "--sso-session", lab.SSOSession, "--store", "keyring")
	if r.code != 2 || strings.Count(r.stderr, "\n") > 2 || !strings.Contains(r.stderr, `--store "keyring" is not a store: give file or vault`) {
		t.Fatalf("bad --store: %d %q", r.code, r.stderr)
	}
}

func readJSONFields(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
