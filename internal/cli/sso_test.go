package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
)

// ssoLab is a lab with the config it wrote and an empty home.
type ssoLab struct {
	lab  *lab.Lab
	url  string
	cfg  *lab.Config
	home string
	env  map[string]string
}

func newSSOLab(t *testing.T, o lab.Options) *ssoLab {
	t.Helper()
	l, err := lab.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	cfg, err := lab.WriteConfig(l, srv.URL, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return &ssoLab{lab: l, url: srv.URL, cfg: cfg, home: home, env: map[string]string{
		"HOME": home, "AWS_CONFIG_FILE": cfg.ConfigFile, "AWS_SHARED_CREDENTIALS_FILE": cfg.CredentialsFile,
		"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true",
	}}
}

// The whole sign-in through the CLI: the browser (headless Chromium,
// started as $BROWSER) follows the lab's redirect to credkit's loopback
// listener; aws-sdk-go-v2 and boto3 then get role credentials from the
// token credkit cached; logout ends the session at the portal.
func TestSSOLoginThroughChromiumAndTheSDKs(t *testing.T) {
	testpeer.Chromium(t)
	py := testpeer.Python(t)
	sl := newSSOLab(t, lab.Options{})
	dom := filepath.Join(t.TempDir(), "dom.html")
	env := map[string]string{"BROWSER": testpeer.ChromiumScript(t, dom)}
	for k, v := range sl.env {
		env[k] = v
	}
	start := time.Now()
	r := runAt(t, time.Now, env, "", "sso", "login", "--sso-session", lab.SSOSession)
	if r.code != 0 || !strings.Contains(r.stdout, "Signed in to sso-session lab; token valid until") {
		t.Fatalf("login: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if time.Since(start) > 60*time.Second {
		t.Fatalf("the login took %s: it waited for something", time.Since(start))
	}
	// Chromium dumps the page it ended at once its time budget is spent.
	var page []byte
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && !strings.Contains(string(page), "Signed in"); time.Sleep(200 * time.Millisecond) {
		page, _ = os.ReadFile(dom)
	}
	if !strings.Contains(string(page), "Signed in") {
		t.Fatalf("Chromium ended at %q", page)
	}
	calls := sl.lab.SSOCalls()
	if calls["RegisterClient"] != 1 || calls["Authorize"] != 1 || calls["CreateToken:authorization_code"] != 1 {
		t.Fatalf("calls %v", calls)
	}
	r = runAt(t, time.Now, sl.env, "", "sso", "status", "--json")
	var st []ssoStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || !st[0].SignedIn || !st[0].Refreshable || st[0].Session != lab.SSOSession {
		t.Fatalf("status: %v %s%s", err, r.stdout, r.stderr)
	}
	if tok, _, _ := source.ReadSSOToken(st[0].TokenFile); tok.AccessToken == "" || strings.Contains(r.stdout+r.stderr, tok.AccessToken) {
		t.Fatalf("status printed the token, or there is none")
	}

	// aws-sdk-go-v2's LoadDefaultConfig on the written profile.
	profile := lab.SSOProfilePrefix + lab.DefaultRole
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", sl.home)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigFiles([]string{sl.cfg.ConfigFile}),
		config.WithSharedCredentialsFiles([]string{sl.cfg.CredentialsFile}), config.WithSharedConfigProfile(profile))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	want := "arn:aws:sts::" + lab.DefaultAccount + ":assumed-role/" + lab.DefaultRole + "/" + lab.DefaultUser
	if err != nil || aws.ToString(id.Arn) != want {
		t.Fatalf("aws-sdk-go-v2: %v %v", id, err)
	}

	// boto3 on the same profile and cache.
	script := "import boto3; print(boto3.Session(profile_name='" + profile + "').client('sts').get_caller_identity()['Arn'])"
	cmd := exec.Command(py, "-c", script)
	cmd.Env = testpeer.IsolatedAWSEnv("HOME="+sl.home, "AWS_CONFIG_FILE="+sl.cfg.ConfigFile, "AWS_SHARED_CREDENTIALS_FILE="+sl.cfg.CredentialsFile)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	if n := sl.lab.SSOCalls()["GetRoleCredentials"]; n != 2 {
		t.Fatalf("the portal issued %d role credentials, want 2 (SDK, boto3)", n)
	}

	r = runAt(t, time.Now, sl.env, "", "sso", "logout", "--sso-session", lab.SSOSession)
	if r.code != 0 || !strings.Contains(r.stdout, "logged out at the portal") || sl.lab.SSOCalls()["Logout"] != 1 {
		t.Fatalf("logout: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(st[0].TokenFile); !os.IsNotExist(err) {
		t.Fatalf("the token file is still there: %v", err)
	}
	r = runAt(t, time.Now, sl.env, "", "sso", "status")
	if !strings.Contains(r.stdout, "sso-session lab ("+lab.SSOStartURL+"): not signed in; no refresh possible: run: credkit sso login --sso-session lab") {
		t.Fatalf("status after logout: %s%s", r.stdout, r.stderr)
	}
}

// Ten credkit exec processes start with an expired token: one refreshes
// it, the others wait and use the token it wrote.
func TestConcurrentExecRefreshOnce(t *testing.T) {
	bin := credkitBinary(t)
	sl := newSSOLab(t, lab.Options{})
	r := runAt(t, time.Now, sl.env, "", "sso", "login", "--sso-session", lab.SSOSession, "--use-device-code")
	if r.code != 0 {
		t.Fatalf("login: %s%s", r.stdout, r.stderr)
	}
	file, _ := source.SSOTokenCacheFile(filepath.Join(sl.home, ".aws", "sso", "cache"), lab.SSOSession)
	tok, extra, err := source.ReadSSOToken(file)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("token: %v", err)
	}
	tok.ExpiresAt = source.FormatSSOTime(time.Now().Add(-time.Minute))
	if err := source.WriteSSOToken(file, tok, extra); err != nil {
		t.Fatal(err)
	}
	var env []string
	for k, v := range sl.env {
		env = append(env, k+"="+v)
	}
	var wg sync.WaitGroup
	errs := make([]string, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "exec", lab.SSOProfilePrefix+lab.DefaultRole, "--", "sh", "-c", `test -n "$AWS_ACCESS_KEY_ID$AWS_CONTAINER_CREDENTIALS_FULL_URI"`)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = err.Error() + ": " + string(out)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Errorf("exec: %s", e)
		}
	}
	if n := sl.lab.SSOCalls()["CreateToken:refresh_token"]; n != 1 {
		t.Fatalf("the lab saw %d refresh grants, want 1 (%v)", n, sl.lab.SSOCalls())
	}
	if n := sl.lab.SSOCalls()["RegisterClient"]; n != 1 {
		t.Fatalf("%d registrations", n)
	}
}

