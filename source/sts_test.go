package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
)

// chainShape is what a ProfileChain should look like: its root, then the
// roles in call order.
type chainShape struct {
	root  string // "static keys of profile base"
	roles []string
}

func shapeOf(c *ProfileChain) chainShape {
	s := chainShape{root: c.RootKind + " of profile " + c.RootProfile}
	for _, h := range c.Hops {
		s.roles = append(s.roles, h.RoleARN)
	}
	return s
}

func role(name string) string { return "arn:aws:iam::123456789012:role/" + name }

// The chain rules, for both readings, against configurations whose outcome
// was checked with aws-sdk-go-v2 (config.LoadDefaultConfig) and botocore
// (Session.get_credentials) against a recording STS endpoint.
func TestFromProfileChainRules(t *testing.T) {
	keys := func(id string) string {
		return "aws_access_key_id = " + id + "\naws_secret_access_key = " + secretA + "\n"
	}
	type want struct {
		shape chainShape
		err   []string
		is    error
	}
	tests := []struct {
		name            string
		config, creds   string
		profile         string
		goSDK, botocore want
	}{
		{
			name:     "three hops from static keys",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("R2") + "\nsource_profile = c\n[profile c]\nrole_arn = " + role("R3") + "\nsource_profile = d\n",
			creds:    "[d]\n" + keys("KD"),
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile d", []string{role("R3"), role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile d", []string{role("R3"), role("R2"), role("R1")}}},
		},
		{
			name:     "a source profile with keys and role_arn",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB") + "role_arn = " + role("R2") + "\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile b", []string{role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:     "a source profile with keys, role_arn and its own source_profile",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB") + "role_arn = " + role("R2") + "\nsource_profile = c\n[profile c]\n" + keys("KC"),
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile b", []string{role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:     "the first profile's keys are ignored when source_profile names another",
			config:   "[profile a]\n" + keys("KA") + "role_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB"),
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:     "source_profile naming the profile itself",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = a\n",
			creds:    "[a]\n" + keys("KA"),
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile a", []string{role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile a", []string{role("R1")}}},
		},
		{
			name:     "a middle profile naming itself",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB") + "role_arn = " + role("R2") + "\nsource_profile = b\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile b", []string{role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:    "the first profile's keys with role_arn and no source_profile",
			config:  "[profile a]\n" + keys("KA") + "role_arn = " + role("R1") + "\n",
			creds:   absent,
			profile: "a",
			goSDK:   want{shape: chainShape{"static keys of profile a", []string{role("R1")}}},
			botocore: want{err: []string{"profile a: role_arn at ~/.aws/config:4 has nothing to assume it with: set source_profile or credential_source"},
				is: ErrNoRoleSource},
		},
		{
			name:    "source_profile naming itself without keys",
			config:  "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = a\n",
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"source_profile loop: a -> a (source_profile of a at ~/.aws/config:3)", "only a profile with static keys may name itself"},
				is: ErrSourceProfileCycle},
			botocore: want{err: []string{"source_profile loop: a -> a"}, is: ErrSourceProfileCycle},
		},
		{
			name:    "a loop",
			config:  "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("R2") + "\nsource_profile = c\n[profile c]\nrole_arn = " + role("R3") + "\nsource_profile = a\n",
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"profile a (source_profile chain a -> b -> c): source_profile loop: a -> b -> c -> a",
				"source_profile of a at ~/.aws/config:3, b at ~/.aws/config:6, c at ~/.aws/config:9"}, is: ErrSourceProfileCycle},
			botocore: want{err: []string{"source_profile loop: a -> b -> c -> a"}, is: ErrSourceProfileCycle},
		},
		{
			// aws-sdk-go-v2 takes a's keys at the second visit and assumes
			// R2 then R1; botocore and credkit call it a loop.
			name:     "a loop back to a profile with keys",
			config:   "[profile a]\n" + keys("KA") + "role_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("R2") + "\nsource_profile = a\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{err: []string{"source_profile loop: a -> b -> a"}, is: ErrSourceProfileCycle},
			botocore: want{err: []string{"source_profile loop: a -> b -> a"}, is: ErrSourceProfileCycle},
		},
		{
			name:    "a missing source profile",
			config:  "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("R2") + "\nsource_profile = nope\n",
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"profile a (source_profile chain a -> b): profile b: source_profile at ~/.aws/config:6: profile \"nope\" not found in ~/.aws/config or ~/.aws/credentials (absent); profiles found: a, b"},
				is: awsconfig.ErrProfileNotFound},
			botocore: want{err: []string{"profile b: source_profile at ~/.aws/config:6: profile \"nope\" not found"}, is: awsconfig.ErrProfileNotFound},
		},
		{
			name:    "both source_profile and credential_source",
			config:  "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\ncredential_source = Environment\n[profile b]\n" + keys("KB"),
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"profile a: both source_profile (~/.aws/config:3) and credential_source (~/.aws/config:4) are set"},
				is: ErrConflictingSources},
			botocore: want{err: []string{"profile a: both source_profile (~/.aws/config:3) and credential_source (~/.aws/config:4) are set"},
				is: ErrConflictingSources},
		},
		{
			name:    "role_arn with no source",
			config:  "[profile a]\nregion = us-east-1\nrole_arn = " + role("R1") + "\n",
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"profile a: role_arn at ~/.aws/config:3 has nothing to assume it with: set source_profile or credential_source (or web_identity_token_file)",
				"aws-sdk-go-v2 would sign with container or instance metadata credentials"}, is: ErrNoRoleSource},
			botocore: want{err: []string{"role_arn at ~/.aws/config:3 has nothing to assume it with"}, is: ErrNoRoleSource},
		},
		{
			name:     "a source profile without credentials",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nregion = us-east-1\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{err: []string{"no AWS credentials found in profile b (~/.aws/config:4)"}, is: ErrNoCredentials},
			botocore: want{err: []string{"no AWS credentials found in profile b (~/.aws/config:4)"}, is: ErrNoCredentials},
		},
		{
			name:     "source_profile without role_arn",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB") + "source_profile = c\n[profile c]\n" + keys("KC"),
			creds:    absent,
			profile:  "a",
			goSDK:    want{err: []string{"profile b: source_profile at ~/.aws/config:7 needs role_arn"}, is: ErrNoRoleSource},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:    "source_profile and credential_process",
			config:  "[profile a]\n" + "role_arn = " + role("R1") + "\nsource_profile = b\ncredential_process = /bin/false\n[profile b]\n" + keys("KB"),
			creds:   absent,
			profile: "a",
			goSDK: want{err: []string{"profile a: both source_profile (~/.aws/config:3) and credential_process (~/.aws/config:4) are set"},
				is: ErrConflictingSources},
			botocore: want{shape: chainShape{"static keys of profile b", []string{role("R1")}}},
		},
		{
			name:     "the first profile with keys and credential_source",
			config:   "[profile a]\n" + keys("KA") + "role_arn = " + role("R1") + "\ncredential_source = Environment\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile a", []string{role("R1")}}},
			botocore: want{shape: chainShape{"credential_source Environment of profile a", []string{role("R1")}}},
		},
		{
			name:     "a source profile with keys, role_arn and web_identity_token_file",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\n" + keys("KB") + "role_arn = " + role("R2") + "\nweb_identity_token_file = /var/run/token\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile b", []string{role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"web identity of profile b", []string{role("R1")}}},
		},
		{
			name:     "credential_source Environment",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\ncredential_source = Environment\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"credential_source Environment of profile a", []string{role("R1")}}},
			botocore: want{shape: chainShape{"credential_source Environment of profile a", []string{role("R1")}}},
		},
		{
			name:     "credential_source with a wrong value",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\ncredential_source = Ec2Metadata\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{err: []string{`profile a: credential_source at ~/.aws/config:3 is "Ec2Metadata"; it must be Environment, Ec2InstanceMetadata or EcsContainer`}},
			botocore: want{err: []string{`credential_source at ~/.aws/config:3 is "Ec2Metadata"`}},
		},
		{
			name:     "credential_source EcsContainer without a factory",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\ncredential_source = EcsContainer\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{err: []string{"profile a: credential_source EcsContainer at ~/.aws/config:3: no provider for it is configured"}},
			botocore: want{err: []string{"credential_source EcsContainer at ~/.aws/config:3: no provider for it is configured"}},
		},
		{
			name:     "credential_source Ec2InstanceMetadata from the factory, two hops up",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("R2") + "\ncredential_source = Ec2InstanceMetadata\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"credential_source Ec2InstanceMetadata of profile b", []string{role("R2"), role("R1")}}},
			botocore: want{shape: chainShape{"credential_source Ec2InstanceMetadata of profile b", []string{role("R2"), role("R1")}}},
		},
		{
			name:     "web identity as the root",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nrole_arn = " + role("W") + "\nweb_identity_token_file = /var/run/token\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"web identity of profile b", []string{role("R1")}}},
			botocore: want{shape: chainShape{"web identity of profile b", []string{role("R1")}}},
		},
		{
			name:     "SSO as the root",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"SSO of profile b", []string{role("R1")}}},
			botocore: want{shape: chainShape{"SSO of profile b", []string{role("R1")}}},
		},
		{
			name:     "a role on top of the profile's own SSO credentials",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"SSO of profile a", []string{role("R1")}}},
			botocore: want{err: []string{"role_arn at ~/.aws/config:2 has nothing to assume it with"}, is: ErrNoRoleSource},
		},
		{
			name:     "credential_process as the root",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n[profile b]\ncredential_process = /usr/bin/get-creds\n",
			creds:    absent,
			profile:  "a",
			goSDK:    want{shape: chainShape{"credential_process of profile b", []string{role("R1")}}},
			botocore: want{shape: chainShape{"credential_process of profile b", []string{role("R1")}}},
		},
		{
			name:     "a profile without role_arn is a chain without hops",
			config:   absent,
			creds:    "[a]\n" + keys("KA"),
			profile:  "a",
			goSDK:    want{shape: chainShape{"static keys of profile a", nil}},
			botocore: want{shape: chainShape{"static keys of profile a", nil}},
		},
		{
			name:     "partial keys in a source profile",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = b\n",
			creds:    "[b]\naws_access_key_id = KB\n",
			profile:  "a",
			goSDK:    want{err: []string{"profile b: aws_access_key_id at ~/.aws/credentials:2 has no aws_secret_access_key"}, is: ErrPartialCredentials},
			botocore: want{err: []string{"aws_access_key_id at ~/.aws/credentials:2 has no aws_secret_access_key"}, is: ErrPartialCredentials},
		},
		{
			name:     "duration_seconds that is not a number",
			config:   "[profile a]\nrole_arn = " + role("R1") + "\nsource_profile = a\nduration_seconds = 1h\n",
			creds:    "[a]\n" + keys("KA"),
			profile:  "a",
			goSDK:    want{err: []string{"profile a: duration_seconds at ~/.aws/config:4 is not a whole number of seconds"}},
			botocore: want{err: []string{"duration_seconds at ~/.aws/config:4 is not a whole number of seconds"}},
		},
		{
			name:     "the first profile does not exist",
			config:   "[profile a]\nregion = x\n",
			creds:    absent,
			profile:  "b",
			goSDK:    want{err: []string{`profile "b" not found`}, is: awsconfig.ErrProfileNotFound},
			botocore: want{err: []string{`profile "b" not found`}, is: awsconfig.ErrProfileNotFound},
		},
	}
	imds := func() (creds.Provider, error) { return creds.Static{}, nil }
	process := func(*awsconfig.ProcessRoot) (creds.Provider, error) { return creds.Static{}, nil }
	for _, tc := range tests {
		for _, rules := range []ChainRules{GoSDKRules, BotocoreRules} {
			w := tc.goSDK
			if rules == BotocoreRules {
				w = tc.botocore
			}
			t.Run(tc.name+"/"+rules.String(), func(t *testing.T) {
				files := loadFiles(t, tc.config, tc.creds)
				c, err := FromProfile(files, tc.profile, ProfileOptions{Getenv: fakeEnv{}.get, Rules: rules, InstanceMetadata: imds, CredentialProcess: process})
				noSecrets(t, err)
				if w.err != nil || w.is != nil {
					if err == nil {
						t.Fatalf("FromProfile = %v; want an error", c)
					}
					containsAll(t, err.Error(), w.err...)
					if w.is != nil && !errors.Is(err, w.is) {
						t.Errorf("errors.Is(%q, %v) = false", err, w.is)
					}
					return
				}
				if err != nil {
					t.Fatalf("FromProfile: %v", err)
				}
				got := shapeOf(c)
				if got.root != w.shape.root || strings.Join(got.roles, " ") != strings.Join(w.shape.roles, " ") {
					t.Errorf("chain = %+v\n want %+v", got, w.shape)
				}
				if c.Rules != rules {
					t.Errorf("Rules = %v", c.Rules)
				}
			})
		}
	}
}

