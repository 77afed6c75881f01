// Package awsenv holds the rules by which the AWS SDKs read a program's
// environment, as credkit needs them in more than one place: which profile
// a command means, which variables put other credentials ahead of that
// profile, which region applies, where the shared config files are and
// what a leading "~" in their paths means.
//
// Both credkit binaries apply these rules: the full chain (package source,
// awsconfig) when it resolves credentials, and the session cache
// (internal/sessioncache), which must answer for exactly the profile the
// chain would have used, in credkit-process, a binary that links no
// network code. A rule kept twice drifts; so they live here once, with
// nothing but the standard library's os, path/filepath and strings, which
// cost a program nothing at start-up.
package awsenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// The variables these rules read.
const (
	Profile              = "AWS_PROFILE"
	DefaultProfile       = "AWS_DEFAULT_PROFILE"
	Region               = "AWS_REGION"
	DefaultRegion        = "AWS_DEFAULT_REGION"
	ConfigFileVar        = "AWS_CONFIG_FILE"
	CredentialsFileVar   = "AWS_SHARED_CREDENTIALS_FILE"
	AccessKeyID          = "AWS_ACCESS_KEY_ID"
	AccessKeyIDLegacy    = "AWS_ACCESS_KEY" // read when AWS_ACCESS_KEY_ID is unset
	SecretAccessKey      = "AWS_SECRET_ACCESS_KEY"
	SecretKeyLegacy      = "AWS_SECRET_KEY" // read when AWS_SECRET_ACCESS_KEY is unset
	WebIdentityTokenFile = "AWS_WEB_IDENTITY_TOKEN_FILE"
	ContainerRelativeURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	ContainerFullURI     = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	IMDSEndpoint         = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
)

// DefaultProfileName is the profile used when none is named.
const DefaultProfileName = "default"

// FromDefault is the from of ProfileName when no profile is named.
const FromDefault = "default"

// ProfileName is the profile a command means and where the name came from:
// flag (a --profile option) if set (from is "--profile"), else AWS_PROFILE,
// else AWS_DEFAULT_PROFILE (from is the variable), else "default" (from is
// FromDefault). This is aws-sdk-go-v2's order; the AWS CLI and boto3 check
// AWS_DEFAULT_PROFILE before AWS_PROFILE.
func ProfileName(getenv func(string) string, flag string) (name, from string) {
	if flag != "" {
		return flag, "--profile"
	}
	if v, n := FirstSet(getenv, Profile, DefaultProfile); v != "" {
		return v, n
	}
	return DefaultProfileName, FromDefault
}

// Overrides are the variables that, set, can give a program credentials
// other than those of the profile AWS_PROFILE names: keys in the
// environment and a web identity come before the profile in the SDKs'
// chain; the container endpoint and instance metadata come after it, and
// answer when the profile has no credential settings (the variables mark
// an environment, such as a child of credkit exec or an ECS task, that
// supplies credentials that way).
var Overrides = []string{
	AccessKeyID, AccessKeyIDLegacy, SecretAccessKey, SecretKeyLegacy,
	WebIdentityTokenFile, ContainerRelativeURI, ContainerFullURI, IMDSEndpoint,
}

// ProfileDecides reports whether the credentials of a command with
// profile flag flag are the profile's that ProfileName names, whatever
// else the environment holds, so that a session cached for that profile
// is the answer the chain would give: the flag is given (an explicit
// profile goes first), or AWS_PROFILE or AWS_DEFAULT_PROFILE names the
// profile and none of the Overrides is set. Without a named profile the
// chain may end at the container endpoint or instance metadata, which are
// not the default profile's. When it does not, why says which variable
// decides otherwise.
func ProfileDecides(getenv func(string) string, flag string) (ok bool, why string) {
	if flag != "" {
		return true, ""
	}
	if getenv(Profile) == "" && getenv(DefaultProfile) == "" {
		return false, "neither " + Profile + " nor " + DefaultProfile + " names a profile"
	}
	for _, k := range Overrides {
		if getenv(k) != "" {
			return false, k + " is set"
		}
	}
	return true, ""
}

// EnvRegion is the region the environment sets and the variable that set
// it: AWS_REGION, else AWS_DEFAULT_REGION; both empty when neither is set.
func EnvRegion(getenv func(string) string) (region, from string) {
	return FirstSet(getenv, Region, DefaultRegion)
}

// RegionOf is the region a command uses: flag (a --region option; from is
// "--region"), else the environment's (see EnvRegion), else profileRegion,
// the profile's region key (from is "profile"). Both are empty when none
// is set.
func RegionOf(getenv func(string) string, flag, profileRegion string) (region, from string) {
	if flag != "" {
		return flag, "--region"
	}
	if r, from := EnvRegion(getenv); r != "" {
		return r, from
	}
	if profileRegion != "" {
		return profileRegion, "profile"
	}
	return "", ""
}

// SharedFile is one of the shared files the SDKs read.
type SharedFile struct {
	Var  string // the variable that names it
	Base string // its name under ~/.aws
}

// The shared config and credentials files.
var (
	ConfigFile      = SharedFile{Var: ConfigFileVar, Base: "config"}
	CredentialsFile = SharedFile{Var: CredentialsFileVar, Base: "credentials"}
)

// FromDefaultLocation is the from of a shared file no variable names.
const FromDefaultLocation = "default location"

// Locate is where the SDKs read f: the path its variable names (from is
// the variable), else BASE under home's .aws (from is
// FromDefaultLocation). The path may start with "~": see ExpandHome.
func (f SharedFile) Locate(getenv func(string) string, home string) (path, from string) {
	if v := getenv(f.Var); v != "" {
		return v, f.Var
	}
	return filepath.Join(home, ".aws", f.Base), FromDefaultLocation
}

// ErrNoHome is returned by ExpandHome when a path starts with "~" and
// home finds no home directory to put in its place.
var ErrNoHome = errors.New("no home directory to expand ~ in")

// ExpandHome replaces a leading "~" of path, alone or before a path
// separator, with the directory home returns (called only then), as the
// SDKs read AWS_CONFIG_FILE="~/cfg". Other paths, "~user/..." among them,
// are returned as they are. home's error is returned as it is; an empty
// directory is ErrNoHome.
func ExpandHome(path string, home func() (string, error)) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") && !strings.HasPrefix(path, "~"+string(filepath.Separator)) {
		return path, nil
	}
	h, err := home()
	if err != nil {
		return "", err
	}
	if h == "" {
		return "", ErrNoHome
	}
	return filepath.Join(h, path[1:]), nil
}

// Home is the home directory: HOME as getenv reads it (so that a command
// given another environment reads that one's files), else the system's
// (os.UserHomeDir).
func Home(getenv func(string) string) (string, error) {
	if h := getenv("HOME"); h != "" {
		return h, nil
	}
	return os.UserHomeDir()
}

// FirstSet is the first of the variables set to a non-empty value, and
// its name, as the SDKs read a setting with a legacy spelling.
func FirstSet(getenv func(string) string, names ...string) (value, name string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	return "", ""
}
