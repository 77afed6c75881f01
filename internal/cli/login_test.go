package cli

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/logincreds"

	"github.com/credkit/credkit/lab"
)

// loginHome is a home with a login_session profile "web" whose session
// the lab minted, the lab serving STS and the sign-in token endpoint.
func loginHome(t *testing.T) (l *lab.Lab, env map[string]string, arn, cache string) {
	t.Helper()
	l, err := lab.New(lab.Options{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	home := t.TempDir()
	arn, b, err := l.MintLoginSession(lab.DefaultUser, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The file name as aws-sdk-go-v2 computes it.
	cache, err = logincreds.StandardCachedTokenFilepath(arn, filepath.Join(home, ".aws", "login", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(cache), 0o700)
	os.WriteFile(cache, b, 0o600)
	cfg := filepath.Join(home, ".aws", "config")
	os.WriteFile(cfg, []byte("[profile web]\nlogin_session = "+arn+"\nregion = us-east-1\n"), 0o600)
	env = map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, ".aws", "credentials"),
		"AWS_ENDPOINT_URL_STS": srv.URL, "AWS_ENDPOINT_URL_SIGNIN": srv.URL, "PATH": "/usr/bin:/bin",
	}
	return l, env, arn, cache
}

func TestWhoamiAndDoctorShowLoginSession(t *testing.T) {
	l, env, arn, cache := loginHome(t)
	// Expired credentials: whoami refreshes them through the lab first.
	b, _ := os.ReadFile(cache)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["accessToken"].(map[string]any)["expiresAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	b, _ = json.Marshal(m)
	os.WriteFile(cache, b, 0o600)

	r := runAt(t, time.Now, env, "", "whoami", "--profile", "web", "--json")
	if r.code != 0 {
		t.Fatalf("whoami: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, `"`+arn+`"`) || !strings.Contains(r.stdout, "login session "+arn) || !strings.Contains(r.stdout, cache) {
		t.Errorf("whoami --json does not name the identity %s and the login session with its cache file:\n%s", arn, r.stdout)
	}
	if n := l.LoginRefreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	r = runAt(t, time.Now, env, "", "doctor", "--profile", "web")
	if r.code != 0 {
		t.Fatalf("doctor: %d %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"login session " + arn + " (profile web), cache file " + cache + "; expire at "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := l.LoginRefreshes(); n != 1 {
		t.Errorf("doctor refreshed again: %d refreshes", n)
	}
}

func TestWhoamiLoginSessionWithoutCache(t *testing.T) {
	_, env, arn, cache := loginHome(t)
	os.Remove(cache)
	r := runAt(t, time.Now, env, "", "whoami", "--profile", "web")
	if r.code != ExitFailure {
		t.Fatalf("whoami: %d %s%s", r.code, r.stdout, r.stderr)
	}
	line := strings.TrimSpace(r.stderr)
	for _, want := range []string{arn, cache, "run: aws login --profile web"} {
		if !strings.Contains(line, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Count(line, "\n") > 0 {
		t.Errorf("the error spans lines:\n%s", r.stderr)
	}
}
