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

// scps reads the service control policies over the caller's account,
// level by level from the organization's root, and evaluates them for
// the request with the engine. Only the organization's management
// account and delegated administrators may read them; a refusal is a
// line.
func (o *Online) scps(ctx context.Context, c Clients, d *Denial) {
	caller := d.Caller
	if c.Orgs == nil || caller.Account == "" || d.Action == "" {
		return
	}
	if caller.Kind == ServiceActing {
		o.add("organizations:ListPoliciesForTarget", false, "not asked: SCPs do not apply to %s's own identity", caller.Service)
		return
	}
	// The path from the account up to the root, then reversed.
	targets := []string{caller.Account}
	for id := caller.Account; ; {
		out, err := c.Orgs.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(id)})
		if err != nil {
			if code, _ := apiError(err); code == "AWSOrganizationsNotInUseException" {
				o.add("organizations:ListParents", false, "account %s is in no organization: no SCP applies", caller.Account)
				return
			}
			o.failed("organizations:ListParents", err)
			return
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
	var levels [][]policy.Labeled
	for _, t := range targets {
		var level []policy.Labeled
		p := organizations.NewListPoliciesForTargetPaginator(c.Orgs, &organizations.ListPoliciesForTargetInput{TargetId: aws.String(t), Filter: orgtypes.PolicyTypeServiceControlPolicy})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				o.failed("organizations:ListPoliciesForTarget", err)
				return
			}
			for _, s := range page.Policies {
				out, err := c.Orgs.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: s.Id})
				if err != nil {
					o.failed("organizations:DescribePolicy", err)
					return
				}
				label := aws.ToString(s.Name) + " (" + aws.ToString(s.Id) + ") on " + t
				doc, err := policy.Parse([]byte(aws.ToString(out.Policy.Content)), policy.SCP)
				if err != nil {
					o.add("organizations:DescribePolicy", false, "SCP %s cannot be read: %v", label, err)
					return
				}
				level = append(level, policy.Labeled{Label: label, Policy: doc})
			}
		}
		levels = append(levels, level)
	}
	resource := d.Resource
	if resource == "" {
		resource = "*"
	}
	dec := policy.Evaluate(policy.Policies{SCPs: levels}, policy.Request{Principal: caller.ARN, Action: d.Action, Resource: resource, Context: map[string][]string{}})
	o.add("organizations:ListPoliciesForTarget", false, "SCPs over account %s, from the root: %s", caller.Account, strings.Join(targets, " > "))
	ok := true
	for _, r := range dec.Trace {
		if r.Matched && r.Effect == policy.Deny {
			ok = false
			o.add("", false, "SCP %s denies %s explicitly: %s", r.Policy, d.Action, r)
		}
	}
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
