package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/credkit/credkit/internal/sessioncache"
)

// ServedProfile is the profile WriteConfig writes without credentials:
// a program run with it gets them from the lab's container endpoint or
// instance metadata.
const ServedProfile = "lab-served"

// ServicesSection names the services section of the written config.
const ServicesSection = "credkit-lab"

// WebIdentityTokenTTL is the lifetime of the web identity tokens
// WriteConfig writes; Config.RefreshTokens rewrites them at half of it, as
// Kubernetes rotates projected service account tokens.
const WebIdentityTokenTTL = time.Hour

// Config is an AWS config and credentials pair that WriteConfig wrote.
type Config struct {
	ConfigFile      string // DIR/config
	CredentialsFile string // DIR/credentials
	// Profiles are the profiles of the config, in file order: one per
	// user with a key, one per role that a written profile can assume,
	// and ServedProfile.
	Profiles []string
	// DefaultProfile is the first role that needs neither an external id,
	// MFA nor a web identity token; else the first user; else
	// ServedProfile.
	DefaultProfile string
	// SSOProfiles are the Identity Center profiles: one per permission
	// set of the signing-in user in the seed's account, named
	// lab-sso-ROLE, using the [sso-session SSOSession].
	SSOProfiles []string
	// TokenFiles are the web identity token files, one per role that
	// trusts web identities.
	TokenFiles []string

	lab *Lab
}

