package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/awsenv"
)

// Environment variables read by NewContainer.
const (
	EnvContainerRelativeURI   = awsenv.ContainerRelativeURI
	EnvContainerFullURI       = awsenv.ContainerFullURI
	EnvContainerAuthToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvContainerAuthTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
)

// ContainerHostECS is the host that AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
// is relative to: the ECS agent's credential endpoint, always plain http.
const ContainerHostECS = "http://169.254.170.2"

// Defaults of ContainerOptions.
const (
	DefaultContainerConnectTimeout = 1 * time.Second
	DefaultContainerTimeout        = 5 * time.Second
	DefaultContainerAttempts       = 3
)

// ErrNotConfigured is wrapped by the error that Retrieve returns for a
// source that the environment does not turn on (no container endpoint
// variable is set, instance metadata is disabled). The message says why.
var ErrNotConfigured = errors.New("not configured")

// ContainerOptions tune a Container. The zero value gives the defaults.
type ContainerOptions struct {
	// HTTPClient makes the requests. nil means a client that gives up
	// connecting after ConnectTimeout, uses no proxy for plain http (the
	// endpoint is a loopback or link-local address that a proxy cannot
	// reach, and the token must not go to one), uses the proxy from the
	// environment for https, follows no redirect and, for plain http,
	// refuses at connect time an address that is not one of the allowed
	// hosts (so a name that resolves differently later is still refused).
	HTTPClient *http.Client
	// ConnectTimeout bounds connecting (DefaultContainerConnectTimeout when
	// zero). Not used with HTTPClient.
	ConnectTimeout time.Duration
	// Timeout bounds a whole Retrieve, retries included
	// (DefaultContainerTimeout when zero). It also bounds the host name
	// lookup that NewContainer does for a plain-http full URI.
	Timeout time.Duration
	// Attempts is how many requests a Retrieve makes at most when the
	// endpoint cannot be reached or answers 429 or 5xx
	// (DefaultContainerAttempts when zero).
	Attempts int
	// LookupHost resolves a host name of AWS_CONTAINER_CREDENTIALS_FULL_URI
	// (net.DefaultResolver.LookupHost when nil).
	LookupHost func(ctx context.Context, host string) ([]string, error)
}

// Container gets credentials from a container credential endpoint: the ECS
// agent (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), EKS Pod Identity or any
// endpoint that speaks the same protocol (AWS_CONTAINER_CREDENTIALS_FULL_URI),
// as aws-sdk-go-v2's endpointcreds and botocore's ContainerProvider do.
//
// Each Retrieve sends one GET (retried on failure to connect, 429 and 5xx)
// with "Accept: application/json" and, when a token is configured,
// "Authorization: <token>". The token comes from the file named by
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read again on every request so
// that a rotated token is picked up, else from
// AWS_CONTAINER_AUTHORIZATION_TOKEN. The token never appears in an error.
//
// A Container is safe for concurrent use.
type Container struct {
	url       *url.URL
	varName   string // the variable the URL came from
	display   string // the URL as it may be shown (no password)
	token     string
	tokenFile string
	client    *http.Client
	timeout   time.Duration
	attempts  int

	reason        string // see Reason
	notConfigured error
}

// ContainerEndpointError is an error answer of a container endpoint: its
// HTTP status and, when the body is the JSON {"code": ..., "message": ...}
// that the endpoints send, the code and message. Otherwise Message is the
// start of the body.
type ContainerEndpointError struct {
	URL        string
	StatusCode int
	Code       string
	Message    string
	// TokenSent says whether the request carried an Authorization header.
	TokenSent bool
}

func (e *ContainerEndpointError) Error() string {
	s := fmt.Sprintf("container endpoint %s answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.Code != "" && e.Message != "":
		s += ": " + e.Code + ": " + e.Message
	case e.Code != "":
		s += ": " + e.Code
	case e.Message != "":
		s += ": " + e.Message
	}
	switch {
	case (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) && e.TokenSent:
		s += fmt.Sprintf(" (check the token from %s or %s)", EnvContainerAuthTokenFile, EnvContainerAuthToken)
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		s += fmt.Sprintf(" (no authorization token was sent: %s and %s are not set)", EnvContainerAuthTokenFile, EnvContainerAuthToken)
	case e.StatusCode >= 300 && e.StatusCode < 400:
		s += " (redirects are not followed)"
	}
	return s
}

