package awssdk_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/source"
)

// Hand credkit's choice of credentials (the SDKs' chain, with the vault,
// refresh-ahead caching and a trace that says why) to an SDK client.
func ExampleToSDK() {
	ctx := context.Background()
	p, trace, err := source.DefaultChain(source.ChainOptions{}).Select()
	if err != nil {
		fmt.Println(trace) // what was tried, and why each source was skipped
		return
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(awssdk.ToSDK(p)))
	if err != nil {
		fmt.Println(err)
		return
	}
	// For keys that may change under a long-lived client (a rotation),
	// let credkit's cache decide alone.
	cfg.Credentials = awssdk.ToSDK(p)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*id.Arn, "chosen:", trace.Chosen)
}
