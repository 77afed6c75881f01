package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/smithy-go/logging"

	"github.com/credkit/credkit/source"
)

// Status is what the token cache holds for a session.
type Status struct {
	File        string
	Exists      bool
	ExpiresAt   time.Time // zero when unknown
	Expired     bool
	Refreshable bool // a refresh token and an unexpired client registration
	// RegistrationExpiresAt is the client registration's expiry, zero
	// when unknown.
	RegistrationExpiresAt time.Time
}

// TokenStatus reads the cached token of a session. A missing file is
// not an error (Exists is false); an unreadable one is.
func TokenStatus(s *Session) (*Status, error) {
	file, err := s.TokenFile()
	if err != nil {
		return nil, err
	}
	st := &Status{File: file}
	t, _, err := source.ReadSSOToken(file)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	st.Exists = true
	now := s.now()
	if exp, err := source.ParseSSOTime(t.ExpiresAt); err == nil {
		st.ExpiresAt = exp.UTC()
		st.Expired = !now.Before(exp)
	} else {
		st.Expired = true
	}
	if re, err := source.ParseSSOTime(t.RegistrationExpiresAt); err == nil {
		st.RegistrationExpiresAt = re.UTC()
		st.Refreshable = t.RefreshToken != "" && t.ClientID != "" && now.Before(re)
	}
	return st, nil
}

func (s *Session) portal() *sso.Client {
	o := sso.Options{Region: s.Region, Logger: logging.Nop{}}
	if s.PortalEndpoint != "" {
		o.BaseEndpoint = aws.String(s.PortalEndpoint)
	}
	if s.HTTPClient != nil {
		o.HTTPClient = s.HTTPClient
	}
	return sso.New(o)
}

// accessToken reads the cached access token, refusing an expired one.
func (s *Session) accessToken() (string, error) {
	st, err := TokenStatus(s)
	if err != nil {
		return "", err
	}
	if !st.Exists || st.Expired {
		return "", fmt.Errorf("no valid cached token for %s: %w; %s", s.what(), source.ErrSSOLoginRequired, s.loginHint())
	}
	t, _, err := source.ReadSSOToken(st.File)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

func (s *Session) loginHint() string { return source.SSOLoginHint(s.Profile, s.Name) }

// LogoutResult says what Logout removed.
type LogoutResult struct {
	// PortalLoggedOut: the portal ended the session (false when there
	// was no valid token to end it with, or the portal had already).
	PortalLoggedOut bool
	Removed         []string // files removed
}

// Logout ends the session at the portal (its Logout call), then removes
// the cached token and the role credentials the AWS CLI cached from
// SSO (files of cliCacheDir, "" for ~/.aws/cli/cache, whose
// ProviderType is "sso"), as `aws sso logout` does.
func Logout(ctx context.Context, s *Session, cliCacheDir string) (*LogoutResult, error) {
	res := &LogoutResult{}
	file, err := s.TokenFile()
	if err != nil {
		return nil, err
	}
	if tok, err := s.accessToken(); err == nil {
		if _, err := s.portal().Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(tok)}); err == nil {
			res.PortalLoggedOut = true
		} else {
			var ue *types.UnauthorizedException
			if !errors.As(err, &ue) {
				return nil, fmt.Errorf("sso logout for %s: the portal's Logout failed (the token is kept): %w", s.what(), apiError(err))
			}
		}
	}
	if err := os.Remove(file); err == nil {
		res.Removed = append(res.Removed, file)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("sso logout: %w", err)
	}
	if cliCacheDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return res, nil
		}
		cliCacheDir = filepath.Join(home, ".aws", "cli", "cache")
	}
	entries, _ := os.ReadDir(cliCacheDir)
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		p := filepath.Join(cliCacheDir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var v struct{ ProviderType string }
		if json.Unmarshal(b, &v) == nil && v.ProviderType == "sso" {
			if os.Remove(p) == nil {
				res.Removed = append(res.Removed, p)
			}
		}
	}
	return res, nil
}

// Role is an account and role the signed-in user may use.
type Role struct {
	AccountID, AccountName, RoleName string
}

// Roles lists every account (ListAccounts) and its roles
// (ListAccountRoles), following the pages, sorted by account name, then
// id, then role.
func Roles(ctx context.Context, s *Session) ([]Role, error) {
	tok, err := s.accessToken()
	if err != nil {
		return nil, err
	}
	c := s.portal()
	var out []Role
	ap := sso.NewListAccountsPaginator(c, &sso.ListAccountsInput{AccessToken: aws.String(tok)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sso: ListAccounts: %w", apiError(err))
		}
		for _, a := range page.AccountList {
			rp := sso.NewListAccountRolesPaginator(c, &sso.ListAccountRolesInput{AccessToken: aws.String(tok), AccountId: a.AccountId})
			for rp.HasMorePages() {
				rpage, err := rp.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("sso: ListAccountRoles for %s: %w", aws.ToString(a.AccountId), apiError(err))
				}
				for _, r := range rpage.RoleList {
					out = append(out, Role{AccountID: aws.ToString(a.AccountId), AccountName: aws.ToString(a.AccountName), RoleName: aws.ToString(r.RoleName)})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.AccountName != b.AccountName {
			return a.AccountName < b.AccountName
		}
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.RoleName < b.RoleName
	})
	return out, nil
}
