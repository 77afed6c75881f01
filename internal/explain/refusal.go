package explain

import (
	"errors"
	"regexp"
	"strings"

	"github.com/credkit/credkit/internal/awserror"
)

// Kind names what kind of refusal a message is.
type Kind string

// The kinds Read tells apart.
const (
	// KindAccessDenied: a policy refused the request ("User: ARN is not
	// authorized to perform: ...", or an encoded authorization message).
	KindAccessDenied Kind = "access_denied"
	// KindDatabaseLogin: PostgreSQL or MySQL refused an (IAM) login.
	KindDatabaseLogin Kind = "database_login"
	// KindExpiredToken: the credentials that signed the request have
	// expired (ExpiredToken, ExpiredTokenException, RequestExpired).
	KindExpiredToken Kind = "expired_token"
	// KindInvalidToken: AWS does not know the access key or the session
	// token (InvalidClientTokenId, UnrecognizedClientException,
	// InvalidAccessKeyId, InvalidToken).
	KindInvalidToken Kind = "invalid_token"
	// KindSignature: the key is known but the signature differs
	// (SignatureDoesNotMatch).
	KindSignature Kind = "signature"
	// KindClockSkew: the signing time or a presigned URL's expiry is
	// outside what the server accepts (Signature expired, Signature not
	// yet current, RequestTimeTooSkewed, Request has expired).
	KindClockSkew Kind = "clock_skew"
	// KindRootAssumeRole: AssumeRole called with the root user's keys.
	KindRootAssumeRole Kind = "root_assume_role"
	// KindPostPolicy: S3 refused a browser upload form against its signed
	// POST policy.
	KindPostPolicy Kind = "post_policy"
)

// Refusal is what a refusal message says: its kind, a sentence in plain
// words, and the fields of its kind (exactly one of Denial, Database,
// Token, Signature, Clock, PostPolicy is set, none for
// KindRootAssumeRole).
type Refusal struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
	// Code is the error code the message names ("ExpiredToken",
	// "SignatureDoesNotMatch", "1045", ...), "" when it names none.
	Code string `json:"code,omitempty"`
	// Operation is the API operation of an SDK's or the CLI's prefix
	// ("An error occurred (X) when calling the OP operation: ").
	Operation string `json:"operation,omitempty"`
	// Says is what the message says, in plain words.
	Says string `json:"says"`

	Denial     *Denial            `json:"denial,omitempty"`
	Database   *DatabaseLogin     `json:"database,omitempty"`
	Token      *TokenRefusal      `json:"token,omitempty"`
	Signature  *SignatureMismatch `json:"signature,omitempty"`
	Clock      *ClockRefusal      `json:"clock,omitempty"`
	PostPolicy *PostPolicyRefusal `json:"post_policy,omitempty"`
}

// ErrUnreadable is returned for a text that holds no refusal Read can
// read.
var ErrUnreadable = errors.New(`no refusal found: expected an AccessDenied message ("User: ARN is not authorized to perform: ACTION ..." or "Encoded authorization failure message: ..."), a database login refusal (PAM authentication failed, pg_hba.conf rejects connection, ERROR 1045/2059/3159), ExpiredToken, InvalidClientTokenId/InvalidAccessKeyId/UnrecognizedClientException, SignatureDoesNotMatch, Signature expired/RequestTimeTooSkewed/Request has expired, "Invalid according to Policy" (an S3 upload form), or "Roles may not be assumed by root accounts"`)

// The prefixes SDKs put in front of a service's message: botocore's
// (and the AWS CLI's), and aws-sdk-go-v2's.
var (
	sdkPrefixRE   = regexp.MustCompile(`An error occurred \((\w+)\) when calling the (\w+) operation`)
	goSDKPrefixRE = regexp.MustCompile(`operation error [^:]+: (\w+),.*?api error (\w+):`)
)

// Read says which kind of refusal text is and reads the fields of that
// kind. Text it cannot read gives ErrUnreadable.
//
// Session tokens in the text (an x-amz-security-token header of a
// canonical request, an X-Amz-Security-Token parameter of a URL) are
// replaced by "(redacted)" before anything is read: nothing Read returns
// holds one.
func Read(text string) (*Refusal, error) {
	text = redactTokens(strings.TrimSpace(text))
	r := &Refusal{Message: text}
	if m := sdkPrefixRE.FindStringSubmatch(text); m != nil {
		r.Code, r.Operation = m[1], m[2]
	} else if m := goSDKPrefixRE.FindStringSubmatch(text); m != nil {
		r.Code, r.Operation = m[2], m[1]
	} else if strings.HasPrefix(text, "<") || strings.HasPrefix(text, "{") {
		// An error document itself: S3's XML, a JSON API's answer.
		r.Code = awserror.Decode(0, nil, []byte(text)).Code
	}
	// AccessDenied first: its wordings are read exactly as before.
	if d, err := Parse(text); err == nil {
		r.Kind, r.Denial = KindAccessDenied, d
		r.Says = "a policy refused the request"
		return r, nil
	} else if !errors.Is(err, ErrNotAccessDenied) {
		return nil, err
	}
	for _, read := range []func(*Refusal) bool{readRootAssumeRole, readPostPolicy, readDatabaseLogin, readClock, readSignature, readToken} {
		if read(r) {
			return r, nil
		}
	}
	return nil, ErrUnreadable
}

