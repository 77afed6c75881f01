package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/atomicfile"
)

// ErrSSOLoginRequired is wrapped by the error of an SSO provider whose
// cached token is missing, expired or refused: the fix is `credkit sso
// login` (or `aws sso login`).
var ErrSSOLoginRequired = errors.New("SSO login required")

// SSOOptions configures the SSO portal client.
type SSOOptions struct {
	// Endpoint is the portal's URL; "" means
	// https://portal.sso.<sso_region>.amazonaws.com. SSOFromProfile fills
	// it from AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL, the profile's
	// [services] section or its endpoint_url when it is empty.
	Endpoint string
	// HTTPClient sends the requests; nil means the SDK's default client.
	HTTPClient *http.Client
	// Now is the clock that decides whether the cached token has
	// expired; nil means time.Now.
	Now func() time.Time
	// CacheDir holds the SSO token cache; "" means ~/.aws/sso/cache.
	CacheDir string
	// MaxAttempts bounds the attempts of a call; 0 means the SDK's
	// default (3).
	MaxAttempts int
	// OIDCEndpoint is the SSO-OIDC service's URL, which refreshes the
	// access token of an sso-session; "" means the AWS default for
	// sso_region. SSOFromProfile fills it from AWS_ENDPOINT_URL_SSO_OIDC,
	// AWS_ENDPOINT_URL, the [services] section or endpoint_url.
	OIDCEndpoint string
}

// SSO is a Provider of IAM Identity Center (SSO) role credentials: it reads
// the access token that `aws sso login` cached and exchanges it for the
// role's credentials with the portal's GetRoleCredentials.
//
// The cache file is ~/.aws/sso/cache/<hex sha1 of key>.json, where the key
// is the sso-session name for a profile with sso_session and the start URL
// for a legacy profile (as in botocore and aws-sdk-go-v2's ssocreds). Of
// its JSON fields, accessToken and expiresAt (RFC 3339; the old
// "2006-01-02T15:04:05UTC" form is accepted too, as botocore does) are
// read. A token without expiresAt is refused for a legacy profile, as
// aws-sdk-go-v2 does.
//
// The token of an sso-session is refreshed with its refresh token
// (SSO-OIDC CreateToken with grant_type refresh_token, as aws-sdk-go-v2's
// SSOTokenProvider does) and the cache file rewritten in place, keeping
// the fields credkit does not know. The SDKs refresh only a token that has
// expired; SSO refreshes one that expires within SSOTokenRefreshWindow, and
// when that fails keeps using the token while it is still valid. A legacy
// profile's token cannot be refreshed: log in again.
type SSO struct {
	AccountID string // sso_account_id
	RoleName  string // sso_role_name
	Region    string // sso_region: the portal's region
	StartURL  string // sso_start_url
	// Session is the sso_session name; "" for a legacy profile.
	Session string
	// Profile is the profile's name, for messages ("aws sso login
	// --profile NAME"); may be "".
	Profile string
	Options SSOOptions
}

// CacheKey is what the cache file name is the SHA-1 of: the session name,
// or the start URL of a legacy profile.
func (s *SSO) CacheKey() string {
	if s.Session != "" {
		return s.Session
	}
	return s.StartURL
}

// CacheFile is the path of the cached token.
func (s *SSO) CacheFile() (string, error) {
	return SSOTokenCacheFile(s.Options.CacheDir, s.CacheKey())
}

// what is "SSO role Dev in account 123456789012 (profile dev)".
func (s *SSO) what() string {
	w := "SSO role " + s.RoleName + " in account " + s.AccountID
	if s.Profile != "" {
		w += " (profile " + s.Profile + ")"
	}
	return w
}

// login says how to get a new token.
func (s *SSO) login() string { return SSOLoginHint(s.Profile, s.Session) }

