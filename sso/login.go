package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go/logging"

	"github.com/credkit/credkit/source"
)

// UI is how a sign-in reaches the user. The CLI fills it in; a method
// may do nothing.
type UI interface {
	// OpenBrowser opens u in the user's browser; an error means it could
	// not, and the user is shown the URL (Authorize) instead.
	OpenBrowser(u string) error
	// Authorize tells the user the URL to open to sign in (called for
	// every authorization code sign-in, opened or not).
	Authorize(u string)
	// DeviceCode shows the device flow's code and where to enter it;
	// warning is "" or says that the URL's host is not an AWS sign-in
	// domain.
	DeviceCode(d DeviceCode)
	// PasteCallback asks for the URL the browser ended at when the
	// browser runs on another machine (its loopback redirect cannot
	// reach this one). It returns an error when the user cannot paste
	// (no terminal); the flow then waits for the loopback redirect only.
	PasteCallback(ctx context.Context) (string, error)
}

// DeviceCode is what the user needs to approve a device sign-in.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	Warning                 string
}

// Flow is a sign-in flow.
type Flow int

const (
	// PKCE is the authorization code flow with PKCE.
	PKCE Flow = iota
	// Device is the device authorization flow.
	Device
)

func (f Flow) String() string {
	if f == Device {
		return "device code"
	}
	return "authorization code with PKCE"
}

