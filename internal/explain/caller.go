package explain

import "strings"

// CallerKind is what kind of identity made a request.
type CallerKind string

const (
	IAMUser       CallerKind = "iam-user"
	Root          CallerKind = "root"
	RoleSession   CallerKind = "role-session"
	SSOSession    CallerKind = "sso-permission-set" // a role session of an IAM Identity Center permission set
	ServiceActing CallerKind = "aws-service"        // an AWS service's own identity acting for a customer
	FederatedUser CallerKind = "federated-user"     // GetFederationToken
	Role          CallerKind = "role"
	Unknown       CallerKind = "unknown"
)

// Caller is the identity a refusal names.
type Caller struct {
	ARN     string     `json:"arn"`
	Kind    CallerKind `json:"kind"`
	Account string     `json:"account,omitempty"`
	// Name is the user, role or federated user name; Session the role
	// session name.
	Name    string `json:"name,omitempty"`
	Session string `json:"session,omitempty"`
	// PermissionSet is the Identity Center permission set behind an
	// AWSReservedSSO_ role.
	PermissionSet string `json:"permission_set,omitempty"`
	// Service and ServicePrincipal name the AWS service an AWS-owned
	// identity acts for, and the principal a trust policy must allow for
	// it.
	Service          string `json:"service,omitempty"`
	ServicePrincipal string `json:"service_principal,omitempty"`
	// Description says in a sentence who this is.
	Description string `json:"description"`
}

// serviceRole is an AWS-owned role through which a service reaches into
// customer accounts.
type serviceRole struct {
	role, service, principal, note string
}

// serviceRoles are the AWS-owned roles seen in refusals of service
// requests. Their accounts belong to AWS, not to an intruder.
var serviceRoles = []serviceRole{
	{"cp-sts-grant-role", "Amazon OpenSearch Service", "es.amazonaws.com",
		"OpenSearch assumes your role from its own account when it registers a snapshot repository or reads from S3 for a domain (sessions named swift-REGION-...)"},
}

// RecognizeCaller says who an ARN in a refusal is.
func RecognizeCaller(arn string) Caller {
	c := Caller{ARN: arn, Kind: Unknown, Account: arnPart(arn, 4)}
	service := arnPart(arn, 2)
	res := arnPart(arn, 5)
	switch {
	case service == "iam" && res == "root":
		c.Kind, c.Description = Root, "the root user of account "+c.Account
	case service == "iam" && strings.HasPrefix(res, "user/"):
		c.Kind, c.Name = IAMUser, lastSegment(res)
		c.Description = "IAM user " + c.Name + " of account " + c.Account
	case service == "iam" && strings.HasPrefix(res, "role/"):
		c.Kind, c.Name = Role, lastSegment(res)
		c.Description = "IAM role " + c.Name + " of account " + c.Account
	case service == "sts" && strings.HasPrefix(res, "federated-user/"):
		c.Kind, c.Name = FederatedUser, strings.TrimPrefix(res, "federated-user/")
		c.Description = "federated user " + c.Name + " (GetFederationToken) of account " + c.Account + ": its permissions are the intersection of the calling user's policies and the session policy"
	case service == "sts" && strings.HasPrefix(res, "assumed-role/"):
		rest := strings.TrimPrefix(res, "assumed-role/")
		c.Name, c.Session, _ = strings.Cut(rest, "/")
		c.Kind = RoleSession
		c.Description = "a session (" + c.Session + ") of role " + c.Name + " in account " + c.Account
		if ps, ok := strings.CutPrefix(c.Name, "AWSReservedSSO_"); ok {
			c.Kind = SSOSession
			if i := strings.LastIndexByte(ps, '_'); i > 0 {
				ps = ps[:i]
			}
			c.PermissionSet = ps
			c.Description = "an IAM Identity Center sign-in (" + c.Session + ") with permission set " + ps + " in account " + c.Account +
				"; the permission set's policies are the role's, changed in Identity Center, not in IAM"
		}
		for _, s := range serviceRoles {
			if c.Name == s.role {
				c.Kind, c.Service, c.ServicePrincipal = ServiceActing, s.service, s.principal
				c.Description = "an identity of " + s.service + " in an AWS-owned account (" + c.Account + "), acting for you, not an intruder: " + s.note +
					"; a trust policy allows it by naming the service principal " + s.principal
			}
		}
	case strings.HasSuffix(arn, ".amazonaws.com") && !strings.HasPrefix(arn, "arn:"):
		c.Kind, c.ServicePrincipal, c.Service = ServiceActing, arn, arn
		c.Description = "the service principal " + arn + " acting for you"
	}
	if c.Description == "" {
		c.Description = "an identity credkit does not recognise (" + arn + ")"
	}
	return c
}

func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }
