package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A profile without credential settings does not own the credentials the
// chain goes on to find (here the container endpoint's): credential-process
// and exec hand them out but never cache them as the profile's session.
func TestSessionOfAnotherLinkIsNotCached(t *testing.T) {
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": testSecret, "Token": testToken,
			"Expiration": expires.Format(time.RFC3339),
		})
	}))
	defer endpoint.Close()

	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[profile bare]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	env := map[string]string{
		"AWS_CONFIG_FILE":                    config,
		"XDG_CACHE_HOME":                     cache,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.URL + "/creds",
	}
	for _, args := range [][]string{
		{"credential-process", "--profile", "bare"},
		{"exec", "bare", "--mode", "env", "--", "true"},
	} {
		r := runAt(t, time.Now, env, "", args...)
		if r.code != 0 {
			t.Fatalf("credkit %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if args[0] == "credential-process" && !strings.Contains(r.stdout, "ASIACONTAINER") {
			t.Fatalf("credential-process did not answer with the container's credentials:\n%s", r.stdout)
		}
		var cached []string
		filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".lock") {
				cached = append(cached, p)
			}
			return nil
		})
		if len(cached) > 0 {
			t.Errorf("credkit %s cached the container's session as profile bare's: %v", strings.Join(args, " "), cached)
		}
	}
}