// LoginOptions tune a sign-in.
type LoginOptions struct {
	Flow Flow
	// NoBrowser: do not open a browser (the URL is still shown).
	NoBrowser bool
	// RedirectPort is the loopback listener's port; 0 picks a free one.
	RedirectPort int
	// Timeout bounds the wait for the user; 0 means 10 minutes.
	Timeout time.Duration
	UI      UI
	// ReuseFresh returns the cached token instead of signing in when it
	// is valid for more than source.SSOTokenRefreshWindow (another
	// process signed in while this one waited for the lock).
	ReuseFresh bool
	// Sleep waits between device flow polls; nil waits for real.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Token is the outcome of a sign-in.
type Token struct {
	File         string
	ExpiresAt    time.Time
	Refreshable  bool
	Registration string // the registration file
}

// ErrTimeout is wrapped when the user did not finish in time.
var ErrTimeout = errors.New("the sign-in was not completed in time")

// DefaultTimeout is how long a sign-in waits for the user, as the AWS CLI.
const DefaultTimeout = 10 * time.Minute

// RedirectPath is the path of the loopback redirect URI.
const RedirectPath = "/oauth/callback"

// DefaultInterval is the device flow's poll interval when the service
// gives none; SlowDownDelay is added at each slow_down (RFC 8628).
const (
	DefaultInterval = 5 * time.Second
	SlowDownDelay   = 5 * time.Second
)

// registrationWindow: a cached registration expiring within this time is
// replaced (botocore's _EXPIRY_WINDOW).
const registrationWindow = 15 * time.Minute

func (s *Session) oidc() *ssooidc.Client {
	o := ssooidc.Options{Region: s.Region, Logger: logging.Nop{}}
	if s.OIDCEndpoint != "" {
		o.BaseEndpoint = aws.String(s.OIDCEndpoint)
	}
	if s.HTTPClient != nil {
		o.HTTPClient = s.HTTPClient
	}
	return ssooidc.New(o)
}

// Login signs in and writes the token cache. One sign-in per session at
// a time: a second Login waits for the first and signs in after it (a
// provider refreshing the token waits on the same lock).
func Login(ctx context.Context, s *Session, o LoginOptions) (*Token, error) {
	if o.UI == nil {
		return nil, errors.New("sso login: no UI to show the sign-in to")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	file, err := s.TokenFile()
	if err != nil {
		return nil, err
	}
	unlock, err := source.LockSSOToken(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("sso login for %s: %w", s.what(), err)
	}
	defer unlock()
	if o.ReuseFresh {
		if t, _, err := source.ReadSSOToken(file); err == nil && t.AccessToken != "" {
			if exp, err := source.ParseSSOTime(t.ExpiresAt); err == nil && s.now().Add(source.SSOTokenRefreshWindow).Before(exp) {
				return &Token{File: file, ExpiresAt: exp.UTC(), Refreshable: t.RefreshToken != ""}, nil
			}
		}
	}
	reg, regFile, err := s.registration(ctx, o.Flow, false)
	if err != nil {
		return nil, err
	}
	var out *ssooidc.CreateTokenOutput
	if o.Flow == Device {
		out, err = s.device(ctx, reg, o)
		var ic *types.InvalidClientException
		if errors.As(err, &ic) {
			// The service no longer knows the cached registration:
			// register again, once.
			if reg, regFile, err = s.registration(ctx, o.Flow, true); err == nil {
				out, err = s.device(ctx, reg, o)
			}
		}
	} else {
		out, err = s.pkce(ctx, reg, o)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	exp := now.Add(time.Duration(out.ExpiresIn) * time.Second)
	tok := source.SSOToken{StartURL: s.StartURL, Region: s.Region, AccessToken: aws.ToString(out.AccessToken), ExpiresAt: source.FormatSSOTime(exp),
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RegistrationExpiresAt: reg.ExpiresAt, RefreshToken: aws.ToString(out.RefreshToken)}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("sso login for %s: SSO-OIDC's CreateToken answer holds no access token", s.what())
	}
	if err := source.WriteSSOToken(file, tok, nil); err != nil {
		return nil, fmt.Errorf("sso login for %s: write the token cache: %w", s.what(), err)
	}
	return &Token{File: file, ExpiresAt: exp.UTC().Truncate(time.Second), Refreshable: tok.RefreshToken != "", Registration: regFile}, nil
}

// registration returns the cached client registration, or registers.
func (s *Session) registration(ctx context.Context, flow Flow, force bool) (source.SSORegistration, string, error) {
	path, err := s.RegistrationFile()
	if err != nil {
		return source.SSORegistration{}, "", err
	}
	if r, err := source.ReadSSORegistration(path); err == nil && !force && r.ClientID != "" && r.ClientSecret != "" {
		if exp, err := source.ParseSSOTime(r.ExpiresAt); err == nil && s.now().Add(registrationWindow).Before(exp) {
			return r, path, nil
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A damaged file is replaced.
		_ = err
	}
	in := &ssooidc.RegisterClientInput{ClientName: aws.String(clientName(s)), ClientType: aws.String("public"), Scopes: s.scopes()}
	if flow == PKCE {
		in.GrantTypes = []string{"authorization_code", "refresh_token"}
		in.RedirectUris = []string{"http://127.0.0.1" + RedirectPath}
		in.IssuerUrl = aws.String(s.StartURL)
	}
	out, err := s.oidc().RegisterClient(ctx, in)
	if err != nil {
		return source.SSORegistration{}, "", fmt.Errorf("sso login for %s: register the client with SSO-OIDC: %w", s.what(), apiError(err))
	}
	r := source.SSORegistration{ClientID: aws.ToString(out.ClientId), ClientSecret: aws.ToString(out.ClientSecret),
		ExpiresAt: source.FormatSSOTime(time.Unix(out.ClientSecretExpiresAt, 0)), Scopes: s.scopes()}
	if err := source.WriteSSORegistration(path, r); err != nil {
		return source.SSORegistration{}, "", fmt.Errorf("sso login for %s: write the client registration: %w", s.what(), err)
	}
	return r, path, nil
}

func clientName(s *Session) string {
	if s.Name != "" {
		return "credkit-client-" + s.Name
	}
	return "credkit-client-" + strconv.FormatInt(s.now().Unix(), 10)
}

// keepAPIError is apiError that errors.As still finds the SDK's typed
// error in.
func keepAPIError(err error) error {
	return &sdkError{msg: apiError(err).Error(), err: err}
}

type sdkError struct {
	msg string
	err error
}

func (e *sdkError) Error() string { return e.msg }
func (e *sdkError) Unwrap() error { return e.err }

// apiError keeps an SDK error's code and message, never the request.
func apiError(err error) error {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}

// randomString is n random characters of the URL-safe base64 alphabet.
func randomString(n int) string {
	b := make([]byte, (n*6+7)/8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// Challenge is the S256 code challenge of a verifier.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// callback is what reached the redirect URI.
type callback struct {
	code string
	err  error
}

// pkce runs the authorization code flow with PKCE.
func (s *Session) pkce(ctx context.Context, reg source.SSORegistration, o LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(o.RedirectPort))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("--redirect-port %d: 127.0.0.1:%d is in use; pick another port, or leave --redirect-port out to use a free one", o.RedirectPort, o.RedirectPort)
		}
		return nil, fmt.Errorf("sso login: listen on 127.0.0.1 for the redirect: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	redirect := "http://127.0.0.1:" + strconv.Itoa(port) + RedirectPath
	verifier := randomString(64)
	stateBytes := make([]byte, 16)
	rand.Read(stateBytes)
	state := hex.EncodeToString(stateBytes)
	q := url.Values{
		"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {redirect}, "state": {state},
		"code_challenge_method": {"S256"}, "scopes": {strings.Join(s.scopes(), " ")}, "code_challenge": {Challenge(verifier)},
	}
	authURL := s.oidcBase() + "/authorize?" + q.Encode()

	got := make(chan callback, 2)
	accept := func(v url.Values) (int, string) {
		if subtle.ConstantTimeCompare([]byte(v.Get("state")), []byte(state)) != 1 {
			return http.StatusBadRequest, "The sign-in's state does not match: this redirect was not started by this login. Close this page."
		}
		if e := v.Get("error"); e != "" {
			select {
			case got <- callback{err: fmt.Errorf("sso login for %s: Identity Center refused the sign-in: %s %s", s.what(), oneLine(e), oneLine(v.Get("error_description")))}:
			default:
			}
			return http.StatusOK, "The sign-in was refused. You can close this page."
		}
		if v.Get("code") == "" {
			return http.StatusBadRequest, "The redirect carries no authorization code."
		}
		select {
		case got <- callback{code: v.Get("code")}:
		default:
		}
		return http.StatusOK, "Signed in. You can close this page and return to the terminal."
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != RedirectPath {
			http.NotFound(w, r)
			return
		}
		status, msg := accept(r.URL.Query())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html><title>credkit sso login</title><p>%s</p>", html.EscapeString(msg))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if !o.NoBrowser {
		_ = o.UI.OpenBrowser(authURL)
	}
	o.UI.Authorize(authURL)
	go func() {
		pasted, err := o.UI.PasteCallback(ctx)
		if err != nil || strings.TrimSpace(pasted) == "" {
			return
		}
		u, err := url.Parse(strings.TrimSpace(pasted))
		if err != nil || u.Path != RedirectPath {
			select {
			case got <- callback{err: fmt.Errorf("sso login: the pasted text is not the %s URL the browser ended at; run the login again and paste the whole address", RedirectPath)}:
			default:
			}
			return
		}
		if status, msg := accept(u.Query()); status != http.StatusOK {
			select {
			case got <- callback{err: fmt.Errorf("sso login: the pasted URL was refused: %s", msg)}:
			default:
			}
		}
	}()
	var cb callback
	select {
	case cb = <-got:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("sso login for %s: %w (waited %s for the browser's redirect to %s); run the login again", s.what(), ErrTimeout, o.Timeout, redirect)
		}
		return nil, ctx.Err()
	}
	if cb.err != nil {
		return nil, cb.err
	}
	out, err := s.oidc().CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), GrantType: aws.String("authorization_code"),
		Code: aws.String(cb.code), RedirectUri: aws.String(redirect), CodeVerifier: aws.String(verifier),
	})
	if err != nil {
		return nil, fmt.Errorf("sso login for %s: exchange the authorization code: %w", s.what(), apiError(err))
	}
	return out, nil
}

