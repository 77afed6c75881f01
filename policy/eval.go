package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Labeled is a policy with the name explanations call it by, such as
// "arn:aws:iam::aws:policy/ReadOnlyAccess" or "bucket policy of b".
type Labeled struct {
	Label  string
	Policy *Policy
}

// Request is one API call to decide.
type Request struct {
	// Principal is the caller's ARN: an IAM user, a role, an assumed-role
	// session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or the
	// account root user (arn:aws:iam::ACCOUNT:root); or an AWS service
	// principal ("sns.amazonaws.com").
	Principal string
	Action    string // "s3:GetObject"
	Resource  string // the resource ARN, or "*" for actions without one
	// ResourceAccount is the account that owns the resource. When empty
	// it is the ARN's account part, and when that is empty too (S3
	// buckets) the resource is taken to be in the principal's account.
	ResourceAccount string
	// Context holds the request's condition keys (names are
	// case-insensitive); a key with an empty list is present but empty.
	Context map[string][]string
}

// Policies are the policies that apply to a request. A nil or empty field
// means that kind of policy does not apply.
type Policies struct {
	Identity []Labeled // attached to the principal (and its groups)
	Resource *Labeled  // attached to the resource
	// Trust is the role's trust policy when the request assumes a role
	// (sts:AssumeRole, sts:AssumeRoleWithWebIdentity,
	// sts:AssumeRoleWithSAML, or sts:TagSession and
	// sts:SetSourceIdentity with them); the request's Resource is the
	// role's ARN. It is the role's resource policy with one difference:
	// it must allow the caller in the role's own account too, where an
	// identity-based policy alone grants for other resources.
	Trust    *Labeled
	Boundary *Labeled  // the principal's permissions boundary
	Session  []Labeled // passed when the session was created
	// SCPs holds the service control policies per level of the
	// organization from the root down to the principal's account. Nil
	// means the principal's account is not in an organization.
	SCPs [][]Labeled
	// RCPs holds the resource control policies per level for the
	// resource's account. RCPFullAWSAccess is implied at every level, so
	// only their Deny statements can change a decision.
	RCPs [][]Labeled
}

// Outcome is what a decision comes to.
type Outcome int

const (
	ImplicitlyDenied Outcome = iota // nothing allowed the request
	Allowed
	ExplicitlyDenied // a Deny statement matched
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "Allowed"
	case ExplicitlyDenied:
		return "ExplicitlyDenied"
	}
	return "ImplicitlyDenied"
}

// StatementResult says whether one statement applied to the request and
// why.
type StatementResult struct {
	Policy  string // the policy's label
	Kind    Kind
	Index   int // position in the policy's Statement list
	Sid     string
	Effect  Effect
	Matched bool
	Why     string // why it matched, or the first reason it did not
}

func (r StatementResult) String() string {
	s := fmt.Sprintf("%s %s statement %d", r.Kind, r.Policy, r.Index)
	if r.Sid != "" {
		s += " (" + r.Sid + ")"
	}
	return fmt.Sprintf("%s [%s]: %s", s, r.Effect, r.Why)
}

// Decision is the result of Evaluate.
type Decision struct {
	Outcome Outcome
	// Message is the AccessDenied message AWS gives, "" when allowed.
	Message string
	// Deciding are the statements that decided: the matching Deny
	// statements, the Allow statements that granted access, or, for an
	// implicit deny, the statements of the policy that did not allow
	// and why each did not.
	Deciding []StatementResult
	// Trace is every statement evaluated, in evaluation order.
	Trace []StatementResult
	// DeniedBy is the kind of policy that refused, when the request is
	// denied: the kind of the first deciding Deny, or the kind that did
	// not allow (Identity when no identity-based policy allows, Trust
	// when the trust policy does not allow the caller).
	DeniedBy Kind
}

