package lab

import (
	"fmt"
	"strings"
)

// SSOProfilePrefix starts the names of the written Identity Center
// profiles.
const SSOProfilePrefix = "lab-sso-"

// writeSSOConfig writes the [sso-session SSOSession] and one profile per
// permission set of the signing-in user in the seed's account; common
// holds region, endpoint_url and services (the portal and SSO-OIDC
// endpoints of aws-sdk-go-v2 and botocore come from the services
// section and endpoint_url).
func writeSSOConfig(conf *strings.Builder, l *Lab, common string) []string {
	s := l.ssoSeedOf()
	var names []string
	for _, ps := range s.PermissionSets {
		if ps.User != s.User || ps.AccountID != l.seed.AccountID {
			continue
		}
		name := SSOProfilePrefix + ps.Role
		fmt.Fprintf(conf, "\n[profile %s]\nsso_session = %s\nsso_account_id = %s\nsso_role_name = %s\n%s", name, SSOSession, ps.AccountID, ps.Role, common)
		names = append(names, name)
	}
	fmt.Fprintf(conf, "\n[sso-session %s]\nsso_start_url = %s\nsso_region = %s\nsso_registration_scopes = sso:account:access\n", SSOSession, SSOStartURL, Region)
	return names
}