// oneLine keeps the first line of a text from the network, short.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// AWSSignInHost reports whether host is an AWS sign-in domain.
func AWSSignInHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range []string{"amazonaws.com", "amazonaws.com.cn", "awsapps.com", "awsapps.cn", "aws", "amazon.com", "signin.aws"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// device runs the device authorization flow.
func (s *Session) device(ctx context.Context, reg source.SSORegistration, o LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	c := s.oidc()
	da, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(s.StartURL),
	})
	if err != nil {
		return nil, fmt.Errorf("sso login for %s: start the device authorization: %w", s.what(), keepAPIError(err))
	}
	expires := s.now().Add(time.Duration(da.ExpiresIn) * time.Second)
	d := DeviceCode{UserCode: aws.ToString(da.UserCode), VerificationURI: aws.ToString(da.VerificationUri),
		VerificationURIComplete: aws.ToString(da.VerificationUriComplete), ExpiresAt: expires}
	if u, err := url.Parse(d.VerificationURI); err != nil || !AWSSignInHost(u.Hostname()) {
		host := d.VerificationURI
		if err == nil {
			host = u.Hostname()
		}
		d.Warning = fmt.Sprintf("the verification URL's host %s is not an AWS sign-in domain: enter the code only if you trust it", host)
	}
	o.UI.DeviceCode(d)
	if !o.NoBrowser && d.VerificationURIComplete != "" {
		_ = o.UI.OpenBrowser(d.VerificationURIComplete)
	}
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = DefaultInterval
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	in := &ssooidc.CreateTokenInput{ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
		GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: da.DeviceCode}
	for first := true; ; first = false {
		if !first {
			if err := sleep(ctx, interval); err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return nil, fmt.Errorf("sso login for %s: %w (waited %s for the approval of the device code)", s.what(), ErrTimeout, o.Timeout)
				}
				return nil, err
			}
		}
		if !s.now().Before(expires) {
			return nil, fmt.Errorf("sso login for %s: the device code expired before the sign-in was approved; run the login again", s.what())
		}
		out, err := c.CreateToken(ctx, in)
		var (
			pending *types.AuthorizationPendingException
			slow    *types.SlowDownException
			expired *types.ExpiredTokenException
		)
		switch {
		case err == nil:
			return out, nil
		case errors.As(err, &pending):
		case errors.As(err, &slow):
			interval += SlowDownDelay
		case errors.As(err, &expired):
			return nil, fmt.Errorf("sso login for %s: the device code expired before the sign-in was approved; run the login again", s.what())
		default:
			return nil, fmt.Errorf("sso login for %s: %w", s.what(), apiError(err))
		}
	}
}
