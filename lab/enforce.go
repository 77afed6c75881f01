package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/credkit/credkit/policy"
)

// requireMFAPolicy is the usual "no IAM without MFA" policy a user
// seeded with require_mfa has besides its own.
var requireMFAPolicy = sync.OnceValue(func() *policy.Policy {
	return mustPolicy(`{"Version": "2012-10-17", "Statement": [{"Sid": "DenyIAMWithoutMFA", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
		"Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}`, policy.Identity)
})

// check is one request to decide for a caller.
type check struct {
	action, resource string
	context          map[string][]string // besides the caller's keys
	// trust is the role whose trust policy decides an AssumeRole with
	// the caller's own policies; noRole is set when the request named no
	// role of the account.
	trust  *SeedRole
	noRole bool
}

// callerContext is the global condition keys AWS sets for the caller.
func (l *Lab) callerContext(c caller) map[string][]string {
	now := l.now().UTC()
	ctx := map[string][]string{
		"aws:PrincipalAccount": {l.seed.AccountID},
		"aws:userid":           {c.userID},
		"aws:CurrentTime":      {now.Format("2006-01-02T15:04:05Z")},
		"aws:EpochTime":        {strconv.FormatInt(now.Unix(), 10)},
		"aws:RequestedRegion":  {Region},
		"aws:SecureTransport":  {"false"},
		"aws:ViaAWSService":    {"false"},
	}
	switch {
	case c.role != "":
		ctx["aws:PrincipalArn"] = []string{l.roleARN(c.role)}
		ctx["aws:PrincipalType"] = []string{"AssumedRole"}
	default:
		ctx["aws:PrincipalArn"] = []string{l.userARN(c.user)}
		ctx["aws:PrincipalType"] = []string{"User"}
		ctx["aws:username"] = []string{c.user}
	}
	// Long-term keys send no aws:MultiFactorAuthPresent; sessions say
	// whether they were made with MFA.
	if c.session || c.mfa {
		ctx["aws:MultiFactorAuthPresent"] = []string{strconv.FormatBool(c.mfa)}
	}
	return ctx
}

// policiesOf are the policies that apply to the caller's requests.
func (l *Lab) policiesOf(c caller) policy.Policies {
	var ps policy.Policies
	add := func(owner string, pols []*policy.Policy, boundary *policy.Policy) {
		for i, p := range pols {
			ps.Identity = append(ps.Identity, policy.Labeled{Label: fmt.Sprintf("%s policies[%d]", owner, i), Policy: p})
		}
		if boundary != nil {
			ps.Boundary = &policy.Labeled{Label: owner + " permissions_boundary", Policy: boundary}
		}
	}
	if c.role != "" {
		if r := l.roles[c.role]; r != nil {
			add("role/"+r.Name, r.Policies, r.PermissionsBoundary)
		}
	} else {
		for i := range l.seed.Users {
			if u := &l.seed.Users[i]; u.Name == c.user {
				add("user/"+u.Name, u.Policies, u.PermissionsBoundary)
				if u.RequireMFA {
					ps.Identity = append(ps.Identity, policy.Labeled{Label: "user/" + u.Name + " require_mfa", Policy: requireMFAPolicy()})
				}
			}
		}
	}
	if c.sessionPolicy != nil {
		ps.Session = []policy.Labeled{{Label: "session policy", Policy: c.sessionPolicy}}
	}
	for i, level := range l.seed.SCPs {
		var ls []policy.Labeled
		for j, p := range level {
			ls = append(ls, policy.Labeled{Label: fmt.Sprintf("scps[%d][%d]", i, j), Policy: p})
		}
		ps.SCPs = append(ps.SCPs, ls)
	}
	return ps
}

// trustLabel is how explanations name a role's trust policy.
func trustLabel(r *SeedRole) string { return "role/" + r.Name + " trust_policy" }

// decide evaluates a request of the caller with the engine. For an
// AssumeRole the role's trust policy is the engine's trust policy, which
// must allow the caller itself, in the account too. A role that does not
// exist under exactly the ARN asked for is refused as a trust policy
// that names no one would be: STS answers both with the same sentence.
func (l *Lab) decide(c caller, ch check) (policy.Decision, policy.Request) {
	req := policy.Request{Principal: c.arn, Action: ch.action, Resource: ch.resource, Context: l.callerContext(c)}
	for k, v := range ch.context {
		req.Context[k] = v
	}
	ps := l.policiesOf(c)
	switch {
	case ch.trust != nil:
		ps.Trust = &policy.Labeled{Label: trustLabel(ch.trust), Policy: ch.trust.TrustPolicy}
	case ch.noRole:
		ps.Trust = &policy.Labeled{Label: "no role " + ch.resource, Policy: &policy.Policy{Version: policy.Version2012}}
	}
	return policy.Evaluate(ps, req), req
}