// Bad input: one line saying what and what to do, exit 2, nothing secret.
func TestSSOLoginBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte(`[profile nourl]
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = Dev
[profile plain]
sso_start_url = http://corp.awsapps.com/start
sso_region = eu-west-1
[profile keys]
region = eu-west-1
[profile s]
sso_session = missing
`), 0o600)
	env := map[string]string{"AWS_CONFIG_FILE": cfg}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "nourl"}, "credkit: profile nourl (" + cfg + ":1) has no sso_start_url: add it (the AWS access portal URL, https://d-xxxxxxxxxx.awsapps.com/start, and its region)\n"},
		{[]string{"--profile", "plain"}, `credkit: profile plain (` + cfg + `:5): sso_start_url "http://corp.awsapps.com/start" is not an https:// URL; use the AWS access portal URL, e.g. https://d-xxxxxxxxxx.awsapps.com/start` + "\n"},
		{[]string{"--profile", "keys"}, "credkit: profile keys (" + cfg + ":8) has neither sso_session nor sso_start_url: add sso_session naming an [sso-session] section, or sso_start_url and sso_region\n"},
		{[]string{"--profile", "s"}, "credkit: profile s (" + cfg + ":10): there is no [sso-session missing] in the config file (none are defined); add one with sso_start_url and sso_region\n"},
		{[]string{"--profile", "s", "--sso-session", "x"}, "credkit: --profile and --sso-session choose the same thing; give one; run 'credkit sso login --help'\n"},
		{[]string{"--redirect-port", "70000"}, "credkit: --redirect-port 70000 is not a port (1-65535); run 'credkit sso login --help'\n"},
	} {
		r := run(t, env, "", append([]string{"sso", "login"}, tc.args...)...)
		if r.code != 2 || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("sso login %v: %d\n got %q\nwant %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// populate writes a profile per role of the lab's portal; the profiles
// work with aws-sdk-go-v2; a second run changes nothing.
func TestSSOPopulate(t *testing.T) {
	sl := newSSOLab(t, lab.Options{})
	if r := runAt(t, time.Now, sl.env, "", "sso", "login", "--sso-session", lab.SSOSession, "--no-browser"); r.code != 0 {
		t.Fatalf("login: %s%s", r.stdout, r.stderr)
	}
	before, _ := os.ReadFile(sl.cfg.ConfigFile)
	r := runAt(t, time.Now, sl.env, "", "sso", "populate", "--sso-session", lab.SSOSession, "--prefix", "p-", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "add profile p-lab-lab-role:\n+ # generated by credkit sso populate (sso-session lab)\n+ [profile p-lab-lab-role]\n") || !strings.Contains(r.stdout, "Dry run") {
		t.Fatalf("dry run: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(sl.cfg.ConfigFile); string(after) != string(before) {
		t.Fatal("the dry run wrote")
	}
	r = runAt(t, time.Now, sl.env, "n\n", "sso", "populate", "--sso-session", lab.SSOSession, "--prefix", "p-")
	if r.code != 1 || !strings.Contains(r.stderr, "credkit: nothing written: answer y to write, or run with --yes\n") {
		t.Fatalf("answered no: %d %s%s", r.code, r.stdout, r.stderr)
	}
	r = runAt(t, time.Now, sl.env, "y\n", "sso", "populate", "--sso-session", lab.SSOSession, "--prefix", "p-")
	if r.code != 0 || !strings.Contains(r.stdout, "Wrote 4 change(s)") {
		t.Fatalf("populate: %d %s%s", r.code, r.stdout, r.stderr)
	}
	after, _ := os.ReadFile(sl.cfg.ConfigFile)
	if !strings.HasPrefix(string(after), string(before)) {
		t.Fatal("populate changed what it did not write")
	}
	r = runAt(t, time.Now, sl.env, "", "sso", "populate", "--sso-session", lab.SSOSession, "--prefix", "p-", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "is up to date: 4 profile(s)") {
		t.Fatalf("second run: %s%s", r.stdout, r.stderr)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", sl.home)
	// The SDK builds the portal client of credential resolution before it
	// reads AWS_ENDPOINT_URL; the service's own variable it reads.
	t.Setenv("AWS_ENDPOINT_URL", sl.url)
	t.Setenv("AWS_ENDPOINT_URL_SSO", sl.url)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigFiles([]string{sl.cfg.ConfigFile}),
		config.WithSharedCredentialsFiles([]string{sl.cfg.CredentialsFile}), config.WithSharedConfigProfile("p-lab-"+lab.DefaultMFARole))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	if err != nil || !strings.HasSuffix(aws.ToString(id.Arn), ":assumed-role/"+lab.DefaultMFARole+"/"+lab.DefaultUser) {
		t.Fatalf("aws-sdk-go-v2 with a populated profile: %v %v", id, err)
	}
}

// Without a token, programs get a one-line error naming the login to
// run; nothing opens a browser or waits.
func TestSSOWithoutTokenNamesTheLogin(t *testing.T) {
	sl := newSSOLab(t, lab.Options{})
	env := map[string]string{"BROWSER": "/bin/false"}
	for k, v := range sl.env {
		env[k] = v
	}
	profile := lab.SSOProfilePrefix + lab.DefaultRole
	start := time.Now()
	r := runAt(t, time.Now, env, "", "credential-process", "--profile", profile)
	if r.code != 1 || !strings.HasSuffix(r.stderr, "SSO login required; run: credkit sso login --profile "+profile+"\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("credential-process: %d %q", r.code, r.stderr)
	}
	if time.Since(start) > 10*time.Second || len(sl.lab.SSOCalls()) != 0 {
		t.Fatalf("it waited or called Identity Center: %v", sl.lab.SSOCalls())
	}
}

func TestNoBrowserReason(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "an SSH session without DISPLAY"},
		{map[string]string{"SSH_TTY": "/dev/pts/1", "DISPLAY": "localhost:10.0"}, ""},
		{map[string]string{"WSL_DISTRO_NAME": "Debian", "PATH": "/nonexistent"}, "WSL without a browser bridge (install wslu for wslview, or set BROWSER)"},
		{map[string]string{"WSL_DISTRO_NAME": "Debian", "BROWSER": "wslview"}, ""},
		{map[string]string{}, ""},
	} {
		if tc.env["PATH"] != "" {
			t.Setenv("PATH", tc.env["PATH"])
		}
		if got := noBrowserReason(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.env, got, tc.want)
		}
	}
}