// Evaluate decides a request the way AWS documents its policy evaluation
// logic:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
// and, across accounts,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
//
//  1. An explicit Deny in any policy denies.
//  2. Every RCP level must allow (RCPFullAWSAccess is implied at each).
//  3. Every SCP level must have an Allow that matches.
//  4. In the resource's account, a resource policy whose matching Allow
//     names the caller itself (a user ARN, an assumed-role session ARN,
//     or "*") grants on its own: neither the identity policies, nor a
//     permissions boundary, nor a session policy can take it away
//     without an explicit Deny. An Allow naming the role behind a
//     session stands in for the identity policies but is still limited
//     by the permissions boundary and the session policy. An Allow
//     naming the account (its id or :root) delegates to the account,
//     and the identity side must allow.
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
//     "Resource-based policies that grant permissions to an IAM role ARN
//     are limited by an implicit deny in a permissions boundary or
//     session policy."
//  5. The identity side must allow (or step 4's role grant stand in for
//     it), within the permissions boundary and the session policy when
//     there are any. The account root user needs no identity policy.
//  6. Across accounts the resource policy must allow as well.
//
// An AWS service principal as the caller ("sns.amazonaws.com") or an
// identity provider (an OIDC or SAML provider ARN, or a web identity
// provider such as "accounts.google.com") has no identity policies,
// boundary, session or SCPs: after the explicit denies (RCPs included),
// the resource or trust policy alone must allow.
//
// A trust policy (Policies.Trust) must allow the caller explicitly, also
// in the role's account:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
// after the same-account rule that either side may allow: "IAM role trust
// policies and KMS key policies are exceptions to this logic, because
// they must explicitly allow access for principals." Past
// that it grants as a resource policy does: naming the caller itself
// grants on its own in the same account, naming the account delegates
// to the caller's identity policies. When the trust policy refuses, by
// a Deny or for want of an Allow, STS names no policy: "User: P is not
// authorized to perform: sts:AssumeRole on resource: ROLE", and for web
// identity and SAML "Not authorized to perform
// sts:AssumeRoleWithWebIdentity".
//
// When several policies deny explicitly, the message names the first in
// this order: SCP, RCP, identity, resource, boundary, session.
func Evaluate(ps Policies, req Request) Decision {
	e := evaluator{req: req, ctx: newContext(req.Context), hasBoundary: ps.Boundary != nil}
	principalAccount := arnAccount(req.Principal)
	resourceAccount := req.ResourceAccount
	if resourceAccount == "" {
		resourceAccount = arnAccount(req.Resource)
	}
	if resourceAccount == "" {
		resourceAccount = principalAccount
	}
	sameAccount := principalAccount == resourceAccount

	var scps, rcps [][]setResult
	for _, level := range ps.SCPs {
		scps = append(scps, e.evalSet(SCP, level))
	}
	for _, level := range ps.RCPs {
		rcps = append(rcps, e.evalSet(RCP, level))
	}
	identity := e.evalSet(Identity, ps.Identity)
	var resource, trust, boundary []setResult
	if ps.Resource != nil {
		resource = e.evalSet(Resource, []Labeled{*ps.Resource})
	}
	if ps.Trust != nil {
		trust = e.evalSet(Trust, []Labeled{*ps.Trust})
		resource = append(resource, trust...)
	}
	if ps.Boundary != nil {
		boundary = e.evalSet(Boundary, []Labeled{*ps.Boundary})
	}
	session := e.evalSet(Session, ps.Session)

	d := Decision{Trace: e.trace}
	// 1. Explicit deny.
	denyOrder := []struct {
		sets [][]setResult
		kind Kind
	}{{scps, SCP}, {rcps, RCP}, {[][]setResult{identity}, Identity}, {[][]setResult{resource}, Resource}, {[][]setResult{boundary}, Boundary}, {[][]setResult{session}, Session}}
	for _, g := range denyOrder {
		for _, set := range g.sets {
			for _, r := range set {
				if r.Matched && r.Effect == Deny {
					d.Deciding = append(d.Deciding, r.StatementResult)
				}
			}
		}
	}
	if len(d.Deciding) > 0 {
		d.Outcome, d.DeniedBy = ExplicitlyDenied, d.Deciding[0].Kind
		if d.DeniedBy == Trust {
			d.Message = e.trustRefusal()
		} else {
			d.Message = e.message("with an explicit deny in " + kindPhrase[d.DeniedBy])
		}
		return d
	}
	// 2. RCPs: RCPFullAWSAccess allows at every level; only a Deny
	// (handled above) decides.
	resAllows := allows(resource)
	if ps.Trust != nil && allows(trust) == nil && (noIdentity(req.Principal) || allSCPsAllow(scps)) {
		// The trust policy must name the caller, whatever else allows.
		d.Outcome, d.DeniedBy, d.Deciding, d.Message = ImplicitlyDenied, Trust, nil, e.trustRefusal()
		for _, r := range trust {
			d.Deciding = append(d.Deciding, r.StatementResult)
		}
		return d
	}
	if noIdentity(req.Principal) {
		// An AWS service acting on its own, or an identity provider's
		// user, has no identity policies, boundary or session and is in
		// no account an SCP governs: the resource policy alone grants.
		if resAllows == nil {
			return e.implicit(d, Resource, resource, "no resource-based policy allows")
		}
		d.Outcome = Allowed
		for _, r := range resAllows {
			d.Deciding = append(d.Deciding, r.StatementResult)
		}
		return d
	}
	// 3. SCPs: each level must allow.
	for _, level := range scps {
		if allows(level) == nil {
			return e.implicit(d, SCP, level, "no service control policy allows")
		}
	}
	// 4. A resource policy naming the caller in the same account.
	var byRole []setResult
	if sameAccount {
		var direct []StatementResult
		for _, r := range resAllows {
			switch r.level {
			case principalDirect:
				direct = append(direct, r.StatementResult)
			case principalRole:
				byRole = append(byRole, r)
			}
		}
		if direct != nil {
			d.Outcome, d.Deciding = Allowed, direct
			return d
		}
	}
	// 5. The identity side, or in the same account a resource policy
	// naming the role behind the session, which the boundary and the
	// session policy still limit.
	idAllows := allows(identity)
	isRoot := strings.HasSuffix(req.Principal, ":root") && strings.HasPrefix(req.Principal, "arn:")
	if idAllows == nil && byRole == nil && !isRoot {
		return e.implicit(d, Identity, identity, "no identity-based policy allows")
	}
	if ps.Boundary != nil && allows(boundary) == nil && !isRoot {
		return e.implicit(d, Boundary, boundary, "no permissions boundary allows")
	}
	if len(ps.Session) > 0 && allows(session) == nil {
		return e.implicit(d, Session, session, "no session policy allows")
	}
	// 6. Across accounts the resource policy must allow too.
	if !sameAccount && resAllows == nil {
		return e.implicit(d, Resource, resource, "no resource-based policy allows")
	}
	d.Outcome = Allowed
	for _, r := range idAllows {
		d.Deciding = append(d.Deciding, r.StatementResult)
	}
	for _, r := range resAllows {
		d.Deciding = append(d.Deciding, r.StatementResult)
	}
	return d
}