// SSOLoginHint says how to sign in again: credkit's command (which writes
// the cache the AWS CLI reads too), for the profile or else the session.
func SSOLoginHint(profile, session string) string {
	switch {
	case profile != "":
		return "run: credkit sso login --profile " + profile
	case session != "":
		return "run: credkit sso login --sso-session " + session
	}
	return "run: credkit sso login"
}

// ssoCachedToken holds the fields of the cache file that are read.
type ssoCachedToken struct {
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	RefreshToken          string `json:"refreshToken"`
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret"`
	RegistrationExpiresAt string `json:"registrationExpiresAt"`
}

// SSOTokenRefreshWindow: an sso-session token is refreshed when it
// expires within this time: 15 minutes, as botocore's SSOTokenProvider.
const SSOTokenRefreshWindow = 15 * time.Minute

// parseSSOTime reads expiresAt.
func parseSSOTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05MST", s)
}

// token reads the cached access token.
func (s *SSO) token(ctx context.Context) (string, error) {
	path, err := s.CacheFile()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no cached SSO token for %s (%s): %w; %s", s.keyWords(), path, ErrSSOLoginRequired, s.login())
	case err != nil:
		return "", fmt.Errorf("read the cached SSO token: %w", err)
	}
	var t ssoCachedToken
	if err := json.Unmarshal(data, &t); err != nil {
		// The JSON error may quote the file, which holds secrets: say where
		// only.
		where := ""
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			where = fmt.Sprintf(" (at byte %d)", se.Offset)
		case errors.As(err, &te):
			where = fmt.Sprintf(" (%s is not a %s)", te.Field, te.Type)
		}
		return "", fmt.Errorf("the cached SSO token %s is not valid JSON%s: %w; %s", path, where, ErrSSOLoginRequired, s.login())
	}
	if t.AccessToken == "" {
		return "", fmt.Errorf("the cached SSO token %s has no accessToken: %w; %s", path, ErrSSOLoginRequired, s.login())
	}
	if t.ExpiresAt == "" {
		if s.Session == "" {
			return "", fmt.Errorf("the cached SSO token %s has no expiresAt: %w; %s", path, ErrSSOLoginRequired, s.login())
		}
		return t.AccessToken, nil
	}
	exp, err := parseSSOTime(t.ExpiresAt)
	if err != nil {
		return "", fmt.Errorf("the cached SSO token %s has an expiresAt that is not an RFC 3339 time: %w; %s", path, ErrSSOLoginRequired, s.login())
	}
	now := s.now()
	var refreshErr error
	if s.Session != "" && now.Add(SSOTokenRefreshWindow).After(exp) {
		// One refresh at a time: the others wait, then take its token.
		if unlock, err := LockSSOToken(ctx, path); err == nil {
			defer unlock()
			if again, err := os.ReadFile(path); err == nil {
				var t2 ssoCachedToken
				if json.Unmarshal(again, &t2) == nil && t2.AccessToken != "" && t2.AccessToken != t.AccessToken {
					e2, err := parseSSOTime(t2.ExpiresAt)
					if err == nil && now.Add(SSOTokenRefreshWindow).Before(e2) {
						return t2.AccessToken, nil
					}
					if err == nil {
						data, t, exp = again, t2, e2
					}
				}
			}
		}
		var tok string
		tok, refreshErr = s.refresh(ctx, path, data, t)
		if refreshErr == nil {
			return tok, nil
		}
		// Another process may have refreshed first (spending the refresh
		// token this one used): take the token it wrote.
		if again, err := os.ReadFile(path); err == nil {
			var t2 ssoCachedToken
			if json.Unmarshal(again, &t2) == nil && t2.AccessToken != "" && t2.AccessToken != t.AccessToken {
				if e2, err := parseSSOTime(t2.ExpiresAt); err == nil && now.Before(e2) {
					return t2.AccessToken, nil
				}
			}
		}
	}
	if !now.Before(exp) {
		if refreshErr != nil {
			return "", fmt.Errorf("the cached SSO token for %s (%s) expired at %s and %v: %w; %s",
				s.keyWords(), path, exp.UTC().Format(time.RFC3339), refreshErr, ErrSSOLoginRequired, s.login())
		}
		return "", fmt.Errorf("the cached SSO token for %s (%s) expired at %s: %w; %s",
			s.keyWords(), path, exp.UTC().Format(time.RFC3339), ErrSSOLoginRequired, s.login())
	}
	return t.AccessToken, nil
}

