package creds_test

import (
	"context"
	"fmt"
	"time"

	"github.com/credkit/credkit/creds"
)

// A Cache in front of a source that issues one-hour sessions: the source
// is asked once, and again only when the session nears its expiry.
func ExampleNewCache() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	calls := 0
	sts := creds.ProviderFunc(func(ctx context.Context) (creds.Credentials, error) {
		calls++
		return creds.Credentials{
			AccessKeyID:     "ASIAEXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			SessionToken:    "FwoGZXIvYXdzEXAMPLE",
			Expires:         clock().Add(time.Hour),
			Source:          "sts get-session-token",
		}, nil
	})
	cache := creds.NewCache(sts, creds.CacheOptions{Now: clock})

	for range 3 {
		c, err := cache.Retrieve(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(c)
	}
	fmt.Println("upstream calls:", calls)
	// Output:
	// ASIAEXAMPLE (secret redacted, session token redacted) from sts get-session-token, expires 2026-01-01T13:00:00Z
	// ASIAEXAMPLE (secret redacted, session token redacted) from sts get-session-token, expires 2026-01-01T13:00:00Z
	// ASIAEXAMPLE (secret redacted, session token redacted) from sts get-session-token, expires 2026-01-01T13:00:00Z
	// upstream calls: 1
}
