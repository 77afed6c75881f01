package awsconfig

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// describe is a chain in one line: its root (type, profile, position and
// the settings it carries, secrets left out), then each role in call order
// as "profile role_arn@position".
func describe(c *Chain) string {
	var root string
	switch r := c.Root.(type) {
	case *StaticKeysRoot:
		root = fmt.Sprintf("keys %s from the %s", r.AccessKeyID.Value, r.File)
		if r.SessionToken.IsSet() {
			root += " with a token at " + r.SessionToken.Pos.String()
		}
	case *StoredKeysRoot:
		root = "stored keys"
	case *CredentialSourceRoot:
		root = "credential_source " + r.Source.Value
	case *WebIdentityRoot:
		root = fmt.Sprintf("web identity %s token %s session %q", r.RoleARN.Value, r.TokenFile.Value, r.RoleSessionName.Value)
	case *SSORoot:
		root = fmt.Sprintf("SSO session %q %s@%s region %s@%s account %s role %s",
			r.Session.Value, r.StartURL.Value, r.StartURL.Pos, r.Region.Value, r.Region.Pos, r.AccountID.Value, r.RoleName.Value)
	case *ProcessRoot:
		root = fmt.Sprintf("process %q account %q", r.Command.Value, r.AccountID.Value)
	case *LoginSessionRoot:
		root = "login session " + r.Session.Value
	default:
		root = fmt.Sprintf("%T", r)
	}
	o := c.Root.Origin()
	s := fmt.Sprintf("%s of %s at %s", root, o.Profile, o.Pos)
	for _, h := range c.Roles {
		s += fmt.Sprintf(" | %s %s@%s", h.Profile, strings.TrimPrefix(h.RoleARN.Value, "arn:aws:iam::123456789012:role/"), h.RoleARN.Pos)
	}
	return s
}

const loginARN = "arn:aws:iam::123456789012:user/alice"

const keysKB = "aws_access_key_id = KB\naws_secret_access_key = secret-b\n"

