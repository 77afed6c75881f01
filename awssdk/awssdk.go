// Package awssdk hands credkit's credentials to aws-sdk-go-v2 and back.
//
// ToSDK turns any creds.Provider (the source chain's choice, a
// vault-backed profile, a refresh-ahead creds.Cache, creds.Static) into an
// aws.CredentialsProvider, so that an SDK client signs every request with
// what credkit answers at that moment:
//
//	chain := source.DefaultChain(source.ChainOptions{})
//	p, trace, err := chain.Select() // trace says which source, and why
//	if err != nil {
//		return err
//	}
//	cfg, err := config.LoadDefaultConfig(ctx,
//		config.WithRegion("eu-west-1"),
//		config.WithCredentialsProvider(awssdk.ToSDK(p)))
//	if err != nil {
//		return err
//	}
//	client := sts.NewFromConfig(cfg)
//
// DefaultChain wraps the sources that expire in a creds.Cache. The
// provider is asked on every use: it is not a snapshot wrapped in a
// static provider, the mistake that works for the life of one session and
// then fails with "The provided token has expired".
//
// # Caching
//
// creds.Cache already refreshes ahead of expiry, collapses concurrent
// refreshes into one call and never hands out expired credentials, so
// aws.NewCredentialsCache adds nothing: pass ToSDK's provider as a
// client's Credentials (sts.Options.Credentials, or cfg.Credentials after
// LoadDefaultConfig) and credkit's cache decides. config.WithCredentialsProvider
// wraps it in an aws.CredentialsCache anyway; that is harmless for
// credentials that expire (the SDK keeps each answer until its Expires,
// which is still valid), but it keeps credentials that do not expire (an
// IAM user's keys) for the life of the config, so a key rotated in the
// vault reaches such a client only through cfg.Credentials = ToSDK(p).
//
// # The other direction
//
// FromSDK turns an aws.CredentialsProvider (stscreds, ssocreds,
// ec2rolecreds, a config's Credentials) into a creds.Provider, for
// credkit's signer, RDS tokens and endpoints.
//
// aws.Credentials prints its secret with %v; creds.Credentials never does.
// Convert at the boundary and keep credkit's type everywhere else.
package awssdk

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credkit/credkit/creds"
)

// The Source of credentials that crossed the boundary starts with the
// side they came from: aws.Credentials.Source reads "credkit: <credkit's
// source>", and creds.Credentials.Source "aws-sdk-go-v2: <the SDK's
// source>".
const (
	credkitSource = "credkit"
	sdkSource     = "aws-sdk-go-v2"
)

// ToSDK returns an aws.CredentialsProvider that asks p on every Retrieve.
func ToSDK(p creds.Provider) aws.CredentialsProvider { return sdkProvider{p} }

type sdkProvider struct{ p creds.Provider }

// Retrieve asks the creds.Provider and converts its answer.
func (s sdkProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := s.p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("credkit credentials: %w", err)
	}
	return ToSDKCredentials(c), nil
}

// ToSDKCredentials converts c. CanExpire is set when c has an expiry, and
// Source reads "credkit: " followed by c.Source.
func ToSDKCredentials(c creds.Credentials) aws.Credentials {
	src := credkitSource
	if c.Source != "" {
		src += ": " + c.Source
	}
	return aws.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Source:          src,
		CanExpire:       c.CanExpire(),
		Expires:         c.Expires,
		AccountID:       c.AccountID,
	}
}

// FromSDK returns a creds.Provider that asks p on every Retrieve. A
// provider made by ToSDK is unwrapped instead.
func FromSDK(p aws.CredentialsProvider) creds.Provider {
	if s, ok := p.(sdkProvider); ok {
		return s.p
	}
	return credkitProvider{p}
}

type credkitProvider struct{ p aws.CredentialsProvider }

// Retrieve asks the aws.CredentialsProvider and converts its answer.
func (k credkitProvider) Retrieve(ctx context.Context) (creds.Credentials, error) {
	c, err := k.p.Retrieve(ctx)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("aws-sdk-go-v2 credentials: %w", err)
	}
	return FromSDKCredentials(c), nil
}

// FromSDKCredentials converts c. The expiry is kept only when c.CanExpire,
// and Source reads "aws-sdk-go-v2: " followed by c.Source (or, for
// credentials that came from credkit, credkit's own Source again).
func FromSDKCredentials(c aws.Credentials) creds.Credentials {
	out := creds.Credentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		AccountID:       c.AccountID,
	}
	if c.CanExpire {
		out.Expires = c.Expires
	}
	switch rest, ok := strings.CutPrefix(c.Source, credkitSource+": "); {
	case ok:
		out.Source = rest
	case c.Source == credkitSource:
	case c.Source != "":
		out.Source = sdkSource + ": " + c.Source
	default:
		out.Source = sdkSource
	}
	return out
}
