package execrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/internal/testpeer"
)

func TestParseExec(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
		want execArgs
	}{
		{[]string{"dev", "--", "aws", "s3", "ls"}, true, execArgs{profile: "dev", mode: "server", command: []string{"aws", "s3", "ls"}}},
		{[]string{"--mode", "imds", "dev", "--", "x"}, true, execArgs{profile: "dev", mode: "imds", command: []string{"x"}}},
		{[]string{"dev", "-mode=env", "--allow-nested", "--", "x", "--", "y"}, true, execArgs{profile: "dev", mode: "env", allowNested: true, command: []string{"x", "--", "y"}}},
		{[]string{"dev", "--", "x", "--mode", "env"}, true, execArgs{profile: "dev", mode: "server", command: []string{"x", "--mode", "env"}}},
		// Left to credkit-core, which explains or does more.
		{[]string{"dev", "x"}, false, execArgs{}},                          // no "--"
		{[]string{"dev", "--"}, false, execArgs{}},                         // no command
		{[]string{"--", "x"}, false, execArgs{}},                           // no profile
		{[]string{"dev", "other", "--", "x"}, false, execArgs{}},           // two positionals
		{[]string{"dev", "--mode", "bogus", "--", "x"}, false, execArgs{}}, // bad mode
		{[]string{"dev", "--mode"}, false, execArgs{}},
		{[]string{"dev", "--region", "eu-west-1", "--", "x"}, false, execArgs{}},
		{[]string{"dev", "--allow-nested=false", "--", "x"}, false, execArgs{}},
		{[]string{"--help"}, false, execArgs{}},
		{[]string{"dev", "--", ""}, false, execArgs{}},
	} {
		got, ok := parseExec(c.args)
		if ok != c.ok || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("parseExec(%q) = %+v, %v; want %+v, %v", c.args, got, ok, c.want, c.ok)
		}
	}
}

// When the session it started with nears expiry, exec from the cache asks
// credkit-core credential-process (the real binary, against moto's STS)
// and uses the session it caches; a usable cache entry is answered
// without it; core's failure is explained.
func TestCachedProfileRefreshesThroughCore(t *testing.T) {
	m := testpeer.Moto(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "github.com/credkit/credkit/cmd/credkit-core")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build credkit-core: %v\n%s", err, out)
	}
	core := filepath.Join(bin, "credkit-core")
	id, secret := m.NewUserKeys(t, "cached-root")
	role := m.NewRole(t, "cached-role")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config"), []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	for _, kv := range testpeer.IsolatedAWSEnv(
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_ENDPOINT_URL_STS="+m.Endpoint,
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HOME="+dir,
	) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var stderr strings.Builder
	file := sessioncache.File(os.Getenv, "role")
	p := &cachedProfile{profile: "role", file: file, stderr: &stderr, now: time.Now, core: core}
	ctx := context.Background()

	first, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatalf("first refresh: %v\n%s", err, stderr.String())
	}
	if !first.CanExpire() || first.TimeLeft(time.Now()) < sessioncache.Margin || first.SessionToken == "" {
		t.Fatalf("refreshed session: expires %v", first.Expires)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("credkit-core did not cache the session: %v", err)
	}
	// From the cache, without credkit-core.
	p.core = filepath.Join(bin, "missing")
	again, err := p.Retrieve(ctx)
	if err != nil || again.AccessKeyID != first.AccessKeyID {
		t.Fatalf("cached session not used: %v, %s vs %s", err, again.AccessKeyID, first.AccessKeyID)
	}
	// The cache entry gone (as after credkit clear): a new session.
	os.Remove(file)
	p.core = core
	fresh, err := p.Retrieve(ctx)
	if err != nil || fresh.AccessKeyID == first.AccessKeyID {
		t.Fatalf("after the cache entry went: %v, key %s (was %s)", err, fresh.AccessKeyID, first.AccessKeyID)
	}
	// credkit-core refusing: the error names the profile and the command.
	bad := &cachedProfile{profile: "nope", file: sessioncache.File(os.Getenv, "nope"), stderr: &stderr, now: time.Now, core: core}
	stderr.Reset()
	_, err = bad.Retrieve(ctx)
	if err == nil || !strings.Contains(err.Error(), "refresh profile nope: credkit-core credential-process --profile nope") || !strings.Contains(stderr.String(), "nope") {
		t.Errorf("core failure: %v\nstderr: %s", err, stderr.String())
	}
}

// The session read at start is answered only while the cache itself would
// still hand it out: a first request that comes late gets a refresh, not a
// session about to expire.
func TestCachedProfileFirstSessionAgesOut(t *testing.T) {
	start := time.Now()
	first := creds.Credentials{AccessKeyID: "ASIAFIRSTEXAMPLE", SecretAccessKey: "s", SessionToken: "t", Expires: start.Add(6 * time.Minute)}
	dir := t.TempDir()
	var stderr strings.Builder
	p := &cachedProfile{profile: "p", file: filepath.Join(dir, "none.json"), first: &first, stderr: &stderr, core: filepath.Join(dir, "no-credkit-core")}
	p.now = func() time.Time { return start.Add(2 * time.Minute) } // 4 minutes left
	if c, err := p.Retrieve(context.Background()); err == nil || c.AccessKeyID == first.AccessKeyID {
		t.Fatalf("a session with 4 minutes left was answered: %v %v", c.AccessKeyID, err)
	} else if !strings.Contains(err.Error(), "refresh profile p") {
		t.Errorf("error: %v", err)
	}
	fresh := &cachedProfile{profile: "p", file: filepath.Join(dir, "none.json"), first: &first, stderr: &stderr, now: func() time.Time { return start }}
	if c, err := fresh.Retrieve(context.Background()); err != nil || c.AccessKeyID != first.AccessKeyID {
		t.Fatalf("the session read at start: %v %v", c.AccessKeyID, err)
	}
}
