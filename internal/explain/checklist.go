package explain

import (
	"fmt"
	"sort"
	"strings"
)

// Check is one item of the checklist: a kind of policy (or fact) that can
// refuse the request, and what it needs for the request to pass.
type Check struct {
	Rank   int    `json:"rank"`
	Policy string `json:"policy"`
	Needs  string `json:"needs"`
	// Why says why the item ranks where it does ("the message names
	// it", "across accounts", ...); "" for the usual suspects.
	Why   string `json:"why,omitempty"`
	score int
}

// Checklist ranks the policy types that can refuse what d describes,
// most likely first.
func Checklist(d *Denial) []Check {
	var out []Check
	add := func(score int, policy, why, format string, args ...any) {
		out = append(out, Check{Policy: policy, Needs: fmt.Sprintf(format, args...), Why: why, score: score})
	}
	c := d.Caller
	action, resource := d.Action, d.Resource
	// An encoded message not decoded says neither.
	if action == "" {
		action = "the action"
	}
	if resource == "" {
		resource = "the resource"
	}
	cross := d.ResourceAccount != "" && c.Account != "" && d.ResourceAccount != c.Account
	named := func(kind string) bool { return d.PolicyType != "" && strings.Contains(kind, d.PolicyType) }
	bonus := func(kind string) (int, string) {
		if named(kind) {
			if d.Explicit {
				return 100, "the message says an explicit deny in " + d.PolicyType + " refused it"
			}
			return 100, "the message says no " + d.PolicyType + " allows it"
		}
		return 0, ""
	}
	explicitNeed := func(kind, usual string) string {
		if named(kind) && d.Explicit {
			where := "the Deny statement"
			if d.PolicyARN != "" {
				where += " in " + d.PolicyARN
			}
			return where + " must not match " + action + " on " + resource + " for this caller (narrow its Action, Resource or Condition, or exempt the caller)"
		}
		return usual
	}
	assume := strings.EqualFold(d.Action, "sts:AssumeRole")
	service := c.Kind == ServiceActing

	if assume {
		role := resource
		// STS's sentence without a reason is the same for a trust refusal
		// and for a role that does not exist under exactly that ARN.
		plain := d.PolicyType == ""
		s := 50
		if plain {
			s = 95
		}
		add(s, "role name", "STS answers AccessDenied, not NoSuchEntity, when no role has exactly this ARN",
			"a role whose ARN is exactly %s: role names and paths are case-sensitive when assumed (IAM lists names ignoring case, AssumeRole does not)", role)
		b, why := bonus("resource-based policy trust policy")
		if plain {
			b, why = 90, "STS gives this sentence, without a reason, when the trust policy does not allow the caller"
		}
		principal := "the caller's ARN " + c.ARN
		switch c.Kind {
		case ServiceActing:
			principal = `the service principal {"Service": "` + c.ServicePrincipal + `"}`
		case RoleSession, SSOSession:
			principal = "the role arn:aws:iam::" + c.Account + ":role/" + c.Name + " (or the session ARN " + c.ARN + ")"
		}
		add(b, "trust policy", why, "%s's trust policy must have an Allow for sts:AssumeRole naming %s, with every Condition met by what this caller sends (sts:ExternalId, aws:SourceAccount, aws:SourceArn, MFA ...) and no Deny that matches", role, principal)
		if !service {
			b, why := bonus("identity-based policy")
			add(40+b, "identity-based policy", why, "%s", explicitNeed("identity-based policy",
				"a policy of "+who(c)+" must allow sts:AssumeRole on "+role+" (unless the trust policy names the caller itself and the role is in the same account)"))
		}
	} else {
		b, why := bonus("identity-based policy")
		if d.PolicyType == "" {
			b, why = 10, "the usual cause when the message gives no reason"
		}
		if !service {
			add(60+b, "identity-based policy", why, "%s", explicitNeed("identity-based policy", "a policy attached to "+who(c)+" (or its groups) must allow "+action+" on "+resource))
		}
		b, why = bonus("resource-based policy")
		need := "if " + resource + " has a resource policy (bucket, key, queue, topic ... policy), no Deny in it may match; in the same account an Allow there can grant on its own"
		if cross || service {
			need = resource + "'s resource policy must allow " + action + " for " + c.ARN + " (across accounts both sides must allow)"
			if service {
				need = resource + "'s policy must allow " + action + " for " + c.ServicePrincipal + " (conditions aws:SourceAccount/aws:SourceArn are what the service sends)"
			}
			b += 30
			if why == "" {
				why = "the caller is in another account than the resource"
			}
		}
		add(45+b, "resource-based policy", why, "%s", explicitNeed("resource-based policy", need))
	}
	if !service {
		b, why := bonus("service control policy")
		add(30+b, "service control policy", why, "%s", explicitNeed("service control policy",
			"if "+account(c)+" is in an AWS Organization, every SCP level from the root to the account must allow "+action+" and none may deny it (SCPs do not apply to the management account)"))
		b, why = bonus("permissions boundary")
		add(25+b, "permissions boundary", why, "%s", explicitNeed("permissions boundary", "if "+who(c)+" has a permissions boundary, it must allow "+action+" too"))
		if c.Kind == RoleSession || c.Kind == SSOSession || c.Kind == FederatedUser {
			b, why = bonus("session policy")
			add(20+b, "session policy", why, "%s", explicitNeed("session policy", "if the session was made with a session policy (Policy or PolicyArns of AssumeRole/GetFederationToken), it must allow "+action+" too"))
		}
	}
	b, why := bonus("resource control policy")
	acct := d.ResourceAccount
	if acct == "" {
		acct = "the resource's account"
	}
	add(15+b, "resource control policy", why, "%s", explicitNeed("resource control policy", "if "+acct+" is in an AWS Organization with RCPs, none may deny "+action+" on "+resource+" for this caller"))
	if named("VPC endpoint policy") {
		add(200, "VPC endpoint policy", "the message names it", "the policy of the VPC endpoint the request went through must allow %s on %s", d.Action, resource)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// who names the caller briefly, as a checklist sentence needs.
func who(c Caller) string {
	switch c.Kind {
	case IAMUser:
		return "IAM user " + c.Name
	case Role:
		return "role " + c.Name
	case RoleSession:
		return "role " + c.Name + " (whose session this is)"
	case SSOSession:
		return "role " + c.Name + " (permission set " + c.PermissionSet + ": edit it in IAM Identity Center)"
	case FederatedUser:
		return "the IAM user that called GetFederationToken"
	case Root:
		return "the root user"
	}
	if c.ARN == "" {
		return "the caller"
	}
	return c.ARN
}

func account(c Caller) string {
	if c.Account == "" {
		return "the caller's account"
	}
	return "account " + c.Account
}