// implicit finishes an implicit deny decided by the given statements.
func (e *evaluator) implicit(d Decision, by Kind, set []setResult, because string) Decision {
	d.Outcome, d.DeniedBy = ImplicitlyDenied, by
	d.Deciding = nil
	for _, r := range set {
		d.Deciding = append(d.Deciding, r.StatementResult)
	}
	d.Message = e.message("because " + because + " the " + e.req.Action + " action")
	return d
}

// trustRefusal is STS's message when a trust policy refuses: it names no
// policy and gives no reason.
func (e *evaluator) trustRefusal() string {
	switch strings.ToLower(e.req.Action) {
	case "sts:assumerolewithwebidentity", "sts:assumerolewithsaml":
		return "Not authorized to perform " + e.req.Action
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", e.req.Principal, e.req.Action, e.req.Resource)
}

func allSCPsAllow(levels [][]setResult) bool {
	for _, level := range levels {
		if allows(level) == nil {
			return false
		}
	}
	return true
}

func (e *evaluator) message(tail string) string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", e.req.Principal, e.req.Action, e.req.Resource, tail)
}

func allows(set []setResult) []setResult {
	var out []setResult
	for _, r := range set {
		if r.Matched && r.Effect == Allow {
			out = append(out, r)
		}
	}
	return out
}

// principalLevel is how a statement's Principal matched the caller.
type principalLevel int

const (
	principalNone    principalLevel = iota
	principalAccount                // the account or its root: delegated to the identity side
	principalRole                   // the role behind the caller's session
	principalDirect                 // the caller's own ARN, or "*"
)

type setResult struct {
	StatementResult
	level principalLevel
}

type evaluator struct {
	req         Request
	ctx         context
	hasBoundary bool
	trace       []StatementResult
}

func (e *evaluator) evalSet(kind Kind, ps []Labeled) []setResult {
	var out []setResult
	for _, lp := range ps {
		if lp.Policy == nil {
			continue
		}
		subst := lp.Policy.Version == Version2012
		for i, s := range lp.Policy.Statements {
			r := setResult{StatementResult: StatementResult{Policy: lp.Label, Kind: kind, Index: i, Sid: s.Sid, Effect: s.Effect}}
			r.Matched, r.level, r.Why = e.statement(kind, &s, subst)
			out = append(out, r)
			e.trace = append(e.trace, r.StatementResult)
		}
	}
	return out
}

