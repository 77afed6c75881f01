package source

import (
	"fmt"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
)

// ExpiringSoon is how close to expiry credentials draw a warning.
const ExpiringSoon = 15 * time.Minute

// Warnings says what a person should know about credentials a chain
// resolved: environment session credentials that shadow AWS_PROFILE and
// cannot refresh, credentials about to expire or expired, long-term keys
// of an IAM user in a plaintext file. trace is the chain's; c may be zero
// when resolution failed.
func Warnings(getenv func(string) string, trace *creds.Trace, c creds.Credentials, now time.Time) []string {
	getenv = orEnv(getenv)
	var w []string
	if trace != nil && trace.Chosen == LinkEnvironment {
		if p := getenv(EnvProfile); p != "" {
			msg := fmt.Sprintf("%s in the environment shadows AWS_PROFILE=%s: SDKs use the environment keys and ignore the profile", EnvAccessKeyID, p)
			if c.Temporary() {
				msg += "; they are session credentials that cannot refresh"
				if c.CanExpire() {
					msg += " and expire at " + c.Expires.UTC().Format(time.RFC3339)
				} else {
					msg += " (no AWS_CREDENTIAL_EXPIRATION says when they expire)"
				}
			}
			w = append(w, msg+". Unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN to use the profile.")
		} else if c.Temporary() {
			msg := "session credentials in the environment cannot refresh"
			if c.CanExpire() {
				msg += "; they expire at " + c.Expires.UTC().Format(time.RFC3339)
			}
			w = append(w, msg+"; a long-running program needs a refreshing source (credkit exec, a profile, credential_process)")
		}
		if v := getenv(EnvExpiration); v != "" && c.Expired(now) {
			w = append(w, fmt.Sprintf("%s=%s has passed: these credentials no longer work", EnvExpiration, v))
		}
	}
	if c.AccessKeyID != "" && !(trace != nil && trace.Chosen == LinkEnvironment && getenv(EnvExpiration) != "" && c.Expired(now)) {
		w = append(w, creds.ExpiryWarnings(c, now, ExpiringSoon)...)
	}
	if !c.Temporary() && strings.HasPrefix(c.AccessKeyID, "AKIA") && strings.Contains(c.Source, "(profile ") && !strings.HasPrefix(c.Source, "assume role") {
		w = append(w, fmt.Sprintf("long-term keys of an IAM user (%s) sit in a plaintext file; anyone who can read it can use them", c.Source))
	}
	return w
}
