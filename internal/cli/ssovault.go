package cli

// SSO refresh tokens in the vault (`credkit sso login --store vault`).

import (
	"fmt"

	"github.com/credkit/credkit/sso"
)

// Where `sso login` keeps the refresh token.
const (
	ssoStoreFile  = "file"
	ssoStoreVault = "vault"
)

func (s *vaultStore) SSORefreshToken(key string) (string, bool, error) {
	v, err := s.open()
	if err != nil {
		return "", false, err
	}
	return v.SSORefreshToken(key)
}

func (s *vaultStore) PutSSORefreshToken(key, token string) error {
	v, err := s.open()
	if err != nil {
		return err
	}
	return v.PutSSORefreshToken(key, token)
}

// ssoRefreshTokenInVault reports whether the vault holds a refresh token
// for s, from item names only (no passphrase is asked for).
func (a *App) ssoRefreshTokenInVault(s *sso.Session) bool {
	vs := a.chainVault()
	if vs == nil {
		return false
	}
	v, err := vs.open()
	if err != nil {
		return false
	}
	ok, err := v.HasSSORefreshToken(s.Key())
	return err == nil && ok
}

// forgetSSORefreshToken removes the refresh token of s from the vault,
// reporting whether there was one. A failure is a warning: the token file
// is what the session depends on.
func (a *App) forgetSSORefreshToken(s *sso.Session) bool {
	if !a.ssoRefreshTokenInVault(s) {
		return false
	}
	v, _ := a.chainVault().open()
	removed, err := v.RemoveSSORefreshToken(s.Key())
	if err != nil {
		fmt.Fprintf(a.Stderr, "credkit: warning: the SSO refresh token of %s stays in the vault: %v\n", ssoName(s), err)
	}
	return removed
}
