package explain

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/credkit/credkit/policy"
)

// orgPolicies reads the policies of one type (SCPs or RCPs) attached over
// an account, level by level from the organization's root down to the
// account. Only the organization's management account and delegated
// administrators may read them; a refusal, or an account in no
// organization, is a line and ok is false.
func (o *Online) orgPolicies(ctx context.Context, c Clients, account string, typ orgtypes.PolicyType, kind policy.Kind) (targets []string, levels [][]policy.Labeled, ok bool) {
	// The path from the account up to the root, then reversed.
	targets = []string{account}
	for id := account; ; {
		out, err := c.Orgs.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
		if err != nil {
			if code, _ := apiError(err); code == "AWSOrganizationsNotInUseException" {
				o.add("organizations:ListParents", false, "account %s is in no organization: no %s applies", account, kind)
				return nil, nil, false
			}
			o.failed("organizations:ListParents", err)
			return nil, nil, false
		}
		if len(out.Parents) == 0 {
			break
		}
		p := out.Parents[0]
		id = aws.ToString(p.Id)
		targets = append(targets, id)
		if p.Type == orgtypes.ParentTypeRoot {
			break
		}
	}
	slices.Reverse(targets)
	for _, t := range targets {
		var level []policy.Labeled
		p := organizations.NewListPoliciesForTargetPaginator(c.Orgs, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(t), Filter: typ})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				o.failed("organizations:ListPoliciesForTarget", err)
				return nil, nil, false
			}
			for _, s := range page.Policies {
				out, err := c.Orgs.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: s.Id})
				if err != nil {
					o.failed("organizations:DescribePolicy", err)
					return nil, nil, false
				}
				label := aws.ToString(s.Name) + " (" + aws.ToString(s.Id) + ") on " + t
				doc, err := policy.Parse([]byte(aws.ToString(out.Policy.Content)), kind)
				if err != nil {
					o.add("organizations:DescribePolicy", false, "%s %s cannot be read: %v", kind, label, err)
					return nil, nil, false
				}
				level = append(level, policy.Labeled{Label: label, Policy: doc})
			}
		}
		levels = append(levels, level)
	}
	return targets, levels, true
}

// scps reads the service control policies over the caller's account and
// evaluates them for the request with the engine.
func (o *Online) scps(ctx context.Context, c Clients, d *Denial) {
	caller := d.Caller
	if c.Orgs == nil || caller.Account == "" || d.Action == "" {
		return
	}
	if caller.Kind == ServiceActing {
		o.add("organizations:ListPoliciesForTarget", false, "not asked: SCPs do not apply to %s's own identity", caller.Service)
		return
	}
	targets, levels, ok := o.orgPolicies(ctx, c, caller.Account, orgtypes.PolicyTypeServiceControlPolicy, policy.SCP)
	if !ok {
		return
	}
	dec := policy.Evaluate(policy.Policies{SCPs: levels}, policy.Request{Principal: caller.ARN, Action: d.Action, Resource: resourceOrStar(d), Context: map[string][]string{}})
	o.add("organizations:ListPoliciesForTarget", false, "SCPs over account %s, from the root: %s", caller.Account, strings.Join(targets, " > "))
	ok = o.orgDenies(dec, "SCP", d.Action)
	for i, level := range levels {
		allowed := false
		for _, r := range dec.Trace {
			for _, lp := range level {
				allowed = allowed || (r.Policy == lp.Label && r.Matched && r.Effect == policy.Allow)
			}
		}
		if !allowed {
			ok = false
			o.add("", false, "no SCP on %s allows %s: every level must allow it", targets[i], d.Action)
		}
	}
	if ok {
		o.add("", false, "the SCPs allow %s", d.Action)
	}
}

// rcps reads the resource control policies over the resource's account
// (the caller's when the resource's ARN names none, as for S3 buckets)
// and evaluates them for the request with the engine. RCPFullAWSAccess
// is implied at every level, so only a Deny can refuse.
func (o *Online) rcps(ctx context.Context, c Clients, d *Denial) {
	account := arnPart(d.Resource, 4)
	if account == "" {
		account = d.Caller.Account
	}
	if c.Orgs == nil || account == "" || d.Action == "" {
		return
	}
	targets, levels, ok := o.orgPolicies(ctx, c, account, orgtypes.PolicyTypeResourceControlPolicy, policy.RCP)
	if !ok {
		return
	}
	principal := d.Caller.ARN
	if d.Caller.Kind == ServiceActing && d.Caller.ServicePrincipal != "" {
		principal = d.Caller.ServicePrincipal
	}
	dec := policy.Evaluate(policy.Policies{RCPs: levels}, policy.Request{Principal: principal, Action: d.Action, Resource: resourceOrStar(d), ResourceAccount: account, Context: map[string][]string{}})
	o.add("organizations:ListPoliciesForTarget", false, "RCPs over account %s, from the root: %s", account, strings.Join(targets, " > "))
	if o.orgDenies(dec, "RCP", d.Action) {
		o.add("", false, "the RCPs do not deny %s", d.Action)
	}
}

// orgDenies adds a line for each SCP or RCP Deny that matches; it
// reports whether none did.
func (o *Online) orgDenies(dec policy.Decision, what, action string) bool {
	none := true
	for _, r := range dec.Trace {
		if r.Matched && r.Effect == policy.Deny {
			none = false
			o.add("", false, "%s %s denies %s explicitly: %s", what, r.Policy, action, r)
		}
	}
	return none
}

func resourceOrStar(d *Denial) string {
	if d.Resource == "" {
		return "*"
	}
	return d.Resource
}