// NewContainer reads the container endpoint configuration from the
// environment (getenv nil means os.Getenv), with the SDKs' precedence:
//
//   - AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, when set, wins: the URL is
//     http://169.254.170.2 followed by it (it must start with "/").
//   - Else AWS_CONTAINER_CREDENTIALS_FULL_URI: https to any host, or plain
//     http only to a loopback address (127.0.0.0/8, ::1), 169.254.170.2
//     (ECS), 169.254.170.23 or fd00:ec2::23 (EKS Pod Identity). A host name
//     is resolved, and every address must be one of those (aws-sdk-go-v2's
//     rule; botocore instead accepts the name "localhost" and IP literals
//     only).
//   - AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE wins over
//     AWS_CONTAINER_AUTHORIZATION_TOKEN, in both SDKs.
//
// configured is false, with no error, when neither URI variable is set; the
// Container's Retrieve then returns an error wrapping ErrNotConfigured. A
// URI that breaks the rules is an error naming the variable and the rule.
func NewContainer(getenv func(string) string, opts ContainerOptions) (c *Container, configured bool, err error) {
	getenv = orEnv(getenv)
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultContainerConnectTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultContainerTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultContainerAttempts
	}
	if opts.LookupHost == nil {
		opts.LookupHost = net.DefaultResolver.LookupHost
	}

	c = &Container{
		token:     getenv(EnvContainerAuthToken),
		tokenFile: getenv(EnvContainerAuthTokenFile),
		timeout:   opts.Timeout,
		attempts:  opts.Attempts,
	}
	rel, full := getenv(EnvContainerRelativeURI), getenv(EnvContainerFullURI)
	switch {
	case rel != "":
		if !strings.HasPrefix(rel, "/") {
			return nil, false, fmt.Errorf("%s=%q must start with \"/\": it is a path on %s", EnvContainerRelativeURI, truncate(rel, 80), ContainerHostECS)
		}
		u, err := url.Parse(ContainerHostECS + rel)
		if err != nil {
			return nil, false, fmt.Errorf("%s=%q does not make a valid URL on %s: %v", EnvContainerRelativeURI, truncate(rel, 80), ContainerHostECS, unwrapURLError(err))
		}
		c.url, c.varName = u, EnvContainerRelativeURI
	case full != "":
		u, err := checkContainerFullURI(full, opts)
		if err != nil {
			return nil, false, err
		}
		c.url, c.varName = u, EnvContainerFullURI
	default:
		c.reason = fmt.Sprintf("neither %s nor %s is set", EnvContainerRelativeURI, EnvContainerFullURI)
		c.notConfigured = fmt.Errorf("container endpoint: %w: %s", ErrNotConfigured, c.reason)
		return c, false, nil
	}
	c.display = c.url.Redacted()
	c.reason = c.varName + "=" + c.displayVarValue()
	switch {
	case c.tokenFile != "":
		c.reason += ", token from " + EnvContainerAuthTokenFile + "=" + c.tokenFile
	case c.token != "":
		c.reason += ", token from " + EnvContainerAuthToken
	}

	c.client = opts.HTTPClient
	if c.client == nil {
		c.client = newContainerHTTPClient(opts.ConnectTimeout, c.url.Scheme == "http")
	}
	return c, true, nil
}

