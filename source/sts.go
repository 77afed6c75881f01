package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
)

// This file holds the STS providers (AssumeRole, GetSessionToken) and what
// they share with the web identity and SSO providers: client options and
// MFA prompts. API errors are in apierror.go, configured endpoints in
// endpoint.go, and the profile chain that builds AssumeRole providers from
// the shared config files (FromProfile) in profilechain.go.
//
// aws-sdk-go-v2's STS and SSO clients do the wire work; nothing of the SDK
// shows in the exported API except through errors.As on an *APIError's
// cause.

// DefaultSTSRegion is the region of the STS endpoint used when neither
// STSOptions.Region nor the environment or profile names one. (aws-sdk-go-v2
// refuses to call STS without a region; botocore uses the global endpoint,
// which lives in us-east-1.)
const DefaultSTSRegion = "us-east-1"

// Environment variables that configure endpoints, as the AWS SDKs read them.
const (
	EnvEndpointURL       = "AWS_ENDPOINT_URL"
	EnvEndpointURLSTS    = "AWS_ENDPOINT_URL_STS"
	EnvEndpointURLSSO    = "AWS_ENDPOINT_URL_SSO"
	EnvIgnoreEndpointURL = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// MFAPrompt asks a person for the current code of an MFA device. serial is
// the device's serial number or ARN (the profile's mfa_serial). Library code
// never prompts by itself: the caller (the CLI) implements this.
type MFAPrompt interface {
	MFACode(ctx context.Context, serial string) (string, error)
}

// MFAPromptFunc adapts a function to MFAPrompt.
type MFAPromptFunc func(ctx context.Context, serial string) (string, error)

// MFACode calls f.
func (f MFAPromptFunc) MFACode(ctx context.Context, serial string) (string, error) {
	return f(ctx, serial)
}

// ErrNoMFAPrompt is wrapped by the error of a provider that needs an MFA
// code (mfa_serial is set) but was given no MFAPrompt.
var ErrNoMFAPrompt = errors.New("an MFA code is needed but no MFA prompt is configured")

// STSOptions configures the STS client of a provider.
type STSOptions struct {
	// Region is the region of the STS endpoint; "" means DefaultSTSRegion.
	// (FromProfile fills it from AWS_REGION, AWS_DEFAULT_REGION or the
	// profile when it is empty.)
	Region string
	// Endpoint is the STS endpoint URL; "" means the AWS default for
	// Region. A caller honours AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL and
	// the profile's endpoint_url by passing what STSEndpoint returns;
	// FromProfile does so itself.
	Endpoint string
	// HTTPClient sends the requests; nil means the SDK's default client.
	HTTPClient *http.Client
	// Now is the clock used for expiry checks and generated session names;
	// nil means time.Now.
	Now func() time.Time
	// MFA is asked for a code when an MFA serial is set; nil means such a
	// provider fails with ErrNoMFAPrompt.
	MFA MFAPrompt
	// MaxAttempts bounds the attempts of a call, retries of throttled,
	// failed or unreachable calls included; 0 means the SDK's default (3).
	MaxAttempts int
}

func (o STSOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// client returns an STS client that signs with c (nil: anonymous) and
// keeps error answers in keep.
func (o STSOptions) client(c *creds.Credentials, keep *errorAnswer) *sts.Client {
	region := o.Region
	if region == "" {
		region = DefaultSTSRegion
	}
	opts := sts.Options{Region: region, Logger: logging.Nop{}, RetryMaxAttempts: o.MaxAttempts,
		APIOptions: []func(*middleware.Stack) error{keep.addTo}}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	if o.HTTPClient != nil {
		opts.HTTPClient = o.HTTPClient
	}
	if c != nil {
		opts.Credentials = awssdk.ToSDK(creds.Static{Creds: *c})
	}
	return sts.New(opts)
}

// mfaCode asks o.MFA for the code of serial.
func (o STSOptions) mfaCode(ctx context.Context, serial string) (string, error) {
	if o.MFA == nil {
		return "", fmt.Errorf("MFA device %s: %w", serial, ErrNoMFAPrompt)
	}
	code, err := o.MFA.MFACode(ctx, serial)
	if err != nil {
		return "", fmt.Errorf("MFA code for %s: %w", serial, err)
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", fmt.Errorf("MFA code for %s: no code was entered", serial)
	}
	return code, nil
}

// defaultSessionName is the role session name used when none is
// configured: "credkit-" and the time in Unix nanoseconds. (aws-sdk-go-v2
// uses "aws-go-sdk-<unix nanos>", botocore "botocore-session-<unix
// seconds>".)
func defaultSessionName(now time.Time) string {
	return "credkit-" + strconv.FormatInt(now.UnixNano(), 10)
}

// fromSTS converts STS credentials.
func fromSTS(c *ststypes.Credentials) (creds.Credentials, error) {
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" {
		return creds.Credentials{}, errors.New("the answer holds no credentials")
	}
	return creds.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expires:         aws.ToTime(c.Expiration),
	}, nil
}

