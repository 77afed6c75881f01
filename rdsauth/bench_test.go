package rdsauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkauth "github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

// BenchmarkRDSToken runs credkit and aws-sdk-go-v2's BuildAuthToken side
// by side with the same temporary credentials; `make bench` prints the
// ratio of their medians.
func BenchmarkRDSToken(b *testing.B) {
	const endpoint, region, user = "mydb.abc123.us-east-1.rds.amazonaws.com:5432", "us-east-1", "app_user"
	c := creds.Credentials{AccessKeyID: "ASIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SessionToken: "IQoJb3JpZ2luX2VjEXAMPLETOKEN"}
	b.Run("credkit", func(b *testing.B) {
		var bld rdsauth.Builder
		r := rdsauth.Request{Endpoint: endpoint, Region: region, User: user, Time: time.Now()}
		if _, err := bld.Token(r, c); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := bld.Token(r, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		p := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		})
		ctx := context.Background()
		if _, err := sdkauth.BuildAuthToken(ctx, endpoint, region, user, p); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := sdkauth.BuildAuthToken(ctx, endpoint, region, user, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
