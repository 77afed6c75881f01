package lab

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/credkit/credkit/policy"
)

// simulate serves iam:SimulatePrincipalPolicy with the engine: the
// identity-based policies, permissions boundary and SCPs of a user or
// role of the seed, for each action and resource asked (no resource
// policies, as IAM's simulator without ResourcePolicy).
func (l *Lab) simulate(w http.ResponseWriter, c caller, form url.Values) {
	source := form.Get("PolicySourceArn")
	if source == "" {
		l.refuse(w, iamNS, awsError{400, "ValidationError", "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null"}, "")
		return
	}
	if !l.authorize(w, iamNS, c, check{action: "iam:SimulatePrincipalPolicy", resource: source}, "") {
		return
	}
	var who caller
	name := source[strings.LastIndex(source, "/")+1:]
	switch {
	case source == l.userARN(name) && l.users[name] != nil:
		who = caller{arn: source, user: name, userID: userIDFor(name)}
	case l.roles[name] != nil && source == l.roleARN(name):
		who = caller{arn: "arn:aws:sts::" + l.seed.AccountID + ":assumed-role/" + name + "/simulation", role: name, userID: roleIDFor(name) + ":simulation", session: true}
	default:
		l.refuse(w, iamNS, awsError{404, "NoSuchEntity", "PolicySourceArn " + source + " is not a user or role of the account."}, "")
		return
	}
	actions := members(form, "ActionNames")
	if len(actions) == 0 {
		l.refuse(w, iamNS, awsError{400, "ValidationError", "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null"}, "")
		return
	}
	resources := members(form, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	extra := map[string][]string{}
	for i := 1; ; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i) + "."
		key := form.Get(p + "ContextKeyName")
		if key == "" {
			break
		}
		extra[key] = members(form, p+"ContextKeyValues")
	}
	var b strings.Builder
	for _, a := range actions {
		for _, r := range resources {
			d, _ := l.decide(who, check{action: a, resource: r, context: extra})
			fmt.Fprintf(&b, "<member><EvalActionName>%s</EvalActionName><EvalResourceName>%s</EvalResourceName><EvalDecision>%s</EvalDecision><MatchedStatements>",
				xmlEscape(a), xmlEscape(r), simulatorDecision(d.Outcome))
			if d.Outcome != policy.ImplicitlyDenied {
				for _, s := range d.Deciding {
					typ := "IAM Policy"
					switch s.Kind {
					case policy.Boundary:
						typ = "PermissionsBoundaryPolicy"
					case policy.SCP:
						typ = "Organizations SCP"
					}
					fmt.Fprintf(&b, "<member><SourcePolicyId>%s</SourcePolicyId><SourcePolicyType>%s</SourcePolicyType></member>", xmlEscape(s.Policy), typ)
				}
			}
			b.WriteString("</MatchedStatements><MissingContextValues></MissingContextValues></member>")
		}
	}
	l.Served.Add(1)
	writeXML(w, iamNS, "SimulatePrincipalPolicy", "<EvaluationResults>"+b.String()+"</EvaluationResults><IsTruncated>false</IsTruncated>")
}

func simulatorDecision(o policy.Outcome) string {
	switch o {
	case policy.Allowed:
		return "allowed"
	case policy.ExplicitlyDenied:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// members reads a Query API list: NAME.member.1, NAME.member.2, ...
func members(form url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[name+".member."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}
