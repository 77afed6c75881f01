package source

import (
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

func TestWarnings(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	envTrace := &creds.Trace{Chosen: LinkEnvironment}
	cases := []struct {
		name  string
		env   map[string]string
		trace *creds.Trace
		c     creds.Credentials
		want  []string
	}{
		{"environment session credentials shadow AWS_PROFILE",
			map[string]string{"AWS_PROFILE": "dev", EnvExpiration: "2026-11-22T12:04:00Z"}, envTrace,
			creds.Credentials{AccessKeyID: "ASIA1", SessionToken: "t", Source: "environment", Expires: now.Add(4 * time.Minute)},
			[]string{"shadows AWS_PROFILE=dev", "cannot refresh and expire at 2026-11-22T12:04:00Z", "expire in 4m0s"}},
		{"expired environment credentials",
			map[string]string{EnvExpiration: "2026-11-22T11:00:00Z"}, envTrace,
			creds.Credentials{AccessKeyID: "ASIA1", SessionToken: "t", Source: "environment", Expires: now.Add(-time.Hour)},
			[]string{"AWS_CREDENTIAL_EXPIRATION=2026-11-22T11:00:00Z has passed"}},
		{"plaintext IAM user keys",
			nil, &creds.Trace{Chosen: "profile dev"},
			creds.Credentials{AccessKeyID: "AKIAEXAMPLE", Source: "shared credentials file (profile dev)"},
			[]string{"long-term keys of an IAM user (shared credentials file (profile dev)) sit in a plaintext file"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(Warnings(func(k string) string { return tc.env[k] }, tc.trace, tc.c, now), "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("warnings lack %q:\n%s", w, got)
				}
			}
		})
	}
	if w := Warnings(func(string) string { return "" }, &creds.Trace{Chosen: "profile x"}, creds.Credentials{AccessKeyID: "ASIA", SessionToken: "t", Source: "assume role x", Expires: now.Add(time.Hour)}, now); len(w) != 0 {
		t.Errorf("healthy role credentials warned: %v", w)
	}
}