func TestResolveRoots(t *testing.T) {
	// Each case gives what aws-sdk-go-v2's rules and botocore's rules
	// make of the same files; "" for botocore means the same as Go.
	tests := []struct {
		name            string
		config, creds   string
		profile         string
		goSDK, botocore string
	}{
		{
			name:    "static keys in the credentials file",
			config:  absent,
			creds:   "[a]\naws_access_key_id = KA\naws_secret_access_key = secret-a\naws_session_token = token-a\n",
			profile: "a",
			goSDK:   "keys KA from the shared credentials file with a token at ~/.aws/credentials:4 of a at ~/.aws/credentials:2",
		},
		{
			name:    "static keys of the credentials file win over the config file's",
			config:  "[profile a]\naws_access_key_id = KCFG\naws_secret_access_key = secret-cfg\n",
			creds:   "[a]\naws_access_key_id = KCRED\naws_secret_access_key = secret-cred\n",
			profile: "a",
			goSDK:   "keys KCRED from the shared credentials file of a at ~/.aws/credentials:2",
		},
		{
			name:     "credential_source Environment",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\ncredential_source = Environment\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "credential_source Environment of a at ~/.aws/config:3 | a R1@~/.aws/config:2",
			botocore: "",
		},
		{
			name:    "credential_source Ec2InstanceMetadata",
			config:  "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\ncredential_source = Ec2InstanceMetadata\n",
			creds:   absent,
			profile: "a",
			goSDK:   "credential_source Ec2InstanceMetadata of a at ~/.aws/config:3 | a R1@~/.aws/config:2",
		},
		{
			name:    "credential_source EcsContainer",
			config:  "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\ncredential_source = EcsContainer\n",
			creds:   absent,
			profile: "a",
			goSDK:   "credential_source EcsContainer of a at ~/.aws/config:3 | a R1@~/.aws/config:2",
		},
		{
			name:    "web identity assumes its own role: no role hop",
			config:  "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/W\nweb_identity_token_file = /var/run/token\nrole_session_name = pod\n",
			creds:   absent,
			profile: "a",
			goSDK:   `web identity arn:aws:iam::123456789012:role/W token /var/run/token session "pod" of a at ~/.aws/config:3`,
		},
		{
			name:    "SSO with an sso-session: start URL and region from its section",
			config:  "[profile a]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n",
			creds:   absent,
			profile: "a",
			goSDK:   `SSO session "corp" https://corp.awsapps.com/start@~/.aws/config:7 region eu-west-1@~/.aws/config:6 account 123456789012 role Dev of a at ~/.aws/config:2`,
		},
		{
			name:    "legacy SSO",
			config:  "[profile a]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-2\nsso_account_id = 123456789012\nsso_role_name = Dev\n",
			creds:   absent,
			profile: "a",
			goSDK:   `SSO session "" https://corp.awsapps.com/start@~/.aws/config:2 region us-east-2@~/.aws/config:3 account 123456789012 role Dev of a at ~/.aws/config:2`,
		},
		{
			name:    "credential_process with aws_account_id",
			config:  "[profile a]\ncredential_process = /usr/bin/get-creds --profile a\naws_account_id = 123456789012\n",
			creds:   absent,
			profile: "a",
			goSDK:   `process "/usr/bin/get-creds --profile a" account "123456789012" of a at ~/.aws/config:2`,
		},
		{
			name:     "a leaf with keys and web identity",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = b\n[profile b]\n" + keysKB + "role_arn = arn:aws:iam::123456789012:role/W\nweb_identity_token_file = /t\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "keys KB from the shared config file of b at ~/.aws/config:5 | b W@~/.aws/config:7 | a R1@~/.aws/config:2",
			botocore: `web identity arn:aws:iam::123456789012:role/W token /t session "" of b at ~/.aws/config:8 | a R1@~/.aws/config:2`,
		},
		{
			name:     "a leaf with config-file keys and credential_process",
			config:   "[profile a]\n" + keysKB + "credential_process = /bin/creds\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "keys KB from the shared config file of a at ~/.aws/config:2",
			botocore: `process "/bin/creds" account "" of a at ~/.aws/config:4`,
		},
		{
			name:    "three hops from static keys",
			config:  "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/R2\nsource_profile = c\n[profile c]\nrole_arn = arn:aws:iam::123456789012:role/R3\nsource_profile = d\n",
			creds:   "[d]\naws_access_key_id = KD\naws_secret_access_key = secret-d\n",
			profile: "a",
			goSDK:   "keys KD from the shared credentials file of d at ~/.aws/credentials:2 | c R3@~/.aws/config:8 | b R2@~/.aws/config:5 | a R1@~/.aws/config:2",
		},
		{
			name:     "a source profile with keys and role_arn",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = b\n[profile b]\n" + keysKB + "role_arn = arn:aws:iam::123456789012:role/R2\nsource_profile = c\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "keys KB from the shared config file of b at ~/.aws/config:5 | b R2@~/.aws/config:7 | a R1@~/.aws/config:2",
			botocore: "keys KB from the shared config file of b at ~/.aws/config:5 | a R1@~/.aws/config:2",
		},
		{
			name:    "source_profile naming the profile itself",
			config:  "[profile a]\n" + keysKB + "role_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = a\n",
			creds:   absent,
			profile: "a",
			goSDK:   "keys KB from the shared config file of a at ~/.aws/config:2 | a R1@~/.aws/config:4",
		},
		{
			name:     "the first profile's keys with role_arn alone",
			config:   "[profile a]\n" + keysKB + "role_arn = arn:aws:iam::123456789012:role/R1\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "keys KB from the shared config file of a at ~/.aws/config:2 | a R1@~/.aws/config:4",
			botocore: "error",
		},
		{
			name:     "a role on its own SSO credentials",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsso_start_url = https://x\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\n",
			creds:    absent,
			profile:  "a",
			goSDK:    `SSO session "" https://x@~/.aws/config:3 region us-east-1@~/.aws/config:4 account 123456789012 role Dev of a at ~/.aws/config:3 | a R1@~/.aws/config:2`,
			botocore: "error",
		},
		{
			name:     "source_profile without role_arn in a source profile",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = b\n[profile b]\n" + keysKB + "source_profile = c\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "error",
			botocore: "keys KB from the shared config file of b at ~/.aws/config:5 | a R1@~/.aws/config:2",
		},
		{
			name:    "login_session",
			config:  "[profile a]\nlogin_session = " + loginARN + "\nregion = us-east-1\n",
			creds:   absent,
			profile: "a",
			goSDK:   "login session " + loginARN + " of a at ~/.aws/config:2",
		},
		{
			name:    "login_session wins over credential_process",
			config:  "[profile a]\ncredential_process = /bin/false\nlogin_session = " + loginARN + "\n",
			creds:   absent,
			profile: "a",
			goSDK:   "login session " + loginARN + " of a at ~/.aws/config:3",
		},
		{
			name:    "SSO wins over login_session",
			config:  "[profile a]\nlogin_session = " + loginARN + "\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = R\n",
			creds:   absent,
			profile: "a",
			goSDK:   `SSO session "" https://x.awsapps.com/start@~/.aws/config:3 region us-east-1@~/.aws/config:4 account 123456789012 role R of a at ~/.aws/config:3`,
		},
		{
			name:    "keys of the credentials file win over login_session",
			config:  "[profile a]\nlogin_session = " + loginARN + "\n",
			creds:   "[a]\naws_access_key_id = KA\naws_secret_access_key = secret-a\n",
			profile: "a",
			goSDK:   "keys KA from the shared credentials file of a at ~/.aws/credentials:2",
		},
		{
			name:     "keys of the config file against login_session",
			config:   "[profile a]\nlogin_session = " + loginARN + "\naws_access_key_id = KA\naws_secret_access_key = secret-a\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "keys KA from the shared config file of a at ~/.aws/config:3",
			botocore: "login session " + loginARN + " of a at ~/.aws/config:2",
		},
		{
			name:     "login_session profile as a role's source",
			config:   "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = b\n[profile b]\nlogin_session = " + loginARN + "\n",
			creds:    absent,
			profile:  "a",
			goSDK:    "error",
			botocore: "login session " + loginARN + " of b at ~/.aws/config:5 | a R1@~/.aws/config:2",
		},
		{
			name:    "login_session profile naming itself as source_profile",
			config:  "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = a\nlogin_session = " + loginARN + "\n",
			creds:   absent,
			profile: "a",
			goSDK:   "error",
		},
	}
	for _, tc := range tests {
		for _, rules := range []Rules{GoSDKRules, BotocoreRules} {
			want := tc.goSDK
			if rules == BotocoreRules && tc.botocore != "" {
				want = tc.botocore
			}
			t.Run(tc.name+"/"+rules.String(), func(t *testing.T) {
				files := load(t, tc.config, tc.creds)
				c, err := files.Resolve(tc.profile, ResolveOptions{Rules: rules})
				if want == "error" {
					if err == nil {
						t.Fatalf("Resolve = %s; want an error", describe(c))
					}
					return
				}
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if got := describe(c); got != want {
					t.Errorf("chain\n got %s\nwant %s", got, want)
				}
				if c.Rules != rules || c.Profile != tc.profile {
					t.Errorf("Rules = %v, Profile = %q", c.Rules, c.Profile)
				}
			})
		}
	}
}