// accountFromARN returns the account id of an ARN, or "".
func accountFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// describeSource names source credentials by access key id and origin:
// "AKIA... from shared credentials file (profile base)".
func describeSource(c creds.Credentials) string {
	s := creds.RedactKeyID(c.AccessKeyID)
	if c.Source != "" {
		s += " from " + c.Source
	}
	return s
}

// retrieveSource gets and checks the credentials a call is signed with.
func retrieveSource(ctx context.Context, p creds.Provider, now time.Time) (creds.Credentials, error) {
	if p == nil {
		return creds.Credentials{}, errors.New("no source credentials provider")
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("source credentials: %w", err)
	}
	if !c.HasKeys() {
		return creds.Credentials{}, fmt.Errorf("source credentials %s: no access key id or secret", describeSource(c))
	}
	if c.Expired(now) {
		return creds.Credentials{}, fmt.Errorf("source credentials %s expired at %s: %w",
			describeSource(c), c.Expires.UTC().Format(time.RFC3339), creds.ErrExpired)
	}
	return c, nil
}

// AssumeRole is a Provider that calls STS AssumeRole with the credentials of
// another Provider. Every Retrieve calls STS (and asks for an MFA code when
// MFASerial is set): put a refreshing cache in front of it.
type AssumeRole struct {
	// Source provides the credentials that sign the call.
	Source creds.Provider
	// RoleARN is the role to assume.
	RoleARN string
	// ExternalID is sent when set (external_id).
	ExternalID string
	// RoleSessionName names the session (role_session_name); "" means
	// "credkit-<unix nanoseconds>".
	RoleSessionName string
	// Duration is the session's lifetime (duration_seconds), in whole
	// seconds; 0 sends none, so STS uses the role's default of one hour.
	// (aws-sdk-go-v2 sends 15 minutes when none is set; botocore sends
	// none.)
	Duration time.Duration
	// MFASerial is the MFA device (mfa_serial); when set, Options.MFA is
	// asked for a code on every call.
	MFASerial string
	// Via says where the role was configured, e.g. "profile dev"; it
	// appears in the Source of the credentials and in errors.
	Via string
	// Options configures the STS client.
	Options STSOptions
}

// what is "assume role ARN (from profile dev)".
func (p *AssumeRole) what() string {
	s := "assume role " + p.RoleARN
	if p.Via != "" {
		s += " (from " + p.Via + ")"
	}
	return s
}

