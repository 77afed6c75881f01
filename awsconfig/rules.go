package awsconfig

import "errors"

// Rules picks whose reading of role profiles Resolve follows where
// aws-sdk-go-v2 and botocore (the AWS CLI, boto3) differ.
//
// Both SDKs agree on the plain cases: a profile with role_arn and
// source_profile assumes its role with the credentials of the source
// profile, recursively; a profile with role_arn and credential_source
// assumes it with the environment's, the instance's or the container's
// credentials; source_profile and credential_source together are an error;
// a profile whose source_profile names itself uses its own static keys as
// the source of its role; a profile with role_arn and
// web_identity_token_file gets its credentials from
// AssumeRoleWithWebIdentity and ends a chain.
//
// They differ (checked against aws-sdk-go-v2 config v1.33 and botocore
// 1.43, config/shared_config.go setFromIniSections and
// config/resolve_credentials.go resolveCredsFromProfile, and
// botocore/credentials.py AssumeRoleProvider) on:
//
//   - A source profile (not the first of the chain) with static keys and
//     role_arn. aws-sdk-go-v2 assumes that profile's role with its keys
//     and ignores its source_profile; botocore uses the keys alone and
//     ignores its role_arn (_resolve_credentials_from_profile treats any
//     profile with a key as a leaf).
//   - The first profile with static keys, role_arn and no source_profile or
//     credential_source. aws-sdk-go-v2 assumes the role with the keys;
//     botocore refuses it (source_profile or credential_source is needed;
//     the keys count only through source_profile = the profile itself).
//     With source_profile naming another profile both ignore the keys.
//   - role_arn with no source at all. aws-sdk-go-v2 signs with the
//     container's or the instance's credentials (its last fallbacks);
//     botocore refuses. credkit refuses under both rules (ErrNoRoleSource)
//     and says what aws-sdk-go-v2 would do.
//   - A role profile whose own credentials are SSO or credential_process.
//     aws-sdk-go-v2 assumes the role with them; botocore needs
//     source_profile or credential_source.
//   - Two sources of different kinds (source_profile or credential_source
//     together with credential_process or web_identity_token_file).
//     aws-sdk-go-v2 refuses ("only one credential type may be specified
//     per profile"); botocore picks web identity first, then the role.
//   - source_profile, credential_source or web_identity_token_file without
//     role_arn: aws-sdk-go-v2 refuses; botocore ignores those keys.
//   - A loop back to a profile that has static keys (a -> b -> a).
//     aws-sdk-go-v2 takes the revisited profile's keys and assumes b's and
//     then a's role; botocore reports an infinite loop. credkit reports
//     ErrSourceProfileCycle under both rules: only a profile naming itself
//     is allowed.
//   - The order of a leaf profile's own credentials: aws-sdk-go-v2 takes
//     static keys, credential_source, web identity, SSO, credential_process;
//     botocore web identity, SSO, keys of the credentials file,
//     credential_process, keys of the config file.
//
// Partial static keys (one of the two) are an error under both rules,
// where the SDKs would silently look elsewhere.
type Rules int

const (
	// GoSDKRules follows aws-sdk-go-v2 (the default).
	GoSDKRules Rules = iota
	// BotocoreRules follows botocore, as the AWS CLI and boto3 do.
	BotocoreRules
)

func (r Rules) String() string {
	if r == BotocoreRules {
		return "botocore"
	}
	return "aws-sdk-go-v2"
}

// Errors of Resolve, wrapped with the profile, the key and its file and
// line (see ResolveError).
var (
	// ErrSourceProfileCycle: the source_profile links loop.
	ErrSourceProfileCycle = errors.New("source_profile loop")
	// ErrNoRoleSource: a profile has role_arn but nothing to assume it
	// with, or source_profile, credential_source or web_identity_token_file
	// without role_arn.
	ErrNoRoleSource = errors.New("role without source credentials")
	// ErrConflictingSources: a profile sets more than one source of
	// credentials (source_profile and credential_source, ...).
	ErrConflictingSources = errors.New("conflicting credential sources")
	// ErrNoCredentials: a profile holds no credentials at all.
	ErrNoCredentials = errors.New("no AWS credentials found")
	// ErrPartialCredentials: an access key id without a secret key, or
	// the other way round.
	ErrPartialCredentials = errors.New("partial credentials")
)
