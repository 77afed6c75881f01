package explain

import (
	"regexp"
	"strings"
)

// TokenRefusal is what an expired- or invalid-credentials message says.
type TokenRefusal struct {
	// AccessKeyID is the key the message names (S3's <AWSAccessKeyId>),
	// "" when it names none.
	AccessKeyID string `json:"access_key_id,omitempty"`
	// SSO is set when the message is an SDK's about an Identity Center
	// (SSO) sign-in that has expired.
	SSO bool `json:"sso,omitempty"`
}

// Expired and invalid credentials, by error code, with the sentence AWS
// sends with each:
//
//	ExpiredToken                The security token included in the request is expired     (STS, IAM, query APIs; moto)
//	ExpiredTokenException       The security token included in the request is expired     (JSON APIs: DynamoDB, Lambda, ...)
//	RequestExpired              Request has expired.                                      (EC2: expired session credentials, or a request more than 15 minutes off its date)
//	ExpiredToken                The provided token has expired.                           (S3)
//
// and the SDKs' own, before any request is sent (provoked in the tests):
//
//	The SSO session associated with this profile has expired or is otherwise invalid. ...   (botocore, sso_start_url profiles)
//	Error when retrieving token from sso: Token has expired and refresh failed             (botocore, sso_session profiles)
//	the SSO session has expired or is invalid                                              (aws-sdk-go-v2 ssocreds)
//	Credentials were refreshed, but the refreshed credentials are still expired.           (botocore)
//	InvalidClientTokenId        The security token included in the request is invalid.   (query APIs; moto for an unknown key)
//	UnrecognizedClientException The security token included in the request is invalid.   (JSON APIs)
//	InvalidAccessKeyId          The AWS Access Key Id you provided does not exist in our records.   (S3; MinIO drops "AWS")
//	InvalidToken                The provided token is malformed or otherwise invalid.    (S3)
//	InvalidTokenId              The security token included in the request is invalid    (MinIO: a session key without its token, or with another)
var (
	expiredCodes = map[string]bool{"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true}
	invalidCodes = map[string]bool{"InvalidClientTokenId": true, "UnrecognizedClientException": true, "InvalidAccessKeyId": true, "InvalidToken": true, "InvalidTokenId": true}
	tokenCodeRE  = regexp.MustCompile(`\b(ExpiredToken(?:Exception)?|RequestExpired|InvalidClientTokenId|UnrecognizedClientException|InvalidAccessKeyId|InvalidTokenId|InvalidToken)\b`)
	expiredRE    = regexp.MustCompile(`(?i)security token included in the request is expired|provided token has expired|refreshed credentials are still expired|` + ssoExpired)
	ssoExpiredRE = regexp.MustCompile(`(?i)` + ssoExpired)
	invalidRE    = regexp.MustCompile(`(?i)security token included in the request is invalid|Access Key Id you provided does not exist in our records|provided token is malformed or otherwise invalid`)
	xmlKeyIDRE   = regexp.MustCompile(`<AWSAccessKeyId>([^<]+)</AWSAccessKeyId>`)
)

const ssoExpired = `SSO session associated with this profile has expired|SSO session has expired or is invalid|token from sso: Token has expired`

func readToken(r *Refusal) bool {
	code := r.Code
	if !expiredCodes[code] && !invalidCodes[code] {
		code = ""
		if m := tokenCodeRE.FindStringSubmatch(r.Message); m != nil {
			code = m[1]
		}
	}
	switch {
	case expiredCodes[code] || code == "" && expiredRE.MatchString(r.Message):
		r.Kind = KindExpiredToken
	case invalidCodes[code] || code == "" && invalidRE.MatchString(r.Message):
		r.Kind = KindInvalidToken
	default:
		return false
	}
	if code != "" {
		r.Code = code
	}
	t := &TokenRefusal{}
	if m := xmlKeyIDRE.FindStringSubmatch(r.Message); m != nil {
		t.AccessKeyID = m[1]
	}
	t.SSO = ssoExpiredRE.MatchString(r.Message)
	r.Token = t
	switch {
	case t.SSO:
		r.Says = "the Identity Center (SSO) sign-in has expired: the SDK cannot get role credentials until you sign in again"
	case r.Kind == KindExpiredToken:
		r.Says = "the credentials that signed the request have expired: AWS refuses every request they sign"
	case code == "InvalidAccessKeyId":
		r.Says = "the service does not know the access key that signed the request"
	default:
		r.Says = "AWS does not accept the access key or the session token that signed the request"
	}
	return true
}

// tokenCauses ranks what makes AWS refuse credentials as expired or
// unknown.
func tokenCauses(r *Refusal) []Cause {
	expired := r.Kind == KindExpiredToken
	if_ := func(cond bool, yes, no int) int {
		if cond {
			return yes
		}
		return no
	}
	// A session key, or a code that names the token itself.
	sso := r.Token != nil && r.Token.SSO
	asia := r.Token != nil && strings.HasPrefix(r.Token.AccessKeyID, "ASIA") || r.Code == "InvalidTokenId" || r.Code == "InvalidToken"
	chain := "credkit doctor"
	return []Cause{
		{score: if_(expired, 90, 60), Cause: "environment keys shadow the profile",
			Check:   "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN in the program's environment (an IDE, a wrapper, an old export) win over AWS_PROFILE in every SDK's chain; session keys there never refresh. doctor shows which source the chain picks and what it shadows",
			Command: chain},
		{score: if_(expired, 85, 30), Cause: "credentials fetched once and kept",
			Check:   "an application that calls getCredentials() once and wraps the result in a static provider works until the session ends (1 to 12 hours), then fails; give the client the refreshing provider itself (the default chain, a profile, credential_process or credkit exec's endpoint)",
			Command: "credkit exec PROFILE -- COMMAND"},
		{score: if_(sso, 100, if_(expired, 70, 20)), Cause: "an ended session or SSO sign-in",
			Check:   "the session (AssumeRole, GetSessionToken, Identity Center) has simply ended: get a new one; for an Identity Center profile sign in again",
			Command: "credkit sso login --profile PROFILE"},
		{score: if_(expired, 40, 25), Cause: "clock",
			Check:   "a clock far off AWS's makes fresh credentials look expired or not yet valid; doctor compares this clock with STS's",
			Command: chain},
		{score: if_(!expired, 85, 10), Cause: "key deleted or inactive",
			Check:   "the access key was deleted, made inactive or rotated (a key from an old credentials file or secret store): whoami shows the key the chain uses; compare it with the user's keys in IAM",
			Command: "credkit whoami"},
		{score: if_(!expired, if_(asia, 95, 80), 15), Cause: "missing or mismatched session token",
			Check:   "a temporary key (ASIA...) needs its AWS_SESSION_TOKEN (or aws_session_token), from the same session: a key with no token, or the token of another session, is invalid; a presigned URL or upload form signed with it needs X-Amz-Security-Token too (presign post puts it in the form and the policy)",
			Command: chain},
		{score: if_(!expired, 60, 5), Cause: "opt-in region or global endpoint's token",
			Check:   "a region that is not enabled for the account (opt-in regions: af-south-1, ap-east-1, me-south-1, eu-south-1, ...) refuses every token; and session tokens from the global STS endpoint (sts.amazonaws.com) are valid only in default regions unless the account's global endpoint tokens are version 2: use the regional STS endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional)",
			Command: chain},
		{score: if_(!expired, 40, 5), Cause: "credentials of another partition or endpoint",
			Check:   "keys of another partition (aws-cn, aws-us-gov) or of a local emulator sent to AWS (or AWS keys to the emulator) are unknown there: check AWS_ENDPOINT_URL and the region",
			Command: chain},
	}
}
