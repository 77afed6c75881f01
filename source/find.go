package source

import (
	"errors"
	"fmt"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/awsenv"
)

// DefaultProfile is the profile used when none is named.
const DefaultProfile = awsenv.DefaultProfileName

// ProfileName is the profile to use: flag (a --profile option) if set, else
// AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default" (see
// awsenv.ProfileName, the rule the session cache follows too).
func ProfileName(getenv func(string) string, flag string) string {
	name, _ := profileName(orEnv(getenv), flag)
	return name
}

// profileName is ProfileName with where the name came from: "--profile",
// an environment variable's name, or "default".
func profileName(getenv func(string) string, flag string) (name, from string) {
	return awsenv.ProfileName(getenv, flag)
}

// Region is the region to use and where it came from: AWS_REGION, else
// AWS_DEFAULT_REGION, else the region key of the profile (profile "" means
// ProfileName(getenv, "")). from is the variable's name or, for a profile,
// "profile NAME in FILE". Both are empty when no region is set.
func Region(getenv func(string) string, files *awsconfig.Files, profile string) (region, from string) {
	getenv = orEnv(getenv)
	if v, n := awsenv.EnvRegion(getenv); v != "" {
		return v, n
	}
	if profile == "" {
		profile, _ = profileName(getenv, "")
	}
	p, err := files.Profile(profile)
	if err != nil {
		return "", ""
	}
	if r := p.Region(); r != "" {
		return r, fmt.Sprintf("profile %s in %s", profile, p.Pos(awsconfig.KeyRegion).File)
	}
	return "", ""
}

// Find returns static credentials from where the AWS SDKs look for them,
// in aws-sdk-go-v2's order. A profile given explicitly (profileFlag, as
// from --profile) wins over everything. Otherwise keys in the environment
// (see Env) come first, then the profile named by AWS_PROFILE or
// AWS_DEFAULT_PROFILE, else the default profile (see Profile).
//
// When there are none, the error wraps creds.ErrNoCredentials and says what was
// looked at and what to do. A profile that is named but missing, or that
// uses a role, SSO or credential_process, is an error of its own (see
// Profile) rather than a fall-through to other credentials.
func Find(getenv func(string) string, files *awsconfig.Files, profileFlag string) (creds.Credentials, error) {
	getenv = orEnv(getenv)
	if profileFlag != "" {
		c, err := Profile(files, profileFlag)
		if err != nil {
			return creds.Credentials{}, fmt.Errorf("using the profile from --profile: %w", err)
		}
		return c, nil
	}

	c, ok, err := Env(getenv)
	if err != nil {
		return creds.Credentials{}, err
	}
	if ok {
		return c, nil
	}

	name, from := profileName(getenv, "")
	c, err = Profile(files, name)
	switch {
	case err == nil:
		return c, nil
	case from == awsenv.FromDefault && errors.Is(err, awsconfig.ErrProfileNotFound):
		return creds.Credentials{}, noCredentials(files, name, "no such profile")
	case from == awsenv.FromDefault && errors.Is(err, creds.ErrNoCredentials):
		return creds.Credentials{}, noCredentials(files, name, "it has no keys")
	}
	if from == awsenv.FromDefault {
		return creds.Credentials{}, fmt.Errorf("using the default profile: %w", err)
	}
	return creds.Credentials{}, fmt.Errorf("using the profile from %s: %w", from, err)
}

// noCredentials says what Find looked at and what to do.
func noCredentials(files *awsconfig.Files, profile, why string) error {
	describe := func(fi awsconfig.FileInfo) string {
		if fi.Display == "" {
			return "the " + fi.Kind.String()
		}
		if !fi.Exists {
			return fi.Display + " (absent)"
		}
		return fi.Display
	}
	cfg, cred := files.ConfigFile(), files.CredentialsFile()
	credFile := cred.Display
	if credFile == "" {
		credFile = "the shared credentials file"
	}
	return fmt.Errorf("%w: looked at the environment (%s and %s are not set, nor %s or %s) and profile %q in %s and %s (%s); "+
		"set %s and %s, or pass --profile NAME for a profile with %s and %s in %s",
		creds.ErrNoCredentials, EnvAccessKeyID, EnvSecretAccessKey, EnvProfile, EnvDefaultProfile, profile, describe(cred), describe(cfg), why,
		EnvAccessKeyID, EnvSecretAccessKey, awsconfig.KeyAccessKeyID, awsconfig.KeySecretAccessKey, credFile)
}
