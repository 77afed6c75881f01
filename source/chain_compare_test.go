package source_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/source"
)

// This test puts credkit's chain, aws-sdk-go-v2's config.LoadDefaultConfig
// (through internal/sdkprobe, in its own process) and botocore's
// Session.get_credentials in the same situations (files, environment,
// servers) and checks that all three pick the same kind of source and the
// same keys.

// kind is the comparable name of a source.
type kind string

const (
	kEnv         kind = "env"
	kStatic      kind = "profile-static"
	kAssumeRole  kind = "assume-role"
	kWebIdentity kind = "web-identity"
	kProcess     kind = "process"
	kContainer   kind = "container"
	kIMDS        kind = "imds"
	kSSO         kind = "sso"
	kLogin       kind = "login"
	kError       kind = "error"
)

type pick struct {
	Kind        kind
	AccessKeyID string
	Detail      string
}

func (p pick) String() string { return fmt.Sprintf("%s %s", p.Kind, p.AccessKeyID) }

func credkitKind(src string) kind {
	switch {
	case src == source.SourceEnvironment:
		return kEnv
	case strings.HasPrefix(src, "login session "):
		return kLogin
	case strings.Contains(src, "with web identity"), strings.HasPrefix(src, "web identity"):
		return kWebIdentity
	case strings.HasPrefix(src, "assume role"):
		return kAssumeRole
	case strings.HasPrefix(src, "credential_process"):
		return kProcess
	case strings.HasPrefix(src, "container endpoint"):
		return kContainer
	case strings.HasPrefix(src, "EC2 instance metadata"):
		return kIMDS
	case strings.Contains(src, "SSO"), strings.Contains(src, "sso"):
		return kSSO
	case strings.Contains(src, "(profile "):
		return kStatic
	}
	return kind("credkit:" + src)
}

func sdkKind(src string) kind {
	switch {
	case src == "EnvConfigCredentials":
		return kEnv
	case strings.HasPrefix(src, "SharedConfigCredentials"):
		return kStatic
	case src == "AssumeRoleProvider":
		return kAssumeRole
	case src == "WebIdentityCredentials":
		return kWebIdentity
	case src == "ProcessProvider":
		return kProcess
	case src == "CredentialsEndpointProvider":
		return kContainer
	case src == "EC2RoleProvider":
		return kIMDS
	case src == "SSOProvider":
		return kSSO
	case src == "LoginProvider":
		return kLogin
	}
	return kind("sdk:" + src)
}

func botocoreKind(method string) kind {
	switch method {
	case "env":
		return kEnv
	case "shared-credentials-file", "config-file":
		return kStatic
	case "assume-role":
		return kAssumeRole
	case "assume-role-with-web-identity":
		return kWebIdentity
	case "custom-process":
		return kProcess
	case "container-role":
		return kContainer
	case "iam-role":
		return kIMDS
	case "sso":
		return kSSO
	case "login":
		return kLogin
	}
	return kind("botocore:" + method)
}

var (
	probeOnce sync.Once
	probePath string
	probeErr  error
)

