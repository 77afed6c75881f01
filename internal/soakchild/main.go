// Command soakchild calls STS GetCallerIdentity through aws-sdk-go-v2's
// default credential chain once a second for a given duration, the way a
// long-running service uses AWS. Tests run it under credkit exec against
// the lab, whose credentials live seconds, to show that served credentials
// refresh and that a snapshot dies.
//
// Usage: soakchild DURATION STS_ENDPOINT. It prints one line per failure
// and a summary "calls=N failures=M first_failure=CODE"; it exits 1 at the
// first failure when SOAK_STOP_ON_FAILURE is set.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: soakchild DURATION STS_ENDPOINT")
		os.Exit(2)
	}
	d, err := time.ParseDuration(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(os.Args[2]) })
	calls, failures, first := 0, 0, ""
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		calls++
		if _, err := client.GetCallerIdentity(ctx, nil); err != nil {
			failures++
			code := "error"
			var ae smithy.APIError
			if errors.As(err, &ae) {
				code = ae.ErrorCode()
			}
			if first == "" {
				first = code
			}
			fmt.Printf("failure at call %d: %s\n", calls, code)
			if os.Getenv("SOAK_STOP_ON_FAILURE") != "" {
				break
			}
		}
		time.Sleep(time.Second)
	}
	fmt.Printf("calls=%d failures=%d first_failure=%s\n", calls, failures, first)
	if failures > 0 {
		os.Exit(1)
	}
}