func TestFromProfileHopSettings(t *testing.T) {
	files := loadFiles(t,
		"[profile top]\nrole_arn = "+role("top")+"\nsource_profile = mid\nrole_session_name = s-top\nduration_seconds = 1800\nmfa_serial = arn:aws:iam::123456789012:mfa/me\nregion = eu-central-1\n"+
			"[profile mid]\nrole_arn = "+role("mid")+"\nsource_profile = base\nexternal_id = ext-42\n",
		"[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = "+secretA+"\naws_session_token = "+tokenA+"\n")
	c, err := FromProfile(files, "top", ProfileOptions{Getenv: fakeEnv{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}.get})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Hops) != 2 {
		t.Fatalf("hops = %d", len(c.Hops))
	}
	mid, top := c.Hops[0], c.Hops[1]
	if mid.ExternalID != "ext-42" || mid.RoleSessionName != "" || mid.Duration != 0 || mid.MFASerial != "" || mid.Via != "profile mid" {
		t.Errorf("mid hop = %+v", mid)
	}
	if top.RoleSessionName != "s-top" || top.Duration != 30*time.Minute || top.MFASerial != "arn:aws:iam::123456789012:mfa/me" || top.ExternalID != "" {
		t.Errorf("top hop = %+v", top)
	}
	// All hops use the first profile's region and endpoint.
	for _, h := range c.Hops {
		if h.Options.Region != "eu-central-1" || h.Options.Endpoint != "http://127.0.0.1:1" {
			t.Errorf("hop %s options: region %q endpoint %q", h.RoleARN, h.Options.Region, h.Options.Endpoint)
		}
	}
	if top.Source != mid || mid.Source != c.Root {
		t.Errorf("hops are not linked to their sources")
	}
	root, err := c.Root.Retrieve(context.Background())
	if err != nil || root.AccessKeyID != "AKIDBASE" || root.SessionToken != tokenA || root.Source != "shared credentials file (profile base)" {
		t.Errorf("root = %v, %v", root, err)
	}
	want := "static keys of profile base (~/.aws/credentials:2) -> assume role " + role("mid") + " (from profile mid) -> assume role " + role("top") + " (from profile top)"
	if c.String() != want {
		t.Errorf("String =\n %s\nwant\n %s", c, want)
	}
}

