package vault

import (
	"errors"
	"fmt"
	"slices"

	"github.com/credkit/credkit/internal/keyring"
)

// ssoRefreshPrefix starts the items that hold the refresh token of an IAM
// Identity Center session (`credkit sso login --store vault`): the prefix,
// then B64 of the token cache's key (the sso-session name, or the start
// URL of a legacy profile). The item holds the refresh token alone.
const ssoRefreshPrefix = "sso-refresh:"

func ssoRefreshName(key string) string { return ssoRefreshPrefix + b64.EncodeToString([]byte(key)) }

// PutSSORefreshToken stores the refresh token of the SSO session whose
// token cache key is key (the sso-session name or start URL), replacing
// any it had.
func (v *Vault) PutSSORefreshToken(key, token string) error {
	if key == "" || token == "" {
		return errors.New("store an SSO refresh token: the session key and the token are both needed")
	}
	err := v.kr.Set(keyring.Item{
		Key:         ssoRefreshName(key),
		Data:        []byte(token),
		Label:       fmt.Sprintf("credkit SSO refresh token (%s)", key),
		Description: "credkit IAM Identity Center refresh token",
	})
	if err != nil {
		return v.wrap("store the SSO refresh token of "+key, err)
	}
	return nil
}

// SSORefreshToken returns the refresh token stored for key; ok is false
// when there is none.
func (v *Vault) SSORefreshToken(key string) (token string, ok bool, err error) {
	item, err := v.kr.Get(ssoRefreshName(key))
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, v.wrap("read the SSO refresh token of "+key, err)
	}
	if len(item.Data) == 0 {
		return "", false, v.corrupt(ssoRefreshName(key), errors.New("the refresh token is empty"))
	}
	return string(item.Data), true, nil
}

// HasSSORefreshToken reports whether a refresh token is stored for key,
// from the item names alone (no passphrase is asked for).
func (v *Vault) HasSSORefreshToken(key string) (bool, error) {
	names, err := v.names()
	if err != nil {
		return false, err
	}
	return slices.Contains(names, ssoRefreshName(key)), nil
}

// RemoveSSORefreshToken deletes the refresh token stored for key; removed
// is false when there was none.
func (v *Vault) RemoveSSORefreshToken(key string) (removed bool, err error) {
	err = v.kr.Remove(ssoRefreshName(key))
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, v.wrap("remove the SSO refresh token of "+key, err)
	}
	return true, nil
}
