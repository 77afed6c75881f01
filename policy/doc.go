// Package policy reads IAM policy documents and decides requests against
// them, saying which statement decided and why, in AWS's own words.
//
// It is the engine under credkit's policy commands and the lab's
// enforcement. It uses the standard library only, never prints and never
// exits.
//
// # Parsing and validation
//
// Parse reads a document and validates it for its Kind (Identity,
// Resource, Trust, Boundary, Session, SCP, RCP). Every problem found is
// reported, each as an *Error with the JSON path it is at:
//
//	$.Statement[1].Condition.NumericEquals.s3:max-keys[0]: NumericEquals needs a number, not "ten"
//
// What is checked: unknown elements (names are case-sensitive, as in
// AWS), wrong JSON types, Effect missing or not Allow/Deny, Action and
// NotAction together or neither, Resource with NotResource, Principal
// with NotPrincipal, Principal in an identity-based policy, permissions
// boundary, session policy or SCP, a missing Principal in a resource or
// trust policy, a Resource in a trust policy, an RCP Principal other
// than "*", action names that are not "service:action", ARNs without
// their six parts, unknown principal types, AWS principals that are
// neither "*", an account id, an ARN nor an IAM unique id (AIDA...,
// AROA..., as IAM shows a deleted principal), unknown condition operators and
// set prefixes, and condition values their operator cannot read
// (numbers, dates, booleans, base64, IP addresses and CIDR blocks,
// ARNs). Object key order does not matter; a single string is accepted
// wherever AWS accepts a list; numbers and booleans are accepted as
// condition values and kept as strings.
//
// A parsed Policy marshals back to JSON (MarshalJSON) and parses again to
// an equal Policy; FuzzParse holds it to that.
//
// # Matching
//
// Actions and condition key names compare case-insensitively with "*"
// and "?" wildcards. ARNs compare case-sensitively, part by part: a
// wildcard in the region or account part stays in it, and the resource
// part (after the fifth colon) takes slashes and colons. Policy variables
// (${aws:username}, ${aws:PrincipalTag/team}, ${*}, ${?}, ${$}, and
// defaults ${aws:x, 'y'}) are substituted in Resource, NotResource and
// condition values of Version 2012-10-17 documents; a variable's value is
// matched literally. A variable without a value or default fails its
// comparison, as AWS documents: that Resource value matches nothing, a
// NotResource or a negated condition operator holding it does not apply
// (a missing condition key is decided first, by the rules below).
//
// # Cross-checking
//
// The tests compare Evaluate with @cloud-copilot/iam-simulate (run as a
// separate node program) on tens of thousands of random cases. Where the
// two differ and AWS's documentation sides with this package, the case is
// kept in testdata/golden.jsonl with the page and sentence that decide
// it (golden.jsonl also holds trust-policy cases both agree on, with
// the STS and IAM documentation behind them): the root user's implicit access, session-ARN grants not limited by
// a session policy, epoch seconds in Date conditions, IfExists with a set
// prefix on a missing key, and literal variables in policies without a
// Version.
//
// # Conditions
//
// All operators of the IAM reference are evaluated, with IfExists and
// the ForAllValues:/ForAnyValue: prefixes. Values of one key are ORed,
// keys and operators ANDed. A missing key fails a positive operator and
// satisfies a negated one (StringNotEquals, StringNotLike,
// NumericNotEquals, DateNotEquals, NotIpAddress, ArnNotEquals,
// ArnNotLike); IfExists makes any operator hold on a missing key;
// ForAllValues holds on a missing key or an empty set and ForAnyValue
// does not. Dates may be ISO 8601 or epoch seconds; numbers are compared
// as float64. ArnEquals and ArnLike are the same test (wildcards per ARN
// part), as AWS documents them.
//
// # Evaluation
//
// Evaluate decides a Request against Policies in the order AWS documents
// (see Evaluate), returning a Decision: Allowed, ImplicitlyDenied or
// ExplicitlyDenied, the message AWS would give, the deciding statements
// with the reason each matched or not, and a trace of every statement.
// In the resource's account a resource policy that names the caller's
// own ARN (user or assumed-role session) or "*" grants on its own; one
// that names the role behind a session grants without an identity
// policy but within the permissions boundary and the session policy; one
// that names the account needs the identity side to allow too. A NotPrincipal Deny applies to every
// principal that has a permissions boundary, as AWS warns.
//
// A role's trust policy (Policies.Trust, "trustPolicy" in a batch case)
// decides sts:AssumeRole and its kin like a resource policy that must
// allow the caller explicitly, in the role's account too; its refusals
// name no policy, as STS's do ("Not authorized to perform
// sts:AssumeRoleWithWebIdentity" for web identity and SAML). Callers may
// be AWS service principals (es.amazonaws.com) and identity providers
// (OIDC and SAML provider ARNs, accounts.google.com): they have no
// identity side, and the trust policy alone must allow them.
//
// # Not covered yet
//
//   - Which condition keys exist, which are multi-valued, and which
//     resource types each action takes (the service authorization
//     reference); unknown keys and actions are not reported.
//   - Request context derivation: callers fill in aws:username,
//     aws:PrincipalTag/..., aws:CurrentTime and the rest themselves.
//   - Anonymous requests and federated users (sts:GetFederationToken) as
//     callers; SCPs not applying to the management account and to
//     service-linked roles; the account root user being unable to
//     assume roles; the services whose resource policies work
//     differently (KMS key policies, S3 ACLs and Object Ownership).
//   - The exact wording of AWS's messages where they name an ARN of a
//     specific policy (newer messages say "...because no
//     identity-based policy allows the ACTION action" without it).
package policy