func TestResolveRoleSettings(t *testing.T) {
	files := load(t,
		"[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = mid\nrole_session_name = s-top\nduration_seconds = 1800\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nmfa_process = otp-tool code\n"+
			"[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\nsource_profile = base\nexternal_id = ext-42\n",
		"[base]\n"+keysKB)
	for _, rules := range []Rules{GoSDKRules, BotocoreRules} {
		c, err := files.Resolve("top", ResolveOptions{Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(c.Path, " "); got != "top mid base" {
			t.Errorf("%v: Path = %s", rules, got)
		}
		if len(c.Roles) != 2 {
			t.Fatalf("%v: roles = %d", rules, len(c.Roles))
		}
		mid, top := c.Roles[0], c.Roles[1]
		if mid.ExternalID.Value != "ext-42" || mid.ExternalID.Pos.String() != "~/.aws/config:11" {
			t.Errorf("mid external_id = %+v", mid.ExternalID)
		}
		if mid.SourceProfile.Value != "base" || mid.SourceProfile.Pos.String() != "~/.aws/config:10" ||
			mid.RoleSessionName.IsSet() || mid.MFASerial.IsSet() || mid.MFAProcess.IsSet() || mid.Duration != 0 {
			t.Errorf("mid = %+v", mid)
		}
		if top.RoleSessionName.Value != "s-top" || top.Duration != 30*time.Minute || top.DurationSeconds.Pos.String() != "~/.aws/config:5" ||
			top.MFASerial.Value != "arn:aws:iam::123456789012:mfa/me" || top.MFAProcess.Value != "otp-tool code" || top.ExternalID.IsSet() {
			t.Errorf("top = %+v", top)
		}
		if c.MFASerial != top.MFASerial || c.MFAProcess != top.MFAProcess {
			t.Errorf("chain MFA = %+v %+v", c.MFASerial, c.MFAProcess)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	const r1 = "role_arn = arn:aws:iam::123456789012:role/R1\n"
	type want struct {
		msg []string // substrings of the message; none: no error
		is  error
		at  string // ResolveError.At, Key and Pos
		key string
		pos string
	}
	tests := []struct {
		name            string
		config, creds   string
		profile         string
		goSDK, botocore want
	}{
		{
			name:     "a loop",
			config:   "[profile a]\n" + r1 + "source_profile = b\n[profile b]\n" + r1 + "source_profile = a\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a (source_profile chain a -> b): source_profile loop: a -> b -> a (source_profile of a at ~/.aws/config:3, b at ~/.aws/config:6)"}, is: ErrSourceProfileCycle, at: "a", key: KeySourceProfile, pos: "~/.aws/config:3"},
			botocore: want{msg: []string{"source_profile loop: a -> b -> a"}, is: ErrSourceProfileCycle, at: "a", key: KeySourceProfile, pos: "~/.aws/config:3"},
		},
		{
			name:     "a profile naming itself without keys",
			config:   "[profile a]\n" + r1 + "source_profile = a\n",
			profile:  "a",
			goSDK:    want{msg: []string{"source_profile loop: a -> a (source_profile of a at ~/.aws/config:3); only a profile with static keys may name itself"}, is: ErrSourceProfileCycle, at: "a", key: KeySourceProfile, pos: "~/.aws/config:3"},
			botocore: want{msg: []string{"source_profile loop: a -> a"}, is: ErrSourceProfileCycle, at: "a", key: KeySourceProfile, pos: "~/.aws/config:3"},
		},
		{
			name:     "a missing source profile",
			config:   "[profile a]\n" + r1 + "source_profile = b\n[profile b]\n" + r1 + "source_profile = nope\n",
			profile:  "a",
			goSDK:    want{msg: []string{`profile a (source_profile chain a -> b): profile b: source_profile at ~/.aws/config:6: profile "nope" not found`}, is: ErrProfileNotFound, at: "b", key: KeySourceProfile, pos: "~/.aws/config:6"},
			botocore: want{msg: []string{`profile b: source_profile at ~/.aws/config:6: profile "nope" not found`}, is: ErrProfileNotFound, at: "b", key: KeySourceProfile, pos: "~/.aws/config:6"},
		},
		{
			name:     "source_profile and credential_source",
			config:   "[profile a]\n" + r1 + "source_profile = b\ncredential_source = Environment\n[profile b]\n" + keysKB,
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: both source_profile (~/.aws/config:3) and credential_source (~/.aws/config:4) are set; a profile may have one source"}, is: ErrConflictingSources, at: "a", key: KeyCredentialSource, pos: "~/.aws/config:4"},
			botocore: want{msg: []string{"profile a: both source_profile (~/.aws/config:3) and credential_source (~/.aws/config:4) are set; a role takes"}, is: ErrConflictingSources, at: "a", key: KeyCredentialSource, pos: "~/.aws/config:4"},
		},
		{
			name:    "three sources",
			config:  "[profile a]\n" + r1 + "source_profile = b\ncredential_process = /bin/x\nweb_identity_token_file = /t\n[profile b]\n" + keysKB,
			profile: "a",
			goSDK: want{msg: []string{"profile a: source_profile (~/.aws/config:3), credential_process (~/.aws/config:4) and web_identity_token_file (~/.aws/config:5) are set"},
				is: ErrConflictingSources, at: "a", key: KeyCredentialProcess, pos: "~/.aws/config:4"},
			// botocore takes web identity first and ignores the others.
			botocore: want{},
		},
		{
			name:     "role_arn with no source",
			config:   "[profile a]\nregion = us-east-1\n" + r1,
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: role_arn at ~/.aws/config:3 has nothing to assume it with", "aws-sdk-go-v2 would sign with container or instance metadata credentials"}, is: ErrNoRoleSource, at: "a", key: KeyRoleARN, pos: "~/.aws/config:3"},
			botocore: want{msg: []string{"profile a: role_arn at ~/.aws/config:3 has nothing to assume it with: set source_profile or credential_source (or web_identity_token_file): "}, is: ErrNoRoleSource, at: "a", key: KeyRoleARN, pos: "~/.aws/config:3"},
		},
		{
			name:     "credential_source without role_arn",
			config:   "[profile a]\ncredential_source = Environment\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: credential_source at ~/.aws/config:2 needs role_arn"}, is: ErrNoRoleSource, at: "a", key: KeyCredentialSource, pos: "~/.aws/config:2"},
			botocore: want{msg: []string{"no AWS credentials found in profile a (~/.aws/config:1)"}, is: ErrNoCredentials, at: "a"},
		},
		{
			name:     "a source profile without credentials",
			config:   "[profile a]\n" + r1 + "source_profile = b\n[profile b]\nregion = us-east-1\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a (source_profile chain a -> b): no AWS credentials found in profile b (~/.aws/config:4)"}, is: ErrNoCredentials, at: "b"},
			botocore: want{msg: []string{"no AWS credentials found in profile b (~/.aws/config:4)"}, is: ErrNoCredentials, at: "b"},
		},
		{
			name:     "partial keys",
			config:   "[profile a]\n" + r1 + "source_profile = b\n",
			creds:    "[b]\naws_access_key_id = KB\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile b: aws_access_key_id at ~/.aws/credentials:2 has no aws_secret_access_key next to it in the shared credentials file"}, is: ErrPartialCredentials, at: "b", key: KeyAccessKeyID, pos: "~/.aws/credentials:2"},
			botocore: want{msg: []string{"profile b: aws_access_key_id at ~/.aws/credentials:2 has no aws_secret_access_key"}, is: ErrPartialCredentials, at: "b", key: KeyAccessKeyID, pos: "~/.aws/credentials:2"},
		},
		{
			name:     "duration_seconds that is not a number",
			config:   "[profile a]\n" + keysKB + r1 + "source_profile = a\nduration_seconds = 1h\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: duration_seconds at ~/.aws/config:6 is not a whole number of seconds"}, at: "a", key: KeyDurationSeconds, pos: "~/.aws/config:6"},
			botocore: want{msg: []string{"profile a: duration_seconds at ~/.aws/config:6 is not a whole number of seconds"}, at: "a", key: KeyDurationSeconds, pos: "~/.aws/config:6"},
		},
		{
			name:     "credential_source with a wrong value",
			config:   "[profile a]\n" + r1 + "credential_source = Ec2Metadata\n",
			profile:  "a",
			goSDK:    want{msg: []string{`profile a: credential_source at ~/.aws/config:3 is "Ec2Metadata"; it must be Environment, Ec2InstanceMetadata or EcsContainer`}, at: "a", key: KeyCredentialSource, pos: "~/.aws/config:3"},
			botocore: want{msg: []string{`profile a: credential_source at ~/.aws/config:3 is "Ec2Metadata"`}, at: "a", key: KeyCredentialSource, pos: "~/.aws/config:3"},
		},
		{
			name:     "an sso_session that is not defined",
			config:   "[profile a]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Dev\n[sso-session other]\nsso_region = x\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: sso_session at ~/.aws/config:2 names [sso-session corp], which is not in the config file (found: other)"}, at: "a", key: KeySSOSession, pos: "~/.aws/config:2"},
			botocore: want{msg: []string{"names [sso-session corp]"}, at: "a", key: KeySSOSession, pos: "~/.aws/config:2"},
		},
		{
			name:     "an sso_region that differs from the session's",
			config:   "[profile a]\nsso_session = corp\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://x\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a: sso_region at ~/.aws/config:3 differs from the one of [sso-session corp] at ~/.aws/config:7; they must match"}, at: "a", key: KeySSORegion, pos: "~/.aws/config:3"},
			botocore: want{msg: []string{"sso_region at ~/.aws/config:3 differs"}, at: "a", key: KeySSORegion, pos: "~/.aws/config:3"},
		},
		{
			name:     "an SSO profile that lacks keys",
			config:   "[profile a]\nsso_session = corp\n[sso-session corp]\nsso_region = eu-west-1\n",
			profile:  "a",
			goSDK:    want{msg: []string{"profile a (~/.aws/config:1) is configured for SSO but lacks sso_start_url in [sso-session corp] (~/.aws/config:3), sso_account_id, sso_role_name"}, at: "a"},
			botocore: want{msg: []string{"is configured for SSO but lacks sso_start_url"}, at: "a"},
		},
	}
	for _, tc := range tests {
		for _, rules := range []Rules{GoSDKRules, BotocoreRules} {
			w := tc.goSDK
			if rules == BotocoreRules {
				w = tc.botocore
			}
			t.Run(tc.name+"/"+rules.String(), func(t *testing.T) {
				creds := tc.creds
				if creds == "" {
					creds = absent
				}
				files := load(t, tc.config, creds)
				c, err := files.Resolve(tc.profile, ResolveOptions{Rules: rules})
				if w.msg == nil {
					if err != nil {
						t.Errorf("Resolve: %v; want no error", err)
					}
					return
				}
				if err == nil {
					t.Fatalf("Resolve = %s; want an error", describe(c))
				}
				for _, m := range w.msg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error\n %v\nwant it to contain\n %s", err, m)
					}
				}
				if strings.Contains(err.Error(), "secret-") {
					t.Errorf("error shows a secret: %v", err)
				}
				if w.is != nil && !errors.Is(err, w.is) {
					t.Errorf("errors.Is(%v, %v) = false", err, w.is)
				}
				var re *ResolveError
				if !errors.As(err, &re) {
					t.Fatalf("%T is not a *ResolveError", err)
				}
				if re.Profile != tc.profile || re.At != w.at || re.Key != w.key || re.Pos.String() != w.pos {
					t.Errorf("ResolveError: Profile %q At %q Key %q Pos %q; want %q %q %q %q", re.Profile, re.At, re.Key, re.Pos, tc.profile, w.at, w.key, w.pos)
				}
			})
		}
	}
}

