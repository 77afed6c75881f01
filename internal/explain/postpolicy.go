package explain

import (
	"regexp"
	"strings"
)

// PostPolicyRefusal is what a refused browser upload (an S3 POST with a
// presigned policy) says.
type PostPolicyRefusal struct {
	// Reason is "extra_field" (a form field no condition names),
	// "condition_failed" (a field's value fails its condition) or
	// "expired" (the policy's expiration has passed).
	Reason string `json:"reason"`
	// Field is the form field the message names, lowercase, "" when it
	// names none.
	Field string `json:"field,omitempty"`
	// Condition is the failed condition as the message quotes it.
	Condition string `json:"condition,omitempty"`
}

// POST policy wordings: S3's ("Invalid according to Policy: Extra input
// fields: F", "... Policy Condition failed: [...]", "... Policy
// expired.") and MinIO's (provoked in the tests: "Each form field that you
// specify in a form must appear in the list of policy conditions. "F" not
// specified in the policy.").
var (
	postExtraRE      = regexp.MustCompile(`Invalid according to Policy: Extra input fields: ([^\s<.,]+)`)
	postMinIOExtra   = regexp.MustCompile(`must appear in the list of policy conditions\.\s*(?:"|&#34;|&quot;)([^"&]+)(?:"|&#34;|&quot;) not specified in the policy`)
	postConditionRE  = regexp.MustCompile(`Invalid according to Policy: Policy Condition failed: (\[[^\]]*\])`)
	postExpiredRE    = regexp.MustCompile(`Invalid according to Policy: Policy expired`)
	conditionFieldRE = regexp.MustCompile(`"\$?([A-Za-z0-9-]+)"`)
)

func readPostPolicy(r *Refusal) bool {
	p := &PostPolicyRefusal{}
	text := r.Message
	switch {
	case postExtraRE.MatchString(text):
		p.Reason, p.Field = "extra_field", postExtraRE.FindStringSubmatch(text)[1]
	case postMinIOExtra.MatchString(text):
		p.Reason, p.Field = "extra_field", postMinIOExtra.FindStringSubmatch(text)[1]
	case postConditionRE.MatchString(text):
		p.Reason, p.Condition = "condition_failed", postConditionRE.FindStringSubmatch(text)[1]
		// ["eq", "$key", "v"] or ["starts-with", "$key", "v"]: the field is
		// the one with a $.
		if i := strings.Index(p.Condition, `"$`); i >= 0 {
			if m := conditionFieldRE.FindStringSubmatch(p.Condition[i:]); m != nil {
				p.Field = m[1]
			}
		}
	case postExpiredRE.MatchString(text):
		p.Reason = "expired"
	default:
		return false
	}
	p.Field = strings.ToLower(p.Field)
	r.Kind, r.PostPolicy = KindPostPolicy, p
	switch p.Reason {
	case "extra_field":
		r.Says = "S3 refused the upload form: its field " + p.Field + " is not named by any condition of the signed policy"
	case "condition_failed":
		r.Says = "S3 refused the upload form: a field's value fails the policy condition " + p.Condition
	case "expired":
		r.Says = "S3 refused the upload form: the signed policy's expiration has passed"
	}
	return true
}

func postPolicyCauses(p *PostPolicyRefusal) []Cause {
	token := p.Field == "x-amz-security-token"
	score := func(cond bool, yes, no int) int {
		if cond {
			return yes
		}
		return no
	}
	post := "credkit presign post s3://BUCKET/PREFIX"
	return []Cause{
		{score: score(token, 100, 40), Cause: "session token in the form but not in the policy",
			Check:   "a form signed with temporary credentials (an instance profile, a role, SSO) needs x-amz-security-token twice: as a form field and as a condition {\"x-amz-security-token\": TOKEN} in the signed policy; presign post adds both",
			Command: post},
		{score: score(p.Reason == "extra_field" && !token, 90, 30), Cause: "form field without a condition",
			Check:   "every form field but file, policy, x-amz-signature (and x-amz-algorithm, x-amz-credential, x-amz-date) must be named by a condition: add [\"starts-with\", \"$" + orWord(p.Field, "FIELD") + "\", \"\"] for a free one, or drop the field from the form",
			Command: post},
		{score: score(p.Reason == "condition_failed", 90, 20), Cause: "field value outside its condition",
			Check:   "the value sent must meet " + orWord(p.Condition, "the condition") + ": the key under the signed prefix (the browser's file name is appended to a key ending in /), Content-Type as signed, the size within content-length-range",
			Command: post},
		{score: score(p.Reason == "expired", 100, 10), Cause: "policy expired",
			Check:   "the policy's expiration is when the form may last be submitted: sign the form when the page is served, with --expires as long as a user may take",
			Command: post + " --expires 1h"},
	}
}

// orWord is s, or word when s is "".
func orWord(s, word string) string {
	if s == "" {
		return word
	}
	return s
}