// A refresh the lab refuses (invalid_grant) on an expired token: one
// line naming the login to run, and no token in it.
func TestSSORefusedRefreshNamesTheLogin(t *testing.T) {
	sl := newSSOLab(t, lab.Options{SSO: lab.SSOOptions{RefreshInvalidGrant: 100}})
	if r := runAt(t, time.Now, sl.env, "", "sso", "login", "--sso-session", lab.SSOSession, "--use-device-code"); r.code != 0 {
		t.Fatalf("login: %s%s", r.stdout, r.stderr)
	}
	file, _ := source.SSOTokenCacheFile(filepath.Join(sl.home, ".aws", "sso", "cache"), lab.SSOSession)
	tok, extra, _ := source.ReadSSOToken(file)
	tok.ExpiresAt = source.FormatSSOTime(time.Now().Add(-time.Minute))
	if err := source.WriteSSOToken(file, tok, extra); err != nil {
		t.Fatal(err)
	}
	profile := lab.SSOProfilePrefix + lab.DefaultRole
	r := runAt(t, time.Now, sl.env, "", "credential-process", "--profile", profile)
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "InvalidGrantException") ||
		!strings.HasSuffix(r.stderr, "run: credkit sso login --profile "+profile+"\n") {
		t.Fatalf("%d %q", r.code, r.stderr)
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, tok.ClientSecret} {
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Fatal("a secret of the cache is in the output")
		}
	}
	r = runAt(t, time.Now, sl.env, "", "sso", "status", "--sso-session", lab.SSOSession)
	if !strings.Contains(r.stdout, ": expired at ") || !strings.Contains(r.stdout, "; refresh possible") {
		t.Fatalf("status: %s", r.stdout)
	}
}

