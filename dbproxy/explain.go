package dbproxy

import (
	"fmt"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
)

// Explain is what the proxy adds to the database's refusal of a second,
// freshly signed token: what it tried, and what to check. Every engine
// gives it to the client with the server's own error.
func (s *Session) Explain(user string, signer creds.Credentials) string {
	grant := "the user lacks GRANT rds_iam"
	if s.Target.Engine == rdsauth.EngineMySQL {
		grant = "the user is not IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
	}
	return "credkit db proxy logged in twice with fresh IAM tokens for user " + user + " in " + s.Target.Region +
		", signed by " + signer.String() + ", and " + s.Target.Host + " refused both. RDS refuses a token when " + grant +
		", the IAM policy does not allow rds-db:connect on arn:aws:rds-db:" + s.Target.Region + ":ACCOUNT:dbuser:RESOURCE-ID/" + user +
		", the host is a CNAME rather than the RDS endpoint name, or the region is not the database's. Run credkit db doctor --host " +
		s.Target.Host + " --port " + fmt.Sprint(s.Target.Port) + " --user " + user + " for the checks."
}
