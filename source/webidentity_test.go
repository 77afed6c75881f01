package source

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jwtShaped makes a token that looks like an OIDC JWT (moto does not check
// it; a real STS checks the signature against the provider's keys).
func jwtShaped(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"test"}`)) + "." +
		enc([]byte(`{"iss":"https://oidc.example.com","aud":"sts.amazonaws.com","sub":"`+sub+`","exp":4102444800}`)) + "." +
		enc([]byte("not-a-real-signature"))
}

func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWebIdentityWithMoto(t *testing.T) {
	m := startMotoSTS(t)
	ctx := context.Background()
	roleARN := m.NewRole(t, "credkit-web")

	// AssumeRoleWithWebIdentity is an unsigned call, but moto with
	// signature checking on refuses requests without an Authorization
	// header. The recorder checks that the request leaves unsigned, then
	// signs it with the admin key so that moto serves it.
	var unsigned []bool
	m.rec.before = func(r *http.Request, body []byte) error {
		if !strings.Contains(string(body), "Action=AssumeRoleWithWebIdentity") {
			return nil
		}
		unsigned = append(unsigned, r.Header.Get("Authorization") == "")
		return signAs(r, body, "sts", m.Region, m.AdminAccessKeyID, m.AdminSecretAccessKey)
	}

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	first, second := jwtShaped("system:serviceaccount:ns:first"), jwtShaped("system:serviceaccount:ns:second")
	writeToken(t, tokenFile, first+"\n")

	t.Run("from a profile, re-reading the file", func(t *testing.T) {
		m.rec.reset()
		unsigned = nil
		files := loadFiles(t, "[profile k8s]\nrole_arn = "+roleARN+"\nweb_identity_token_file = "+tokenFile+"\nrole_session_name = pod-1\n", absent)
		env := fakeEnv{"AWS_ENDPOINT_URL": m.Endpoint, "AWS_REGION": m.Region}
		w, err := WebIdentityFromProfile(files, "k8s", ProfileOptions{Getenv: env.get, STS: STSOptions{HTTPClient: m.client}})
		if err != nil {
			t.Fatal(err)
		}
		if w.Options.Endpoint != m.Endpoint || w.Options.Region != m.Region || w.Via != "profile k8s" {
			t.Errorf("provider = %+v", w)
		}
		c, err := w.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arn, code := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
		if want := "arn:aws:sts::" + m.AccountID + ":assumed-role/credkit-web/pod-1"; arn != want {
			t.Errorf("caller = %q (%s), want %q", arn, code, want)
		}
		if c.Source != "web identity role "+roleARN+" (token file "+tokenFile+", from profile k8s)" || c.AccountID != m.AccountID {
			t.Errorf("credentials = %v, account %q", c, c.AccountID)
		}
		writeToken(t, tokenFile, second)
		if _, err := w.Retrieve(ctx); err != nil {
			t.Fatal(err)
		}
		reqs := m.rec.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests", len(reqs))
		}
		for i, want := range []string{first, second} {
			f := reqs[i].form
			if f.Get("Action") != "AssumeRoleWithWebIdentity" || f.Get("RoleArn") != roleARN || f.Get("RoleSessionName") != "pod-1" || f.Get("WebIdentityToken") != want {
				t.Errorf("request %d = %v", i, f)
			}
		}
		if len(unsigned) != 2 || !unsigned[0] || !unsigned[1] {
			t.Errorf("requests left unsigned: %v", unsigned)
		}
	})

	t.Run("from the environment", func(t *testing.T) {
		m.rec.reset()
		writeToken(t, tokenFile, first)
		env := fakeEnv{"AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": roleARN, "AWS_ROLE_SESSION_NAME": "ci-job", "AWS_ENDPOINT_URL_STS": m.Endpoint}
		w, ok, err := WebIdentityFromEnv(env.get, STSOptions{HTTPClient: m.client})
		if err != nil || !ok {
			t.Fatalf("WebIdentityFromEnv = %v, %v", ok, err)
		}
		if w.Options.Region != "" {
			t.Errorf("region = %q", w.Options.Region)
		}
		c, err := w.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if arn, _ := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); !strings.HasSuffix(arn, ":assumed-role/credkit-web/ci-job") {
			t.Errorf("caller = %q", arn)
		}
		if c.Source != "web identity role "+roleARN+" (token file "+tokenFile+", from environment)" {
			t.Errorf("Source = %q", c.Source)
		}
	})

	t.Run("default session name and duration", func(t *testing.T) {
		m.rec.reset()
		now := time.Now()
		w := &WebIdentity{TokenFile: tokenFile, RoleARN: roleARN, Duration: 20 * time.Minute, Options: m.opts()}
		w.Options.Now = func() time.Time { return now }
		c, err := w.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := m.rec.requests()[0].form
		if f.Get("RoleSessionName") != "credkit-"+strconv.FormatInt(now.UnixNano(), 10) || f.Get("DurationSeconds") != "1200" {
			t.Errorf("form = %v", f)
		}
		if left := time.Until(c.Expires); left < 19*time.Minute || left > 21*time.Minute {
			t.Errorf("expires in %v", left)
		}
	})

	t.Run("as the root of a role chain", func(t *testing.T) {
		m.rec.reset()
		next := m.NewRole(t, "credkit-after-web")
		files := loadFiles(t, "[profile top]\nrole_arn = "+next+"\nsource_profile = k8s\nrole_session_name = after\n"+
			"[profile k8s]\nrole_arn = "+roleARN+"\nweb_identity_token_file = "+tokenFile+"\n", absent)
		chain, err := FromProfile(files, "top", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if arn, _ := m.CallerIdentity(t, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); !strings.HasSuffix(arn, ":assumed-role/credkit-after-web/after") {
			t.Errorf("caller = %q", arn)
		}
		reqs := m.rec.requests()
		if len(reqs) != 2 || reqs[0].form.Get("Action") != "AssumeRoleWithWebIdentity" || reqs[1].form.Get("Action") != "AssumeRole" {
			t.Errorf("requests = %+v", reqs)
		}
	})
}

func TestWebIdentityErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	token := jwtShaped("secret-subject")
	empty := filepath.Join(dir, "empty")
	writeToken(t, empty, " \n")
	missing := filepath.Join(dir, "missing")
	opts := STSOptions{Endpoint: "http://127.0.0.1:1", HTTPClient: &http.Client{Timeout: time.Second}, MaxAttempts: 1}

	for _, tc := range []struct {
		name string
		w    *WebIdentity
		want string
	}{
		{"missing file", &WebIdentity{TokenFile: missing, RoleARN: role("r"), Via: "profile k8s", Options: opts},
			"assume role " + role("r") + " with web identity (from profile k8s): web identity token file " + missing + " does not exist"},
		{"empty file", &WebIdentity{TokenFile: empty, RoleARN: role("r"), Options: opts},
			"assume role " + role("r") + " with web identity: web identity token file " + empty + " is empty"},
		{"a directory", &WebIdentity{TokenFile: dir, RoleARN: role("r"), Options: opts},
			"read web identity token file " + dir + ": is a directory"},
		{"no role", &WebIdentity{TokenFile: empty, Options: opts}, "no role ARN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.w.Retrieve(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			containsAll(t, err.Error(), tc.want)
		})
	}

	// A failed call names the role and the file, never the token.
	good := filepath.Join(dir, "good")
	writeToken(t, good, token)
	_, err := (&WebIdentity{TokenFile: good, RoleARN: role("r"), Options: opts}).Retrieve(ctx)
	if err == nil {
		t.Fatal("no error")
	}
	noSecretsIn(t, err, token)
	containsAll(t, err.Error(), "assume role "+role("r")+" with web identity, token file "+good+": ")

	// Configuration.
	w, ok, err := WebIdentityFromEnv(fakeEnv{}.get, STSOptions{})
	if w != nil || ok || err != nil {
		t.Errorf("WebIdentityFromEnv without variables = %v, %v, %v", w, ok, err)
	}
	_, _, err = WebIdentityFromEnv(fakeEnv{"AWS_WEB_IDENTITY_TOKEN_FILE": good}.get, STSOptions{})
	if !errors.Is(err, ErrNoRoleSource) {
		t.Errorf("err = %v", err)
	}
	containsAll(t, err.Error(), "environment: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
	w, _, _ = WebIdentityFromEnv(fakeEnv{"AWS_WEB_IDENTITY_TOKEN_FILE": good, "AWS_ROLE_ARN": role("r"), "AWS_DEFAULT_REGION": "ap-south-1", "AWS_ENDPOINT_URL": "http://all"}.get, STSOptions{})
	if w.Options.Region != "ap-south-1" || w.Options.Endpoint != "http://all" || w.RoleSessionName != "" {
		t.Errorf("provider = %+v", w)
	}

	files := loadFiles(t, "[profile noarn]\nweb_identity_token_file = /t\n[profile nofile]\nrole_arn = "+role("r")+"\n", absent)
	_, err = WebIdentityFromProfile(files, "noarn", ProfileOptions{Getenv: fakeEnv{}.get})
	if !errors.Is(err, ErrNoRoleSource) {
		t.Errorf("err = %v", err)
	}
	containsAll(t, err.Error(), "profile noarn: web_identity_token_file at ~/.aws/config:2 needs role_arn")
	_, err = WebIdentityFromProfile(files, "nofile", ProfileOptions{Getenv: fakeEnv{}.get})
	containsAll(t, err.Error(), "profile nofile (~/.aws/config:3) has no web_identity_token_file")
	_, err = WebIdentityFromProfile(files, "other", ProfileOptions{Getenv: fakeEnv{}.get})
	containsAll(t, err.Error(), `profile "other" not found`)
}
