// Package awsconfig reads the AWS shared config file (~/.aws/config) and
// shared credentials file (~/.aws/credentials) and says, for every key of
// every profile, which file and line it came from, so that an error can read
// "~/.aws/config:12: ...".
//
// # Rules
//
// The files are read by the rules of botocore (the AWS CLI and boto3), which
// uses Python's configparser.RawConfigParser:
//
//   - Lines starting with # or ; (after any indentation) are comments. There
//     are no inline comments: in "region = us-east-1 # prod" the value is
//     "us-east-1 # prod". (aws-sdk-go-v2 strips " #..." and " ;..."; Load
//     warns about such values.)
//   - A key and its value are split at the first = or :. Keys are
//     case-insensitive; values are trimmed and quotes are kept.
//   - A line indented deeper than the key line before it continues that
//     key's value; empty lines inside a value are kept. A key with an empty
//     value followed by indented "name = value" lines is a nested block
//     (e.g. "s3 =" then "  max_concurrent_requests = 10"), kept as a map
//     whose sub-keys keep their case.
//   - Keys in a [DEFAULT] section are inherited by every other section of
//     the same file.
//   - A duplicate section or a duplicate key within a section is an error,
//     as is a line that is not a comment, a section header or key = value.
//   - In the config file, [profile NAME] and [default] are profiles,
//     [sso-session NAME] and [services NAME] are SSO sessions and services
//     sections; NAME may be quoted ([profile "my profile"]). Other sections
//     are not profiles. When two sections define the same profile (such as
//     [default] and [profile default]), the later one in the file is used.
//   - In the credentials file every section is a profile of the same name,
//     without a prefix.
//   - A profile's keys are those of the config file with those of the
//     credentials file on top: a key in the credentials file wins.
//
// Where the AWS CLI and aws-sdk-go-v2 disagree (inline comments, quotes,
// [DEFAULT], [profile default] next to [default], indented keys) Load
// follows the AWS CLI and records a Warning; see Files.Warnings.
//
// # Why not an INI library
//
// gopkg.in/ini.v1, the usual Go INI package, does not report line numbers,
// and a scan for them has to recognise sections, keys, comments and
// continuation lines anyway, which is most of a parser. Its rules also differ
// from botocore's in ways that change values: it unquotes `...` and """..."""
// values (a credential_process of "`cmd` arg" becomes "cmd"), ends a nested
// block at an empty line, merges duplicate sections, lets [a.b] inherit the
// keys of [a], and repeats the offending line, secrets included, in its
// errors. So the files are read by a small reader (ini.go) that follows
// configparser line by line and keeps positions as it goes. A test runs
// botocore on the same files and compares.
//
// # Resolving a profile
//
// Files.Resolve walks a profile's role_arn and source_profile links once
// and returns a Chain: its Root (static keys, keys kept outside the files,
// credential_source, web identity, SSO or credential_process) and the
// RoleHops assumed from it in call order, each carrying the settings it
// uses as Settings (value and file:line). The AWS SDKs read role chains
// differently in a few places; Rules picks aws-sdk-go-v2's or botocore's
// reading, and its documentation lists the differences. A
// misconfiguration (a loop, a missing source profile, two sources, a role
// with none, partial keys) is a *ResolveError naming the profile, the key
// and its file and line, and wrapping a sentinel such as
// ErrSourceProfileCycle. Resolve reads; package source turns a Chain into
// credential providers.
//
// # Secrets
//
// No error or warning repeats a value or the text of a malformed line: they
// name the file, the line and, where there is one, the key. A file that
// holds a secret key and that others may read gets a warning.
//
// # Files
//
// A file that does not exist is not an error (FileInfo.Exists is false). A
// file that cannot be read is, even where botocore would skip it.
package awsconfig
