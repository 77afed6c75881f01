package roles

import (
	"fmt"
	"strings"

	"github.com/credkit/credkit/policy"
)

// TrustRequest is an attempt to assume a role.
type TrustRequest struct {
	// Principal is who asks: an IAM user, role or assumed-role session
	// ARN, an account root, a service principal ("es.amazonaws.com") or
	// a federated one (an OIDC or SAML provider ARN, or
	// "accounts.google.com", "cognito-identity.amazonaws.com", ...).
	Principal string
	// Action is sts:AssumeRole, sts:AssumeRoleWithWebIdentity,
	// sts:AssumeRoleWithSAML, sts:TagSession or sts:SetSourceIdentity;
	// "" picks the one the principal's kind uses (see DefaultAction).
	Action  string
	Context map[string][]string
	// IDs maps unique ids to ARNs, for trust policies that name a
	// principal by id (see Diff).
	IDs map[string]string
	// Label is what explanations call the trust policy (a file name);
	// "" means "trust policy of NAME".
	Label string
}

// PrincipalKind says what kind of principal a string names.
type PrincipalKind string

const (
	KindAWS       PrincipalKind = "AWS"       // an IAM identity or account
	KindService   PrincipalKind = "Service"   // an AWS service
	KindFederated PrincipalKind = "Federated" // an identity provider
)

// KindOf says what kind of principal p is.
func KindOf(p string) PrincipalKind {
	switch {
	case strings.Contains(p, ":saml-provider/") || strings.Contains(p, ":oidc-provider/"):
		return KindFederated
	case strings.HasPrefix(p, "arn:"):
		return KindAWS
	case strings.HasSuffix(p, ".amazonaws.com") && p != "cognito-identity.amazonaws.com":
		return KindService
	}
	return KindFederated
}

// DefaultAction is the action a principal of p's kind assumes a role
// with.
func DefaultAction(p string) string {
	switch {
	case strings.Contains(p, ":saml-provider/"):
		return "sts:AssumeRoleWithSAML"
	case KindOf(p) == KindFederated:
		return "sts:AssumeRoleWithWebIdentity"
	}
	return "sts:AssumeRole"
}

// TrustResult is the trust policy's answer.
type TrustResult struct {
	Role      string // the role's ARN
	Principal string
	Kind      PrincipalKind
	Action    string
	Outcome   policy.Outcome
	// Message is AWS's refusal, "" when the trust policy allows.
	Message string
	// Deciding are the statements that decided, as policy.Decision has
	// them.
	Deciding []policy.StatementResult
	// Notes say what else the caller needs: an identity policy allowing
	// the action when the trust policy names the account rather than
	// the caller, or when the caller is in another account.
	Notes []string
}

// TrustCheck decides whether the role's trust policy lets the request's
// principal assume it. It evaluates the trust policy alone: the caller's
// own identity policies, boundary and SCPs are not known here, and Notes
// say when they must allow too.
func TrustCheck(r *Role, req TrustRequest) (*TrustResult, error) {
	mapped, _ := mapUniqueIDs(r.TrustPolicy, req.IDs)
	doc, err := policy.Parse(mapped, policy.Trust)
	if err != nil {
		return nil, fmt.Errorf("trust policy of %s: %w", r.ARN, err)
	}
	if req.Action == "" {
		req.Action = DefaultAction(req.Principal)
	}
	roleAccount, _, _, _ := SplitARN(r.ARN)
	res := &TrustResult{Role: r.ARN, Principal: req.Principal, Kind: KindOf(req.Principal), Action: req.Action}
	label := req.Label
	if label == "" {
		label = "trust policy of " + r.Name
	}
	trust := policy.Labeled{Label: label, Policy: doc}
	preq := policy.Request{Principal: req.Principal, Action: req.Action, Resource: r.ARN, ResourceAccount: roleAccount, Context: req.Context}
	// The trust policy alone: the caller's identity policies are not
	// known here, so a refusal by the identity side means the trust
	// policy allowed and left the rest to them.
	d := policy.Evaluate(policy.Policies{Trust: &trust}, preq)
	if d.Outcome == policy.Allowed || d.DeniedBy == policy.Trust || d.Outcome == policy.ExplicitlyDenied {
		res.Outcome, res.Message, res.Deciding = d.Outcome, d.Message, d.Deciding
		return res, nil
	}
	res.Outcome = policy.Allowed
	for _, s := range d.Trace {
		if s.Kind == policy.Trust && s.Matched && s.Effect == policy.Allow {
			res.Deciding = append(res.Deciding, s)
		}
	}
	if callerAccount := accountOf(req.Principal); callerAccount != roleAccount {
		res.Notes = append(res.Notes, fmt.Sprintf("the caller is in account %s and the role in %s: an identity-based policy of the caller must allow %s on %s too", callerAccount, roleAccount, req.Action, r.ARN))
	} else {
		// Same account, but the trust policy names the account, not the
		// caller: it delegates to the caller's identity policies.
		res.Notes = append(res.Notes, fmt.Sprintf("the trust policy names the account, not the caller itself: an identity-based policy of the caller must allow %s on %s too", req.Action, r.ARN))
	}
	return res, nil
}

// accountOf is the account part of an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}