// checkContainerFullURI applies the SDKs' rules to
// AWS_CONTAINER_CREDENTIALS_FULL_URI.
func checkContainerFullURI(raw string, opts ContainerOptions) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not a URL: %v", EnvContainerFullURI, unwrapURLError(err))
	}
	shown := u.Redacted()
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s=%s must start with https:// (or http:// for a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23)", EnvContainerFullURI, shown)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%s=%s has no host", EnvContainerFullURI, shown)
	}
	if u.Scheme == "https" {
		return u, nil
	}
	const rule = "plain http is allowed only to a loopback address, 169.254.170.2 (ECS), 169.254.170.23 or fd00:ec2::23 (EKS Pod Identity); use https for any other host"
	if ip := net.ParseIP(host); ip != nil {
		if !containerIPAllowed(ip) {
			return nil, fmt.Errorf("%s=%s: %s", EnvContainerFullURI, shown, rule)
		}
		return u, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	addrs, err := opts.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: cannot resolve %s to check that it is a loopback address (%s): %v", EnvContainerFullURI, shown, host, rule, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s=%s: %s resolves to no address", EnvContainerFullURI, shown, host)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !containerIPAllowed(ip) {
			return nil, fmt.Errorf("%s=%s: %s resolves to %s: %s", EnvContainerFullURI, shown, host, a, rule)
		}
	}
	return u, nil
}

var containerIPs = []net.IP{
	net.IPv4(169, 254, 170, 2),  // ECS
	net.IPv4(169, 254, 170, 23), // EKS Pod Identity
	net.ParseIP("fd00:ec2::23"), // EKS Pod Identity, IPv6
}

// containerIPAllowed is aws-sdk-go-v2's rule for plain-http endpoints.
func containerIPAllowed(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	for _, a := range containerIPs {
		if ip.Equal(a) {
			return true
		}
	}
	return false
}

// newContainerHTTPClient is the default client of a Container.
func newContainerHTTPClient(connect time.Duration, plainHTTP bool) *http.Client {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	if plainHTTP {
		d.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !containerIPAllowed(ip) {
				return fmt.Errorf("refusing plain http to %s: not a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23", host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme == "http" {
				return nil, nil
			}
			return http.ProxyFromEnvironment(r)
		},
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        2,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirects}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Reason says, without a network call, how the endpoint is configured
// ("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8080/creds, token
// from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/token") or, when it
// is not, why not. It never shows the token.
func (c *Container) Reason() string { return c.reason }

// URL is the endpoint as it may be shown (a password in it is masked);
// empty when not configured. The URL holds no secret: the token travels in
// a header.
func (c *Container) URL() string { return c.display }

// Source is what Retrieve puts in Credentials.Source, e.g.
// "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8080/creds)".
func (c *Container) Source() string {
	if c.url == nil {
		return "container endpoint"
	}
	return fmt.Sprintf("container endpoint (%s=%s)", c.varName, c.displayVarValue())
}

// displayVarValue is the variable's value as it may be shown.
func (c *Container) displayVarValue() string {
	if c.varName == EnvContainerRelativeURI {
		return strings.TrimPrefix(c.display, ContainerHostECS)
	}
	return c.display
}

// containerResponse is the body of a successful answer.
type containerResponse struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId"`
}

// maxEndpointBody bounds what is read of an endpoint's answer.
const maxEndpointBody = 1 << 20

// Retrieve asks the endpoint for credentials. The answer is the JSON
// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration" (RFC 3339),
// "AccountId"}; the two keys are required, the rest optional (as in
// aws-sdk-go-v2; botocore requires Token and Expiration). An error answer
// gives a *ContainerEndpointError.
func (c *Container) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if c.notConfigured != nil {
		return creds.Credentials{}, c.notConfigured
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cr, retry, err := c.once(ctx)
		if err == nil {
			return cr, nil
		}
		if ctx.Err() != nil {
			return creds.Credentials{}, c.contextError(parent, ctx, err)
		}
		if !retry || attempt >= c.attempts {
			if attempt > 1 {
				return creds.Credentials{}, fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return creds.Credentials{}, err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return creds.Credentials{}, c.contextError(parent, ctx, err)
		case <-t.C:
		}
		backoff *= 2
	}
}

// contextError explains a Retrieve cut short by its timeout or by the
// caller's context.
func (c *Container) contextError(parent, ctx context.Context, last error) error {
	if parent.Err() != nil {
		return fmt.Errorf("container endpoint %s: %w", c.display, parent.Err())
	}
	return fmt.Errorf("container endpoint %s: no answer within %v (ContainerOptions.Timeout); last error: %v: %w",
		c.display, c.timeout, last, context.DeadlineExceeded)
}

// authToken is the token to send, read from the file each time.
func (c *Container) authToken() (string, error) {
	tok, from := c.token, EnvContainerAuthToken
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", fmt.Errorf("container endpoint: reading the authorization token (%s): %w", EnvContainerAuthTokenFile, err)
		}
		tok, from = string(b), fmt.Sprintf("the file %s (%s)", c.tokenFile, EnvContainerAuthTokenFile)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("container endpoint: the authorization token in %s contains a line break, which cannot go in an HTTP header "+
			"(the AWS SDKs refuse it too; a trailing newline? write the token with printf '%%s', not echo)", from)
	}
	return tok, nil
}

