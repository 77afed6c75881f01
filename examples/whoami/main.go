// Command whoami asks STS who its credentials belong to, through
// aws-sdk-go-v2's default configuration (LoadDefaultConfig), and prints
// the access key id and its expiry. With -every it asks again until -for
// has passed, so that a refresh of expiring credentials shows as a new
// key; a failure ends it with exit code 1.
//
//	go run ./cmd/credkit lab -- go run ./examples/whoami -every 5s -for 2m
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	every := flag.Duration("every", 0, "ask again at this interval (0: once)")
	total := flag.Duration("for", time.Minute, "with -every, keep asking this long")
	flag.Parse()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "whoami:", err)
		os.Exit(1)
	}
	client := sts.NewFromConfig(cfg)
	end := time.Now().Add(*total)
	for {
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "whoami: credentials:", err)
			os.Exit(1)
		}
		id, err := client.GetCallerIdentity(ctx, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "whoami:", err)
			os.Exit(1)
		}
		expiry := "never"
		if c.CanExpire {
			expiry = fmt.Sprintf("%s (in %s)", c.Expires.UTC().Format(time.RFC3339), time.Until(c.Expires).Round(time.Second))
		}
		fmt.Printf("%s %s key=%s expires=%s source=%s\n", time.Now().UTC().Format("15:04:05"), *id.Arn, c.AccessKeyID, expiry, c.Source)
		if *every <= 0 || time.Now().Add(*every).After(end) {
			return
		}
		time.Sleep(*every)
	}
}
