package rotate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// AWS makes the clients of a rotation with aws-sdk-go-v2. Their errors
// are *source.APIError when AWS answered with one.
type AWS struct {
	// HTTPClient sends the requests; nil means the SDK's.
	HTTPClient aws.HTTPClient
	// IAMEndpoint is IAM's base URL; "" means AWS's. IAM is global: its
	// requests are signed for us-east-1.
	IAMEndpoint string
	// STSEndpoint is STS's base URL; "" means the regional endpoint of
	// STSRegion.
	STSEndpoint string
	// STSRegion is the region STS requests are signed for; "" means
	// us-east-1.
	STSRegion string
}

var _ Clients = AWS{}

// IAM returns an IAM client whose requests are signed with c.
func (a AWS) IAM(c creds.Credentials) IAM {
	k := &source.APIErrorKeeper{}
	o := iam.Options{
		Region:      "us-east-1",
		Credentials: awssdk.ToSDK(creds.Static{Creds: c}),
		HTTPClient:  a.HTTPClient,
		APIOptions:  []func(*middleware.Stack) error{k.AddTo},
	}
	if a.IAMEndpoint != "" {
		o.BaseEndpoint = aws.String(a.IAMEndpoint)
	}
	return iamClient{iam.New(o), k}
}

// STS returns an STS client whose requests are signed with c.
func (a AWS) STS(c creds.Credentials) STS {
	k := &source.APIErrorKeeper{}
	o := sts.Options{
		Region:      a.STSRegion,
		Credentials: awssdk.ToSDK(creds.Static{Creds: c}),
		HTTPClient:  a.HTTPClient,
		APIOptions:  []func(*middleware.Stack) error{k.AddTo},
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if a.STSEndpoint != "" {
		o.BaseEndpoint = aws.String(a.STSEndpoint)
	}
	return stsClient{sts.New(o), k}
}

// iamClient and stsClient turn the SDK's errors into *source.APIError.
type iamClient struct {
	c    *iam.Client
	keep *source.APIErrorKeeper
}

func (c iamClient) ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error) {
	out, err := c.c.ListAccessKeys(ctx, in, optFns...)
	return out, c.keep.Err("IAM", "ListAccessKeys", err)
}

func (c iamClient) CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error) {
	out, err := c.c.CreateAccessKey(ctx, in, optFns...)
	return out, c.keep.Err("IAM", "CreateAccessKey", err)
}

func (c iamClient) DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error) {
	out, err := c.c.DeleteAccessKey(ctx, in, optFns...)
	return out, c.keep.Err("IAM", "DeleteAccessKey", err)
}

type stsClient struct {
	c    *sts.Client
	keep *source.APIErrorKeeper
}

func (c stsClient) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	out, err := c.c.GetCallerIdentity(ctx, in, optFns...)
	return out, c.keep.Err("STS", "GetCallerIdentity", err)
}