func TestSTSEndpoint(t *testing.T) {
	files := loadFiles(t, "[profile p]\nendpoint_url = http://profile\n[profile s]\nservices = local\nendpoint_url = http://profile\n"+
		"[services local]\nsts =\n  endpoint_url = http://services-sts\n[profile ign]\nendpoint_url = http://profile\nignore_configured_endpoint_urls = true\n", absent)
	prof := func(name string) *awsconfig.Profile {
		p, err := files.Profile(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		env     fakeEnv
		profile *awsconfig.Profile
		want    string
	}{
		{"AWS_ENDPOINT_URL_STS first", fakeEnv{"AWS_ENDPOINT_URL_STS": "http://sts", "AWS_ENDPOINT_URL": "http://all"}, prof("p"), "http://sts"},
		{"then AWS_ENDPOINT_URL", fakeEnv{"AWS_ENDPOINT_URL": "http://all"}, prof("p"), "http://all"},
		{"then the profile", fakeEnv{}, prof("p"), "http://profile"},
		{"no profile", fakeEnv{}, nil, ""},
		{"ignored by the environment", fakeEnv{"AWS_ENDPOINT_URL_STS": "http://sts", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, prof("p"), ""},
		{"ignored by the profile", fakeEnv{}, prof("ign"), ""},
		{"the environment wins over the profile's ignore", fakeEnv{"AWS_ENDPOINT_URL": "http://all"}, prof("ign"), "http://all"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := STSEndpoint(tc.env.get, tc.profile); got != tc.want {
				t.Errorf("STSEndpoint = %q, want %q", got, tc.want)
			}
		})
	}
	// FromProfile also reads the [services] section, before endpoint_url.
	c, err := FromProfile(files, "s", ProfileOptions{Getenv: fakeEnv{}.get})
	if err == nil {
		t.Fatalf("FromProfile(s) = %v; want no credentials", c)
	}
	if got := resolveSTSOptions(ProfileOptions{}, fakeEnv{}.get, files, "s", prof("s")).Endpoint; got != "http://services-sts" {
		t.Errorf("endpoint with a services section = %q", got)
	}
	if got := resolveSTSOptions(ProfileOptions{STS: STSOptions{Endpoint: "http://given"}}, fakeEnv{"AWS_ENDPOINT_URL": "http://all"}.get, files, "s", prof("s")).Endpoint; got != "http://given" {
		t.Errorf("an explicit endpoint = %q", got)
	}
}

// stsRequest is a request seen by stsRecorder.
type stsRequest struct {
	form  url.Values
	keyID string // access key id of the signature, "" when unsigned
}

// stsRecorder is an http.RoundTripper that records the form of every
// request before passing it on, and can change a request first.
type stsRecorder struct {
	mu     sync.Mutex
	reqs   []stsRequest
	before func(r *http.Request, body []byte) error
	next   http.RoundTripper
}

func (s *stsRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	form, _ := url.ParseQuery(string(body))
	req := stsRequest{form: form}
	if i := strings.Index(r.Header.Get("Authorization"), "Credential="); i >= 0 {
		req.keyID, _, _ = strings.Cut(r.Header.Get("Authorization")[i+len("Credential="):], "/")
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	before := s.before
	s.mu.Unlock()
	if before != nil {
		if err := before(r, body); err != nil {
			return nil, err
		}
	}
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

func (s *stsRecorder) requests() []stsRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stsRequest(nil), s.reqs...)
}

func (s *stsRecorder) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

// motoSTS is a moto server with what the STS tests share.
type motoSTS struct {
	*testpeer.MotoServer
	rec    *stsRecorder
	client *http.Client
}

func startMotoSTS(t *testing.T) *motoSTS {
	t.Helper()
	m := testpeer.Moto(t)
	rec := &stsRecorder{next: &http.Transport{Proxy: nil}}
	return &motoSTS{MotoServer: m, rec: rec, client: &http.Client{Transport: rec, Timeout: 30 * time.Second}}
}

func (m *motoSTS) opts() STSOptions {
	return STSOptions{Region: m.Region, Endpoint: m.Endpoint, HTTPClient: m.client}
}

// signAs signs r (whose body is body) for service with the given keys, as
// an SDK would.
func signAs(r *http.Request, body []byte, service, region, id, secret string) error {
	sum := sha256.Sum256(body)
	r.Header.Del("Authorization")
	return v4.NewSigner().SignHTTP(r.Context(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, r,
		hex.EncodeToString(sum[:]), service, region, time.Now())
}

// iam calls an IAM Query API action on moto as the admin user.
func (m *motoSTS) iam(t *testing.T, params url.Values) {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := []byte(params.Encode())
	r, err := http.NewRequest("POST", m.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := signAs(r, body, "iam", m.Region, m.AdminAccessKeyID, m.AdminSecretAccessKey); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}).Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IAM %s: HTTP %d: %s", params.Get("Action"), resp.StatusCode, out)
	}
}

