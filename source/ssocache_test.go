package source

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
)

// TestSSOCacheFilesAsBotocore compares the token file, its name and the
// registration file's name with what botocore's own code writes and
// computes.
func TestSSOCacheFilesAsBotocore(t *testing.T) {
	// The AWS CLI v2's own botocore (its SSOTokenFetcher and cache
	// writer), run with the CLI's interpreter.
	testpeer.AWSCLIv2(t)
	py := "/usr/bin/python3"
	dir := t.TempDir()
	tok := SSOToken{StartURL: "https://d-1234.awsapps.com/start", Region: "eu-west-1", AccessToken: "aoa/é<tok>&\"x\"",
		ExpiresAt: "2026-12-05T07:00:00Z", ClientID: "cid", ClientSecret: "csecret", RegistrationExpiresAt: "2027-03-05T07:00:00Z", RefreshToken: "aor😀"}
	path, err := SSOTokenCacheFile(dir, "my-sso")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSSOToken(path, tok, nil); err != nil {
		t.Fatal(err)
	}
	regPath, err := SSORegistrationCacheFile(dir, tok.StartURL, tok.Region, []string{"sso:account:access"}, "my-sso")
	if err != nil {
		t.Fatal(err)
	}
	legacyReg, _ := SSORegistrationCacheFile(dir, tok.StartURL, tok.Region, nil, "")
	in, _ := json.Marshal(tok)
	script := `
import json, sys, datetime, os
from dateutil.tz import tzutc
import awscli
from botocore.utils import JSONFileCache, SSOTokenFetcher
from awscli.customizations.sso.utils import _sso_json_dumps
d = sys.argv[1]
tok = json.loads(sys.argv[2])
for k in ("expiresAt", "registrationExpiresAt"):
    tok[k] = datetime.datetime.strptime(tok[k], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=tzutc())
order = ["startUrl","region","accessToken","expiresAt","clientId","clientSecret","registrationExpiresAt","refreshToken"]
tok = {k: tok[k] for k in order}
cache = JSONFileCache(os.path.join(d, "py"), dumps_func=_sso_json_dumps)
cache["x"] = tok
f = SSOTokenFetcher("eu-west-1", client_creator=None)
print(f._token_cache_key(tok["startUrl"], "my-sso"))
print(f._registration_cache_key(tok["startUrl"], "my-sso", ["sso:account:access"]))
print(f._registration_cache_key(tok["startUrl"], None, None))
`
	out, err := exec.Command(py, "-c", script, dir, string(in)).CombinedOutput()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 3 {
		t.Fatalf("botocore printed %q", out)
	}
	if filepath.Base(path) != lines[0]+".json" || filepath.Base(regPath) != lines[1]+".json" || filepath.Base(legacyReg) != lines[2]+".json" {
		t.Errorf("names %s %s %s, botocore's %v", filepath.Base(path), filepath.Base(regPath), filepath.Base(legacyReg), lines)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "py", "x.json"))
	got, _ := os.ReadFile(path)
	if string(got) != string(want) {
		t.Errorf("token file\n got %s\nwant %s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}
