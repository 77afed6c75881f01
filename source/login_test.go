package source

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/lab"
)

// These tests put credkit's LoginSession and aws-sdk-go-v2's logincreds
// (through config.LoadDefaultConfig, pointed at the lab's sign-in token
// endpoint with AWS_ENDPOINT_URL_SIGNIN) on the same files.

// loginWorld is a home with a login_session profile "web", a lab that
// plays the sign-in service, and the cache file of a session it minted.
type loginWorld struct {
	lab    *lab.Lab
	url    string
	home   string
	arn    string
	cache  string // the cache file, as aws-sdk-go-v2 names it
	getenv func(string) string
}

func newLoginWorld(t *testing.T, cacheDirVar bool) *loginWorld {
	t.Helper()
	l, err := lab.New(lab.Options{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	w := &loginWorld{lab: l, url: srv.URL, home: t.TempDir()}
	arn, cache, err := l.MintLoginSession(lab.DefaultUser, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.arn = arn
	env := map[string]string{
		"HOME":                        w.home,
		"AWS_CONFIG_FILE":             filepath.Join(w.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(w.home, "credentials"),
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "web",
		"AWS_ENDPOINT_URL_SIGNIN":     srv.URL,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_LOGIN_CACHE_DIRECTORY":   "",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_ENDPOINT_URL":            "",
	}
	dir := filepath.Join(w.home, ".aws", "login", "cache")
	if cacheDirVar {
		dir = filepath.Join(w.home, "elsewhere")
		env["AWS_LOGIN_CACHE_DIRECTORY"] = dir
	}
	// aws-sdk-go-v2 reads the process environment.
	for k, v := range env {
		t.Setenv(k, v)
	}
	w.getenv = func(k string) string { return env[k] }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w.cache, err = logincreds.StandardCachedTokenFilepath(arn, env["AWS_LOGIN_CACHE_DIRECTORY"])
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(env["AWS_CONFIG_FILE"], []byte("[profile web]\nlogin_session = "+arn+"\nregion = us-east-1\n"), 0o600)
	w.write(t, cache)
	return w
}

func (w *loginWorld) write(t *testing.T, b []byte) {
	t.Helper()
	if err := os.WriteFile(w.cache, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// expire moves the cached credentials' expiry into the past.
func (w *loginWorld) expire(t *testing.T) {
	t.Helper()
	var m map[string]any
	b, _ := os.ReadFile(w.cache)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["accessToken"].(map[string]any)["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	b, _ = json.Marshal(m)
	w.write(t, b)
}

func (w *loginWorld) credkit(t *testing.T) (*ProfileChain, creds.Credentials, error) {
	t.Helper()
	files, err := awsconfig.Load(awsconfig.Options{Getenv: w.getenv})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := FromProfile(files, "web", ProfileOptions{Getenv: w.getenv})
	if err != nil {
		t.Fatalf("FromProfile: %v", err)
	}
	c, err := ch.Retrieve(context.Background())
	return ch, c, err
}

func (w *loginWorld) sdk(t *testing.T) (aws.Credentials, error) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return cfg.Credentials.Retrieve(context.Background())
}

func sameLoginCreds(t *testing.T, ck creds.Credentials, sdk aws.Credentials) {
	t.Helper()
	if ck.AccessKeyID != sdk.AccessKeyID || ck.SecretAccessKey != sdk.SecretAccessKey || ck.SessionToken != sdk.SessionToken ||
		ck.AccountID != sdk.AccountID || !ck.Expires.Equal(sdk.Expires) {
		t.Errorf("credkit %s account %s expires %s; aws-sdk-go-v2 %s account %s expires %s",
			ck.AccessKeyID, ck.AccountID, ck.Expires, sdk.AccessKeyID, sdk.AccountID, sdk.Expires)
	}
}

// labIdentity checks that the lab's STS takes c as the minted user's.
func labIdentity(t *testing.T, w *loginWorld, c creds.Credentials) {
	t.Helper()
	id, err := CallerIdentity(context.Background(), c, STSOptions{Endpoint: w.url, Region: "us-east-1"})
	if err != nil || id.ARN != w.arn {
		t.Errorf("lab STS identity %q, %v; want %s", id.ARN, err, w.arn)
	}
}

func TestLoginCacheFileMatchesSDK(t *testing.T) {
	for _, dir := range []string{"", "/tmp/x"} {
		for _, arn := range []string{"arn:aws:iam::123456789012:user/alice", " arn:aws:sts::123456789012:assumed-role/Admin/bob "} {
			want, err := logincreds.StandardCachedTokenFilepath(arn, dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := LoginCacheFile(dir, arn)
			if err != nil || got != want {
				t.Errorf("LoginCacheFile(%q, %q) = %q, %v; aws-sdk-go-v2: %q", dir, arn, got, err, want)
			}
		}
	}
}

func TestLoginSessionSameCredentialsAsSDK(t *testing.T) {
	for _, byVar := range []bool{false, true} {
		t.Run(fmt.Sprintf("AWS_LOGIN_CACHE_DIRECTORY=%v", byVar), func(t *testing.T) {
			w := newLoginWorld(t, byVar)
			ch, ck, err := w.credkit(t)
			if err != nil {
				t.Fatalf("credkit: %v", err)
			}
			sdk, err := w.sdk(t)
			if err != nil {
				t.Fatalf("aws-sdk-go-v2: %v", err)
			}
			sameLoginCreds(t, ck, sdk)
			if n := w.lab.LoginRefreshes(); n != 0 {
				t.Errorf("%d refreshes of credentials that are still valid", n)
			}
			want := "login session " + w.arn + " (profile web), cache file " + w.cache
			if ck.Source != want {
				t.Errorf("Source %q, want %q", ck.Source, want)
			}
			if s := ch.String(); !strings.HasPrefix(s, "login session "+w.arn+" of profile web (") {
				t.Errorf("chain %q", s)
			}
			labIdentity(t, w, ck)
		})
	}
}

func TestLoginSessionCredkitRefreshesSDKReads(t *testing.T) {
	w := newLoginWorld(t, false)
	old, _ := os.ReadFile(w.cache)
	w.expire(t)
	_, ck, err := w.credkit(t)
	if err != nil {
		t.Fatalf("credkit: %v", err)
	}
	if n := w.lab.LoginRefreshes(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	if bytes.Contains(old, []byte(ck.AccessKeyID)) || time.Until(ck.Expires) < 50*time.Minute {
		t.Errorf("credkit's credentials %s expiring %s are not new ones", ck.AccessKeyID, ck.Expires)
	}
	st, err := os.Stat(w.cache)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file %v, %v; want mode 0600", st.Mode(), err)
	}
	// Fields credkit does not change are kept.
	var before, after map[string]any
	json.Unmarshal(old, &before)
	b, _ := os.ReadFile(w.cache)
	json.Unmarshal(b, &after)
	for _, k := range []string{"clientId", "dpopKey", "identityToken", "tokenType"} {
		if before[k] != after[k] {
			t.Errorf("%s changed by the refresh", k)
		}
	}
	if before["refreshToken"] == after["refreshToken"] {
		t.Error("the refresh token was not replaced by the one the service answered")
	}
	sdk, err := w.sdk(t)
	if err != nil {
		t.Fatalf("aws-sdk-go-v2 on credkit's file: %v", err)
	}
	sameLoginCreds(t, ck, sdk)
	if n := w.lab.LoginRefreshes(); n != 1 {
		t.Errorf("aws-sdk-go-v2 refreshed again (%d refreshes) instead of reading credkit's file", n)
	}
	labIdentity(t, w, ck)
}

func TestLoginSessionSDKRefreshesCredkitReads(t *testing.T) {
	w := newLoginWorld(t, true)
	w.expire(t)
	sdk, err := w.sdk(t)
	if err != nil {
		t.Fatalf("aws-sdk-go-v2: %v", err)
	}
	// aws-sdk-go-v2's own DPoP proof was accepted by the lab.
	if n := w.lab.LoginRefreshes(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	_, ck, err := w.credkit(t)
	if err != nil {
		t.Fatalf("credkit on aws-sdk-go-v2's file: %v", err)
	}
	sameLoginCreds(t, ck, sdk)
	if n := w.lab.LoginRefreshes(); n != 1 {
		t.Errorf("credkit refreshed again (%d refreshes)", n)
	}
	// And the refresh token the SDK wrote works for credkit's refresh.
	w.expire(t)
	if _, _, err := w.credkit(t); err != nil || w.lab.LoginRefreshes() != 2 {
		t.Errorf("credkit's refresh after aws-sdk-go-v2's: %v, %d refreshes", err, w.lab.LoginRefreshes())
	}
}

func TestLoginSessionOneRefreshAtATime(t *testing.T) {
	w := newLoginWorld(t, false)
	w.expire(t)
	files, err := awsconfig.Load(awsconfig.Options{Getenv: w.getenv})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	keys := make([]string, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, err := FromProfile(files, "web", ProfileOptions{Getenv: w.getenv})
			if err != nil {
				errs[i] = err
				return
			}
			c, err := ch.Retrieve(context.Background())
			keys[i], errs[i] = c.AccessKeyID, err
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || keys[i] != keys[0] {
			t.Errorf("retrieval %d: %s, %v; want %s", i, keys[i], errs[i], keys[0])
		}
	}
	if n := w.lab.LoginRefreshes(); n != 1 {
		t.Errorf("%d refreshes among concurrent retrievals, want 1", n)
	}
}

// proofTo sends a refresh for the session in the cache file with the
// DPoP proof make gives for the endpoint's URL.
func proofTo(t *testing.T, w *loginWorld, make func(key *ecdsa.PrivateKey, url string) string) (int, string) {
	t.Helper()
	c, _, err := readLoginCache(w.cache)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseDPoPKey(c.DPoPKey)
	if err != nil {
		t.Fatal(err)
	}
	url := w.url + "/v1/token"
	body, _ := json.Marshal(map[string]string{"clientId": c.ClientID, "grantType": "refresh_token", "refreshToken": c.RefreshToken})
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("DPoP", make(key, url))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLoginDPoPProofs(t *testing.T) {
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, c := range []struct {
		name   string
		make   func(key *ecdsa.PrivateKey, url string) string
		status int
		why    string
	}{
		{"wrong key", func(_ *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(other, "POST", url, time.Now())
			return p
		}, 400, "not the session's"},
		{"wrong htu", func(k *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(k, "POST", strings.Replace(url, "/v1/token", "/v1/other", 1), time.Now())
			return p
		}, 400, "htu"},
		{"wrong htm", func(k *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(k, "GET", url, time.Now())
			return p
		}, 400, "htm"},
		{"stale iat", func(k *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(k, "POST", url, time.Now().Add(-time.Hour))
			return p
		}, 400, "iat"},
		{"tampered signature", func(k *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(k, "POST", url, time.Now())
			return p[:len(p)-4] + "AAAA"
		}, 400, "signature"},
		{"credkit's proof", func(k *ecdsa.PrivateKey, url string) string {
			p, _ := DPoPProof(k, "POST", url, time.Now())
			return p
		}, 200, "accessKeyId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newLoginWorld(t, false)
			status, body := proofTo(t, w, c.make)
			if status != c.status || !strings.Contains(body, c.why) {
				t.Errorf("status %d %s; want %d with %q", status, body, c.status, c.why)
			}
		})
	}
	t.Run("replayed proof", func(t *testing.T) {
		w := newLoginWorld(t, false)
		var proof string
		if s, b := proofTo(t, w, func(k *ecdsa.PrivateKey, url string) string {
			proof, _ = DPoPProof(k, "POST", url, time.Now())
			return proof
		}); s != 200 {
			t.Fatalf("first use: %d %s", s, b)
		}
		if s, b := proofTo(t, w, func(*ecdsa.PrivateKey, string) string { return proof }); s != 400 || !strings.Contains(b, "jti") {
			t.Errorf("replay: %d %s; want 400 naming the jti", s, b)
		}
	})
}

func TestLoginSpentRefreshToken(t *testing.T) {
	w := newLoginWorld(t, false)
	before, _ := os.ReadFile(w.cache)
	w.expire(t)
	if _, _, err := w.credkit(t); err != nil {
		t.Fatal(err)
	}
	// The refresh spent the refresh token of the old file: a process that
	// still holds it is refused, and must read the file anew.
	after, _ := os.ReadFile(w.cache)
	w.write(t, before)
	status, body := proofTo(t, w, func(k *ecdsa.PrivateKey, url string) string {
		p, _ := DPoPProof(k, "POST", url, time.Now())
		return p
	})
	if status != 403 || !strings.Contains(body, "TOKEN_EXPIRED") {
		t.Errorf("spent refresh token: %d %s; want 403 TOKEN_EXPIRED", status, body)
	}
	w.write(t, after)
	w.expire(t)
	if _, _, err := w.credkit(t); err != nil || w.lab.LoginRefreshes() != 2 {
		t.Errorf("refresh with the new refresh token: %v, %d refreshes", err, w.lab.LoginRefreshes())
	}
}

// loginSecretsOf are the secret values of a cache file.
func loginSecretsOf(t *testing.T, path string) []string {
	b, _ := os.ReadFile(path)
	var m struct {
		AccessToken  map[string]string `json:"accessToken"`
		RefreshToken string            `json:"refreshToken"`
		DPoPKey      string            `json:"dpopKey"`
	}
	json.Unmarshal(b, &m)
	return []string{m.AccessToken["secretAccessKey"], m.AccessToken["sessionToken"], m.RefreshToken, m.DPoPKey}
}

func TestLoginSessionBadInput(t *testing.T) {
	p384 := func() string {
		k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		der, _ := x509.MarshalECPrivateKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}()
	for _, c := range []struct {
		name  string
		edit  func(t *testing.T, w *loginWorld)
		want  []string
		login bool // wraps ErrLoginRequired
	}{
		{"no cache file", func(t *testing.T, w *loginWorld) { os.Remove(w.cache) },
			[]string{"no cache file", "run: aws login --profile web"}, true},
		{"malformed JSON", func(t *testing.T, w *loginWorld) {
			b, _ := os.ReadFile(w.cache)
			w.write(t, b[:len(b)/2])
		}, []string{"is not valid: invalid JSON at byte", "run: aws login --profile web"}, true},
		{"missing fields", func(t *testing.T, w *loginWorld) {
			w.write(t, []byte(`{"accessToken":{"accessKeyId":"ASIAX"},"clientId":"c"}`))
		}, []string{"lacks accessToken.secretAccessKey", "refreshToken, dpopKey", "run: aws login --profile web"}, true},
		{"a P-384 key", func(t *testing.T, w *loginWorld) {
			w.expire(t)
			b, _ := os.ReadFile(w.cache)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["dpopKey"] = p384
			b, _ = json.Marshal(m)
			w.write(t, b)
		}, []string{"is a P-384 key; the sign-in service needs P-256", "run: aws login --profile web"}, true},
		{"a revoked session", func(t *testing.T, w *loginWorld) {
			w.expire(t)
			w.lab.RevokeLoginSessions()
		}, []string{"the sign-in service refused the refresh: the login session has expired", "run: aws login --profile web"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newLoginWorld(t, false)
			secrets := loginSecretsOf(t, w.cache)
			c.edit(t, w)
			secrets = append(secrets, loginSecretsOf(t, w.cache)...)
			_, _, err := w.credkit(t)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, want := range append(c.want, w.cache) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q\nlacks %q", msg, want)
				}
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(msg, strings.TrimSpace(s)) {
					t.Errorf("error %q holds a secret of the cache file", msg)
				}
			}
			if c.login != errors.Is(err, ErrLoginRequired) {
				t.Errorf("errors.Is(err, ErrLoginRequired) = %v", !c.login)
			}
		})
	}
}