// authorize decides a request and, when it is refused, answers
// AccessDenied with AWS's sentence and keeps the explanation for
// /_lab/explain. It reports whether the request may go on.
func (l *Lab) authorize(w http.ResponseWriter, ns string, c caller, ch check, detail string) bool {
	d, req := l.decide(c, ch)
	if d.Outcome == policy.Allowed {
		return true
	}
	why := detail
	for _, s := range d.Deciding {
		if why != "" {
			why += "\n"
		}
		why += s.String()
	}
	if why == "" {
		why = "no policy of the caller has a statement for it"
	}
	l.refuseExplained(w, ns, awsError{403, "AccessDenied", d.Message}, why, newExplanation(d, req, detail))
	return false
}

// Explanation is what POST /_lab/explain answers for a refused request:
// the engine's decision with every statement it evaluated.
type Explanation struct {
	RequestID string              `json:"request_id"`
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	Principal string              `json:"principal"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Context   map[string][]string `json:"context"`
	Decision  string              `json:"decision"`
	// Detail is what the lab found besides the policies, such as "no
	// role has exactly this ARN".
	Detail   string               `json:"detail,omitempty"`
	Deciding []ExplainedStatement `json:"deciding"`
	Trace    []ExplainedStatement `json:"trace"`
}

// ExplainedStatement is one statement the engine evaluated.
type ExplainedStatement struct {
	Policy  string `json:"policy"`
	Kind    string `json:"kind"`
	Index   int    `json:"index"`
	Sid     string `json:"sid,omitempty"`
	Effect  string `json:"effect"`
	Matched bool   `json:"matched"`
	Why     string `json:"why"`
}

func newExplanation(d policy.Decision, req policy.Request, detail string) *Explanation {
	conv := func(rs []policy.StatementResult) []ExplainedStatement {
		out := []ExplainedStatement{}
		for _, r := range rs {
			out = append(out, ExplainedStatement{r.Policy, r.Kind.String(), r.Index, r.Sid, string(r.Effect), r.Matched, r.Why})
		}
		return out
	}
	return &Explanation{Message: d.Message, Principal: req.Principal, Action: req.Action, Resource: req.Resource, Context: req.Context,
		Decision: d.Outcome.String(), Detail: detail, Deciding: conv(d.Deciding), Trace: conv(d.Trace)}
}

// maxExplanations is how many refusals /_lab/explain remembers.
const maxExplanations = 1000

// explanations keeps the latest refusals' explanations by request id.
type explanations struct {
	mu    sync.Mutex
	byID  map[string]*Explanation
	order []string
}

func (e *explanations) put(x *Explanation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byID == nil {
		e.byID = map[string]*Explanation{}
	}
	e.byID[x.RequestID] = x
	e.order = append(e.order, x.RequestID)
	if len(e.order) > maxExplanations {
		delete(e.byID, e.order[0])
		e.order = e.order[1:]
	}
}

func (e *explanations) get(id string) *Explanation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.byID[id]
}

// explainEndpoint serves POST /_lab/explain: the body is a refused
// request's id (the x-amzn-RequestId of the refusal), bare or as
// {"request_id": "..."}.
func (l *Lab) explainEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST the request id of a refusal"})
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	id := strings.TrimSpace(string(b))
	if strings.HasPrefix(id, "{") {
		var in struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not JSON: " + err.Error()})
			return
		}
		id = in.RequestID
	}
	x := l.explained.get(id)
	if x == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no refused request with id %q (the lab keeps the last %d AccessDenied refusals)", id, maxExplanations)})
		return
	}
	writeJSON(w, http.StatusOK, x)
}

// sessionPolicyParam reads the Policy parameter of AssumeRole: a session
// policy that narrows what the session may do.
func sessionPolicyParam(form url.Values) (*policy.Policy, *awsError) {
	doc := form.Get("Policy")
	if doc == "" {
		return nil, nil
	}
	p, err := policy.Parse([]byte(doc), policy.Session)
	if err != nil {
		return nil, &awsError{400, "MalformedPolicyDocument", "The session policy is not valid: " + strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	return p, nil
}
