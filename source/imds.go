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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/awsenv"
)

// Environment variables read by NewIMDS.
const (
	EnvEC2MetadataDisabled     = "AWS_EC2_METADATA_DISABLED"
	EnvEC2MetadataV1Disabled   = "AWS_EC2_METADATA_V1_DISABLED"
	EnvEC2MetadataEndpoint     = awsenv.IMDSEndpoint
	EnvEC2MetadataEndpointMode = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"
)

// The instance metadata service's addresses.
const (
	IMDSEndpointIPv4 = "http://169.254.169.254"
	IMDSEndpointIPv6 = "http://[fd00:ec2::254]"
)

// Defaults of IMDSOptions.
const (
	DefaultIMDSConnectTimeout = 1 * time.Second
	DefaultIMDSRequestTimeout = 2 * time.Second
	DefaultIMDSTimeout        = 5 * time.Second
	DefaultIMDSAttempts       = 2
	// DefaultIMDSTokenTTL is the lifetime asked for an IMDSv2 token: the
	// maximum, as botocore asks.
	DefaultIMDSTokenTTL = 6 * time.Hour
)

// The IMDSv2 protocol.
const (
	imdsTokenPath      = "/latest/api/token"
	imdsRolesPath      = "/latest/meta-data/iam/security-credentials/"
	imdsTokenHeader    = "X-aws-ec2-metadata-token"
	imdsTokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	maxIMDSBody        = 64 << 10
)

var (
	// ErrNoIMDS is wrapped by the error for an instance metadata service
	// that cannot be connected to: not on EC2, or the service is off.
	ErrNoIMDS = errors.New("no instance metadata service")
	// ErrIMDSv1Disabled is wrapped by the error for an instance where
	// IMDSv2 fails and the fallback to IMDSv1 is disabled.
	ErrIMDSv1Disabled = errors.New("IMDSv1 is disabled")
	// ErrNoInstanceRole is wrapped by the error for an instance without an
	// IAM role (instance profile).
	ErrNoInstanceRole = errors.New("no IAM role attached to the instance")
)

// IMDSOptions tune an IMDS. The zero value gives the defaults.
type IMDSOptions struct {
	// HTTPClient makes the requests. nil means a client that gives up
	// connecting after ConnectTimeout, uses no proxy and follows no
	// redirect.
	HTTPClient *http.Client
	// ConnectTimeout bounds connecting (DefaultIMDSConnectTimeout when
	// zero). Not used with HTTPClient. A failure to connect is not retried:
	// it means there is no metadata service.
	ConnectTimeout time.Duration
	// RequestTimeout bounds one request (DefaultIMDSRequestTimeout when
	// zero). A token request that gets no answer in time falls back to
	// IMDSv1, as in the SDKs: inside a container, a hop limit of 1 drops
	// the answer to the token request but not to the others.
	RequestTimeout time.Duration
	// Timeout bounds a whole Retrieve (DefaultIMDSTimeout when zero).
	Timeout time.Duration
	// Attempts is how many times a request is made at most when it gets no
	// answer or a 5xx (DefaultIMDSAttempts when zero).
	Attempts int
	// TokenTTL is the lifetime asked for an IMDSv2 token, between 1s and
	// 6h (DefaultIMDSTokenTTL when zero). A token is used again until
	// shortly before it expires.
	TokenTTL time.Duration
	// Now is the clock for token reuse (time.Now when nil).
	Now func() time.Time

	// The profile's settings ec2_metadata_service_endpoint,
	// ec2_metadata_service_endpoint_mode and ec2_metadata_v1_disabled.
	// The environment variables win over them, as in the SDKs.
	Endpoint     string
	EndpointMode string
	V1Disabled   bool
}

