package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credkit/credkit/policy"
)

// Clients are the read-only AWS clients Investigate calls, signed with
// the current credentials.
type Clients struct {
	IAM *iam.Client
	STS *sts.Client
	// Orgs reads the SCPs over the caller's account; nil skips them.
	Orgs *organizations.Client
	Now  func() time.Time // nil means time.Now
}

// Finding is one thing Investigate learnt, or one call it could not
// make: a refused call is a finding, never a failure.
type Finding struct {
	Call    string `json:"call,omitempty"` // "iam:GetRole"
	Refused bool   `json:"refused,omitempty"`
	Text    string `json:"text"`
}

// RoleInfo is the role an AssumeRole named, as IAM has it.
type RoleInfo struct {
	ARN                string    `json:"arn"`
	Name               string    `json:"name"`
	Path               string    `json:"path"`
	RoleID             string    `json:"role_id,omitempty"`
	Created            time.Time `json:"created"`
	AgeSeconds         int64     `json:"age_seconds"`
	MaxSessionDuration int32     `json:"max_session_duration,omitempty"`
	Boundary           string    `json:"permissions_boundary,omitempty"`
	// Requested is the ARN the refused request named; Mismatch says how
	// it differs from ARN ("" when they are equal).
	Requested string `json:"requested"`
	Mismatch  string `json:"mismatch,omitempty"`
}

// Trust is the trust policy of the role, evaluated for the caller.
type Trust struct {
	// Verdict is "allows", "denies" or "does not name the caller".
	Verdict    string    `json:"verdict"`
	Statements []string  `json:"statements"`
	Conditions []KeyNeed `json:"conditions,omitempty"`
}

// KeyNeed is a condition key a trust statement that names the caller
// requires, and whether that kind of caller sends it.
type KeyNeed struct {
	Statement int      `json:"statement"`
	Operator  string   `json:"operator"`
	Key       string   `json:"key"`
	Values    []string `json:"values"`
	Sent      string   `json:"sent"`
}

// Online is what Investigate found.
type Online struct {
	Findings []Finding `json:"findings"`
	Role     *RoleInfo `json:"role,omitempty"`
	Trust    *Trust    `json:"trust,omitempty"`
}

func (o *Online) add(call string, refused bool, format string, args ...any) {
	o.Findings = append(o.Findings, Finding{Call: call, Refused: refused, Text: fmt.Sprintf(format, args...)})
}

// apiError is an error's code and message as AWS answered them.
func apiError(err error) (code, msg string) {
	if err == nil {
		return "", ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", err.Error()
}

func (o *Online) failed(call string, err error) {
	code, msg := apiError(err)
	if code != "" {
		o.add(call, true, "%s: %s", code, msg)
	} else {
		o.add(call, true, "%s", msg)
	}
}

// Investigate makes read-only calls about d: it decodes an encoded
// message (filling in d), looks up the role of an sts:AssumeRole, checks
// its trust policy for the caller, asks iam:SimulatePrincipalPolicy
// about the caller's identity policies, and evaluates the SCPs over the
// caller's account and the RCPs over the resource's account when it may
// read them.
func Investigate(ctx context.Context, c Clients, d *Denial) *Online {
	o := &Online{}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if d.Encoded != "" {
		o.decode(ctx, c, d)
	}
	if strings.EqualFold(d.Action, "sts:AssumeRole") && arnPart(d.Resource, 2) == "iam" && strings.HasPrefix(arnPart(d.Resource, 5), "role/") {
		o.role(ctx, c, d, now())
	}
	o.simulate(ctx, c, d)
	o.scps(ctx, c, d)
	o.rcps(ctx, c, d)
	return o
}

func (o *Online) decode(ctx context.Context, c Clients, d *Denial) {
	out, err := c.STS.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(d.Encoded)})
	if err != nil {
		o.failed("sts:DecodeAuthorizationMessage", err)
		return
	}
	var m struct {
		Allowed      bool `json:"allowed"`
		ExplicitDeny bool `json:"explicitDeny"`
		Context      struct {
			Principal struct {
				Arn string `json:"arn"`
			} `json:"principal"`
			Action   string `json:"action"`
			Resource string `json:"resource"`
		} `json:"context"`
	}
	msg := aws.ToString(out.DecodedMessage)
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		o.add("sts:DecodeAuthorizationMessage", false, "decoded, but not the JSON AWS documents: %s", msg)
		return
	}
	if d.Caller.ARN == "" && m.Context.Principal.Arn != "" {
		d.Caller = RecognizeCaller(m.Context.Principal.Arn)
	}
	if d.Action == "" {
		d.Action = m.Context.Action
	}
	if d.Resource == "" {
		d.Resource = m.Context.Resource
		d.ResourceAccount = arnPart(d.Resource, 4)
	}
	if m.ExplicitDeny {
		d.Explicit = true
	}
	o.add("sts:DecodeAuthorizationMessage", false, "decoded: %s", msg)
}