func TestResolveProfileNotFound(t *testing.T) {
	files := load(t, "[profile a]\nregion = x\n", absent)
	_, err := files.Resolve("b", ResolveOptions{})
	var nf *ProfileNotFoundError
	if !errors.As(err, &nf) || nf.Name != "b" {
		t.Fatalf("err = %v, want a *ProfileNotFoundError for b", err)
	}
}

func TestResolveStoredKeys(t *testing.T) {
	files := load(t,
		"[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R1\nsource_profile = vaulted\n[profile vaulted]\nregion = us-east-1\nmfa_process = otp\n[profile sso]\nsso_start_url = https://x\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n",
		"[filed]\n"+keysKB)
	var asked []string
	store := func(keys map[string]bool, fail error) ResolveOptions {
		asked = nil
		return ResolveOptions{StoredKeys: func(p string) (bool, error) {
			asked = append(asked, p)
			return keys[p], fail
		}}
	}

	c, err := files.Resolve("a", store(map[string]bool{"vaulted": true}, nil))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.Root.(*StoredKeysRoot)
	if !ok || r.From.Profile != "vaulted" || r.MFAProcess.Value != "otp" || len(c.Roles) != 1 {
		t.Errorf("chain = %s, root %+v", describe(c), c.Root)
	}

	// Keys in the files are not looked up in the store.
	if _, err := files.Resolve("filed", store(map[string]bool{"filed": true}, nil)); err != nil || len(asked) != 0 {
		t.Errorf("Resolve(filed): %v; store asked for %v", err, asked)
	}

	// Botocore's rules never look in the store.
	opts := store(map[string]bool{"vaulted": true}, nil)
	opts.Rules = BotocoreRules
	if _, err := files.Resolve("a", opts); !errors.Is(err, ErrNoCredentials) || len(asked) != 0 {
		t.Errorf("botocore: %v; store asked for %v", err, asked)
	}

	// An unusable store is the error of a profile that depends on it ...
	broken := errors.New("store locked")
	if _, err := files.Resolve("vaulted", store(nil, broken)); !errors.Is(err, broken) || !strings.Contains(err.Error(), "profile vaulted: store locked") {
		t.Errorf("vaulted with a broken store: %v", err)
	}
	// ... and not of one with its own source.
	if c, err := files.Resolve("sso", store(nil, broken)); err != nil {
		t.Errorf("sso with a broken store: %v", err)
	} else if _, ok := c.Root.(*SSORoot); !ok {
		t.Errorf("sso root = %T", c.Root)
	}
}

