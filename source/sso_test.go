package source

import (
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// Secrets of the SSO tests.
const (
	ssoAccessToken  = "aoaSSOACCESSTOKEN-eyJzdWIiOiJ0ZXN0In0"
	ssoRoleSecret   = "ssoSECRETje7MtGbClwBF/2Zp9Utk/h3yCo8nvb"
	ssoRoleToken    = "ssoSESSIONIQoJb3JpZ2luX2VjEXAMPLE"
	ssoRoleKeyID    = "ASIASSOEXAMPLE000001"
	ssoRefreshToken = "ssoREFRESHTOKEN-bm90IHVzZWQ"
)

// ssoPortal is a loopback server speaking the SSO portal's
// GetRoleCredentials protocol (restJson1, as in aws-sdk-go-v2's
// service/sso): GET /federation/credentials?account_id=&role_name= with
// the access token in the x-amz-sso_bearer_token header, answered with
// {"roleCredentials": {accessKeyId, secretAccessKey, sessionToken,
// expiration (Unix milliseconds)}}, or an error named by the
// x-amzn-ErrorType header. moto has no SSO portal (only sso-admin).
type ssoPortal struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []*http.Request
	creds creds.Credentials
	// accept is the access token it takes; others get
	// UnauthorizedException.
	accept string
}

func newSSOPortal(t *testing.T) *ssoPortal {
	t.Helper()
	p := &ssoPortal{
		accept: ssoAccessToken,
		creds: creds.Credentials{AccessKeyID: ssoRoleKeyID, SecretAccessKey: ssoRoleSecret, SessionToken: ssoRoleToken,
			Expires: time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *ssoPortal) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.calls = append(p.calls, r)
	c := p.creds
	p.mu.Unlock()
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", code)
		w.Header().Set("x-amzn-RequestId", "req-1234")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	switch {
	case r.Method != http.MethodGet || r.URL.Path != "/federation/credentials":
		fail(http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
	case r.URL.Query().Get("account_id") == "" || r.URL.Query().Get("role_name") == "":
		fail(http.StatusBadRequest, "InvalidRequestException", "account_id and role_name are required")
	case r.Header.Get("x-amz-sso_bearer_token") != p.accept:
		fail(http.StatusUnauthorized, "UnauthorizedException", "Session token not found or invalid")
	case r.URL.Query().Get("role_name") == "NotAssigned":
		fail(http.StatusForbidden, "ForbiddenException", "No access")
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"roleCredentials": map[string]any{
			"accessKeyId": c.AccessKeyID, "secretAccessKey": c.SecretAccessKey, "sessionToken": c.SessionToken,
			"expiration": c.Expires.UnixMilli(),
		}})
	}
}

func (p *ssoPortal) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *ssoPortal) last() *http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		return nil
	}
	return p.calls[len(p.calls)-1]
}

// writeSSOToken writes a cached token as the AWS CLI does, under the
// SHA-1 of key.
func writeSSOToken(t *testing.T, dir, key, token string, expires time.Time) string {
	t.Helper()
	sum := sha1.Sum([]byte(key))
	path := filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
	data, _ := json.Marshal(map[string]any{
		"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
		"accessToken": token, "expiresAt": expires.UTC().Format(time.RFC3339),
		"clientId": "client-id", "clientSecret": "client-secret", "refreshToken": ssoRefreshToken,
		"registrationExpiresAt": expires.Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339),
	})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noSSOSecrets(t *testing.T, err error) {
	t.Helper()
	noSecretsIn(t, err, ssoAccessToken, ssoRoleSecret, ssoRoleToken, ssoRefreshToken, "client-secret")
}

const ssoConfig = "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n" +
	"[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-west-2\nsso_account_id = 444455556666\nsso_role_name = ReadOnly\n" +
	"[profile noassign]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = NotAssigned\n" +
	"[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\nsso_registration_scopes = sso:account:access\n"

