package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credkit/credkit/lab"
)

// ssoFaultHelp is the help of credkit lab --sso.
const ssoFaultHelp = "Identity Center fault or timing `NAME[=VALUE]`: manual-approve (wait for POST /_lab/sso/approve), " +
	"pending=N, slow-down=N (the first N device grants), refresh-invalid-grant=N, device-code-ttl=D, token-ttl=D, client-ttl=D; repeatable"

// parseSSOFaults reads the --sso values.
func parseSSOFaults(values []string) (lab.SSOOptions, error) {
	var o lab.SSOOptions
	for _, v := range values {
		name, val, hasVal := strings.Cut(v, "=")
		count := func(dst *int) error {
			n, err := strconv.Atoi(val)
			if !hasVal || err != nil || n < 0 {
				return fmt.Errorf("--sso %q: %s takes a count, e.g. %s=3", v, name, name)
			}
			*dst = n
			return nil
		}
		dur := func(dst *time.Duration) error {
			d, err := time.ParseDuration(val)
			if !hasVal || err != nil || d <= 0 {
				return fmt.Errorf("--sso %q: %s takes a positive duration, e.g. %s=30s", v, name, name)
			}
			*dst = d
			return nil
		}
		var err error
		switch name {
		case "manual-approve":
			if hasVal {
				err = fmt.Errorf("--sso %q: manual-approve takes no value", v)
			}
			o.ManualApprove = true
		case "pending":
			err = count(&o.AuthorizationPending)
		case "slow-down":
			err = count(&o.SlowDown)
		case "refresh-invalid-grant":
			err = count(&o.RefreshInvalidGrant)
		case "device-code-ttl":
			err = dur(&o.DeviceCodeTTL)
		case "token-ttl":
			err = dur(&o.TokenTTL)
		case "client-ttl":
			err = dur(&o.ClientTTL)
		default:
			err = fmt.Errorf("--sso %q: unknown; one of manual-approve, pending=N, slow-down=N, refresh-invalid-grant=N, device-code-ttl=D, token-ttl=D, client-ttl=D", v)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}