// secretsOf lists the secrets of credentials, for noSecretsIn.
func secretsOf(cs ...creds.Credentials) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.SecretAccessKey, c.SessionToken)
	}
	return out
}

// noSecretsIn fails when err shows one of the test secrets or of extra.
func noSecretsIn(t *testing.T, err error, extra ...string) {
	t.Helper()
	noSecrets(t, err)
	if err == nil {
		return
	}
	for _, s := range extra {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error shows a secret (%.6s...): %v", s, err)
		}
	}
}

func TestSTSWithMoto(t *testing.T) {
	m := startMotoSTS(t)
	ctx := context.Background()
	userID, userSecret := m.NewUserKeys(t, "credkit-sts-user")
	r1 := m.NewRole(t, "credkit-r1")
	r2 := m.NewRole(t, "credkit-r2")
	r3 := m.NewRole(t, "credkit-r3")
	userKeys := creds.Static{Creds: creds.Credentials{AccessKeyID: userID, SecretAccessKey: userSecret, Source: "test user"}}

	t.Run("three hops from a source_profile chain", func(t *testing.T) {
		m.rec.reset()
		files := loadFiles(t,
			"[profile top]\nrole_arn = "+r3+"\nsource_profile = hop2\nrole_session_name = top-session\nduration_seconds = 1800\n"+
				"[profile hop2]\nrole_arn = "+r2+"\nsource_profile = hop1\nrole_session_name = hop2-session\n"+
				"[profile hop1]\nrole_arn = "+r1+"\nsource_profile = base\nexternal_id = ext-1234\n",
			"[base]\naws_access_key_id = "+userID+"\naws_secret_access_key = "+userSecret+"\n")
		// The endpoint and region come from the environment, as a caller's
		// would.
		env := fakeEnv{"AWS_ENDPOINT_URL_STS": m.Endpoint, "AWS_REGION": m.Region}
		chain, err := FromProfile(files, "top", ProfileOptions{Getenv: env.get, STS: STSOptions{HTTPClient: m.client}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatalf("Retrieve: %v", err)
		}
		arn, code := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
		if want := "arn:aws:sts::" + m.AccountID + ":assumed-role/credkit-r3/top-session"; arn != want {
			t.Errorf("caller = %q (error %q), want %q", arn, code, want)
		}
		if c.Source != "assume role "+r3+" (from profile top)" || c.AccountID != m.AccountID || !c.Temporary() {
			t.Errorf("credentials = %v (account %q)", c, c.AccountID)
		}
		if left := c.Expires.Sub(start); left < 29*time.Minute || left > 31*time.Minute {
			t.Errorf("expires in %v, want 30m (duration_seconds = 1800)", left)
		}
		reqs := m.rec.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		wantRoles := []string{r1, r2, r3}
		for i, r := range reqs {
			if r.form.Get("Action") != "AssumeRole" || r.form.Get("RoleArn") != wantRoles[i] {
				t.Errorf("request %d = %v", i, r.form)
			}
		}
		if reqs[0].keyID != userID || reqs[0].form.Get("ExternalId") != "ext-1234" || !strings.HasPrefix(reqs[0].form.Get("RoleSessionName"), "credkit-") {
			t.Errorf("first hop: signed by %s, form %v", reqs[0].keyID, reqs[0].form)
		}
		if reqs[1].keyID == userID || !strings.HasPrefix(reqs[1].keyID, "ASIA") || reqs[1].form.Get("RoleSessionName") != "hop2-session" || reqs[1].form.Has("ExternalId") {
			t.Errorf("second hop: signed by %s, form %v", reqs[1].keyID, reqs[1].form)
		}
		if reqs[2].keyID == reqs[1].keyID || reqs[2].form.Get("DurationSeconds") != "1800" || reqs[2].form.Get("RoleSessionName") != "top-session" {
			t.Errorf("third hop: signed by %s, form %v", reqs[2].keyID, reqs[2].form)
		}
		if reqs[0].form.Has("DurationSeconds") {
			t.Errorf("a hop without duration_seconds sent DurationSeconds=%s", reqs[0].form.Get("DurationSeconds"))
		}
	})

	t.Run("default session name from the clock", func(t *testing.T) {
		now := time.Now()
		p := &AssumeRole{Source: userKeys, RoleARN: r1, Options: m.opts()}
		p.Options.Now = func() time.Time { return now }
		c, err := p.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arn, _ := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
		if want := fmt.Sprintf("assumed-role/credkit-r1/credkit-%d", now.UnixNano()); !strings.HasSuffix(arn, want) {
			t.Errorf("caller = %q, want suffix %q", arn, want)
		}
		if c.Source != "assume role "+r1 {
			t.Errorf("Source = %q", c.Source)
		}
	})

	t.Run("credential_source Environment", func(t *testing.T) {
		files := loadFiles(t, "[profile env]\nrole_arn = "+r2+"\ncredential_source = Environment\nrole_session_name = from-env\n", absent)
		env := fakeEnv{"AWS_ACCESS_KEY_ID": userID, "AWS_SECRET_ACCESS_KEY": userSecret}
		chain, err := FromProfile(files, "env", ProfileOptions{Getenv: env.get, STS: m.opts()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if arn, code := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); !strings.HasSuffix(arn, ":assumed-role/credkit-r2/from-env") {
			t.Errorf("caller = %q (%s)", arn, code)
		}
		// Without the variables the error names them.
		chain, _ = FromProfile(files, "env", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts()})
		_, err = chain.Retrieve(ctx)
		if err == nil || !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("err = %v", err)
		}
		containsAll(t, err.Error(), "assume role "+r2+" (from profile env): source credentials: credential_source Environment (profile env, ~/.aws/config:3): AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	})

	t.Run("AccessDenied keeps AWS's code and message", func(t *testing.T) {
		deniedID, deniedSecret := m.NewUserKeys(t, "credkit-denied")
		m.iam(t, url.Values{
			"Action":         {"PutUserPolicy"},
			"UserName":       {"credkit-denied"},
			"PolicyName":     {"deny-assume"},
			"PolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}]}`},
		})
		files := loadFiles(t, "[profile dev]\nrole_arn = "+r1+"\nsource_profile = denied\n",
			"[denied]\naws_access_key_id = "+deniedID+"\naws_secret_access_key = "+deniedSecret+"\n")
		chain, err := FromProfile(files, "dev", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = chain.Retrieve(ctx)
		if err == nil {
			t.Fatal("no error")
		}
		noSecretsIn(t, err, deniedSecret)
		containsAll(t, err.Error(),
			"assume role "+r1+" (from profile dev) with "+deniedID+" from shared credentials file (profile denied): ",
			"AccessDenied: User: arn:aws:iam::"+m.AccountID+":user/credkit-denied is not authorized to perform: sts:AssumeRole",
			"(HTTP 403")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "AccessDenied" || ae.Service != "STS" || ae.Operation != "AssumeRole" || ae.StatusCode != 403 {
			t.Errorf("APIError = %+v", ae)
		}
		// The SDK's own error stays reachable. (moto writes its permission
		// errors as <ErrorResponse><Errors><Error>, which aws-sdk-go-v2's
		// Query decoder reads as UnknownError; APIError reads the answer
		// itself.)
		var sm smithy.APIError
		if !errors.As(err, &sm) {
			t.Errorf("the SDK's error is not reachable")
		}
	})

	t.Run("a wrong secret", func(t *testing.T) {
		wrong := userSecret[:len(userSecret)-1] + "x"
		p := &AssumeRole{Source: creds.Static{Creds: creds.Credentials{AccessKeyID: userID, SecretAccessKey: wrong}}, RoleARN: r1, Via: "profile x", Options: m.opts()}
		_, err := p.Retrieve(ctx)
		noSecretsIn(t, err, wrong, userSecret)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
			t.Fatalf("err = %v", err)
		}
		containsAll(t, err.Error(), "assume role "+r1+" (from profile x) with "+userID+": SignatureDoesNotMatch: ")
	})

	t.Run("an unknown access key", func(t *testing.T) {
		p := &AssumeRole{Source: creds.Static{Creds: creds.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: secretB}}, RoleARN: r1, Options: m.opts()}
		_, err := p.Retrieve(ctx)
		noSecrets(t, err)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "InvalidClientTokenId" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("MFA", func(t *testing.T) {
		const serial = "arn:aws:iam::123456789012:mfa/credkit-sts-user"
		files := loadFiles(t, "[profile mfa]\nrole_arn = "+r2+"\nsource_profile = base\nmfa_serial = "+serial+"\n",
			"[base]\naws_access_key_id = "+userID+"\naws_secret_access_key = "+userSecret+"\n")
		var asked []string
		prompt := MFAPromptFunc(func(_ context.Context, s string) (string, error) {
			asked = append(asked, s)
			return " 123456\n", nil
		})
		m.rec.reset()
		chain, err := FromProfile(files, "mfa", ProfileOptions{Getenv: fakeEnv{}.get, STS: STSOptions{Region: m.Region, Endpoint: m.Endpoint, HTTPClient: m.client, MFA: prompt}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(asked) != 1 || asked[0] != serial {
			t.Errorf("prompt asked for %q", asked)
		}
		reqs := m.rec.requests()
		if len(reqs) != 1 || reqs[0].form.Get("SerialNumber") != serial || reqs[0].form.Get("TokenCode") != "123456" {
			t.Errorf("requests = %+v", reqs)
		}
		if arn, _ := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); !strings.Contains(arn, ":assumed-role/credkit-r2/") {
			t.Errorf("caller = %q", arn)
		}

		// No prompt: an error before any request.
		m.rec.reset()
		chain, _ = FromProfile(files, "mfa", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts()})
		_, err = chain.Retrieve(ctx)
		if !errors.Is(err, ErrNoMFAPrompt) {
			t.Errorf("err = %v, want ErrNoMFAPrompt", err)
		}
		containsAll(t, fmt.Sprint(err), "assume role "+r2+" (from profile mfa): MFA device "+serial)
		// A prompt that fails.
		cancelled := errors.New("cancelled by the user")
		chain, _ = FromProfile(files, "mfa", ProfileOptions{Getenv: fakeEnv{}.get, STS: STSOptions{Region: m.Region, Endpoint: m.Endpoint, HTTPClient: m.client,
			MFA: MFAPromptFunc(func(context.Context, string) (string, error) { return "", cancelled })}})
		_, err = chain.Retrieve(ctx)
		if !errors.Is(err, cancelled) {
			t.Errorf("err = %v", err)
		}
		if n := len(m.rec.requests()); n != 0 {
			t.Errorf("%d requests without an MFA code", n)
		}
	})

	t.Run("GetSessionToken", func(t *testing.T) {
		const serial = "arn:aws:iam::123456789012:mfa/credkit-sts-user"
		m.rec.reset()
		var asked string
		p := &SessionToken{Source: userKeys, Duration: 2 * time.Hour, MFASerial: serial, Options: m.opts()}
		p.Options.MFA = MFAPromptFunc(func(_ context.Context, s string) (string, error) { asked = s; return "654321", nil })
		start := time.Now()
		c, err := p.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if asked != serial {
			t.Errorf("prompt asked for %q", asked)
		}
		reqs := m.rec.requests()
		if len(reqs) != 1 || reqs[0].form.Get("Action") != "GetSessionToken" || reqs[0].keyID != userID ||
			reqs[0].form.Get("DurationSeconds") != "7200" || reqs[0].form.Get("SerialNumber") != serial || reqs[0].form.Get("TokenCode") != "654321" {
			t.Errorf("requests = %+v", reqs)
		}
		if !c.HasKeys() || !c.Temporary() {
			t.Errorf("credentials = %v", c)
		}
		if left := c.Expires.Sub(start); left < 119*time.Minute || left > 121*time.Minute {
			t.Errorf("expires in %v, want 2h", left)
		}
		if c.Source != "session token of "+userID+" from test user (MFA "+serial+")" || c.AccountID != "123456789012" {
			t.Errorf("Source %q, AccountID %q", c.Source, c.AccountID)
		}
		// moto answers GetSessionToken with fixed example credentials that
		// it does not accept itself, so they cannot be checked further.

		// Unknown source keys: AWS's error, with the key id.
		p = &SessionToken{Source: creds.Static{Creds: creds.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: secretA}}, Options: m.opts()}
		_, err = p.Retrieve(ctx)
		noSecrets(t, err)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "InvalidClientTokenId" {
			t.Fatalf("err = %v", err)
		}
		containsAll(t, err.Error(), "get session token for AKIAUNKNOWNUNKNOWN00: InvalidClientTokenId: ")
	})

	t.Run("a chain rooted in SSO", func(t *testing.T) {
		// The SSO portal (a loopback server speaking the portal's protocol)
		// hands out the moto user's keys; the role is then assumed on moto.
		portal := newSSOPortal(t)
		portal.creds = creds.Credentials{AccessKeyID: userID, SecretAccessKey: userSecret, SessionToken: "", Expires: time.Now().Add(time.Hour)}
		cache := t.TempDir()
		writeSSOToken(t, cache, "corp", ssoAccessToken, time.Now().Add(time.Hour))
		files := loadFiles(t, "[profile admin]\nrole_arn = "+r3+"\nsource_profile = sso\nrole_session_name = via-sso\n"+
			"[profile sso]\nsso_session = corp\nsso_account_id = "+m.AccountID+"\nsso_role_name = Dev\n"+
			"[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n", absent)
		chain, err := FromProfile(files, "admin", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts(),
			SSO: SSOOptions{Endpoint: portal.srv.URL, CacheDir: cache}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if arn, _ := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); !strings.HasSuffix(arn, ":assumed-role/credkit-r3/via-sso") {
			t.Errorf("caller = %q", arn)
		}
		if n := portal.count(); n != 1 {
			t.Errorf("portal called %d times", n)
		}
	})
}

// Errors of the providers that need no server.
func TestAssumeRoleLocalErrors(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	expired := creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: secretA, SessionToken: tokenA,
		Expires: now.Add(-time.Minute), Source: "profile old"}}
	p := &AssumeRole{Source: expired, RoleARN: role("r"), Via: "profile dev", Options: STSOptions{Now: func() time.Time { return now }, Endpoint: "http://127.0.0.1:1"}}
	_, err := p.Retrieve(ctx)
	noSecrets(t, err)
	if !errors.Is(err, creds.ErrExpired) {
		t.Errorf("err = %v", err)
	}
	containsAll(t, fmt.Sprint(err), "assume role "+role("r")+" (from profile dev): source credentials ASIAEXPIRED from profile old expired at 2029-12-31T23:59:00Z")

	failing := creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		return creds.Credentials{}, errors.New("keyring locked")
	})
	_, err = (&AssumeRole{Source: failing, RoleARN: role("r")}).Retrieve(ctx)
	containsAll(t, fmt.Sprint(err), "assume role "+role("r")+": source credentials: keyring locked")

	_, err = (&AssumeRole{RoleARN: role("r")}).Retrieve(ctx)
	containsAll(t, fmt.Sprint(err), "no source credentials provider")

	// A network failure names the role and the key, never the secret.
	p = &AssumeRole{Source: creds.Static{Creds: creds.Credentials{AccessKeyID: "AKIDNET", SecretAccessKey: secretB}}, RoleARN: role("r"),
		Options: STSOptions{Endpoint: "http://127.0.0.1:1", HTTPClient: &http.Client{Timeout: 2 * time.Second}, MaxAttempts: 1}}
	_, err = p.Retrieve(ctx)
	noSecrets(t, err)
	containsAll(t, fmt.Sprint(err), "assume role "+role("r")+" with AKIDNET: ", "connection refused")
}

