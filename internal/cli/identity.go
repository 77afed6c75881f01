package cli

import (
	"context"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// identity is what STS GetCallerIdentity says about credentials.
type identity struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	UserID  string `json:"user_id"`
	// ServerTime is the Date header of STS's answer, to measure skew.
	ServerTime time.Time `json:"-"`
	Endpoint   string    `json:"endpoint"`
}

// callerIdentity calls STS GetCallerIdentity with c (source.CallerIdentity)
// at the endpoint the SDKs configure for profile (AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL, the profile's endpoint_url), else the regional one.
// The identity carries the endpoint and STS's Date even when the call
// failed.
func (a *App) callerIdentity(ctx context.Context, c creds.Credentials, files *awsconfig.Files, profile, region string) (*identity, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	opts := source.STSOptions{
		Region:     region,
		Endpoint:   source.ServiceEndpoint(a.Getenv, files, source.ProfileName(a.Getenv, profile), "sts"),
		HTTPClient: a.HTTP,
		Now:        a.Now,
	}
	id, err := source.CallerIdentity(ctx, c, opts)
	return &identity{Account: id.Account, ARN: id.ARN, UserID: id.UserID, ServerTime: id.ServerTime, Endpoint: id.Endpoint}, err
}