// IMDS gets the credentials of the EC2 instance's IAM role from the
// instance metadata service, as aws-sdk-go-v2's ec2rolecreds and
// botocore's InstanceMetadataProvider do.
//
// Retrieve gets an IMDSv2 token (PUT /latest/api/token with
// X-aws-ec2-metadata-token-ttl-seconds), reused until shortly before it
// expires, then the role name (GET /latest/meta-data/iam/security-credentials/)
// and the role's credentials (GET .../ROLE), both with
// X-aws-ec2-metadata-token. When the token request gets 403, 404 or 405,
// no answer, or 5xx, it falls back to IMDSv1 (the same GETs without a
// token) unless IMDSv1 is disabled; a 400 is an error. A GET that gets 401
// gets a fresh token and is made once more. No token appears in an error.
//
// An IMDS is safe for concurrent use.
type IMDS struct {
	base       *url.URL
	display    string
	endpointOf string // what chose the endpoint
	client     *http.Client
	v1Disabled string // why IMDSv1 is disabled; empty when enabled
	ttl        time.Duration
	reqTimeout time.Duration
	timeout    time.Duration
	attempts   int
	now        func() time.Time

	reason        string // see Reason
	notConfigured error

	mu           sync.Mutex
	token        string
	tokenExpires time.Time
}

