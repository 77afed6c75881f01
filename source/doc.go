// Package source finds AWS credentials where the AWS SDKs look for them.
//
// For now it knows the static sources: keys in the environment and keys in
// a profile of the shared credentials or config file (see package
// awsconfig). Find puts them in the order aws-sdk-go-v2 uses. A profile that
// gets its credentials another way (assume role, SSO, credential_process,
// web identity) is reported with ErrNotStatic rather than skipped, so that
// a caller never silently falls through to other credentials.
//
// Every function takes the environment as a getenv function (nil means
// os.Getenv) so that tests and callers can give it a controlled one. No
// error contains a secret: errors name environment variables, files, lines
// and keys; the only value one quotes is a malformed
// AWS_CREDENTIAL_EXPIRATION.
package source
