package awsconfig_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credkit/credkit/awsconfig"
)

// largeConfig writes a config and a credentials file with n profiles each.
func largeConfig(b *testing.B, n int) (config, credentials string) {
	dir := b.TempDir()
	var cfg, cred strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cfg, "[profile p%d]\nregion = us-east-%d\nrole_arn = arn:aws:iam::123456789012:role/r%d\nsource_profile = p%d\noutput = json\n\n", i, 1+i%2, i, (i+1)%n)
		fmt.Fprintf(&cred, "[p%d]\naws_access_key_id = AKIA%016d\naws_secret_access_key = secret%d\n\n", i, i, i)
	}
	config, credentials = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(config, []byte(cfg.String()), 0o600)
	os.WriteFile(credentials, []byte(cred.String()), 0o600)
	return config, credentials
}

// BenchmarkLargeConfig parses 10,000 profiles in each file and resolves
// one (its keys and its source_profile chain), with credkit and with
// aws-sdk-go-v2, in the same run.
func BenchmarkLargeConfig(b *testing.B) {
	config, credentials := largeConfig(b, 10000)
	b.Run("credkit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			files, err := awsconfig.Load(awsconfig.Options{ConfigFile: config, CredentialsFile: credentials, Getenv: func(string) string { return "" }})
			if err != nil {
				b.Fatal(err)
			}
			p, err := files.Profile("p5000")
			if err != nil || p.Region() != "us-east-1" {
				b.Fatal(p, err)
			}
			// p5000 assumes r5000 from p5001, whose keys assume r5001.
			c, err := files.Resolve("p5000", awsconfig.ResolveOptions{})
			if err != nil || len(c.Roles) != 2 || c.Root.Origin().Profile != "p5001" {
				b.Fatal(c, err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			c, err := sdkconfig.LoadSharedConfigProfile(context.Background(), "p5000", func(o *sdkconfig.LoadSharedConfigOptions) {
				o.ConfigFiles = []string{config}
				o.CredentialsFiles = []string{credentials}
			})
			if err != nil || c.Region != "us-east-1" {
				b.Fatal(c.Region, err)
			}
		}
	})
}