func TestSSO(t *testing.T) {
	ctx := context.Background()
	portal := newSSOPortal(t)
	files := loadFiles(t, ssoConfig, absent)
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	t.Run("sso-session profile", func(t *testing.T) {
		cache := t.TempDir()
		// The cache key is the session's name: sha1("corp").
		path := writeSSOToken(t, cache, "corp", ssoAccessToken, now.Add(time.Hour))
		s, err := SSOFromProfile(files, "dev", ProfileOptions{Getenv: fakeEnv{}.get, SSO: SSOOptions{Endpoint: portal.srv.URL, CacheDir: cache, Now: clock}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Region != "eu-west-1" || s.StartURL != "https://corp.awsapps.com/start" || s.Session != "corp" || s.AccountID != "111122223333" || s.RoleName != "Dev" {
			t.Errorf("SSO = %+v", s)
		}
		if f, _ := s.CacheFile(); f != path {
			t.Errorf("CacheFile = %s, want %s", f, path)
		}
		c, err := s.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := creds.Credentials{AccessKeyID: ssoRoleKeyID, SecretAccessKey: ssoRoleSecret, SessionToken: ssoRoleToken,
			Expires: time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC), AccountID: "111122223333", Source: "SSO role Dev in account 111122223333 (profile dev)"}
		if c != want {
			t.Errorf("Retrieve = %#v\n want %#v", c, want)
		}
		r := portal.last()
		if r.URL.Query().Get("account_id") != "111122223333" || r.URL.Query().Get("role_name") != "Dev" || r.Header.Get("x-amz-sso_bearer_token") != ssoAccessToken {
			t.Errorf("request %s %v", r.URL, r.Header)
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the portal call is signed: %q", r.Header.Get("Authorization"))
		}
	})

	t.Run("legacy profile", func(t *testing.T) {
		cache := t.TempDir()
		// The cache key is the start URL; the old "...UTC" time form is read.
		sum := sha1.Sum([]byte("https://legacy.awsapps.com/start"))
		data := fmt.Sprintf(`{"startUrl": "https://legacy.awsapps.com/start", "region": "us-west-2", "accessToken": %q, "expiresAt": %q}`,
			ssoAccessToken, now.Add(time.Hour).Format("2006-01-02T15:04:05UTC"))
		if err := os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := SSOFromProfile(files, "legacy", ProfileOptions{Getenv: fakeEnv{}.get, SSO: SSOOptions{Endpoint: portal.srv.URL, CacheDir: cache, Now: clock}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Session != "" || s.CacheKey() != "https://legacy.awsapps.com/start" {
			t.Errorf("SSO = %+v", s)
		}
		c, err := s.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != ssoRoleKeyID || c.AccountID != "444455556666" {
			t.Errorf("credentials = %v", c)
		}
	})

	t.Run("the endpoint comes from the environment", func(t *testing.T) {
		cache := t.TempDir()
		writeSSOToken(t, cache, "corp", ssoAccessToken, now.Add(time.Hour))
		env := fakeEnv{"AWS_ENDPOINT_URL_SSO": portal.srv.URL, "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
		s, err := SSOFromProfile(files, "dev", ProfileOptions{Getenv: env.get, SSO: SSOOptions{CacheDir: cache, Now: clock}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Options.Endpoint != portal.srv.URL {
			t.Errorf("endpoint = %q", s.Options.Endpoint)
		}
		if _, err := s.Retrieve(ctx); err != nil {
			t.Error(err)
		}
	})

	errorCases := []struct {
		name    string
		profile string
		setup   func(t *testing.T, cache string)
		want    []string
		login   bool
		code    string
	}{
		{
			name: "no cached token", profile: "dev",
			setup: func(*testing.T, string) {},
			want: []string{"SSO role Dev in account 111122223333 (profile dev): no cached SSO token for sso-session corp (",
				"SSO login required; run: credkit sso login --profile dev"},
			login: true,
		},
		{
			name: "expired token", profile: "dev",
			setup: func(t *testing.T, cache string) {
				writeSSOToken(t, cache, "corp", ssoAccessToken, now.Add(-time.Minute))
			},
			want: []string{"the cached SSO token for sso-session corp (", ") expired at 2030-06-01T11:59:00Z and refreshing it failed: ",
				"InvalidGrantException (HTTP 400)", "SSO login required; run: credkit sso login --profile dev"},
			login: true,
		},
		{
			name: "expired legacy token", profile: "legacy",
			setup: func(t *testing.T, cache string) {
				writeSSOToken(t, cache, "https://legacy.awsapps.com/start", ssoAccessToken, now)
			},
			want:  []string{"SSO role ReadOnly in account 444455556666 (profile legacy): the cached SSO token for start URL https://legacy.awsapps.com/start (", "run: credkit sso login --profile legacy"},
			login: true,
		},
		{
			name: "token refused by the portal", profile: "dev",
			setup: func(t *testing.T, cache string) {
				writeSSOToken(t, cache, "corp", "aoaREVOKED-"+ssoAccessToken, now.Add(time.Hour))
			},
			want:  []string{"the portal refused the cached SSO token for sso-session corp: UnauthorizedException: Session token not found or invalid (HTTP 401, request id req-1234)", "run: credkit sso login --profile dev"},
			login: true, code: "UnauthorizedException",
		},
		{
			name: "role not assigned", profile: "noassign",
			setup: func(t *testing.T, cache string) { writeSSOToken(t, cache, "corp", ssoAccessToken, now.Add(time.Hour)) },
			want:  []string{"SSO role NotAssigned in account 111122223333 (profile noassign): ForbiddenException: No access (HTTP 403"},
			code:  "ForbiddenException",
		},
		{
			name: "a cache file that is not JSON", profile: "dev",
			setup: func(t *testing.T, cache string) {
				sum := sha1.Sum([]byte("corp"))
				os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"), []byte(ssoAccessToken), 0o600)
			},
			want:  []string{"is not valid JSON (at byte 1)"},
			login: true,
		},
		{
			name: "an accessToken that is not a string", profile: "dev",
			setup: func(t *testing.T, cache string) {
				sum := sha1.Sum([]byte("corp"))
				os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"), []byte(`{"accessToken": 5, "clientSecret": "client-secret"}`), 0o600)
			},
			want:  []string{"is not valid JSON (accessToken is not a string)"},
			login: true,
		},
		{
			name: "no accessToken", profile: "dev",
			setup: func(t *testing.T, cache string) {
				sum := sha1.Sum([]byte("corp"))
				os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"), []byte(`{"expiresAt": "2031-01-01T00:00:00Z"}`), 0o600)
			},
			want:  []string{"has no accessToken: SSO login required; run: credkit sso login --profile dev"},
			login: true,
		},
	}
	// SSO-OIDC refuses every refresh here.
	refuse := newSSOOIDC(t, "", "")
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			tc.setup(t, cache)
			s, err := SSOFromProfile(files, tc.profile, ProfileOptions{Getenv: fakeEnv{}.get, SSO: SSOOptions{Endpoint: portal.srv.URL, OIDCEndpoint: refuse.srv.URL, CacheDir: cache, Now: clock}})
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Retrieve(ctx)
			if err == nil {
				t.Fatalf("Retrieve = %v; want an error", c)
			}
			noSSOSecrets(t, err)
			containsAll(t, err.Error(), tc.want...)
			if errors.Is(err, ErrSSOLoginRequired) != tc.login {
				t.Errorf("errors.Is(ErrSSOLoginRequired) = %v", !tc.login)
			}
			var ae *APIError
			if tc.code != "" && (!errors.As(err, &ae) || ae.Code != tc.code || ae.Service != "SSO") {
				t.Errorf("APIError = %+v", ae)
			}
		})
	}
}

func TestSSOFromProfileErrors(t *testing.T) {
	tests := []struct {
		name, config, profile string
		want                  []string
	}{
		{
			name:    "session section missing",
			config:  "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session other]\nsso_region = x\nsso_start_url = y\n",
			profile: "dev",
			want:    []string{"profile dev: sso_session at ~/.aws/config:2 names [sso-session corp], which is not in the config file (found: other)"},
		},
		{
			name:    "session without region",
			config:  "[profile dev]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_start_url = y\n",
			profile: "dev",
			want:    []string{"profile dev (~/.aws/config:1) is configured for SSO but lacks sso_region in [sso-session corp] (~/.aws/config:5)"},
		},
		{
			name:    "region differs from the session's",
			config:  "[profile dev]\nsso_session = corp\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = r\n[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = y\n",
			profile: "dev",
			want:    []string{"profile dev: sso_region at ~/.aws/config:3 differs from the one of [sso-session corp] at ~/.aws/config:7; they must match"},
		},
		{
			name:    "legacy without start URL and role",
			config:  "[profile dev]\nsso_region = us-east-1\nsso_account_id = 1\n",
			profile: "dev",
			want:    []string{"profile dev (~/.aws/config:1) is configured for SSO but lacks sso_start_url, sso_role_name"},
		},
		{
			name:    "not an SSO profile",
			config:  "[profile dev]\nregion = us-east-1\n",
			profile: "dev",
			want:    []string{"profile dev (~/.aws/config:1) is not an SSO profile: it has no sso_session or sso_start_url"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := loadFiles(t, tc.config, absent)
			s, err := SSOFromProfile(files, tc.profile, ProfileOptions{Getenv: fakeEnv{}.get})
			if err == nil {
				t.Fatalf("SSOFromProfile = %+v; want an error", s)
			}
			containsAll(t, err.Error(), tc.want...)
		})
	}
}

// The default cache directory is ~/.aws/sso/cache, the key the SHA-1 of
// the session name or start URL: the same file the AWS CLI writes.
func TestSSOCacheFile(t *testing.T) {
	t.Setenv("HOME", "/home/someone")
	// The names botocore's SSOTokenLoader._generate_cache_key gives (1.43).
	for _, tc := range []struct {
		s    *SSO
		want string
	}{
		{&SSO{Session: "my-sso", StartURL: "https://d-abc123.awsapps.com/start"}, "0ad374308c5a4e22f723adf10145eafad7c4031c.json"},
		{&SSO{StartURL: "https://d-abc123.awsapps.com/start"}, "40a89917e3175433e361b710a9d43528d7f1890a.json"},
	} {
		got, err := tc.s.CacheFile()
		if err != nil {
			t.Fatal(err)
		}
		if want := "/home/someone/.aws/sso/cache/" + tc.want; got != want {
			t.Errorf("CacheFile = %s, want %s", got, want)
		}
	}
	s := &SSO{StartURL: "x", Options: SSOOptions{CacheDir: "/elsewhere"}}
	if got, _ := s.CacheFile(); !strings.HasPrefix(got, "/elsewhere/") {
		t.Errorf("CacheFile with CacheDir = %s", got)
	}
}

// ssoOIDC is a loopback SSO-OIDC CreateToken endpoint (restJson1: POST
// /token with a JSON body) that trades the refresh token it accepts for
// a new access token and refresh token, and refuses anything else with
// InvalidGrantException. It records the request bodies.
type ssoOIDC struct {
	srv          *httptest.Server
	mu           sync.Mutex
	bodies       []map[string]any
	accept, next string
}

func newSSOOIDC(t *testing.T, accept, next string) *ssoOIDC {
	o := &ssoOIDC{accept: accept, next: next}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		o.mu.Lock()
		o.bodies = append(o.bodies, body)
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/token" || o.accept == "" || body["refreshToken"] != o.accept || body["grantType"] != "refresh_token" {
			w.Header().Set("x-amzn-ErrorType", "InvalidGrantException")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "refresh token revoked"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"accessToken": o.next, "expiresIn": 3600, "refreshToken": o.next + "-refresh", "tokenType": "Bearer"})
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// An expired sso-session token is refreshed as aws-sdk-go-v2's
// SSOTokenProvider refreshes it: the same CreateToken request, the same
// cache file afterwards (other fields kept), then the role credentials.
func TestSSOTokenRefreshMatchesSDK(t *testing.T) {
	ctx := context.Background()
	const newToken = "aoaNEWACCESSTOKEN"
	oidc := newSSOOIDC(t, ssoRefreshToken, newToken)
	portal := newSSOPortal(t)
	portal.accept = newToken
	files := loadFiles(t, ssoConfig, absent)
	expired := time.Now().Add(-time.Minute)

	ours, theirs := t.TempDir(), t.TempDir()
	ourPath := writeSSOToken(t, ours, "corp", ssoAccessToken, expired)
	theirPath := writeSSOToken(t, theirs, "corp", ssoAccessToken, expired)

	s, err := SSOFromProfile(files, "dev", ProfileOptions{Getenv: fakeEnv{}.get, SSO: SSOOptions{Endpoint: portal.srv.URL, OIDCEndpoint: oidc.srv.URL, CacheDir: ours}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve after refresh: %v", err)
	}
	if c.AccessKeyID != ssoRoleKeyID {
		t.Errorf("credentials = %v", c)
	}

	client := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(oidc.srv.URL)})
	tok, err := ssocreds.NewSSOTokenProvider(client, theirPath).RetrieveBearerToken(ctx)
	if err != nil {
		t.Fatalf("aws-sdk-go-v2: %v", err)
	}
	if tok.Value != newToken {
		t.Errorf("aws-sdk-go-v2 got token %q", tok.Value)
	}

	if len(oidc.bodies) != 2 || !reflect.DeepEqual(oidc.bodies[0], oidc.bodies[1]) {
		t.Fatalf("CreateToken requests differ:\ncredkit %v\nsdk     %v", oidc.bodies[0], oidc.bodies[len(oidc.bodies)-1])
	}
	read := func(p string) map[string]any {
		var m map[string]any
		b, _ := os.ReadFile(p)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := read(ourPath), read(theirPath)
	for _, m := range []map[string]any{a, b} {
		exp, err := time.Parse(time.RFC3339, m["expiresAt"].(string))
		if err != nil || exp.Sub(time.Now()) < 59*time.Minute || exp.Sub(time.Now()) > 61*time.Minute {
			t.Errorf("expiresAt = %v, want an hour from now", m["expiresAt"])
		}
		delete(m, "expiresAt")
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("cache files differ after refresh:\ncredkit %v\nsdk     %v", a, b)
	}
	if a["accessToken"] != newToken || a["refreshToken"] != newToken+"-refresh" || a["startUrl"] == nil {
		t.Errorf("credkit's cache file = %v", a)
	}
	if st, _ := os.Stat(ourPath); st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v", st.Mode().Perm())
	}
	// The refreshed token is used from the file: no second refresh.
	if _, err := s.Retrieve(ctx); err != nil || len(oidc.bodies) != 2 {
		t.Errorf("second Retrieve: %v, %d refreshes", err, len(oidc.bodies)-1)
	}
}

// A token about to expire is refreshed early; when that fails it is used
// while it is still valid.
func TestSSOTokenRefreshAhead(t *testing.T) {
	ctx := context.Background()
	portal := newSSOPortal(t)
	files := loadFiles(t, ssoConfig, absent)
	cache := t.TempDir()
	writeSSOToken(t, cache, "corp", ssoAccessToken, time.Now().Add(2*time.Minute))
	refuse := newSSOOIDC(t, "", "")
	s, _ := SSOFromProfile(files, "dev", ProfileOptions{Getenv: fakeEnv{}.get, SSO: SSOOptions{Endpoint: portal.srv.URL, OIDCEndpoint: refuse.srv.URL, CacheDir: cache}})
	if _, err := s.Retrieve(ctx); err != nil || len(refuse.bodies) != 1 {
		t.Fatalf("Retrieve with a failing early refresh: %v (%d refresh attempts)", err, len(refuse.bodies))
	}
	oidc := newSSOOIDC(t, ssoRefreshToken, "aoaEARLY")
	portal.accept = "aoaEARLY"
	s.Options.OIDCEndpoint = oidc.srv.URL
	if _, err := s.Retrieve(ctx); err != nil || len(oidc.bodies) != 1 {
		t.Fatalf("Retrieve with an early refresh: %v (%d refreshes)", err, len(oidc.bodies))
	}
}
