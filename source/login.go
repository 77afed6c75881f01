package source

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/signin"
	signintypes "github.com/aws/aws-sdk-go-v2/service/signin/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/sessioncache"
)

// ErrLoginRequired is wrapped by the error of a LoginSession whose cache
// file is missing, unreadable, expired beyond refresh or refused: the fix
// is `aws login` (credkit does not sign in to the console itself).
var ErrLoginRequired = errors.New("aws login required")

// EnvLoginCacheDirectory overrides the directory of the login session
// cache, as in aws-sdk-go-v2 and the AWS CLI.
const EnvLoginCacheDirectory = "AWS_LOGIN_CACHE_DIRECTORY"

// LoginRefreshWindow: LoginSession refreshes credentials that expire
// within this time. aws-sdk-go-v2 refreshes only expired ones; refreshing
// a little ahead keeps credkit's refresh-ahead cache from handing out
// credentials about to die. Either tool reads what the other wrote.
const LoginRefreshWindow = 5 * time.Minute

// LoginSessionOptions configures a LoginSession.
type LoginSessionOptions struct {
	// CacheDir holds the cache files; "" means ~/.aws/login/cache.
	// FromProfile fills it from AWS_LOGIN_CACHE_DIRECTORY.
	CacheDir string
	// Region picks the sign-in endpoint; FromProfile fills it with the
	// chain's region.
	Region string
	// Endpoint is the sign-in service's URL; "" means
	// https://REGION.signin.aws.amazon.com (the SDK's endpoint for the aws
	// partition). FromProfile fills it from AWS_ENDPOINT_URL_SIGNIN,
	// AWS_ENDPOINT_URL, the profile's [services] section (signin) or its
	// endpoint_url, as aws-sdk-go-v2 does.
	Endpoint string
	// HTTPClient sends the refresh; nil means the SDK's default client.
	HTTPClient *http.Client
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time
}

// LoginSession is a Provider of the credentials of an `aws login` session
// (AWS CLI 2.32+): a profile with login_session = ARN. credkit reads and
// refreshes the session; it does not implement `aws login`.
//
// The cache file is DIR/hex(sha256(ARN)).json, DIR being
// AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache, as aws-sdk-go-v2's
// logincreds names it. It holds accessToken (accessKeyId,
// secretAccessKey, sessionToken, accountId, expiresAt), refreshToken,
// clientId and dpopKey (a PEM "EC PRIVATE KEY" on P-256), all required.
//
// Credentials that expire within LoginRefreshWindow are refreshed: the
// sign-in service's CreateOAuth2Token (POST /v1/token, grant_type
// refresh_token) with a DPoP proof (RFC 9449: an ES256 JWT over htm POST,
// the request's URL as htu, iat and a random jti, signed with dpopKey and
// carrying its public key). The file is rewritten atomically, mode 0600,
// with the new credentials, expiry and refresh token; every other field is
// kept. One process refreshes at a time (a lock file beside the cache
// file); the others wait and take what it wrote. When the refresh fails
// and the credentials have not expired yet, they are used.
type LoginSession struct {
	// Session is the login_session ARN.
	Session string
	// Profile names the profile in messages ("aws login --profile P").
	Profile string
	Options LoginSessionOptions
}

var _ creds.Provider = (*LoginSession)(nil)

// LoginCacheFile is the cache file of a login session ARN in dir ("" for
// the default).
func LoginCacheFile(dir, session string) (string, error) {
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locate the login session cache: %w", err)
		}
		dir = filepath.Join(home, ".aws", "login", "cache")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(session)))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json"), nil
}

// LoginCacheDirOf is the cache directory the environment getenv describes:
// AWS_LOGIN_CACHE_DIRECTORY, else ~/.aws/login/cache of its HOME, else ""
// (the default).
func LoginCacheDirOf(getenv func(string) string) string {
	if getenv == nil {
		return ""
	}
	if d := getenv(EnvLoginCacheDirectory); d != "" {
		return d
	}
	if runtime.GOOS == "windows" || getenv("HOME") == "" {
		return ""
	}
	return filepath.Join(getenv("HOME"), ".aws", "login", "cache")
}