// role looks up the role an AssumeRole named: by exact name, else among
// all roles ignoring case and path.
func (o *Online) role(ctx context.Context, c Clients, d *Denial, now time.Time) {
	res := arnPart(d.Resource, 5)
	name := lastSegment(res)
	var role *iamtypes.Role
	out, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch code, _ := apiError(err); {
	case err == nil:
		role = out.Role
	case code == "NoSuchEntity":
		o.add("iam:GetRole", false, "no role is named exactly %s", name)
	default:
		o.failed("iam:GetRole", err)
	}
	if role == nil || aws.ToString(role.Arn) != d.Resource {
		if r := o.findRole(ctx, c, name); r != nil {
			role = r
		}
	}
	if role == nil {
		return
	}
	info := &RoleInfo{ARN: aws.ToString(role.Arn), Name: aws.ToString(role.RoleName), Path: aws.ToString(role.Path), RoleID: aws.ToString(role.RoleId),
		MaxSessionDuration: aws.ToInt32(role.MaxSessionDuration), Requested: d.Resource}
	if role.CreateDate != nil {
		info.Created = role.CreateDate.UTC()
		info.AgeSeconds = int64(now.Sub(*role.CreateDate) / time.Second)
	}
	if role.PermissionsBoundary != nil {
		info.Boundary = aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn)
	}
	reqPath := strings.TrimSuffix(strings.TrimPrefix(res, "role"), name)
	switch {
	case info.ARN == d.Resource:
	case info.Name != name && strings.EqualFold(info.Name, name):
		info.Mismatch = "the names differ only in case"
		o.add("", false, "the role exists as %s; the request named %s: the names differ only in case, and AssumeRole matches role names exactly", info.ARN, d.Resource)
	default:
		info.Mismatch = "the paths differ"
		o.add("", false, "the role exists as %s (path %s); the request named %s (path %s): AssumeRole needs the full ARN with the path", info.ARN, info.Path, d.Resource, reqPath)
	}
	age := fmt.Sprintf("created %s, %d s ago", info.Created.Format(time.RFC3339), info.AgeSeconds)
	if info.AgeSeconds < 60 {
		age += ": a role this new may not be visible to STS yet (IAM is eventually consistent; retry for a few seconds)"
	}
	boundary := "none"
	if info.Boundary != "" {
		boundary = info.Boundary
	}
	o.add("iam:GetRole", false, "role %s: path %s, permissions boundary %s, MaxSessionDuration %d s, %s", info.ARN, info.Path, boundary, info.MaxSessionDuration, age)
	o.Role = info
	o.trust(d, role)
}

// findRole lists the roles and returns the one whose name equals name
// ignoring case.
func (o *Online) findRole(ctx context.Context, c Clients, name string) *iamtypes.Role {
	p := iam.NewListRolesPaginator(c.IAM, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			o.failed("iam:ListRoles", err)
			return nil
		}
		for i, r := range page.Roles {
			if strings.EqualFold(aws.ToString(r.RoleName), name) {
				return &page.Roles[i]
			}
		}
	}
	o.add("iam:ListRoles", false, "no role is named %s, in any case or path", name)
	return nil
}

// trust evaluates the role's trust policy for the caller with the
// engine.
func (o *Online) trust(d *Denial, role *iamtypes.Role) {
	doc := aws.ToString(role.AssumeRolePolicyDocument)
	if !strings.HasPrefix(strings.TrimSpace(doc), "{") { // IAM answers it URL-encoded
		if u, err := url.QueryUnescape(doc); err == nil {
			doc = u
		}
	}
	p, err := policy.Parse([]byte(doc), policy.Trust)
	if err != nil {
		o.add("", false, "the trust policy of %s cannot be read: %v", aws.ToString(role.RoleName), err)
		return
	}
	c := d.Caller
	principal := c.ARN
	if c.Kind == ServiceActing {
		principal = c.ServicePrincipal
	}
	label := "trust policy of " + aws.ToString(role.RoleName)
	dec := policy.Evaluate(policy.Policies{Trust: &policy.Labeled{Label: label, Policy: p}},
		policy.Request{Principal: principal, Action: "sts:AssumeRole", Resource: aws.ToString(role.Arn), Context: map[string][]string{}})
	t := &Trust{Verdict: "does not name the caller"}
	switch {
	case dec.Outcome == policy.ExplicitlyDenied && dec.DeniedBy == policy.Trust:
		t.Verdict = "denies"
	case dec.Outcome == policy.Allowed || dec.DeniedBy != policy.Trust:
		// Allowed, or refused past the trust policy: the caller's own
		// identity policies, which are not known here, must allow too.
		t.Verdict = "allows"
	}
	for _, r := range dec.Trace {
		t.Statements = append(t.Statements, r.String())
		// The engine checks Action, Resource, Principal, then Condition:
		// a statement that failed on its Condition names the caller, and
		// the request here carries none of the caller's keys.
		names := r.Matched || strings.HasPrefix(r.Why, "Condition ")
		if names && r.Effect == policy.Allow {
			if t.Verdict == "does not name the caller" {
				t.Verdict = "allows"
			}
			for _, cond := range p.Statements[r.Index].Conditions {
				t.Conditions = append(t.Conditions, KeyNeed{Statement: r.Index, Operator: cond.Operator, Key: cond.Key, Values: cond.Values, Sent: sentBy(cond.Key, c)})
			}
		}
	}
	who := principal
	switch t.Verdict {
	case "allows":
		o.add("", false, "the trust policy of %s allows %s to call sts:AssumeRole, when its conditions hold", aws.ToString(role.Arn), who)
	case "denies":
		o.add("", false, "the trust policy of %s denies sts:AssumeRole to %s explicitly", aws.ToString(role.Arn), who)
	default:
		o.add("", false, "the trust policy of %s has no Allow for sts:AssumeRole naming %s", aws.ToString(role.Arn), who)
	}
	for _, k := range t.Conditions {
		o.add("", false, "the trust requires %s %s %v (statement %d): %s", k.Operator, k.Key, k.Values, k.Statement, k.Sent)
	}
	o.Trust = t
}

