// Package sso signs in to IAM Identity Center: the authorization code
// flow with PKCE (as the AWS CLI 2.22 and later does it) and the device
// authorization flow, with aws-sdk-go-v2's ssooidc client. It writes the
// token and client registration caches the AWS CLI and botocore read
// (see source.WriteSSOToken), lists accounts and roles, and logs out.
//
// The package never prints, prompts or opens a browser itself: those go
// through UI, which the CLI fills in.
package sso

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/source"
)

// DefaultScope is the registration scope when none is configured
// (sso_registration_scopes).
const DefaultScope = "sso:account:access"

// Session is what a sign-in needs: the cache key and how to reach
// Identity Center.
type Session struct {
	// Name is the sso-session name; "" for a legacy profile (the cache
	// key is then the start URL).
	Name     string
	StartURL string
	Region   string
	// Scopes are the registration scopes as configured; nil when not.
	Scopes []string
	// Profile names the profile the session came from, for messages.
	Profile string
	// OIDCEndpoint and PortalEndpoint override the services' URLs; ""
	// means the AWS default for Region.
	OIDCEndpoint, PortalEndpoint string
	// CacheDir holds the caches; "" means ~/.aws/sso/cache.
	CacheDir   string
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Key is what the token file name is the SHA-1 of.
func (s *Session) Key() string {
	if s.Name != "" {
		return s.Name
	}
	return s.StartURL
}

// TokenFile is the cached token's path.
func (s *Session) TokenFile() (string, error) { return source.SSOTokenCacheFile(s.CacheDir, s.Key()) }

// RegistrationFile is the cached client registration's path, named as
// botocore names it.
func (s *Session) RegistrationFile() (string, error) {
	return source.SSORegistrationCacheFile(s.CacheDir, s.StartURL, s.Region, s.Scopes, s.Name)
}

// scopes are the scopes to register with.
func (s *Session) scopes() []string {
	if len(s.Scopes) > 0 {
		return s.Scopes
	}
	if s.Name != "" {
		return []string{DefaultScope}
	}
	return nil
}

// what names the session in messages.
func (s *Session) what() string {
	if s.Name != "" {
		return "sso-session " + s.Name
	}
	return "start URL " + s.StartURL
}

// FromProfile reads the session of a profile: its sso_session's
// [sso-session] section, or its own sso_start_url and sso_region.
// getenv (nil for os.Getenv) gives the endpoint overrides.
func FromProfile(files *awsconfig.Files, profile string, getenv func(string) string) (*Session, error) {
	p, err := files.Profile(profile)
	if err != nil {
		return nil, err
	}
	if name := strings.TrimSpace(p.SSOSession()); name != "" {
		s, err := fromSection(files, name, getenv, profile)
		if err != nil {
			return nil, fmt.Errorf("profile %s (%s): %w", profile, p.DefinedAt(), err)
		}
		return s, nil
	}
	start, _ := p.Get(awsconfig.KeySSOStartURL)
	region, _ := p.Get(awsconfig.KeySSORegion)
	s := &Session{StartURL: strings.TrimSpace(start), Region: strings.TrimSpace(region), Profile: profile}
	where := fmt.Sprintf("profile %s (%s)", profile, p.DefinedAt())
	if s.StartURL == "" && s.Region == "" {
		return nil, fmt.Errorf("%s has neither sso_session nor sso_start_url: add sso_session naming an [sso-session] section, or sso_start_url and sso_region", where)
	}
	if err := s.check(where); err != nil {
		return nil, err
	}
	if sc, ok := p.Get("sso_registration_scopes"); ok {
		s.Scopes = splitScopes(sc)
	}
	s.endpoints(files, profile, getenv)
	return s, nil
}

// FromSSOSession reads an [sso-session NAME] section. The endpoint
// overrides come from the environment and the first profile that uses
// the session.
func FromSSOSession(files *awsconfig.Files, name string, getenv func(string) string) (*Session, error) {
	var profile string
	for _, pn := range files.ProfileNames() {
		if p, err := files.Profile(pn); err == nil && strings.TrimSpace(p.SSOSession()) == name {
			profile = pn
			break
		}
	}
	return fromSection(files, name, getenv, profile)
}

func fromSection(files *awsconfig.Files, name string, getenv func(string) string, profile string) (*Session, error) {
	sec, ok := files.SSOSession(name)
	if !ok {
		found := "none are defined"
		if names := files.SSOSessionNames(); len(names) > 0 {
			found = "found: " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("there is no [sso-session %s] in the config file (%s); add one with sso_start_url and sso_region", name, found)
	}
	start, _ := sec.Get(awsconfig.KeySSOStartURL)
	region, _ := sec.Get(awsconfig.KeySSORegion)
	s := &Session{Name: name, StartURL: strings.TrimSpace(start), Region: strings.TrimSpace(region), Profile: profile}
	if sc, ok := sec.Get("sso_registration_scopes"); ok {
		s.Scopes = splitScopes(sc)
	}
	if err := s.check(fmt.Sprintf("[sso-session %s] (%s)", name, sec.DefinedAt())); err != nil {
		return nil, err
	}
	s.endpoints(files, profile, getenv)
	return s, nil
}

// check says what is missing or wrong.
func (s *Session) check(where string) error {
	var missing []string
	if s.StartURL == "" {
		missing = append(missing, "sso_start_url")
	}
	if s.Region == "" {
		missing = append(missing, "sso_region")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s has no %s: add it (the AWS access portal URL, https://d-xxxxxxxxxx.awsapps.com/start, and its region)", where, strings.Join(missing, " or "))
	}
	if u, err := url.Parse(s.StartURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s: sso_start_url %q is not an https:// URL; use the AWS access portal URL, e.g. https://d-xxxxxxxxxx.awsapps.com/start", where, s.StartURL)
	}
	return nil
}

func (s *Session) endpoints(files *awsconfig.Files, profile string, getenv func(string) string) {
	s.OIDCEndpoint = source.ServiceEndpoint(getenv, files, profile, "sso_oidc")
	s.PortalEndpoint = source.ServiceEndpoint(getenv, files, profile, "sso")
}

// splitScopes reads sso_registration_scopes: comma-separated.
func splitScopes(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// oidcBase is the SSO-OIDC service's URL (where /authorize is).
func (s *Session) oidcBase() string {
	if s.OIDCEndpoint != "" {
		return strings.TrimRight(s.OIDCEndpoint, "/")
	}
	return "https://oidc." + s.Region + ".amazonaws.com"
}
