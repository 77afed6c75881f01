// Command sdkprobe prints which credentials aws-sdk-go-v2's default chain
// resolves in the current environment, as JSON. Tests run it next to
// credkit's chain and botocore to check that all three agree.
//
// Output: {"source": ..., "access_key_id": ..., "temporary": bool,
// "error": ...}. The secret is never printed.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := map[string]any{}
	var opts []func(*config.LoadOptions) error
	if p := os.Getenv("SDKPROBE_PROFILE"); p != "" {
		opts = append(opts, config.WithSharedConfigProfile(p))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err == nil && cfg.Credentials == nil {
		out["error"] = "no credentials provider"
	} else if err == nil {
		c, rerr := cfg.Credentials.Retrieve(ctx)
		if rerr != nil {
			err = rerr
		} else {
			out["source"] = c.Source
			out["access_key_id"] = c.AccessKeyID
			out["temporary"] = c.SessionToken != ""
		}
	}
	if err != nil {
		out["error"] = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