func TestStaticKeysRootHidesSecrets(t *testing.T) {
	files := load(t, absent, "[a]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret-a\naws_session_token = token-a\n")
	c, err := files.Resolve("a", ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c.Root, c} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(out, "secret-a") || strings.Contains(out, "token-a") || !strings.Contains(out, "AKIDEXAMPLE") {
				t.Errorf("%s of %T = %s", f, v, out)
			}
		}
	}
}

func TestResolveSSOAndWebIdentity(t *testing.T) {
	files := load(t, "[profile w]\nweb_identity_token_file = /t\n[profile plain]\nregion = x\n", absent)
	if _, err := files.ResolveWebIdentity("w"); !errors.Is(err, ErrNoRoleSource) || !strings.Contains(err.Error(), "web_identity_token_file at ~/.aws/config:2 needs role_arn") {
		t.Errorf("ResolveWebIdentity(w) = %v", err)
	}
	if _, err := files.ResolveWebIdentity("plain"); err == nil || !strings.Contains(err.Error(), "profile plain (~/.aws/config:3) has no web_identity_token_file") {
		t.Errorf("ResolveWebIdentity(plain) = %v", err)
	}
	if _, err := files.ResolveSSO("plain"); err == nil || !strings.Contains(err.Error(), "profile plain (~/.aws/config:3) is not an SSO profile") {
		t.Errorf("ResolveSSO(plain) = %v", err)
	}
}