// once makes one request; retry says whether another attempt may help.
func (c *Container) once(ctx context.Context) (cr creds.Credentials, retry bool, err error) {
	tok, err := c.authToken()
	if err != nil {
		return creds.Credentials{}, false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url.String(), nil)
	if err != nil {
		return creds.Credentials{}, false, fmt.Errorf("container endpoint %s: %v", c.display, err)
	}
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return creds.Credentials{}, true, fmt.Errorf("cannot reach container endpoint %s: %v", c.display, redactSecrets(unwrapURLError(err).Error(), tok))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEndpointBody+1))
	if err != nil {
		return creds.Credentials{}, true, fmt.Errorf("container endpoint %s: reading the answer: %v", c.display, err)
	}
	if len(body) > maxEndpointBody {
		return creds.Credentials{}, false, fmt.Errorf("container endpoint %s: the answer is larger than %d bytes", c.display, maxEndpointBody)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &ContainerEndpointError{URL: c.display, StatusCode: resp.StatusCode, TokenSent: tok != ""}
		var shape struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &shape) == nil && (shape.Code != "" || shape.Message != "") {
			e.Code = redactSecrets(oneLine(shape.Code, 100), tok)
			e.Message = redactSecrets(oneLine(shape.Message, 300), tok)
		} else if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			e.Message = "to " + oneLine(resp.Header.Get("Location"), 200)
		} else {
			e.Message = redactSecrets(oneLine(string(body), 300), tok)
		}
		retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return creds.Credentials{}, retry, e
	}

	var r containerResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return creds.Credentials{}, false, fmt.Errorf("container endpoint %s: the answer is not the credentials JSON (%d bytes, Content-Type %q): %s",
			c.display, len(body), resp.Header.Get("Content-Type"), jsonProblem(err))
	}
	var missing []string
	if r.AccessKeyID == "" {
		missing = append(missing, "AccessKeyId")
	}
	if r.SecretAccessKey == "" {
		missing = append(missing, "SecretAccessKey")
	}
	if len(missing) > 0 {
		return creds.Credentials{}, false, fmt.Errorf("container endpoint %s: the answer has no %s", c.display, strings.Join(missing, " or "))
	}
	cr = creds.Credentials{
		AccessKeyID:     r.AccessKeyID,
		SecretAccessKey: r.SecretAccessKey,
		SessionToken:    r.Token,
		AccountID:       r.AccountID,
		Source:          c.Source(),
	}
	if r.Expiration != "" {
		t, err := time.Parse(time.RFC3339, r.Expiration)
		if err != nil {
			return creds.Credentials{}, false, fmt.Errorf("container endpoint %s: Expiration %q is not an RFC 3339 time such as 2006-01-02T15:04:05Z",
				c.display, truncate(r.Expiration, 40))
		}
		cr.Expires = t
	}
	return cr, false, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactSecrets replaces every occurrence of each non-empty secret in s.
func redactSecrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "(redacted)")
		}
	}
	return s
}

// oneLine makes s fit on one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, n)
}

// jsonProblem describes a JSON decoding error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("it is a JSON %s, not an object", te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("%s is a JSON %s, not a %s", te.Field, te.Value, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	}
	return "invalid JSON"
}