// NewIMDS reads the instance metadata configuration from the environment
// (getenv nil means os.Getenv) and opts:
//
//   - AWS_EC2_METADATA_DISABLED=true (any case) turns the source off:
//     configured is false and Retrieve returns an error wrapping
//     ErrNotConfigured that says so. "false" or unset leaves it on; any
//     other value is an error (the SDKs ignore it and use the service).
//   - AWS_EC2_METADATA_SERVICE_ENDPOINT, else opts.Endpoint, is the
//     service's URL (http or https); a path in it is kept as a prefix, as
//     botocore does (aws-sdk-go-v2 drops it).
//   - Else AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, else opts.EndpointMode:
//     IPv4 (the default, http://169.254.169.254) or IPv6
//     (http://[fd00:ec2::254]), in any case; another value is an error.
//   - AWS_EC2_METADATA_V1_DISABLED=true or false, else opts.V1Disabled,
//     disables the fallback to IMDSv1; another value is an error.
func NewIMDS(getenv func(string) string, opts IMDSOptions) (m *IMDS, configured bool, err error) {
	getenv = orEnv(getenv)
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultIMDSConnectTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultIMDSRequestTimeout
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultIMDSTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultIMDSAttempts
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = DefaultIMDSTokenTTL
	}
	if opts.TokenTTL < time.Second || opts.TokenTTL > 6*time.Hour {
		return nil, false, fmt.Errorf("EC2 instance metadata: IMDSOptions.TokenTTL is %v; it must be between 1s and 6h", opts.TokenTTL)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m = &IMDS{
		ttl:        opts.TokenTTL.Truncate(time.Second),
		reqTimeout: opts.RequestTimeout,
		timeout:    opts.Timeout,
		attempts:   opts.Attempts,
		now:        opts.Now,
	}

	disabled, set, err := envBool(getenv, EnvEC2MetadataDisabled)
	if err != nil {
		return nil, false, fmt.Errorf("EC2 instance metadata: %w (the AWS SDKs ignore such a value and use the service)", err)
	}
	if set && disabled {
		m.reason = fmt.Sprintf("disabled by %s=%s", EnvEC2MetadataDisabled, getenv(EnvEC2MetadataDisabled))
		m.notConfigured = fmt.Errorf("EC2 instance metadata: %w: it is %s", ErrNotConfigured, m.reason)
		return m, false, nil
	}

	v1Off, set, err := envBool(getenv, EnvEC2MetadataV1Disabled)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("EC2 instance metadata: %w", err)
	case set && v1Off:
		m.v1Disabled = EnvEC2MetadataV1Disabled + "=" + getenv(EnvEC2MetadataV1Disabled)
	case !set && opts.V1Disabled:
		m.v1Disabled = "ec2_metadata_v1_disabled = true"
	}

	mode, modeFrom := getenv(EnvEC2MetadataEndpointMode), EnvEC2MetadataEndpointMode
	if mode == "" {
		mode, modeFrom = opts.EndpointMode, "ec2_metadata_service_endpoint_mode"
	}
	endpoint, endpointFrom := IMDSEndpointIPv4, "the default"
	switch mode = strings.TrimSpace(mode); {
	case mode == "" || strings.EqualFold(mode, "IPv4"):
	case strings.EqualFold(mode, "IPv6"):
		endpoint, endpointFrom = IMDSEndpointIPv6, modeFrom+"="+mode
	default:
		return nil, false, fmt.Errorf("EC2 instance metadata: %s=%q: want IPv4 or IPv6", modeFrom, truncate(mode, 40))
	}
	if v := getenv(EnvEC2MetadataEndpoint); v != "" {
		endpoint, endpointFrom = v, EnvEC2MetadataEndpoint
	} else if opts.Endpoint != "" {
		endpoint, endpointFrom = opts.Endpoint, "ec2_metadata_service_endpoint"
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("EC2 instance metadata: %s is not a URL: %v", endpointFrom, unwrapURLError(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, false, fmt.Errorf("EC2 instance metadata: %s=%s must start with http:// or https://", endpointFrom, u.Redacted())
	case u.Host == "":
		return nil, false, fmt.Errorf("EC2 instance metadata: %s=%s has no host", endpointFrom, u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	m.base, m.display, m.endpointOf = u, u.Redacted(), endpointFrom
	m.reason = fmt.Sprintf("endpoint %s (%s)", m.display, endpointFrom)
	if m.v1Disabled != "" {
		m.reason += ", IMDSv1 disabled by " + m.v1Disabled
	}

	m.client = opts.HTTPClient
	if m.client == nil {
		d := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
		m.client = &http.Client{
			Transport: &http.Transport{
				DialContext:         d.DialContext,
				TLSHandshakeTimeout: opts.RequestTimeout,
				MaxIdleConns:        2,
				IdleConnTimeout:     30 * time.Second,
			},
			CheckRedirect: noRedirects,
		}
	}
	return m, true, nil
}

// envBool reads a true/false variable, in any case.
func envBool(getenv func(string) string, name string) (value, set bool, err error) {
	v := getenv(name)
	switch {
	case v == "":
		return false, false, nil
	case strings.EqualFold(v, "true"):
		return true, true, nil
	case strings.EqualFold(v, "false"):
		return false, true, nil
	}
	return false, false, fmt.Errorf("%s=%q: want true or false", name, truncate(v, 40))
}

// Reason says, without a network call, how the source is configured
// ("endpoint http://169.254.169.254 (the default)", with the IMDSv1 setting
// when it is disabled) or, when it is not, why not ("disabled by
// AWS_EC2_METADATA_DISABLED=true"). Configured does not mean that a
// service answers: only Retrieve finds out.
func (m *IMDS) Reason() string { return m.reason }

// Endpoint is the service's URL and what chose it (a variable's name,
// "the default", ...); both empty when not configured.
func (m *IMDS) Endpoint() (url, from string) { return m.display, m.endpointOf }

// imdsSession is what one Retrieve knows about the token.
type imdsSession struct {
	token    string // empty: IMDSv1
	v1Reason string // why IMDSv1 is used
	renewed  bool   // a 401 has already caused a fresh token
}

// v1Note says, for an error in IMDSv1 mode, why IMDSv1 was used.
func (s *imdsSession) v1Note() string {
	if s.token != "" {
		return ""
	}
	return " (with IMDSv1, because " + s.v1Reason + ")"
}

// attemptsNote mentions the attempts made, when more than one.
func attemptsNote(n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" (after %d attempts)", n)
}

// imdsCanceled is a request cut short by Retrieve's context: its timeout
// or the caller's.
type imdsCanceled struct {
	step string
	err  error
}

func (e *imdsCanceled) Error() string { return e.step + ": " + e.err.Error() }
func (e *imdsCanceled) Unwrap() error { return e.err }

// imdsStatusError is an answer other than 200.
type imdsStatusError struct {
	path   string
	status int
}

func (e *imdsStatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.path, e.status, http.StatusText(e.status))
}

// Retrieve gets the role's credentials. The answer must have Code
// "Success" (any case, as aws-sdk-go-v2 checks) and AccessKeyId,
// SecretAccessKey, Token and Expiration (RFC 3339), as botocore requires;
// AccountId is used when present. The expiry is the service's, not capped
// at one hour as aws-sdk-go-v2's cache does.
func (m *IMDS) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if m.notConfigured != nil {
		return creds.Credentials{}, m.notConfigured
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	c, err := m.retrieve(ctx)
	var ce *imdsCanceled
	if errors.As(err, &ce) {
		if parent.Err() != nil {
			return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: stopped %s: %w", m.display, ce.step, parent.Err())
		}
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: no complete answer within %v (IMDSOptions.Timeout), %s: %w",
			m.display, m.timeout, ce.step, context.DeadlineExceeded)
	}
	return c, err
}

