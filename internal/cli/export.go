package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
)

// exportFormats lists what credkit export writes.
var exportFormats = []string{"process", "env", "env-no-export", "powershell", "windows-cmd", "fish", "ini", "json"}

// processOutput is the Version 1 credential_process JSON.
type processOutput = sessioncache.Output

func toProcessOutput(c creds.Credentials) processOutput {
	p := processOutput{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, AccountID: c.AccountID}
	if c.CanExpire() {
		p.Expiration = c.Expires.UTC().Format(time.RFC3339)
	}
	return p
}

// writeExport writes c in one of exportFormats; region is added where
// the format has a place for it.
func writeExport(w io.Writer, format, profile, region string, c creds.Credentials) error {
	type kv struct{ k, v string }
	vars := []kv{{"AWS_ACCESS_KEY_ID", c.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", c.SecretAccessKey}}
	if c.SessionToken != "" {
		vars = append(vars, kv{"AWS_SESSION_TOKEN", c.SessionToken})
	}
	if c.CanExpire() {
		vars = append(vars, kv{"AWS_CREDENTIAL_EXPIRATION", c.Expires.UTC().Format(time.RFC3339)})
	}
	if region != "" {
		vars = append(vars, kv{"AWS_REGION", region}, kv{"AWS_DEFAULT_REGION", region})
	}
	var b strings.Builder
	switch format {
	case "process", "json":
		var v any = toProcessOutput(c)
		if format == "json" {
			out := map[string]any{"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "Source": c.Source}
			if c.SessionToken != "" {
				out["SessionToken"] = c.SessionToken
			}
			if c.CanExpire() {
				out["Expiration"] = c.Expires.UTC().Format(time.RFC3339)
			}
			if region != "" {
				out["Region"] = region
			}
			v = out
		}
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	case "env", "env-no-export":
		prefix := "export "
		if format == "env-no-export" {
			prefix = ""
		}
		for _, x := range vars {
			fmt.Fprintf(&b, "%s%s=%s\n", prefix, x.k, shellQuote(x.v))
		}
	case "fish":
		for _, x := range vars {
			fmt.Fprintf(&b, "set -gx %s %s\n", x.k, shellQuote(x.v))
		}
	case "powershell":
		for _, x := range vars {
			fmt.Fprintf(&b, "$Env:%s = '%s'\n", x.k, strings.ReplaceAll(x.v, "'", "''"))
		}
	case "windows-cmd":
		for _, x := range vars {
			fmt.Fprintf(&b, "set %s=%s\n", x.k, x.v)
		}
	case "ini":
		if profile == "" {
			profile = "default"
		}
		fmt.Fprintf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, c.AccessKeyID, c.SecretAccessKey)
		if c.SessionToken != "" {
			fmt.Fprintf(&b, "aws_session_token = %s\n", c.SessionToken)
		}
		if region != "" {
			fmt.Fprintf(&b, "region = %s\n", region)
		}
	default:
		return badInput("--format %q: one of %s", format, strings.Join(exportFormats, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes s for POSIX shells and fish: single quotes, with
// embedded ones closed and escaped.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:+=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