// refresh gets a new access token with the refresh token of t (read from
// path, whose content is data) and rewrites the cache file.
func (s *SSO) refresh(ctx context.Context, path string, data []byte, t ssoCachedToken) (string, error) {
	if t.RefreshToken == "" || t.ClientID == "" || t.ClientSecret == "" {
		return "", errors.New("it holds no refresh token and client registration to refresh it with")
	}
	now := s.now()
	if t.RegistrationExpiresAt != "" {
		if re, err := parseSSOTime(t.RegistrationExpiresAt); err == nil && !now.Before(re) {
			return "", fmt.Errorf("its client registration expired at %s", re.UTC().Format(time.RFC3339))
		}
	}
	keep := &errorAnswer{}
	opts := ssooidc.Options{Region: s.Region, Logger: logging.Nop{}, RetryMaxAttempts: s.Options.MaxAttempts,
		APIOptions: []func(*middleware.Stack) error{keep.addTo}}
	if s.Options.OIDCEndpoint != "" {
		opts.BaseEndpoint = aws.String(s.Options.OIDCEndpoint)
	}
	if s.Options.HTTPClient != nil {
		opts.HTTPClient = s.Options.HTTPClient
	}
	out, err := ssooidc.New(opts).CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId:     aws.String(t.ClientID),
		ClientSecret: aws.String(t.ClientSecret),
		RefreshToken: aws.String(t.RefreshToken),
		GrantType:    aws.String("refresh_token"),
	})
	if err != nil {
		return "", fmt.Errorf("refreshing it failed: %w", toAPIError("SSO-OIDC", "CreateToken", err, keep))
	}
	if aws.ToString(out.AccessToken) == "" {
		return "", errors.New("refreshing it failed: SSO-OIDC's answer holds no access token")
	}
	// Rewrite the file with the new token, keeping every other field.
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return "", fmt.Errorf("refreshing it failed: %w", err)
	}
	t.AccessToken = aws.ToString(out.AccessToken)
	t.ExpiresAt = FormatSSOTime(now.Add(time.Duration(out.ExpiresIn) * time.Second))
	if r := aws.ToString(out.RefreshToken); r != "" {
		t.RefreshToken = r
	}
	full := SSOToken{StartURL: str(fields["startUrl"]), Region: str(fields["region"]), AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt,
		ClientID: t.ClientID, ClientSecret: t.ClientSecret, RegistrationExpiresAt: t.RegistrationExpiresAt, RefreshToken: t.RefreshToken}
	// The new token works even when it cannot be kept (a read-only
	// cache): the next process then refreshes again.
	_ = WriteSSOToken(path, full, fields)
	return t.AccessToken, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// writeFileAtomicBytes writes a private file (see atomicfile.Write: the
// file stays private, its owner's mode bits are kept).
func writeFileAtomicBytes(path string, b []byte) error {
	return atomicfile.Options{TempPattern: ".credkit-sso-*"}.Write(path, b)
}

// keyWords names the cache key: "sso-session corp" or "start URL https://...".
func (s *SSO) keyWords() string {
	if s.Session != "" {
		return "sso-session " + s.Session
	}
	return "start URL " + s.StartURL
}

func (s *SSO) now() time.Time {
	if s.Options.Now != nil {
		return s.Options.Now()
	}
	return time.Now()
}

