package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
)

// Environment variables of web identity credentials (EKS IRSA and the
// like), as the AWS SDKs read them.
const (
	EnvWebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRoleARN              = "AWS_ROLE_ARN"
	EnvRoleSessionName      = "AWS_ROLE_SESSION_NAME"
)

// WebIdentity is a Provider that calls STS AssumeRoleWithWebIdentity with
// the token in a file. The file is read again on every Retrieve, since
// whoever writes it (Kubernetes, a CI runner) replaces the token before it
// expires. The call is not signed: no other credentials are needed.
//
// The token is sent without surrounding white space (the SDKs send the
// file as it is; a JWT has none, and a trailing newline only makes STS
// refuse it). It never appears in errors.
type WebIdentity struct {
	// TokenFile is the path of the file holding the OIDC token.
	TokenFile string
	// RoleARN is the role to assume.
	RoleARN string
	// RoleSessionName names the session; "" means "credkit-<unix
	// nanoseconds>" (aws-sdk-go-v2 uses the bare nanoseconds, botocore
	// "botocore-session-<unix seconds>").
	RoleSessionName string
	// Duration is the session's lifetime in whole seconds; 0 sends none
	// (one hour). The SDKs read no duration for web identity from a
	// profile, and neither do WebIdentityFromEnv and
	// WebIdentityFromProfile.
	Duration time.Duration
	// Via says where it was configured: "environment" or "profile NAME";
	// it appears in the credentials' Source and in errors.
	Via string
	// Options configures the STS client (MFA is not used).
	Options STSOptions
}

// what is "assume role ARN with web identity (from profile k8s)".
func (w *WebIdentity) what() string {
	s := "assume role " + w.RoleARN + " with web identity"
	if w.Via != "" {
		s += " (from " + w.Via + ")"
	}
	return s
}

// Retrieve reads the token file and assumes the role.
func (w *WebIdentity) Retrieve(ctx context.Context) (creds.Credentials, error) {
	if w.RoleARN == "" {
		return creds.Credentials{}, fmt.Errorf("%s: no role ARN", w.what())
	}
	token, err := readWebIdentityToken(w.TokenFile)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", w.what(), err)
	}
	now := w.Options.now()
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(w.RoleARN),
		RoleSessionName:  aws.String(w.RoleSessionName),
		WebIdentityToken: aws.String(token),
	}
	if w.RoleSessionName == "" {
		in.RoleSessionName = aws.String(defaultSessionName(now))
	}
	if w.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(w.Duration / time.Second))
	}
	keep := &errorAnswer{}
	out, err := w.Options.client(nil, keep).AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s, token file %s: %w", w.what(), w.TokenFile, toAPIError("STS", "AssumeRoleWithWebIdentity", err, keep))
	}
	c, err := fromSTS(out.Credentials)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s, token file %s: %w", w.what(), w.TokenFile, err)
	}
	c.Source = "web identity role " + w.RoleARN + " (token file " + w.TokenFile
	if w.Via != "" {
		c.Source += ", from " + w.Via
	}
	c.Source += ")"
	if out.AssumedRoleUser != nil {
		c.AccountID = accountFromARN(aws.ToString(out.AssumedRoleUser.Arn))
	}
	if c.AccountID == "" {
		c.AccountID = accountFromARN(w.RoleARN)
	}
	return c, nil
}

// readWebIdentityToken reads a token file. Errors name the file, never the
// content.
func readWebIdentityToken(path string) (string, error) {
	if path == "" {
		return "", errors.New("no web identity token file is set")
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("web identity token file %s does not exist", path)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("read web identity token file %s: %w", path, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("web identity token file %s is empty", path)
	}
	return token, nil
}

// WebIdentityFromEnv returns the web identity provider configured by
// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME. ok is
// false, with no error, when AWS_WEB_IDENTITY_TOKEN_FILE is not set; a token
// file without AWS_ROLE_ARN is an error. An empty opts.Region is taken
// from AWS_REGION or AWS_DEFAULT_REGION, an empty opts.Endpoint from
// AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL. getenv nil means os.Getenv.
// The file itself is read by Retrieve.
func WebIdentityFromEnv(getenv func(string) string, opts STSOptions) (w *WebIdentity, ok bool, err error) {
	getenv = orEnv(getenv)
	file := getenv(EnvWebIdentityTokenFile)
	if file == "" {
		return nil, false, nil
	}
	role := getenv(EnvRoleARN)
	if role == "" {
		return nil, false, fmt.Errorf("environment: %s is set but %s is not: %w", EnvWebIdentityTokenFile, EnvRoleARN, ErrNoRoleSource)
	}
	if opts.Region == "" {
		opts.Region, _ = firstSet(getenv, EnvRegion, EnvDefaultRegion)
	}
	if opts.Endpoint == "" {
		opts.Endpoint = STSEndpoint(getenv, nil)
	}
	return &WebIdentity{
		TokenFile:       file,
		RoleARN:         role,
		RoleSessionName: getenv(EnvRoleSessionName),
		Via:             SourceEnvironment,
		Options:         opts,
	}, true, nil
}

// WebIdentityFromProfile returns the web identity provider of a profile
// with web_identity_token_file, role_arn and optionally role_session_name.
// Region and endpoint come from opts.STS, else the environment and the
// profile (see ProfileOptions.STS).
func WebIdentityFromProfile(files *awsconfig.Files, name string, opts ProfileOptions) (*WebIdentity, error) {
	r, err := files.ResolveWebIdentity(name)
	if err != nil {
		return nil, err
	}
	p, err := files.Profile(name)
	if err != nil {
		return nil, err
	}
	return newWebIdentity(r, resolveSTSOptions(opts, orEnv(opts.Getenv), files, name, p)), nil
}

// newWebIdentity is the Provider of a web identity root.
func newWebIdentity(r *awsconfig.WebIdentityRoot, o STSOptions) *WebIdentity {
	return &WebIdentity{
		TokenFile:       r.TokenFile.Value,
		RoleARN:         r.RoleARN.Value,
		RoleSessionName: r.RoleSessionName.Value,
		Via:             "profile " + r.From.Profile,
		Options:         o,
	}
}
