package source

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/creds"
)

// FederationToken is a Provider that calls STS GetFederationToken with an
// IAM user's (or the root user's) long-term credentials from another
// Provider: a session of arn:PARTITION:sts::ACCOUNT:federated-user/NAME,
// allowed what both the user's policies and Policy allow. Console sign-in
// uses it for users, as the federation endpoint takes session credentials
// only. Every Retrieve calls STS.
type FederationToken struct {
	Source creds.Provider
	// Name is the federated user's name: 2 to 32 characters of
	// [\w+=,.@-].
	Name string
	// Policy is the inline session policy (JSON); "" sends none, which
	// leaves the session no permissions at all.
	Policy string
	// Duration is the session's lifetime in whole seconds; 0 sends none
	// (STS's default is 12 hours; 1 hour at most for the root user).
	Duration time.Duration
	Options  STSOptions
}

// Retrieve gets a federation token.
func (p *FederationToken) Retrieve(ctx context.Context) (creds.Credentials, error) {
	what := "get federation token for " + p.Name
	src, err := retrieveSource(ctx, p.Source, p.Options.now())
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s: %w", what, err)
	}
	in := &sts.GetFederationTokenInput{Name: aws.String(p.Name)}
	if p.Policy != "" {
		in.Policy = aws.String(p.Policy)
	}
	if p.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(p.Duration / time.Second))
	}
	keep := &errorAnswer{}
	out, err := p.Options.client(&src, keep).GetFederationToken(ctx, in)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s with %s: %w", what, describeSource(src), toAPIError("STS", "GetFederationToken", err, keep))
	}
	c, err := fromSTS(out.Credentials)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("%s with %s: %w", what, describeSource(src), err)
	}
	c.Source = "federation token " + p.Name + " of " + describeSource(src)
	c.AccountID = src.AccountID
	if out.FederatedUser != nil {
		if a := accountFromARN(aws.ToString(out.FederatedUser.Arn)); a != "" {
			c.AccountID = a
		}
	}
	return c, nil
}