// sentBy says whether a kind of caller sends a condition key with an
// AssumeRole.
func sentBy(key string, c Caller) string {
	k := strings.ToLower(key)
	service := c.Kind == ServiceActing
	switch {
	case k == "aws:sourceaccount" || k == "aws:sourcearn" || k == "aws:sourceorgid" || k == "aws:sourceorgpaths":
		if service {
			return "sent by " + c.Service + " when it acts for a resource of yours"
		}
		return "not sent: only AWS services acting for you send it; a user or role session does not"
	case k == "sts:externalid":
		if service {
			return "sent only if the service is configured with the external id; most are not"
		}
		return "sent only when the caller passes ExternalId to AssumeRole"
	case k == "aws:multifactorauthpresent" || k == "aws:multifactorauthage":
		if service {
			return "never sent by a service"
		}
		return "sent only for a session made with MFA (or AssumeRole with SerialNumber and TokenCode)"
	case strings.HasPrefix(k, "aws:principal"):
		if service {
			return "not sent for a service principal"
		}
		return "sent for every IAM user and role session"
	case k == "aws:sourceip" || k == "aws:sourcevpc" || k == "aws:sourcevpce":
		if service {
			return "not the customer's: a service calls from AWS's network"
		}
		return "sent for direct calls (from the caller's network address or VPC endpoint)"
	case k == "sts:rolesessionname":
		return "sent with every AssumeRole"
	case strings.HasPrefix(k, "saml:") || strings.Contains(k, ":sub") || strings.Contains(k, ":aud") || strings.Contains(k, ":amr"):
		return "sent only by federated (SAML or web identity) callers"
	}
	return "credkit does not know whether this caller sends it"
}

// simulate asks iam:SimulatePrincipalPolicy whether the caller's
// identity policies allow the action, when the caller is an identity of
// the account that can be simulated.
func (o *Online) simulate(ctx context.Context, c Clients, d *Denial) {
	caller := d.Caller
	var source string
	switch caller.Kind {
	case IAMUser, Role:
		source = caller.ARN
	case RoleSession, SSOSession:
		out, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(caller.Name)})
		if err != nil {
			o.failed("iam:GetRole", err)
			return
		}
		source = aws.ToString(out.Role.Arn)
	case ServiceActing:
		o.add("iam:SimulatePrincipalPolicy", false, "not asked: the caller is %s, whose identity policies belong to AWS", caller.Service)
		return
	default:
		return
	}
	if d.Action == "" {
		return
	}
	in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(source), ActionNames: []string{d.Action}}
	if d.Resource != "" {
		in.ResourceArns = []string{d.Resource}
	}
	out, err := c.IAM.SimulatePrincipalPolicy(ctx, in)
	if err != nil {
		o.failed("iam:SimulatePrincipalPolicy", err)
		return
	}
	for _, r := range out.EvaluationResults {
		var stmts []string
		for _, m := range r.MatchedStatements {
			stmts = append(stmts, aws.ToString(m.SourcePolicyId))
		}
		text := fmt.Sprintf("identity policies of %s: %s for %s", source, r.EvalDecision, aws.ToString(r.EvalActionName))
		if len(stmts) > 0 {
			text += " (matched: " + strings.Join(stmts, ", ") + ")"
		}
		if strings.EqualFold(d.Action, "sts:AssumeRole") {
			text += "; the simulator does not evaluate trust policies"
		}
		o.add("iam:SimulatePrincipalPolicy", false, "%s", text)
	}
}