// Retrieve exchanges the cached token for role credentials. A missing or
// expired token, or one the portal refuses (UnauthorizedException), gives
// an error wrapping ErrSSOLoginRequired that says which `aws sso login` to
// run. The token never appears in errors.
func (s *SSO) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if s.AccountID == "" || s.RoleName == "" || s.Region == "" {
		return creds.Credentials{}, fmt.Errorf("%s: sso_account_id, sso_role_name and sso_region are all needed", s.what())
	}
	token, err := s.token(ctx)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", s.what(), err)
	}
	keep := &errorAnswer{}
	opts := sso.Options{Region: s.Region, Logger: logging.Nop{}, RetryMaxAttempts: s.Options.MaxAttempts,
		APIOptions: []func(*middleware.Stack) error{keep.addTo}}
	if s.Options.Endpoint != "" {
		opts.BaseEndpoint = aws.String(s.Options.Endpoint)
	}
	if s.Options.HTTPClient != nil {
		opts.HTTPClient = s.Options.HTTPClient
	}
	out, err := sso.New(opts).GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(token),
		AccountId:   aws.String(s.AccountID),
		RoleName:    aws.String(s.RoleName),
	})
	if err != nil {
		err = toAPIError("SSO", "GetRoleCredentials", err, keep)
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "UnauthorizedException" {
			return creds.Credentials{}, fmt.Errorf("%s: the portal refused the cached SSO token for %s: %w (%w; %s)", s.what(), s.keyWords(), err, ErrSSOLoginRequired, s.login())
		}
		return creds.Credentials{}, fmt.Errorf("%s: %w", s.what(), err)
	}
	rc := out.RoleCredentials
	if rc == nil || aws.ToString(rc.AccessKeyId) == "" || aws.ToString(rc.SecretAccessKey) == "" {
		return creds.Credentials{}, fmt.Errorf("%s: the portal's answer holds no credentials", s.what())
	}
	c := creds.Credentials{
		AccessKeyID:     aws.ToString(rc.AccessKeyId),
		SecretAccessKey: aws.ToString(rc.SecretAccessKey),
		SessionToken:    aws.ToString(rc.SessionToken),
		AccountID:       s.AccountID,
		Source:          s.what(),
	}
	if rc.Expiration != 0 {
		c.Expires = time.UnixMilli(rc.Expiration).UTC()
	}
	return c, nil
}

// SSOFromProfile returns the SSO provider of a profile: one with
// sso_session (naming an [sso-session NAME] section with sso_region and
// sso_start_url), sso_account_id and sso_role_name, or a legacy one with
// sso_start_url, sso_region, sso_account_id and sso_role_name. A missing
// key or section, or a profile's sso_region or sso_start_url that differs
// from its session's, is an error naming the file and line.
func SSOFromProfile(files *awsconfig.Files, name string, opts ProfileOptions) (*SSO, error) {
	r, err := files.ResolveSSO(name)
	if err != nil {
		return nil, err
	}
	return newSSO(files, r, opts, orEnv(opts.Getenv))
}

// newSSO is the Provider of an SSO root. Its endpoints come from
// opts.SSO, else the environment and the root's profile.
func newSSO(files *awsconfig.Files, r *awsconfig.SSORoot, opts ProfileOptions, getenv func(string) string) (*SSO, error) {
	s := &SSO{
		AccountID: r.AccountID.Value,
		RoleName:  r.RoleName.Value,
		Region:    r.Region.Value,
		StartURL:  r.StartURL.Value,
		Session:   r.Session.Value,
		Profile:   r.From.Profile,
		Options:   opts.SSO,
	}
	if s.Options.Endpoint != "" && s.Options.OIDCEndpoint != "" {
		return s, nil
	}
	p, err := files.Profile(r.From.Profile)
	if err != nil {
		return nil, err
	}
	if s.Options.Endpoint == "" {
		s.Options.Endpoint = serviceEndpoint(getenv, files, p, EnvEndpointURLSSO, "sso")
	}
	if s.Options.OIDCEndpoint == "" {
		s.Options.OIDCEndpoint = serviceEndpoint(getenv, files, p, EnvEndpointURL+"_SSO_OIDC", "sso_oidc")
	}
	return s, nil
}