func sdkProbe(t *testing.T) string {
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "credkit-sdkprobe")
		if err != nil {
			probeErr = err
			return
		}
		probePath = filepath.Join(dir, "sdkprobe")
		out, err := exec.Command("go", "build", "-o", probePath, "github.com/credkit/credkit/internal/sdkprobe").CombinedOutput()
		if err != nil {
			probeErr = fmt.Errorf("build sdkprobe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probePath
}

const botocoreScript = `
import json, os, sys
import botocore.session
out = {}
try:
    s = botocore.session.Session(profile=os.environ.get("SDKPROBE_PROFILE") or None)
    c = s.get_credentials()
    if c is None:
        out["error"] = "no credentials"
    else:
        f = c.get_frozen_credentials()
        out["method"] = c.method
        out["access_key_id"] = f.access_key
except Exception as e:
    out["error"] = type(e).__name__ + ": " + str(e)
sys.stdout.write(json.dumps(out))
`

func envList(env map[string]string) []string {
	var l []string
	for k, v := range env {
		l = append(l, k+"="+v)
	}
	sort.Strings(l)
	return l
}

func runSDK(t *testing.T, env map[string]string) pick {
	cmd := exec.Command(sdkProbe(t))
	cmd.Env = envList(env)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdkprobe: %v", err)
	}
	var r struct {
		Source      string `json:"source"`
		AccessKeyID string `json:"access_key_id"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("sdkprobe output %q: %v", out, err)
	}
	if r.Error != "" {
		return pick{Kind: kError, Detail: r.Error}
	}
	return pick{Kind: sdkKind(r.Source), AccessKeyID: r.AccessKeyID}
}

func runBotocore(t *testing.T, env map[string]string) pick {
	cmd := exec.Command(testpeer.Python(t), "-c", botocoreScript)
	cmd.Env = envList(env)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v", err)
	}
	var r struct {
		Method      string `json:"method"`
		AccessKeyID string `json:"access_key_id"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("botocore output %q: %v", out, err)
	}
	if r.Error != "" {
		return pick{Kind: kError, Detail: r.Error}
	}
	return pick{Kind: botocoreKind(r.Method), AccessKeyID: r.AccessKeyID}
}

func runCredkit(t *testing.T, env map[string]string) pick {
	getenv := func(k string) string { return env[k] }
	files, err := awsconfig.Load(awsconfig.Options{Getenv: getenv})
	if err != nil {
		return pick{Kind: kError, Detail: err.Error()}
	}
	ch := source.DefaultChain(source.ChainOptions{Getenv: getenv, Files: files, Profile: env["SDKPROBE_PROFILE"]})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, trace, err := ch.Resolve(ctx)
	if err != nil {
		return pick{Kind: kError, Detail: err.Error() + "\n" + trace.String()}
	}
	return pick{Kind: credkitKind(c.Source), AccessKeyID: c.AccessKeyID, Detail: trace.String()}
}

// fixtures are the servers every situation may point at.
type fixtures struct {
	moto                   *testpeer.MotoServer
	motoUnsigned           *testpeer.MotoServer
	userKey, userSecret    string
	role1, role2, role3    string
	container, imds        string
	containerKey, imdsKey  string
	containerToken         string
	tokenFile, processPath string
	// loginDir holds the cache file of the login session loginARN, with
	// valid credentials whose key is loginKey.
	loginDir, loginARN, loginKey string
}

