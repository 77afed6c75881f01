package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/internal/testpeer"
)

// credkit exec starts from the session an earlier exec or
// credential-process cached for the profile, without resolving it: checked
// with the profile unresolvable (its source keys gone, STS unreachable),
// and the AWS CLI v2 as the child, taking its credentials from the
// endpoint (container and IMDSv2) or the environment. A session near
// expiry is refreshed through the profile; a config edited since the
// session was cached makes exec resolve anew.
func TestExecFromSessionCache(t *testing.T) {
	m := testpeer.Moto(t)
	aws := testpeer.AWSCLIv2(t)
	id, secret := m.NewUserKeys(t, "exec-cache-root")
	role := m.NewRole(t, "exec-cache-role")
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	credentials := filepath.Join(dir, "credentials")
	os.WriteFile(config, []byte("[profile role]\nrole_arn = "+role+"\nsource_profile = root\nregion = eu-central-1\n[profile root]\nregion = eu-central-1\n"), 0o600)
	os.WriteFile(credentials, []byte("[root]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	base := []string{
		"AWS_CONFIG_FILE=" + config,
		"AWS_SHARED_CREDENTIALS_FILE=" + credentials,
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"HOME=" + dir,
		"AWS=" + aws, // v2, not a v1 earlier on PATH
		"MOTO=" + m.Endpoint,
	}
	env := testpeer.IsolatedAWSEnv(append(base, "AWS_ENDPOINT_URL_STS="+m.Endpoint)...)
	// credkit cannot resolve the role: STS is unreachable (and, below, the
	// source keys are gone). The child still reaches moto.
	offline := testpeer.IsolatedAWSEnv(append(base, "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1")...)
	with := func(env []string, kv ...string) []string { return append(env[:len(env):len(env)], kv...) }
	// The child prints the variables that matter, then the key the AWS
	// CLI resolves and who STS says it is.
	script := `echo "region=$AWS_REGION profile=$AWS_PROFILE envkey=$AWS_ACCESS_KEY_ID expiry=$AWS_CREDENTIAL_EXPIRATION exec=$CREDKIT_EXEC" &&
"$AWS" configure export-credentials --format process | tr -d ' \n' && echo &&
"$AWS" sts get-caller-identity --endpoint-url "$MOTO" --query Arn --output text`
	type result struct {
		vars, key, arn, stderr string
		code                   int
	}
	bin := credkitBinary(t)
	run := func(env []string, args ...string) result {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Env = env
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		r := result{stderr: e.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("credkit %v: %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(o.String()), "\n")
		if len(lines) == 3 {
			r.vars, r.arn = lines[0], lines[2]
			var p processOutput
			if json.Unmarshal([]byte(lines[1]), &p) == nil {
				r.key = p.AccessKeyID
			}
		}
		return r
	}
	child := []string{"--", "sh", "-c", script}
	execArgs := func(extra ...string) []string { return append(append([]string{"exec", "role"}, extra...), child...) }
	cacheFile := func() string {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(dir, "cache", "credkit", "sessions", "*.json"))
		if len(files) != 1 {
			t.Fatalf("cache files: %v", files)
		}
		return files[0]
	}
	cacheRecord := func() sessionRecord {
		t.Helper()
		b, _ := os.ReadFile(cacheFile())
		var rec sessionRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}

	// Cold: credkit assumes the role, serves it and caches it with the
	// profile's region.
	cold := run(env, execArgs()...)
	if cold.code != 0 || !strings.Contains(cold.arn, "assumed-role/exec-cache-role/") {
		t.Fatalf("cold exec: %+v", cold)
	}
	rec := cacheRecord()
	if r, ok := rec.ProfileRegion(); !ok || r != "eu-central-1" || rec.Credentials.AccessKeyID != cold.key {
		t.Fatalf("cached record: region %q %v, key %s; the child used %s", r, ok, rec.Credentials.AccessKeyID, cold.key)
	}

	// Keys in the environment come before AWS_PROFILE in the chain: that
	// answer is neither served from the profile's cache nor cached as it,
	// by credkit or credkit-process.
	envKeys := with(env, "AWS_PROFILE=role", "AWS_ACCESS_KEY_ID=AKIAENVKEYSEXAMPLE0", "AWS_SECRET_ACCESS_KEY=env-secret")
	for _, argv := range [][]string{{bin, "credential-process"}, {credkitProcessBinary(t)}} {
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = envKeys
		if out, err := c.Output(); err != nil || !strings.Contains(string(out), `"AccessKeyId": "AKIAENVKEYSEXAMPLE0"`) {
			t.Errorf("%v with keys in the environment: %v %s", argv, err, out)
		}
	}
	if after := cacheRecord(); after.Credentials.AccessKeyID != rec.Credentials.AccessKeyID {
		t.Errorf("the environment's keys were cached as profile role: %s", after.Credentials.AccessKeyID)
	}

	// Warm, with the role unresolvable, and with variables that would
	// shadow the endpoint: the cached session, the profile's region,
	// nothing leaked.
	if err := os.Rename(credentials, credentials+".away"); err != nil {
		t.Fatal(err)
	}
	shadowed := with(offline, "AWS_PROFILE=other", "AWS_ACCESS_KEY_ID=AKIASHADOWEXAMPLE00", "AWS_SECRET_ACCESS_KEY=shadow")
	warm := run(shadowed, execArgs()...)
	if warm.code != 0 || warm.key != rec.Credentials.AccessKeyID || !strings.Contains(warm.arn, "assumed-role/exec-cache-role/") {
		t.Fatalf("warm exec: %+v (cached key %s)", warm, rec.Credentials.AccessKeyID)
	}
	if want := "region=eu-central-1 profile= envkey= expiry= exec=role"; warm.vars != want {
		t.Errorf("child variables %q, want %q", warm.vars, want)
	}
	// IMDSv2, and the region from the environment, then from --region.
	imds := run(with(shadowed, "AWS_REGION=ap-south-1"), execArgs("--mode", "imds")...)
	if imds.code != 0 || imds.key != rec.Credentials.AccessKeyID || !strings.HasPrefix(imds.vars, "region=ap-south-1 ") {
		t.Fatalf("warm --mode imds: %+v", imds)
	}
	flagged := run(with(shadowed, "AWS_REGION=ap-south-1"), execArgs("--region", "us-west-2")...)
	if flagged.code != 0 || flagged.key != rec.Credentials.AccessKeyID || !strings.HasPrefix(flagged.vars, "region=us-west-2 ") {
		t.Fatalf("warm --region: %+v", flagged)
	}
	// env mode: the keys and expiry in the environment, and the warning.
	envMode := run(offline, execArgs("--mode=env")...)
	wantVars := fmt.Sprintf("region=eu-central-1 profile= envkey=%s expiry=%s exec=role", rec.Credentials.AccessKeyID, rec.Credentials.Expiration)
	if envMode.code != 0 || envMode.vars != wantVars || envMode.key != rec.Credentials.AccessKeyID {
		t.Fatalf("warm --mode env: %+v\nwant %s", envMode, wantVars)
	}
	if !strings.Contains(envMode.stderr, "does not refresh: it expires at "+rec.Credentials.Expiration) {
		t.Errorf("env mode warning: %q", envMode.stderr)
	}
	// The child's exit code comes back.
	c := exec.Command(bin, "exec", "role", "--", "sh", "-c", "exit 7")
	c.Env = offline
	if err := c.Run(); c.ProcessState == nil || c.ProcessState.ExitCode() != 7 {
		t.Errorf("exit code: %v", err)
	}
	// Nesting is refused before the cache is looked at, unless allowed.
	nested := with(offline, "CREDKIT_EXEC=outer")
	if r := run(nested, execArgs()...); r.code != ExitExecFailed || !strings.Contains(r.stderr, "already inside credkit exec outer") {
		t.Errorf("nested exec: %+v", r)
	}
	if r := run(nested, execArgs("--allow-nested")...); r.code != 0 || r.key != rec.Credentials.AccessKeyID {
		t.Errorf("--allow-nested: %+v", r)
	}
	// A config edited since the session was cached: resolved anew, which
	// fails while the role cannot be resolved.
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(config, later, later)
	if r := run(offline, execArgs()...); r.code == 0 || !strings.Contains(r.stderr, "profile role") {
		t.Errorf("after a config edit, unresolvable: served %+v", r)
	}
	if err := os.Rename(credentials+".away", credentials); err != nil {
		t.Fatal(err)
	}
	edited := run(env, execArgs()...)
	if edited.code != 0 || edited.key == rec.Credentials.AccessKeyID || cacheRecord().Credentials.AccessKeyID != edited.key {
		t.Fatalf("after a config edit: %+v (old key %s, cached %s)", edited, rec.Credentials.AccessKeyID, cacheRecord().Credentials.AccessKeyID)
	}

	// A cached session a few seconds from the margin: exec starts from it,
	// and the child, asking after it has aged out, gets a session credkit
	// resolved through the profile and cached.
	rec = cacheRecord()
	rec.Credentials.Expiration = time.Now().Add(sessioncache.Margin + 3*time.Second).UTC().Format(time.RFC3339)
	if err := sessioncache.Write(cacheFile(), rec); err != nil {
		t.Fatal(err)
	}
	aging := run(env, "exec", "role", "--", "sh", "-c", "sleep 4 && "+script)
	if aging.code != 0 || aging.key == rec.Credentials.AccessKeyID || !strings.Contains(aging.arn, "assumed-role/exec-cache-role/") {
		t.Fatalf("refresh near expiry: %+v (aging key %s)", aging, rec.Credentials.AccessKeyID)
	}
	if now := cacheRecord(); now.Credentials.AccessKeyID != aging.key {
		t.Errorf("the refreshed session was not cached: cache holds %s, the child used %s", now.Credentials.AccessKeyID, aging.key)
	}
}