// CacheFile is the path of the session's cache file.
func (l *LoginSession) CacheFile() (string, error) {
	return LoginCacheFile(l.Options.CacheDir, l.Session)
}

// LoginHint says how to sign in again.
func LoginHint(profile string) string {
	if profile == "" {
		return "run: aws login"
	}
	return "run: aws login --profile " + profile
}

func (l *LoginSession) login() string { return LoginHint(l.Profile) }

func (l *LoginSession) now() time.Time {
	if l.Options.Now != nil {
		return l.Options.Now()
	}
	return time.Now()
}

// loginCache holds the fields of the cache file credkit reads.
type loginCache struct {
	AccessToken *struct {
		AccessKeyID     string `json:"accessKeyId"`
		SecretAccessKey string `json:"secretAccessKey"`
		SessionToken    string `json:"sessionToken"`
		AccountID       string `json:"accountId"`
		ExpiresAt       string `json:"expiresAt"`
	} `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ClientID     string `json:"clientId"`
	DPoPKey      string `json:"dpopKey"`

	expires time.Time
}

// readLoginCache reads and checks the cache file: a missing field, JSON
// that does not parse or a time that is not RFC 3339 is an error that
// names the file and the field, never a value.
func readLoginCache(path string) (*loginCache, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var c loginCache
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, nil, fmt.Errorf("%s is not valid: %s", path, jsonProblem(err))
	}
	var missing []string
	a := c.AccessToken
	if a == nil {
		missing = append(missing, "accessToken")
	} else {
		for _, f := range []struct{ name, v string }{
			{"accessToken.accessKeyId", a.AccessKeyID}, {"accessToken.secretAccessKey", a.SecretAccessKey},
			{"accessToken.sessionToken", a.SessionToken}, {"accessToken.accountId", a.AccountID},
			{"accessToken.expiresAt", a.ExpiresAt},
		} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
	}
	for _, f := range []struct{ name, v string }{{"clientId", c.ClientID}, {"refreshToken", c.RefreshToken}, {"dpopKey", c.DPoPKey}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s lacks %s", path, strings.Join(missing, ", "))
	}
	c.expires, err = time.Parse(time.RFC3339, a.ExpiresAt)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: accessToken.expiresAt is not an RFC 3339 time", path)
	}
	return &c, data, nil
}

func (c *loginCache) credentials(what string) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     c.AccessToken.AccessKeyID,
		SecretAccessKey: c.AccessToken.SecretAccessKey,
		SessionToken:    c.AccessToken.SessionToken,
		AccountID:       c.AccessToken.AccountID,
		Expires:         c.expires,
		Source:          what,
	}
}

// what is "login session ARN (profile P), cache file F".
func (l *LoginSession) what(path string) string {
	w := "login session " + l.Session
	if l.Profile != "" {
		w += " (profile " + l.Profile + ")"
	}
	return w + ", cache file " + path
}

// Retrieve returns the session's credentials, refreshing them first when
// they expire within LoginRefreshWindow. Errors name the cache file and
// wrap ErrLoginRequired when only `aws login` helps; they never hold a
// token, a key or the DPoP key.
func (l *LoginSession) Retrieve(ctx context.Context) (creds.Credentials, error) {
	path, err := l.CacheFile()
	if err != nil {
		return creds.Credentials{}, err
	}
	c, data, err := readLoginCache(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return creds.Credentials{}, fmt.Errorf("login session %s: no cache file %s: %w; %s", l.Session, path, ErrLoginRequired, l.login())
	case err != nil:
		return creds.Credentials{}, fmt.Errorf("login session %s: %w: %w; %s", l.Session, err, ErrLoginRequired, l.login())
	}
	now := l.now()
	if now.Add(LoginRefreshWindow).Before(c.expires) {
		return c.credentials(l.what(path)), nil
	}
	// One refresh at a time: the others wait, then take what it wrote.
	unlock, lerr := sessioncache.Lock(ctx, path+".lock", nil)
	if lerr == nil {
		defer unlock()
		if c2, d2, err := readLoginCache(path); err == nil {
			c, data = c2, d2
			if now.Add(LoginRefreshWindow).Before(c.expires) {
				return c.credentials(l.what(path)), nil
			}
		}
	}
	refreshed, rerr := l.refresh(ctx, path, data, c)
	if rerr == nil {
		return refreshed.credentials(l.what(path)), nil
	}
	if now.Before(c.expires) {
		return c.credentials(l.what(path)), nil
	}
	return creds.Credentials{}, fmt.Errorf("%s: the credentials expired at %s and %w; %s",
		l.what(path), c.expires.UTC().Format(time.RFC3339), rerr, l.login())
}

// endpoint is the sign-in service's URL.
func (l *LoginSession) endpoint() (string, error) {
	if l.Options.Endpoint != "" {
		return l.Options.Endpoint, nil
	}
	r := l.Options.Region
	if r == "" {
		return "", errors.New("no region to find the sign-in endpoint: set region in the profile or AWS_REGION")
	}
	switch {
	case strings.HasPrefix(r, "cn-"):
		return "https://" + r + ".signin.amazonaws.cn", nil
	case strings.HasPrefix(r, "us-gov-"):
		return "https://" + r + ".signin.amazonaws-us-gov.com", nil
	}
	return "https://" + r + ".signin.aws.amazon.com", nil
}

// refresh exchanges the refresh token for new credentials and rewrites the
// cache file.
func (l *LoginSession) refresh(ctx context.Context, path string, data []byte, c *loginCache) (*loginCache, error) {
	key, err := ParseDPoPKey(c.DPoPKey)
	if err != nil {
		return nil, fmt.Errorf("the dpopKey of %s %w: %w", path, err, ErrLoginRequired)
	}
	ep, err := l.endpoint()
	if err != nil {
		return nil, err
	}
	keep := &errorAnswer{}
	dpop := middleware.FinalizeMiddlewareFunc("credkitDPoP", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected transport %T", in.Request)
		}
		proof, err := DPoPProof(key, req.Method, req.URL.String(), l.now())
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		req.Header.Set("DPoP", proof)
		return next.HandleFinalize(ctx, in)
	})
	opts := signin.Options{Region: l.Options.Region, BaseEndpoint: aws.String(ep), Logger: logging.Nop{},
		APIOptions: []func(*middleware.Stack) error{keep.addTo, func(s *middleware.Stack) error {
			return s.Finalize.Add(dpop, middleware.After)
		}}}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if l.Options.HTTPClient != nil {
		opts.HTTPClient = l.Options.HTTPClient
	}
	out, err := signin.New(opts).CreateOAuth2Token(ctx, &signin.CreateOAuth2TokenInput{
		TokenInput: &signintypes.CreateOAuth2TokenRequestBody{
			ClientId:     aws.String(c.ClientID),
			GrantType:    aws.String("refresh_token"),
			RefreshToken: aws.String(c.RefreshToken),
		},
	})
	if err != nil {
		var ad *signintypes.AccessDeniedException
		if errors.As(err, &ad) {
			why := map[signintypes.OAuth2ErrorCode]string{
				signintypes.OAuth2ErrorCodeTokenExpired:           "the login session has expired",
				signintypes.OAuth2ErrorCodeUserCredentialsChanged: "the password of the login session changed",
			}[ad.Error_]
			if why != "" {
				return nil, fmt.Errorf("the sign-in service refused the refresh: %s: %w", why, ErrLoginRequired)
			}
		}
		return nil, fmt.Errorf("refreshing them failed: %w", toAPIError("Signin", "CreateOAuth2Token", err, keep))
	}
	t := out.TokenOutput
	if t == nil || t.AccessToken == nil || aws.ToString(t.AccessToken.AccessKeyId) == "" || t.ExpiresIn == nil {
		return nil, errors.New("refreshing them failed: the sign-in service's answer holds no credentials")
	}
	exp := l.now().Add(time.Duration(*t.ExpiresIn) * time.Second).UTC().Truncate(time.Second)
	// Rewrite the file, keeping every field credkit does not change.
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("refreshing them failed: %s is not valid JSON", path)
	}
	at, _ := fields["accessToken"].(map[string]any)
	if at == nil {
		at = map[string]any{}
	}
	at["accessKeyId"] = aws.ToString(t.AccessToken.AccessKeyId)
	at["secretAccessKey"] = aws.ToString(t.AccessToken.SecretAccessKey)
	at["sessionToken"] = aws.ToString(t.AccessToken.SessionToken)
	at["expiresAt"] = exp.Format(time.RFC3339)
	fields["accessToken"] = at
	if r := aws.ToString(t.RefreshToken); r != "" {
		fields["refreshToken"] = r
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	// New credentials work even when they cannot be kept (a read-only
	// cache): the next process then refreshes again.
	_ = atomicfile.Options{TempPattern: ".credkit-login-*"}.Write(path, b)
	n := *c
	a := *c.AccessToken
	n.AccessToken = &a
	a.AccessKeyID, a.SecretAccessKey, a.SessionToken = at["accessKeyId"].(string), at["secretAccessKey"].(string), at["sessionToken"].(string)
	a.ExpiresAt, n.expires = exp.Format(time.RFC3339), exp
	if r := aws.ToString(t.RefreshToken); r != "" {
		n.RefreshToken = r
	}
	return &n, nil
}

// ParseDPoPKey reads the dpopKey of a cache file: a PEM block holding a
// SEC1 ("EC PRIVATE KEY") P-256 key. The error never quotes the key.
func ParseDPoPKey(pemKey string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemKey))
	if block == nil {
		return nil, errors.New("is not a PEM block")
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not an EC private key (%s block)", block.Type)
	}
	if k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("is a %s key; the sign-in service needs P-256", k.Curve.Params().Name)
	}
	return k, nil
}

// DPoPProof is an RFC 9449 proof for a request: an ES256 JWT whose header
// carries the public key (typ dpop+jwt, jwk with kty EC, crv P-256, x, y)
// and whose claims are a random jti, htm, htu and iat.
func DPoPProof(key *ecdsa.PrivateKey, method, url string, now time.Time) (string, error) {
	if key.Curve != elliptic.P256() {
		return "", errors.New("a DPoP key must be on P-256")
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y, each 32 bytes
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": map[string]string{
		"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(pub[1:33]), "y": enc.EncodeToString(pub[33:]),
	}})
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{"jti": hex.EncodeToString(jti), "htm": method, "htu": url, "iat": now.Unix()})
	if err != nil {
		return "", err
	}
	msg := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(msg))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return msg + "." + enc.EncodeToString(sig), nil
}

// newLoginSession is the Provider of a login_session root.
func newLoginSession(files *awsconfig.Files, r *awsconfig.LoginSessionRoot, opts ProfileOptions, getenv func(string) string, region string) (*LoginSession, error) {
	l := &LoginSession{Session: r.Session.Value, Profile: r.From.Profile, Options: opts.Login}
	if l.Options.CacheDir == "" {
		l.Options.CacheDir = LoginCacheDirOf(getenv)
	}
	if l.Options.Region == "" {
		l.Options.Region = region
	}
	if l.Options.Endpoint == "" {
		p, err := files.Profile(r.From.Profile)
		if err != nil {
			return nil, err
		}
		l.Options.Endpoint = serviceEndpoint(getenv, files, p, EnvEndpointURL+"_SIGNIN", "signin")
	}
	return l, nil
}
