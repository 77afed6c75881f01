// Package explain reads the text of a refusal and says in plain words
// what was refused and what can have caused it, most likely first.
//
// Read tells the kinds apart (see Kind): an AWS AccessDenied answer, a
// database refusing an IAM login (PostgreSQL, MySQL/MariaDB), expired or
// unknown credentials, a signature the service computed otherwise, a
// signing time or presigned URL outside the server's window, AssumeRole
// with root keys. For AccessDenied, Checklist ranks the policy types that
// can refuse it; for the others Causes ranks what to check and names the
// credkit command that checks it.
//
// For an AccessDenied answer it says who was refused, what, and which
// policies can have refused it: a ranked checklist of what each policy
// type needs for the request to pass. With read-only calls to IAM and STS (Investigate) it looks at
// the account itself: a role named in a different case or path than it
// exists under, the role's trust policy evaluated for the caller with
// package policy, the condition keys the trust requires, and what
// iam:SimulatePrincipalPolicy and sts:DecodeAuthorizationMessage say.
//
// It never prints; internal/cli's "credkit explain" formats its answers.
//
// # Wordings read
//
// AWS has worded refusals several ways over the years; Parse reads them
// all, with or without the prefix an SDK or the CLI puts in front
// ("An error occurred (AccessDenied) when calling the AssumeRole
// operation: "):
//
//	User: ARN is not authorized to perform: ACTION on resource: RESOURCE
//	User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no identity-based policy allows the ACTION action
//	User: ARN is not authorized to perform: ACTION on resource: RESOURCE with an explicit deny in a service control policy: POLICY-ARN
//	User: ARN is not authorized to perform: ACTION because no session policy allows the ACTION action
//	Encoded authorization failure message: TOKEN
package explain

import (
	"errors"
	"regexp"
	"strings"
	"sync"
)

// Denial is what an AccessDenied message says.
type Denial struct {
	Message  string `json:"message"`
	Caller   Caller `json:"caller"`
	Action   string `json:"action,omitempty"`
	Resource string `json:"resource,omitempty"`
	// ResourceAccount is the account in the resource ARN, "" when it has
	// none (S3 buckets) or there is no resource.
	ResourceAccount string `json:"resource_account,omitempty"`
	// PolicyType is the kind of policy the message blames ("identity-based
	// policy", "service control policy", ...), "" when it names none.
	PolicyType string `json:"policy_type,omitempty"`
	// Explicit is set when the message says "with an explicit deny".
	Explicit bool `json:"explicit_deny,omitempty"`
	// PolicyARN is the denying policy when the message names it.
	PolicyARN string `json:"policy_arn,omitempty"`
	// Encoded is the encoded authorization message, when there is one.
	Encoded string `json:"encoded,omitempty"`
}

// ErrNotAccessDenied is returned for a text that holds no refusal Parse
// can read.
var ErrNotAccessDenied = errors.New(`no AccessDenied message found: expected "User: ARN is not authorized to perform: ACTION ..." or "Encoded authorization failure message: ..."`)

var (
	deniedRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)User: (\S+) is not authorized to perform: (\S+?)(?: on resource: (.+?))?(?: because no (.+?) allows the \S+ action| with an explicit deny in (?:an? )?(.+?)(?:: (arn:\S+))?)?\s*\.?\s*$`)
	})
	encodedRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`Encoded authorization failure message:\s*([A-Za-z0-9_\-+/=]+)`)
	})
)

// Parse reads an AccessDenied message.
func Parse(text string) (*Denial, error) {
	text = strings.TrimSpace(text)
	d := &Denial{Message: text}
	if m := encodedRE().FindStringSubmatch(text); m != nil {
		d.Encoded = m[1]
		text = strings.TrimSpace(text[:strings.Index(text, "Encoded authorization failure message:")])
	}
	i := strings.Index(text, "User: ")
	if i < 0 {
		if d.Encoded != "" {
			return d, nil
		}
		return nil, ErrNotAccessDenied
	}
	m := deniedRE().FindStringSubmatch(text[i:])
	if m == nil {
		if d.Encoded != "" {
			return d, nil
		}
		return nil, ErrNotAccessDenied
	}
	d.Caller = RecognizeCaller(m[1])
	d.Action, d.Resource = m[2], strings.TrimSpace(m[3])
	switch {
	case m[4] != "":
		d.PolicyType = m[4]
	case m[5] != "":
		d.PolicyType, d.Explicit, d.PolicyARN = m[5], true, m[6]
	}
	d.ResourceAccount = arnPart(d.Resource, 4)
	return d, nil
}

// arnPart is part i (0-based, the resource part takes the rest) of an
// ARN, or "".
func arnPart(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	return parts[i]
}