var tokenRE = regexp.MustCompile(`(?i)(x-amz-security-token(?::|=|%3D)\s*)([^\s&'"<]+)`)

// redactTokens replaces the session tokens in text.
func redactTokens(text string) string {
	return tokenRE.ReplaceAllString(text, "${1}(redacted)")
}

// Cause is one item of the checklist of a refusal other than
// AccessDenied: what can cause it, what to check, and the credkit
// command that checks it.
type Cause struct {
	Rank  int    `json:"rank"`
	Cause string `json:"cause"`
	Check string `json:"check"`
	// Command is the credkit command that checks it, "" when none does.
	Command string `json:"command,omitempty"`
	// Why says why the item ranks where it does; "" for the usual order.
	Why   string `json:"why,omitempty"`
	score int
}

// Causes ranks what can cause r, most likely first. For
// KindAccessDenied use Checklist(r.Denial): its items are policies.
func Causes(r *Refusal) []Cause {
	var out []Cause
	switch r.Kind {
	case KindDatabaseLogin:
		out = databaseCauses(r.Database)
	case KindExpiredToken, KindInvalidToken:
		out = tokenCauses(r)
	case KindSignature:
		out = signatureCauses(r.Signature)
	case KindClockSkew:
		out = clockCauses(r.Clock)
	case KindRootAssumeRole:
		out = rootCauses()
	case KindPostPolicy:
		out = postPolicyCauses(r.PostPolicy)
	}
	return rank(out)
}

// rank orders causes by score, highest first, keeping the written order
// among equals, and numbers them.
func rank(out []Cause) []Cause {
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].score > out[j-1].score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// rootAssumeRoleText is STS's answer to AssumeRole signed with the root
// user's keys.
const rootAssumeRoleText = "Roles may not be assumed by root accounts"

func readRootAssumeRole(r *Refusal) bool {
	if !strings.Contains(r.Message, rootAssumeRoleText) {
		return false
	}
	r.Kind = KindRootAssumeRole
	if r.Code == "" {
		r.Code = "AccessDenied"
	}
	r.Says = "AssumeRole was called with the root user's access keys; STS never lets the root user assume a role"
	return true
}

func rootCauses() []Cause {
	return []Cause{
		{score: 100, Cause: "root user's access keys", Check: "the credentials are the account's root user (an ARN ending in :root): call AssumeRole with an IAM user's or an Identity Center session's credentials instead", Command: "credkit whoami"},
		{score: 90, Cause: "root keys should not exist", Check: "delete the root user's access keys (IAM console, Security credentials of the root user) and keep the root user for the few tasks only it can do; use an IAM user with MFA or IAM Identity Center", Command: "credkit doctor"},
		{score: 50, Cause: "a profile's source_profile is the root user", Check: "the profile chain's first hop (source_profile or the environment keys) holds root keys: point it at an IAM user or an sso_session; doctor shows each hop", Command: "credkit doctor --profile PROFILE"},
	}
}

// Chain is what the credential chain gave here, as --online finds it.
type Chain struct {
	// Source is the winning source ("environment", "profile dev", ...).
	Source string `json:"source"`
	// ShadowedProfile is AWS_PROFILE when keys in the environment won
	// over it, "" otherwise.
	ShadowedProfile string `json:"shadowed_profile,omitempty"`
	// Expired is set when the winner's credentials have expired.
	Expired bool `json:"expired,omitempty"`
	// Region is the region requests are signed for here.
	Region string `json:"region,omitempty"`
}

// optInRegions are the AWS regions an account must enable before it can
// use them (those launched since March 2019): a token is refused there,
// as invalid, until the account enables the region.
var optInRegions = map[string]bool{
	"af-south-1": true, "ap-east-1": true, "ap-east-2": true, "ap-south-2": true,
	"ap-southeast-3": true, "ap-southeast-4": true, "ap-southeast-5": true, "ap-southeast-6": true, "ap-southeast-7": true,
	"ca-west-1": true, "eu-central-2": true, "eu-south-1": true, "eu-south-2": true,
	"il-central-1": true, "me-central-1": true, "me-south-1": true, "mx-central-1": true,
}

// WithChain moves to the top the causes that what the chain gave here
// confirms, saying so in their Why: environment keys shadowing
// AWS_PROFILE, credentials that have expired, an opt-in region.
func WithChain(causes []Cause, c Chain) []Cause {
	out := make([]Cause, len(causes))
	copy(out, causes)
	confirm := func(name, why string) {
		for i := range out {
			if out[i].Cause == name {
				out[i].score, out[i].Why = 1000, why
				return
			}
		}
	}
	for i := range out {
		out[i].score = len(out) - out[i].Rank // keep the order of the rest
	}
	if c.ShadowedProfile != "" {
		why := "found here: keys in the environment win over AWS_PROFILE=" + c.ShadowedProfile
		confirm("environment keys shadow the profile", why)
		confirm("expired signing credentials", why+"; a token they sign fails once they expire")
	}
	if c.Expired {
		why := "found here: the credentials from " + c.Source + " have expired"
		confirm("an ended session or SSO sign-in", why)
		confirm("expired signing credentials", why)
	}
	if optInRegions[c.Region] {
		confirm("opt-in region or global endpoint's token", "found here: requests are signed for "+c.Region+", a region the account must enable first (Account settings, or aws account enable-region)")
	}
	return rank(out)
}