// WriteConfig writes an AWS config and credentials pair into dir (created
// 0700; every file 0600) whose profiles point at the lab serving at
// endpoint (http://127.0.0.1:PORT):
//
//   - a profile per seeded user with an access key, its first key in the
//     credentials file, and USER.mfa holding the base32 secret of its MFA
//     device if it has one (`credkit lab totp DIR/USER.mfa` prints a code);
//   - a profile per role: role_arn with source_profile (the first user),
//     external_id and mfa_serial as its trust policy's conditions ask, or
//     web_identity_token_file (ROLE.web-identity-token, a token minted by
//     the lab) for a role that trusts web identities. A role whose name is
//     also a user's gets the profile ROLE-role. Without a user, only the
//     web identity roles have profiles;
//   - ServedProfile, without credentials;
//   - [sso-session SSOSession] (start URL SSOStartURL, sso_region Region)
//     and a profile lab-sso-ROLE per permission set of the signing-in
//     user in the seed's account (Config.SSOProfiles).
//
// Every profile has region (Region), endpoint_url and services =
// ServicesSection, whose sts, iam, sso and sso_oidc endpoint_url is the lab too:
// aws-sdk-go-v2 builds the STS client of credential resolution before it
// reads a profile's endpoint_url, and reads the services section.
func WriteConfig(l *Lab, endpoint, dir string) (*Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	c := &Config{ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials"), lab: l}
	var conf, cred strings.Builder
	fmt.Fprintf(&conf, "# Written by credkit lab for %s; its keys work on that lab only.\n", endpoint)
	common := fmt.Sprintf("region = %s\nendpoint_url = %s\nservices = %s\n", Region, endpoint, ServicesSection)
	seed := l.Seed()
	var firstUser string
	mfaSecret := map[string]string{}
	for _, u := range seed.Users {
		if len(u.AccessKeys) == 0 {
			continue
		}
		if firstUser == "" {
			firstUser = u.Name
		}
		fmt.Fprintf(&cred, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", u.Name, u.AccessKeys[0].AccessKeyID, u.AccessKeys[0].SecretAccessKey)
		fmt.Fprintf(&conf, "\n[profile %s]\n%s", u.Name, common)
		c.Profiles = append(c.Profiles, u.Name)
		if u.MFASecret != "" {
			mfaSecret[u.Name] = u.MFASecret
			if err := writePrivate(filepath.Join(dir, u.Name+".mfa"), u.MFASecret+"\n"); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range seed.Roles {
		name := r.Name
		if slices.Contains(c.Profiles, name) {
			name += "-role"
		}
		var extra strings.Builder
		web := false
		for _, s := range r.TrustPolicy.Statements {
			for _, a := range s.Action {
				web = web || strings.EqualFold(a, "sts:AssumeRoleWithWebIdentity")
			}
			for _, cond := range s.Conditions {
				switch {
				case cond.Op == "StringEquals" && strings.EqualFold(cond.Key, "sts:ExternalId"):
					fmt.Fprintf(&extra, "external_id = %s\n", cond.Values[0])
				case cond.Op == "Bool" && strings.EqualFold(cond.Key, "aws:MultiFactorAuthPresent") && mfaSecret[firstUser] != "":
					fmt.Fprintf(&extra, "mfa_serial = %s\n", l.mfaSerial(firstUser))
				}
			}
		}
		var profile strings.Builder
		fmt.Fprintf(&profile, "\n[profile %s]\nrole_arn = %s\n", name, l.RoleARN(r.Name))
		switch {
		case web:
			tf := filepath.Join(dir, r.Name+".web-identity-token")
			c.TokenFiles = append(c.TokenFiles, tf)
			fmt.Fprintf(&profile, "web_identity_token_file = %s\nrole_session_name = lab-workload\n", tf)
		case firstUser != "":
			fmt.Fprintf(&profile, "source_profile = %s\n%s", firstUser, extra.String())
		default:
			continue // nothing to assume it with
		}
		conf.WriteString(profile.String())
		conf.WriteString(common)
		c.Profiles = append(c.Profiles, name)
		if c.DefaultProfile == "" && !web && extra.Len() == 0 {
			c.DefaultProfile = name
		}
	}
	fmt.Fprintf(&conf, "\n# No keys: credentials come from credkit lab --serve (container endpoint or IMDS).\n[profile %s]\n%s", ServedProfile, common)
	c.Profiles = append(c.Profiles, ServedProfile)
	c.SSOProfiles = writeSSOConfig(&conf, l, common)
	fmt.Fprintf(&conf, "\n[services %s]\nsts =\n  endpoint_url = %s\niam =\n  endpoint_url = %s\nsso =\n  endpoint_url = %s\nsso_oidc =\n  endpoint_url = %s\n", ServicesSection, endpoint, endpoint, endpoint, endpoint)
	if c.DefaultProfile == "" {
		c.DefaultProfile = firstUser
	}
	if c.DefaultProfile == "" {
		c.DefaultProfile = ServedProfile
	}
	for _, tf := range c.TokenFiles {
		if err := c.writeToken(tf); err != nil {
			return nil, err
		}
	}
	if err := writePrivate(c.CredentialsFile, cred.String()); err != nil {
		return nil, err
	}
	if err := writePrivate(c.ConfigFile, conf.String()); err != nil {
		return nil, err
	}
	return c, nil
}

// writePrivate writes a file readable by its owner only.
func writePrivate(path, content string) error {
	if err := sessioncache.WritePrivate(path, []byte(content)); err != nil {
		return fmt.Errorf("lab config: write %s: %w", path, err)
	}
	return nil
}

func (c *Config) writeToken(file string) error {
	tok, err := c.lab.MintWebIdentityToken("system:serviceaccount:lab:workload", "", WebIdentityTokenTTL)
	if err != nil {
		return fmt.Errorf("lab config: web identity token for %s: %w", file, err)
	}
	return writePrivate(file, tok)
}

// RefreshTokens rewrites the web identity token files every
// WebIdentityTokenTTL/2 until ctx ends. It returns at once when there are
// none; a failed rewrite is retried at the next tick (the old token lives
// until then).
func (c *Config) RefreshTokens(ctx context.Context) {
	if len(c.TokenFiles) == 0 {
		return
	}
	t := time.NewTicker(WebIdentityTokenTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, tf := range c.TokenFiles {
				c.writeToken(tf)
			}
		}
	}
}