// statement reports whether s applies to the request, how its principal
// matched, and why it does or does not apply.
func (e *evaluator) statement(kind Kind, s *Statement, subst bool) (bool, principalLevel, string) {
	req := e.req
	if s.Action != nil && !anyMatch(s.Action, func(p string) bool { return matchAction(p, req.Action) }) {
		return false, 0, "Action " + quoteList(s.Action) + " does not match " + req.Action
	}
	if s.NotAction != nil && anyMatch(s.NotAction, func(p string) bool { return matchAction(p, req.Action) }) {
		return false, 0, "NotAction " + quoteList(s.NotAction) + " matches " + req.Action
	}
	unresolved := ""
	resMatch := func(p string) bool {
		if !subst {
			return matchARN(literal(p), req.Resource)
		}
		q, ok := substitute(p, e.ctx)
		if !ok && unresolved == "" {
			unresolved = p
		}
		return ok && matchARN(q, req.Resource)
	}
	if s.Resource != nil && !anyMatch(s.Resource, resMatch) {
		return false, 0, "Resource " + quoteList(s.Resource) + " does not match " + req.Resource
	}
	if s.NotResource != nil {
		if anyMatch(s.NotResource, resMatch) {
			return false, 0, "NotResource " + quoteList(s.NotResource) + " matches " + req.Resource
		}
		if unresolved != "" {
			// A variable without a value makes the statement invalid
			// rather than matching nothing, which NotResource would turn
			// into matching everything.
			return false, 0, "NotResource " + strconv.Quote(unresolved) + " has a policy variable without a value in the request"
		}
	}
	level := principalDirect
	switch {
	case s.Principal != nil:
		level = e.principal(s.Principal)
		if level == principalNone {
			return false, 0, fmt.Sprintf("Principal %s does not name %s", formatPrincipal(s.Principal), req.Principal)
		}
	case s.NotPrincipal != nil && s.Effect == Deny && e.hasBoundary:
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html:
		// a NotPrincipal Deny always denies a principal that has a
		// permissions boundary, whatever NotPrincipal names.
	case s.NotPrincipal != nil:
		if e.principal(s.NotPrincipal) != principalNone {
			return false, 0, fmt.Sprintf("NotPrincipal %s names %s", formatPrincipal(s.NotPrincipal), req.Principal)
		}
		// A NotPrincipal Allow grants to everyone else as "*" would.
		level = principalDirect
	}
	var met []string
	for _, c := range s.Conditions {
		ok, why := evalCondition(c, e.ctx, subst)
		if !ok {
			return false, 0, "Condition " + why
		}
		met = append(met, why)
	}
	why := "Action, Resource and Principal match"
	if len(met) > 0 {
		why += "; " + strings.Join(met, "; ")
	}
	return true, level, why
}

func anyMatch(patterns []string, match func(string) bool) bool {
	for _, p := range patterns {
		if match(p) {
			return true
		}
	}
	return false
}

// principal says how a Principal element names the caller.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
func (e *evaluator) principal(p *Principal) principalLevel {
	if p.All {
		return principalDirect
	}
	caller := e.req.Principal
	account := arnAccount(caller)
	best := principalNone
	for typ, vals := range p.Values {
		for _, v := range vals {
			l := principalNone
			switch typ {
			case "AWS":
				switch {
				case v == "*" || v == caller:
					l = principalDirect
				case account != "" && (v == account || v == "arn:"+arnPartition(caller)+":iam::"+account+":root"):
					l = principalAccount
				case sessionRole(caller, v):
					l = principalRole
				}
			default:
				if strings.EqualFold(v, caller) {
					l = principalDirect
				}
			}
			best = max(best, l)
		}
	}
	return best
}

// noIdentity reports whether the caller has no IAM identity of its own:
// an AWS service principal such as "sns.amazonaws.com", or an identity
// provider (an OIDC or SAML provider ARN, or a web identity provider such
// as "accounts.google.com" or "cognito-identity.amazonaws.com").
func noIdentity(p string) bool {
	if !strings.HasPrefix(p, "arn:") {
		return p != "" && p != "*"
	}
	return strings.Contains(p, ":oidc-provider/") || strings.Contains(p, ":saml-provider/")
}

func arnPartition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 {
		return "aws"
	}
	return parts[1]
}

// sessionRole reports whether roleARN is the role behind an assumed-role
// session ARN (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION; the role's
// path is not in the session ARN, so the name decides).
func sessionRole(session, roleARN string) bool {
	sp := strings.SplitN(session, ":", 6)
	rp := strings.SplitN(roleARN, ":", 6)
	if len(sp) != 6 || len(rp) != 6 || sp[2] != "sts" || rp[2] != "iam" || sp[4] != rp[4] || sp[1] != rp[1] {
		return false
	}
	name, ok := strings.CutPrefix(sp[5], "assumed-role/")
	if !ok {
		return false
	}
	name, _, _ = strings.Cut(name, "/")
	role, ok := strings.CutPrefix(rp[5], "role/")
	if !ok {
		return false
	}
	if i := strings.LastIndexByte(role, '/'); i >= 0 {
		role = role[i+1:]
	}
	return role == name
}

func formatPrincipal(p *Principal) string {
	if p.All {
		return `"*"`
	}
	var parts []string
	for _, t := range principalTypes {
		if v, ok := p.Values[t]; ok {
			parts = append(parts, fmt.Sprintf("%s: %q", t, v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// quoteList formats a list as %q does (["a" "b"]), without fmt's cost:
// it runs for every statement that does not match.
func quoteList(l []string) string {
	b := []byte{'['}
	for i, s := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, s)
	}
	return string(append(b, ']'))
}