func (m *IMDS) retrieve(ctx context.Context) (creds.Credentials, error) {
	s := &imdsSession{}
	if err := m.session(ctx, s, false); err != nil {
		return creds.Credentials{}, err
	}

	body, err := m.get(ctx, s, imdsRolesPath)
	var se *imdsStatusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: %w (%s answered 404); attach an instance profile with a role to the instance",
			m.display, ErrNoInstanceRole, imdsRolesPath)
	}
	if err != nil {
		return creds.Credentials{}, err
	}
	// The first line, as aws-sdk-go-v2 reads it; an instance has one role.
	line, _, _ := strings.Cut(string(body), "\n")
	role := strings.TrimSpace(line)
	if role == "" {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: %w (%s is empty); attach an instance profile with a role to the instance",
			m.display, ErrNoInstanceRole, imdsRolesPath)
	}
	if strings.ContainsAny(role, "/?#%\\ \t") {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: %s gave the role name %q, which is not a valid IAM role name",
			m.display, imdsRolesPath, truncate(role, 64))
	}

	body, err = m.get(ctx, s, imdsRolesPath+role)
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: %s; the role %s has no credentials (did the instance profile just change?)",
			m.display, se, role)
	}
	if err != nil {
		return creds.Credentials{}, err
	}
	var r struct {
		Code            string
		Message         string
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
		AccountID       string `json:"AccountId"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: the credentials of role %s are not the expected JSON (%d bytes): %s",
			m.display, role, len(body), jsonProblem(err))
	}
	if !strings.EqualFold(r.Code, "Success") {
		msg := fmt.Sprintf("EC2 instance metadata at %s: the credentials of role %s have Code %q, not \"Success\"", m.display, role, oneLine(r.Code, 60))
		if r.Message != "" {
			msg += ": " + oneLine(r.Message, 300)
		}
		return creds.Credentials{}, errors.New(msg)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"AccessKeyId", r.AccessKeyID}, {"SecretAccessKey", r.SecretAccessKey}, {"Token", r.Token}, {"Expiration", r.Expiration},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: the credentials of role %s have no %s",
			m.display, role, strings.Join(missing, ", "))
	}
	exp, err := time.Parse(time.RFC3339, r.Expiration)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("EC2 instance metadata at %s: the credentials of role %s have Expiration %q, not an RFC 3339 time such as 2006-01-02T15:04:05Z",
			m.display, role, truncate(r.Expiration, 40))
	}
	return creds.Credentials{
		AccessKeyID:     r.AccessKeyID,
		SecretAccessKey: r.SecretAccessKey,
		SessionToken:    r.Token,
		Expires:         exp,
		AccountID:       r.AccountID,
		Source:          fmt.Sprintf("EC2 instance metadata (role %s)", role),
	}, nil
}

// tokenMargin is how long before its expiry a token is replaced.
func (m *IMDS) tokenMargin(ttl time.Duration) time.Duration {
	return min(ttl/10, time.Minute)
}

// session sets s.token to a valid token (the stored one unless fresh), or
// to "" with s.v1Reason when IMDSv1 is to be used.
func (m *IMDS) session(ctx context.Context, s *imdsSession, fresh bool) error {
	now := m.now()
	m.mu.Lock()
	if fresh {
		m.token = ""
	}
	if m.token != "" && now.Before(m.tokenExpires) {
		s.token = m.token
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()

	tok, ttl, fallback, err := m.fetchToken(ctx)
	if err != nil {
		return err
	}
	if fallback != "" {
		if m.v1Disabled != "" {
			return fmt.Errorf("EC2 instance metadata at %s: cannot use IMDSv2: %s, and %w (%s)", m.display, fallback, ErrIMDSv1Disabled, m.v1Disabled)
		}
		s.token, s.v1Reason = "", fallback
		return nil
	}
	m.mu.Lock()
	m.token, m.tokenExpires = tok, now.Add(ttl-m.tokenMargin(ttl))
	m.mu.Unlock()
	s.token = tok
	return nil
}

// fetchToken asks for an IMDSv2 token. fallback, when not empty, says why
// IMDSv1 is to be used instead.
func (m *IMDS) fetchToken(ctx context.Context) (token string, ttl time.Duration, fallback string, err error) {
	hdr := http.Header{imdsTokenTTLHeader: {strconv.Itoa(int(m.ttl / time.Second))}}
	for attempt := 1; ; attempt++ {
		status, h, body, err := m.do(ctx, http.MethodPut, imdsTokenPath, hdr)
		var noAnswer *imdsNoAnswer
		var canceled *imdsCanceled
		switch {
		case errors.Is(err, ErrNoIMDS), errors.As(err, &canceled):
			return "", 0, "", err
		case errors.As(err, &noAnswer) && noAnswer.timeout:
			// As botocore does: no retry, fall back.
			return "", 0, fmt.Sprintf("the token request (PUT %s) got no answer within %v (inside a container, the instance's "+
				"http-put-response-hop-limit must be at least 2)", imdsTokenPath, m.reqTimeout), nil
		case err != nil:
			if attempt < m.attempts && ctx.Err() == nil {
				continue
			}
			return "", 0, fmt.Sprintf("the token request (PUT %s) failed: %v", imdsTokenPath, err), nil
		}
		switch {
		case status == http.StatusOK:
			tok := string(body)
			if tok == "" || strings.ContainsAny(tok, "\r\n") {
				return "", 0, "", fmt.Errorf("EC2 instance metadata at %s: PUT %s answered 200 without a usable token (%d bytes)", m.display, imdsTokenPath, len(body))
			}
			ttl := m.ttl
			if n, err := strconv.Atoi(h.Get(imdsTokenTTLHeader)); err == nil && n > 0 && time.Duration(n)*time.Second < ttl {
				ttl = time.Duration(n) * time.Second
			}
			return tok, ttl, "", nil
		case status == http.StatusForbidden || status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
			return "", 0, fmt.Sprintf("the token request (PUT %s) got %d %s", imdsTokenPath, status, http.StatusText(status)), nil
		case status >= 500:
			if attempt < m.attempts && ctx.Err() == nil {
				continue
			}
			return "", 0, fmt.Sprintf("the token request (PUT %s) got %d %s", imdsTokenPath, status, http.StatusText(status)), nil
		case status == http.StatusBadRequest:
			return "", 0, "", fmt.Errorf("EC2 instance metadata at %s: the token request (PUT %s with %s: %d) was refused with 400 Bad Request; "+
				"a proxy that adds X-Forwarded-For causes this", m.display, imdsTokenPath, imdsTokenTTLHeader, m.ttl/time.Second)
		}
		return "", 0, "", fmt.Errorf("EC2 instance metadata at %s: the token request (PUT %s) got %d %s", m.display, imdsTokenPath, status, http.StatusText(status))
	}
}

// get makes a GET with the session's token, retrying on no answer and 5xx,
// and once with a fresh token on 401. Answers other than 200 give an
// *imdsStatusError.
func (m *IMDS) get(ctx context.Context, s *imdsSession, path string) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		var hdr http.Header
		if s.token != "" {
			hdr = http.Header{imdsTokenHeader: {s.token}}
		}
		status, _, body, err := m.do(ctx, http.MethodGet, path, hdr)
		var canceled *imdsCanceled
		switch {
		case errors.Is(err, ErrNoIMDS), errors.As(err, &canceled):
			return nil, err
		case err != nil:
			if attempt < m.attempts && ctx.Err() == nil {
				continue
			}
			return nil, fmt.Errorf("EC2 instance metadata at %s: GET %s: %w%s%s", m.display, path, err, attemptsNote(attempt), s.v1Note())
		case status == http.StatusOK:
			return body, nil
		case status == http.StatusUnauthorized && s.token == "":
			return nil, fmt.Errorf("EC2 instance metadata at %s: the IMDSv1 request GET %s was refused (401 Unauthorized): "+
				"the instance requires IMDSv2, but %s", m.display, path, s.v1Reason)
		case status == http.StatusUnauthorized && !s.renewed:
			s.renewed = true
			if err := m.session(ctx, s, true); err != nil {
				return nil, err
			}
			attempt--
			continue
		case status == http.StatusUnauthorized:
			return nil, fmt.Errorf("EC2 instance metadata at %s: GET %s was refused (401 Unauthorized) with a fresh IMDSv2 token", m.display, path)
		case status >= 500 && attempt < m.attempts && ctx.Err() == nil:
			continue
		}
		err = &imdsStatusError{path: path, status: status}
		if status == http.StatusNotFound {
			return nil, err
		}
		return nil, fmt.Errorf("EC2 instance metadata at %s: %w%s%s", m.display, err, attemptsNote(attempt), s.v1Note())
	}
}

// imdsNoAnswer is a request that was sent (the connection was made) but got
// no complete answer.
type imdsNoAnswer struct {
	timeout bool
	err     error
}

func (e *imdsNoAnswer) Error() string { return e.err.Error() }
func (e *imdsNoAnswer) Unwrap() error { return e.err }

// do makes one request. A failure to connect wraps ErrNoIMDS; other
// failures give an *imdsNoAnswer.
func (m *IMDS) do(ctx context.Context, method, path string, hdr http.Header) (status int, h http.Header, body []byte, err error) {
	rctx, cancel := context.WithTimeout(ctx, m.reqTimeout)
	defer cancel()
	u := *m.base
	u.Path += path
	req, err := http.NewRequestWithContext(rctx, method, u.String(), nil)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("EC2 instance metadata at %s: %v", m.display, err)
	}
	for k, v := range hdr {
		for _, vv := range v {
			req.Header.Add(k, vv)
		}
	}
	resp, err := m.client.Do(req)
	if err != nil && ctx.Err() != nil {
		return 0, nil, nil, &imdsCanceled{step: fmt.Sprintf("waiting for the answer to %s %s", method, path), err: ctx.Err()}
	}
	if err != nil {
		err = unwrapURLError(err)
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return 0, nil, nil, fmt.Errorf("%w at %s (not on EC2?): cannot connect: %v", ErrNoIMDS, m.display, err)
		}
		if rctx.Err() != nil && ctx.Err() == nil {
			return 0, nil, nil, &imdsNoAnswer{timeout: true, err: fmt.Errorf("no answer within %v (IMDSOptions.RequestTimeout)", m.reqTimeout)}
		}
		var ne net.Error
		return 0, nil, nil, &imdsNoAnswer{timeout: errors.As(err, &ne) && ne.Timeout(), err: err}
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxIMDSBody+1))
	if err != nil && ctx.Err() != nil {
		return 0, nil, nil, &imdsCanceled{step: fmt.Sprintf("reading the answer to %s %s", method, path), err: ctx.Err()}
	}
	if err != nil {
		return 0, nil, nil, &imdsNoAnswer{err: fmt.Errorf("reading the answer: %v", err)}
	}
	if len(body) > maxIMDSBody {
		return 0, nil, nil, fmt.Errorf("EC2 instance metadata at %s: %s %s: the answer is larger than %d bytes", m.display, method, path, maxIMDSBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}