// Ten credkit exec processes start without a token, allowed to sign in:
// one signs in (the device flow: an SSH session without DISPLAY), the
// others wait for it and take its token. The lab sees one registration
// and one login.
func TestConcurrentExecSignInOnce(t *testing.T) {
	bin := credkitBinary(t)
	sl := newSSOLab(t, lab.Options{})
	env := []string{"SSH_CONNECTION=10.0.0.1 22 10.0.0.2 22"}
	for k, v := range sl.env {
		env = append(env, k+"="+v)
	}
	var wg sync.WaitGroup
	outs := make([]string, 10)
	failed := make([]bool, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "exec", "--allow-interactive", lab.SSOProfilePrefix+lab.DefaultRole, "--", "sh", "-c", `test -n "$AWS_ACCESS_KEY_ID$AWS_CONTAINER_CREDENTIALS_FULL_URI"`)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			outs[i], failed[i] = string(out), err != nil
		}()
	}
	wg.Wait()
	shown := 0
	for i := range 10 {
		if failed[i] {
			t.Errorf("exec %d: %s", i, outs[i])
		}
		if strings.Contains(outs[i], "check that the page shows the code") {
			shown++
		}
	}
	calls := sl.lab.SSOCalls()
	if calls["RegisterClient"] != 1 || calls["StartDeviceAuthorization"] != 1 || calls["CreateToken:device_code"] != 1 || shown != 1 {
		t.Fatalf("calls %v, the code shown %d times", calls, shown)
	}
	// Logout removes the token and the session exec cached from it.
	cached := sessioncache.File(func(k string) string { return sl.env[k] }, lab.SSOProfilePrefix+lab.DefaultRole)
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("exec cached no session: %v", err)
	}
	r := runAt(t, time.Now, sl.env, "", "sso", "logout", "--sso-session", lab.SSOSession)
	if r.code != 0 || !strings.Contains(r.stdout, "sso-session lab: logged out at the portal; removed 2 cached file(s).") {
		t.Fatalf("logout: %s%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(cached); !os.IsNotExist(err) {
		t.Fatalf("the cached session is still there: %v", err)
	}
}