func containerServer(t *testing.T, key, token string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"AccessKeyId":%q,"SecretAccessKey":"container-secret","Token":"container-token","Expiration":%q}`, key, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(s.Close)
	return s.URL + "/creds"
}

func imdsServer(t *testing.T, key string) string {
	const tok = "imds-session-token"
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			ttl := r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
			if ttl == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", ttl)
			fmt.Fprint(w, tok)
			return
		}
		if r.Header.Get("X-aws-ec2-metadata-token") != tok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials":
			fmt.Fprint(w, "test-role")
		case "/latest/meta-data/iam/security-credentials/test-role":
			fmt.Fprintf(w, `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":%q,"SecretAccessKey":"imds-secret","Token":"imds-token","Expiration":%q,"LastUpdated":%q}`,
				key, time.Now().Add(6*time.Hour).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func newFixtures(t *testing.T) *fixtures {
	f := &fixtures{moto: testpeer.Moto(t), motoUnsigned: testpeer.MotoUnsigned(t)}
	f.userKey, f.userSecret = f.moto.NewUserKeys(t, "chain-user")
	f.role1 = f.moto.NewRole(t, "hop-one")
	f.role2 = f.moto.NewRole(t, "hop-two")
	f.role3 = f.moto.NewRole(t, "hop-three")
	f.containerKey, f.imdsKey = "ASIACONTAINEREXAMPLE", "ASIAIMDSEXAMPLEKEY00"
	f.containerToken = "container-auth-token"
	f.container = containerServer(t, f.containerKey, f.containerToken)
	f.imds = imdsServer(t, f.imdsKey)
	dir := t.TempDir()
	f.tokenFile = filepath.Join(dir, "web-identity-token")
	// A JWT-shaped token; moto does not check its signature.
	os.WriteFile(f.tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0IiwiYXVkIjoic3RzLmFtYXpvbmF3cy5jb20ifQ.c2lnbmF0dXJl"), 0o600)
	f.processPath = filepath.Join(dir, "creds-process")
	os.WriteFile(f.processPath, []byte("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSEXAMPLE00\", \"SecretAccessKey\": \"process-secret\"}'\n"), 0o700)
	f.loginDir, f.loginARN, f.loginKey = filepath.Join(dir, "login"), "arn:aws:iam::123456789012:user/chain-login", "ASIALOGINEXAMPLE0000"
	os.Mkdir(f.loginDir, 0o700)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	cache, _ := json.Marshal(map[string]any{
		"accessToken": map[string]string{"accessKeyId": f.loginKey, "secretAccessKey": "login-secret", "sessionToken": "login-token",
			"accountId": "123456789012", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		"tokenType": "aws_sigv4", "refreshToken": "login-refresh", "clientId": "arn:aws:signin:::devtools/same-device",
		"dpopKey": string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
	})
	path, _ := source.LoginCacheFile(f.loginDir, f.loginARN)
	os.WriteFile(path, cache, 0o600)
	return f
}

type situation struct {
	name        string
	env         map[string]string
	config      string
	credentials string
	profile     string // explicit profile (--profile / WithSharedConfigProfile / Session(profile=))
	want        kind
	wantKey     string // "" for keys STS generates
	// botocore, when it differs on purpose, and why.
	botocore    kind
	botocoreWhy string
}

func (f *fixtures) situations() []situation {
	static := func(name, key string) string {
		return fmt.Sprintf("[%s]\naws_access_key_id = %s\naws_secret_access_key = secret-of-%s\n", name, key, key)
	}
	moto := f.moto.Endpoint
	withRole := func(name, role, src string, extra ...string) string {
		s := fmt.Sprintf("[profile %s]\nrole_arn = %s\nsource_profile = %s\nregion = us-east-1\n", name, role, src)
		for _, e := range extra {
			s += e + "\n"
		}
		return s
	}
	base := fmt.Sprintf("[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n", f.userKey, f.userSecret)
	envKeys := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENVEXAMPLE000000", "AWS_SECRET_ACCESS_KEY": "env-secret"}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	sts := map[string]string{"AWS_ENDPOINT_URL_STS": moto}
	// AssumeRoleWithWebIdentity is unsigned, which a moto checking
	// signatures cannot serve.
	stsUnsigned := map[string]string{"AWS_ENDPOINT_URL_STS": f.motoUnsigned.Endpoint}
	container := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": f.container, "AWS_CONTAINER_AUTHORIZATION_TOKEN": f.containerToken}
	imds := map[string]string{"AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": f.imds}
	login := map[string]string{"AWS_PROFILE": "login", "AWS_LOGIN_CACHE_DIRECTORY": f.loginDir}
	// botocore's login provider needs awscrt (botocore[crt]), which the
	// machine's botocore lacks: it refuses the profile.
	const noCRT = "botocore's login provider needs botocore[crt]"
	webEnv := map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": f.tokenFile, "AWS_ROLE_ARN": f.role1, "AWS_ROLE_SESSION_NAME": "web-session"}

	return []situation{
		{name: "environment keys", env: envKeys, want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "environment keys with session token", env: merge(envKeys, map[string]string{"AWS_SESSION_TOKEN": "env-token"}), want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "environment keys shadow AWS_PROFILE", env: merge(envKeys, map[string]string{"AWS_PROFILE": "dev"}), credentials: static("dev", "AKIADEVEXAMPLE000000"), want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "explicit profile beats environment keys", env: envKeys, credentials: static("dev", "AKIADEVEXAMPLE000000"), profile: "dev", want: kStatic, wantKey: "AKIADEVEXAMPLE000000"},
		{name: "default profile in the credentials file", credentials: static("default", "AKIADEFAULTEXAMPLE00"), want: kStatic, wantKey: "AKIADEFAULTEXAMPLE00"},
		{name: "default profile in the config file", config: static("default", "AKIACONFIGDEFAULT000"), want: kStatic, wantKey: "AKIACONFIGDEFAULT000"},
		{name: "AWS_PROFILE in the credentials file", env: map[string]string{"AWS_PROFILE": "dev"}, credentials: static("dev", "AKIADEVEXAMPLE000000"), want: kStatic, wantKey: "AKIADEVEXAMPLE000000"},
		{name: "AWS_PROFILE in the config file", env: map[string]string{"AWS_PROFILE": "dev"}, config: static("profile dev", "AKIADEVCONFIG0000000"), want: kStatic, wantKey: "AKIADEVCONFIG0000000"},
		{name: "credentials file wins over config file", env: map[string]string{"AWS_PROFILE": "dev"}, config: static("profile dev", "AKIADEVCONFIG0000000"), credentials: static("dev", "AKIADEVCREDS00000000"), want: kStatic, wantKey: "AKIADEVCREDS00000000"},
		{name: "AWS_PROFILE names a missing profile", env: map[string]string{"AWS_PROFILE": "nosuch"}, credentials: static("dev", "AKIADEVEXAMPLE000000"), want: kError},
		{name: "nothing configured at all", want: kError},
		{name: "credential_process", config: "[default]\ncredential_process = " + f.processPath + "\n", want: kProcess, wantKey: "AKIAPROCESSEXAMPLE00"},
		{name: "credential_process in AWS_PROFILE", env: map[string]string{"AWS_PROFILE": "proc"}, config: "[profile proc]\ncredential_process = " + f.processPath + "\n", want: kProcess, wantKey: "AKIAPROCESSEXAMPLE00"},
		{name: "environment keys beat credential_process", env: envKeys, config: "[default]\ncredential_process = " + f.processPath + "\n", want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "static keys in the credentials file beat credential_process", config: "[default]\ncredential_process = " + f.processPath + "\n", credentials: static("default", "AKIADEFAULTEXAMPLE00"), want: kStatic, wantKey: "AKIADEFAULTEXAMPLE00"},
		{name: "static keys in the config file beat credential_process", config: static("default", "AKIACONFIGDEFAULT000") + "credential_process = " + f.processPath + "\n", want: kStatic, wantKey: "AKIACONFIGDEFAULT000",
			botocore: kProcess, botocoreWhy: "botocore tries custom-process before config-file keys"},
		{name: "container endpoint", env: container, want: kContainer, wantKey: f.containerKey},
		{name: "environment keys beat the container", env: merge(envKeys, container), want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "default profile beats the container", env: container, credentials: static("default", "AKIADEFAULTEXAMPLE00"), want: kStatic, wantKey: "AKIADEFAULTEXAMPLE00"},
		{name: "profile without credentials falls through to the container", env: container, config: "[default]\nregion = eu-west-1\n", want: kContainer, wantKey: f.containerKey},
		{name: "instance metadata", env: imds, want: kIMDS, wantKey: f.imdsKey},
		{name: "container beats instance metadata", env: merge(container, imds), want: kContainer, wantKey: f.containerKey},
		{name: "environment keys beat instance metadata", env: merge(envKeys, imds), want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "instance metadata disabled", env: map[string]string{"AWS_EC2_METADATA_DISABLED": "true"}, want: kError},
		{name: "assume role from a static source profile", env: merge(sts, map[string]string{"AWS_PROFILE": "dev"}), config: withRole("dev", f.role1, "base"), credentials: base, want: kAssumeRole},
		{name: "three-hop role chain", env: merge(sts, map[string]string{"AWS_PROFILE": "c"}),
			config:      withRole("a", f.role1, "base") + withRole("b", f.role2, "a") + withRole("c", f.role3, "b"),
			credentials: base, want: kAssumeRole},
		{name: "assume role with external id and session name", env: merge(sts, map[string]string{"AWS_PROFILE": "dev"}),
			config: withRole("dev", f.role1, "base", "external_id = ext-123", "role_session_name = audit", "duration_seconds = 900"), credentials: base, want: kAssumeRole},
		{name: "assume role explicitly chosen over environment keys", env: merge(sts, envKeys), config: withRole("dev", f.role1, "base"), credentials: base, profile: "dev", want: kAssumeRole},
		{name: "environment keys beat a role profile in AWS_PROFILE", env: merge(sts, envKeys, map[string]string{"AWS_PROFILE": "dev"}), config: withRole("dev", f.role1, "base"), credentials: base, want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "assume role with credential_source Environment", env: merge(sts, map[string]string{"AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": f.userKey, "AWS_SECRET_ACCESS_KEY": f.userSecret}),
			config: fmt.Sprintf("[profile dev]\nrole_arn = %s\ncredential_source = Environment\n", f.role1), profile: "dev", want: kAssumeRole},
		{name: "web identity from the environment", env: merge(stsUnsigned, webEnv), want: kWebIdentity},
		{name: "environment keys beat web identity", env: merge(stsUnsigned, webEnv, envKeys), want: kEnv, wantKey: "AKIAENVEXAMPLE000000"},
		{name: "web identity in a profile", env: merge(stsUnsigned, map[string]string{"AWS_PROFILE": "web"}),
			config: fmt.Sprintf("[profile web]\nrole_arn = %s\nweb_identity_token_file = %s\nregion = us-east-1\n", f.role2, f.tokenFile), want: kWebIdentity},
		{name: "web identity in the environment beats the default profile", env: merge(stsUnsigned, webEnv), credentials: static("default", "AKIADEFAULTEXAMPLE00"), want: kWebIdentity},
		{name: "login_session profile", env: login, config: "[profile login]\nlogin_session = " + f.loginARN + "\nregion = us-east-1\n",
			want: kLogin, wantKey: f.loginKey, botocore: kError, botocoreWhy: noCRT},
		{name: "login_session beats credential_process", env: login,
			config: "[profile login]\ncredential_process = " + f.processPath + "\nlogin_session = " + f.loginARN + "\n",
			want:   kLogin, wantKey: f.loginKey, botocore: kError, botocoreWhy: noCRT},
		{name: "keys of the credentials file beat login_session", env: login,
			config: "[profile login]\nlogin_session = " + f.loginARN + "\n", credentials: static("login", "AKIALOGINPROFILEKEY0"),
			want: kStatic, wantKey: "AKIALOGINPROFILEKEY0"},
	}
}

func TestChainMatchesSDKs(t *testing.T) {
	f := newFixtures(t)
	sits := f.situations()
	if len(sits) < 30 {
		t.Fatalf("only %d situations", len(sits))
	}
	for _, s := range sits {
		t.Run(s.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{
				"HOME":                        home,
				"PATH":                        os.Getenv("PATH"),
				"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
				"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
				"AWS_EC2_METADATA_DISABLED":   "true",
				"AWS_REGION":                  "us-east-1",
				"AWS_DEFAULT_REGION":          "us-east-1",
				"NO_PROXY":                    "*",
			}
			for k, v := range s.env {
				env[k] = v
			}
			if s.profile != "" {
				env["SDKPROBE_PROFILE"] = s.profile
			}
			if s.config != "" {
				os.WriteFile(env["AWS_CONFIG_FILE"], []byte(s.config), 0o600)
			}
			if s.credentials != "" {
				os.WriteFile(env["AWS_SHARED_CREDENTIALS_FILE"], []byte(s.credentials), 0o600)
			}
			ck, sdk, boto := runCredkit(t, env), runSDK(t, env), runBotocore(t, env)
			if ck.Kind != s.want || (s.wantKey != "" && ck.AccessKeyID != s.wantKey) {
				t.Errorf("credkit picked %s, want %s %s\n%s", ck, s.want, s.wantKey, ck.Detail)
			}
			if sdk.Kind != s.want || (s.wantKey != "" && sdk.AccessKeyID != s.wantKey) {
				t.Errorf("aws-sdk-go-v2 picked %s (%s), want %s %s", sdk, sdk.Detail, s.want, s.wantKey)
			}
			wantBoto := s.want
			if s.botocore != "" {
				wantBoto = s.botocore
			}
			if boto.Kind != wantBoto || (s.botocore == "" && s.wantKey != "" && boto.AccessKeyID != s.wantKey) {
				t.Errorf("botocore picked %s (%s), want %s %s", boto, boto.Detail, wantBoto, s.wantKey)
			}
		})
	}
}