// Error answers the SDK cannot read are read by APIError itself.
func TestErrorAnswer(t *testing.T) {
	tests := []struct {
		name, errorType, body string
		code, msg             string
	}{
		{"Query protocol", "", `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
			"ExpiredToken", "The security token included in the request is expired"},
		{"moto's shape", "AccessDenied", `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/u is not authorized to perform: sts:AssumeRole</Message><Type>Sender</Type></Error></Errors></ErrorResponse>`,
			"AccessDenied", "User: arn:aws:iam::123456789012:user/u is not authorized to perform: sts:AssumeRole"},
		{"JSON", "", `{"__type": "com.amazonaws.sso#UnauthorizedException", "message": "Session token not found or invalid"}`,
			"UnauthorizedException", "Session token not found or invalid"},
		{"header only", "ThrottlingException:http://internal.amazon.com/coral/", "<html>busy</html>", "ThrottlingException", ""},
		{"nothing", "", "Internal Server Error", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &errorAnswer{errorType: tc.errorType, body: []byte(tc.body)}
			code, msg := k.codeAndMessage()
			if code != tc.code || msg != tc.msg {
				t.Errorf("codeAndMessage = %q, %q; want %q, %q", code, msg, tc.code, tc.msg)
			}
		})
	}
	var k *errorAnswer
	if code, msg := k.codeAndMessage(); code != "" || msg != "" {
		t.Errorf("nil: %q, %q", code, msg)
	}
}

// fakeSTS is a loopback STS endpoint that answers AssumeRole for any role
// with keys named after it ("ASIA" + role name) and records the calls as
// "ROLE by KEYID".
type fakeSTS struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string
}

func newFakeSTS(t *testing.T) *fakeSTS {
	f := &fakeSTS{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		keyID := ""
		if i := strings.Index(r.Header.Get("Authorization"), "Credential="); i >= 0 {
			keyID, _, _ = strings.Cut(r.Header.Get("Authorization")[i+len("Credential="):], "/")
		}
		arn := r.Form.Get("RoleArn")
		name := arn[strings.LastIndex(arn, "/")+1:]
		f.mu.Lock()
		f.calls = append(f.calls, name+" by "+keyID)
		f.mu.Unlock()
		if r.Form.Get("Action") != "AssumeRole" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse><Error><Code>InvalidAction</Code><Message>not here</Message></Error></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
			`<Credentials><AccessKeyId>ASIA%s</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey><SessionToken>fake-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>`+
			`<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/%s/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>`+
			`</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`, name, name)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// take returns the calls recorded since the last take.
func (f *fakeSTS) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// outcome is what a tool did with a profile: the roles it assumed and with
// which key, and the key it ended with, or "error".
func outcome(calls []string, final string, err error) string {
	if err != nil {
		return "error"
	}
	return strings.Join(append(calls, "=> "+final), ", ")
}

// The chain rules, run by aws-sdk-go-v2 (config.LoadDefaultConfig, in this
// process) and by botocore (Session.get_credentials, in python), against
// the same files and a recording STS endpoint: credkit's GoSDKRules must
// do what aws-sdk-go-v2 does, its BotocoreRules what botocore does.
func TestChainRulesMatchSDKs(t *testing.T) {
	python := testpeer.Python(t)
	k := func(id string) string {
		return "aws_access_key_id = " + id + "\naws_secret_access_key = secret-" + id + "\n"
	}
	r := func(n string) string { return "role_arn = arn:aws:iam::123456789012:role/" + n + "\n" }
	scenarios := []struct {
		name, config, creds string
		// goDiffers: credkit refuses what aws-sdk-go-v2 accepts.
		goDiffers bool
	}{
		{name: "three hops", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + r("R2") + "source_profile = c\n[profile c]\n" + r("R3") + "source_profile = d\n", creds: "[d]\n" + k("KD")},
		{name: "source with keys and role", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + k("KB") + r("R2")},
		{name: "source with keys, role and source", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + k("KB") + r("R2") + "source_profile = c\n[profile c]\n" + k("KC")},
		{name: "first with keys and another source", config: "[profile a]\n" + k("KA") + r("R1") + "source_profile = b\n[profile b]\n" + k("KB")},
		{name: "self", config: "[profile a]\n" + k("KA") + r("R1") + "source_profile = a\n"},
		{name: "middle self with keys", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + k("KB") + r("R2") + "source_profile = b\n"},
		{name: "first with keys and role only", config: "[profile a]\n" + k("KA") + r("R1")},
		{name: "self without keys", config: "[profile a]\n" + r("R1") + "source_profile = a\n"},
		{name: "loop", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + r("R2") + "source_profile = a\n"},
		{name: "loop back to keys", config: "[profile a]\n" + k("KA") + r("R1") + "source_profile = b\n[profile b]\n" + r("R2") + "source_profile = a\n", goDiffers: true},
		{name: "missing source", config: "[profile a]\n" + r("R1") + "source_profile = zz\n"},
		{name: "source_profile and credential_source", config: "[profile a]\n" + r("R1") + "source_profile = b\ncredential_source = Environment\n[profile b]\n" + k("KB")},
		{name: "source without credentials", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\nregion = us-east-1\n"},
		{name: "keys and credential_source", config: "[profile a]\n" + k("KA") + r("R1") + "credential_source = Environment\n"},
		{name: "credential_source Environment", config: "[profile a]\n" + r("R1") + "credential_source = Environment\n"},
		{name: "source with keys, role and web identity", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + k("KB") + r("R2") + "web_identity_token_file = /nonexistent/credkit/token\n"},
		{name: "source_profile and credential_process", config: "[profile a]\n" + r("R1") + "source_profile = b\ncredential_process = /bin/false\n[profile b]\n" + k("KB")},
		{name: "source_profile without role_arn", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + k("KB") + "source_profile = c\n[profile c]\n" + k("KC")},
		{name: "keys in the credentials file", config: "[profile a]\n" + r("R1") + "source_profile = b\n[profile b]\n" + r("R2"), creds: "[b]\n" + k("KB")},
	}
	const envKey = "KENV"
	env := fakeEnv{"AWS_ACCESS_KEY_ID": envKey, "AWS_SECRET_ACCESS_KEY": "secret-env"}
	// aws-sdk-go-v2 reads the process environment: give it only these
	// variables (t.Setenv restores the others when the test ends).
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", envKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/credkit/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credkit/credentials")

	type run struct {
		Name        string `json:"name"`
		Config      string `json:"config"`
		Credentials string `json:"credentials"`
		Endpoint    string `json:"endpoint"`
	}
	var runs []run
	type result struct{ goSDK, credkitGo, credkitBoto string }
	results := make([]result, len(scenarios))
	servers := make([]*fakeSTS, len(scenarios))
	ctx := context.Background()
	plain := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	for i, sc := range scenarios {
		credsFile := sc.creds
		if credsFile == "" {
			credsFile = absent
		}
		files := loadFiles(t, sc.config, credsFile)
		srv := newFakeSTS(t)
		servers[i] = srv
		credPath := files.CredentialsFile().Path
		runs = append(runs, run{Name: sc.name, Config: files.ConfigFile().Path, Credentials: credPath, Endpoint: srv.srv.URL})

		t.Setenv("AWS_ENDPOINT_URL_STS", srv.srv.URL)
		cfg, err := config.LoadDefaultConfig(ctx,
			config.WithSharedConfigFiles([]string{files.ConfigFile().Path}),
			config.WithSharedCredentialsFiles([]string{credPath}),
			config.WithSharedConfigProfile("a"),
			config.WithRegion("us-east-1"),
			config.WithBaseEndpoint(srv.srv.URL),
			config.WithHTTPClient(plain),
			config.WithRetryMaxAttempts(1))
		var final string
		if err == nil {
			var c aws.Credentials
			c, err = cfg.Credentials.Retrieve(ctx)
			final = c.AccessKeyID
		}
		results[i].goSDK = outcome(srv.take(), final, err)

		for _, rules := range []ChainRules{GoSDKRules, BotocoreRules} {
			var final string
			chain, err := FromProfile(files, "a", ProfileOptions{Getenv: env.get, Rules: rules,
				STS: STSOptions{Endpoint: srv.srv.URL, HTTPClient: plain, MaxAttempts: 1}})
			if err == nil {
				var c creds.Credentials
				c, err = chain.Retrieve(ctx)
				final = c.AccessKeyID
			}
			o := outcome(srv.take(), final, err)
			if rules == GoSDKRules {
				results[i].credkitGo = o
			} else {
				results[i].credkitBoto = o
			}
		}
	}

	arg, _ := json.Marshal(runs)
	cmd := exec.Command(python, "-c", botocoreChainScript, string(arg))
	cmd.Env = testpeer.IsolatedAWSEnv()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("botocore: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("botocore: %v", err)
	}
	var boto map[string]struct {
		Final string `json:"final"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &boto); err != nil {
		t.Fatalf("botocore output %q: %v", out, err)
	}
	for i, sc := range scenarios {
		b := boto[sc.name]
		var berr error
		if b.Error != "" {
			berr = errors.New(b.Error)
		}
		botoOutcome := outcome(servers[i].take(), b.Final, berr)
		res := results[i]
		t.Logf("%-40s aws-sdk-go-v2: %s | botocore: %s", sc.name, res.goSDK, botoOutcome)
		switch {
		case sc.goDiffers:
			if res.goSDK == "error" || res.credkitGo != "error" {
				t.Errorf("%s: aws-sdk-go-v2 %q, credkit %q; the known difference is gone", sc.name, res.goSDK, res.credkitGo)
			}
		case res.credkitGo != res.goSDK:
			t.Errorf("%s: GoSDKRules %q, aws-sdk-go-v2 %q", sc.name, res.credkitGo, res.goSDK)
		}
		if res.credkitBoto != botoOutcome {
			t.Errorf("%s: BotocoreRules %q, botocore %q (%s)", sc.name, res.credkitBoto, botoOutcome, b.Error)
		}
	}
}

// botocoreChainScript resolves profile "a" of each run with botocore and
// prints {name: {"final": access key id} or {"error": type}}.
const botocoreChainScript = `
import json, os, sys
import botocore.session
out = {}
for run in json.loads(sys.argv[1]):
    os.environ.update({
        "AWS_CONFIG_FILE": run["config"], "AWS_SHARED_CREDENTIALS_FILE": run["credentials"],
        "AWS_ENDPOINT_URL_STS": run["endpoint"], "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "KENV", "AWS_SECRET_ACCESS_KEY": "secret-env",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
    })
    try:
        c = botocore.session.Session(profile="a").get_credentials()
        out[run["name"]] = {"final": c.get_frozen_credentials().access_key} if c else {"error": "no credentials"}
    except Exception as e:
        out[run["name"]] = {"error": type(e).__name__}
json.dump(out, sys.stdout)
`
