// Package source finds AWS credentials where the AWS SDKs look for them,
// in their order, and says why it chose what it chose.
//
// DefaultChain assembles the chain of aws-sdk-go-v2 (and, where they
// agree, botocore): environment keys; web identity from the environment;
// the profile (static keys, role chains through source_profile and
// credential_source, web identity, SSO, login_session, credential_process); the
// container endpoint; EC2 instance metadata. The first configured source
// wins and a failing one does not fall through, as in the SDKs; the
// creds.Trace records every source considered. A test runs the same
// situations through aws-sdk-go-v2, botocore and this package and checks
// that they agree; where the two SDKs differ (see awsconfig.Rules), the Go
// SDK's reading is the default and botocore's is selectable. A profile's
// graph of roles is resolved by awsconfig.Files.Resolve; FromProfile turns
// the resolved chain into providers.
//
// The providers are creds.Providers: Container, IMDS, Process,
// AssumeRole, SessionToken, WebIdentity, SSO and LoginSession (the sessions
// of `aws login`, which credkit reads and refreshes but does not start),
// built with aws-sdk-go-v2's STS, SSO and sign-in clients where AWS APIs
// are called. Find and Profile read the
// static sources alone (for commands that must not call the network).
//
// Every function takes the environment as a getenv function (nil means
// os.Getenv) so that tests and callers can give it a controlled one. No
// error contains a secret: errors name environment variables, files, lines
// and keys; the only value one quotes is a malformed
// AWS_CREDENTIAL_EXPIRATION.
package source