// Retrieve assumes the role. Errors say which role, from where, and with
// which source credentials (access key id only); an error answer of STS
// is an *APIError with AWS's code and message.
func (p *AssumeRole) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if p.RoleARN == "" {
		return creds.Credentials{}, fmt.Errorf("%s: no role ARN", p.what())
	}
	now := p.Options.now()
	src, err := retrieveSource(ctx, p.Source, now)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", p.what(), err)
	}
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(p.RoleARN),
		RoleSessionName: aws.String(p.RoleSessionName),
	}
	if p.RoleSessionName == "" {
		in.RoleSessionName = aws.String(defaultSessionName(now))
	}
	if p.ExternalID != "" {
		in.ExternalId = aws.String(p.ExternalID)
	}
	if p.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(p.Duration / time.Second))
	}
	if p.MFASerial != "" {
		code, err := p.Options.mfaCode(ctx, p.MFASerial)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("%s: %w", p.what(), err)
		}
		in.SerialNumber = aws.String(p.MFASerial)
		in.TokenCode = aws.String(code)
	}
	keep := &errorAnswer{}
	out, err := p.Options.client(&src, keep).AssumeRole(ctx, in)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s with %s: %w", p.what(), describeSource(src), toAPIError("STS", "AssumeRole", err, keep))
	}
	c, err := fromSTS(out.Credentials)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s with %s: %w", p.what(), describeSource(src), err)
	}
	c.Source = p.what()
	if out.AssumedRoleUser != nil {
		c.AccountID = accountFromARN(aws.ToString(out.AssumedRoleUser.Arn))
	}
	if c.AccountID == "" {
		c.AccountID = accountFromARN(p.RoleARN)
	}
	return c, nil
}

// SessionToken is a Provider that calls STS GetSessionToken with the
// long-term credentials of another Provider, with an MFA code when
// MFASerial is set. Every Retrieve calls STS.
type SessionToken struct {
	Source creds.Provider
	// Duration is the session's lifetime in whole seconds; 0 sends none
	// (STS's default is 12 hours).
	Duration time.Duration
	// MFASerial is the MFA device; when set, Options.MFA is asked for a
	// code on every call.
	MFASerial string
	Options   STSOptions
}

// Retrieve gets a session token.
func (p *SessionToken) Retrieve(ctx context.Context) (creds.Credentials, error) {
	what := "get session token"
	if p.MFASerial != "" {
		what += " with MFA device " + p.MFASerial
	}
	now := p.Options.now()
	src, err := retrieveSource(ctx, p.Source, now)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", what, err)
	}
	in := &sts.GetSessionTokenInput{}
	if p.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(p.Duration / time.Second))
	}
	if p.MFASerial != "" {
		code, err := p.Options.mfaCode(ctx, p.MFASerial)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("%s: %w", what, err)
		}
		in.SerialNumber = aws.String(p.MFASerial)
		in.TokenCode = aws.String(code)
	}
	keep := &errorAnswer{}
	out, err := p.Options.client(&src, keep).GetSessionToken(ctx, in)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s for %s: %w", what, describeSource(src), toAPIError("STS", "GetSessionToken", err, keep))
	}
	c, err := fromSTS(out.Credentials)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s for %s: %w", what, describeSource(src), err)
	}
	c.Source = "session token of " + describeSource(src)
	if p.MFASerial != "" {
		c.Source += " (MFA " + p.MFASerial + ")"
	}
	c.AccountID = src.AccountID
	if c.AccountID == "" {
		c.AccountID = accountFromARN(p.MFASerial)
	}
	return c, nil
}

// Errors of FromProfile, wrapped with the profile, file and line (see
// awsconfig.ResolveError).
var (
	// ErrSourceProfileCycle: the source_profile links loop.
	ErrSourceProfileCycle = awsconfig.ErrSourceProfileCycle
	// ErrNoRoleSource: a profile has role_arn but nothing to assume it
	// with, or source_profile, credential_source or web_identity_token_file
	// without role_arn.
	ErrNoRoleSource = awsconfig.ErrNoRoleSource
	// ErrConflictingSources: a profile sets more than one source of
	// credentials (source_profile and credential_source, ...).
	ErrConflictingSources = awsconfig.ErrConflictingSources
)

// Values of credential_source.
const (
	CredentialSourceEnvironment  = awsconfig.CredentialSourceEnvironment
	CredentialSourceEC2Metadata  = awsconfig.CredentialSourceEC2Metadata
	CredentialSourceECSContainer = awsconfig.CredentialSourceECSContainer
)
