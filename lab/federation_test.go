package lab

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/internal/testpeer"
)

func federationToken(ctx context.Context, url string, c aws.Credentials, name string, d int32) (*sts.GetFederationTokenOutput, error) {
	in := &sts.GetFederationTokenInput{Name: aws.String(name), Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}
	if d != 0 {
		in.DurationSeconds = aws.Int32(d)
	}
	return stsClient(url, c).GetFederationToken(ctx, in, noRetry)
}

// aws-sdk-go-v2's STS client calls GetFederationToken; the credentials
// sign as the federated user everywhere in the lab.
func TestGetFederationToken(t *testing.T) {
	l, url := start(t, Options{TTL: time.Hour})
	ctx := context.Background()
	user := userCreds(l.Users()[0])
	out, err := federationToken(ctx, url, user, "lab-user", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::000000000000:federated-user/lab-user"
	if aws.ToString(out.FederatedUser.Arn) != want || aws.ToString(out.FederatedUser.FederatedUserId) != "000000000000:lab-user" {
		t.Errorf("federated user %+v", out.FederatedUser)
	}
	fed := sessionCreds(out.Credentials)
	id, err := stsClient(url, fed).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Arn) != want {
		t.Fatalf("GetCallerIdentity of the federated user: %v %v", id, err)
	}
	cases := []struct {
		name     string
		c        aws.Credentials
		fedName  string
		d        int32
		code     string
		contains string
	}{
		{"session credentials", fed, "again", 0, "AccessDenied", "Cannot call GetFederationToken with session credentials"},
		{"a name of 33 characters", user, strings.Repeat("n", 33), 0, "ValidationError", "length less than or equal to 32"},
		{"a name of one character", user, "n", 0, "ValidationError", "length greater than or equal to 2"},
		{"a name with a space", user, "a b", 0, "ValidationError", "regular expression"},
		{"under 15 minutes", user, "lab-user", 899, "ValidationError", "greater than or equal to 900"},
		{"over 36 hours", user, "lab-user", 129601, "ValidationError", "less than or equal to 129600"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := federationToken(ctx, url, tc.c, tc.fedName, tc.d)
			code, msg := apiError(t, err)
			if code != tc.code || !strings.Contains(msg, tc.contains) {
				t.Errorf("got %s %q, want %s containing %q", code, msg, tc.code, tc.contains)
			}
		})
	}
}

// getSigninToken answers a token for live session credentials of the lab
// and refuses the rest.
func getSigninToken(t *testing.T, base string, id, key, token string, extra url.Values) (int, string) {
	t.Helper()
	s, _ := json.Marshal(map[string]string{"sessionId": id, "sessionKey": key, "sessionToken": token})
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(s)}}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := http.Get(base + "/federation?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		var ans struct{ SigninToken string }
		if err := json.Unmarshal(b, &ans); err != nil || ans.SigninToken == "" {
			t.Fatalf("getSigninToken answered 200 without a token: %s", b)
		}
		return resp.StatusCode, ans.SigninToken
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestGetSigninTokenRefuses(t *testing.T) {
	c := &clock{t: time.Now()}
	l, base := start(t, Options{TTL: 10 * time.Minute, Now: c.Now})
	ctx := context.Background()
	user := userCreds(l.Users()[0])
	ar, err := assume(ctx, base, user, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(DefaultRole)), RoleSessionName: aws.String("console")})
	if err != nil {
		t.Fatal(err)
	}
	role := sessionCreds(ar.Credentials)
	fo, err := federationToken(ctx, base, user, "lab-user", 0)
	if err != nil {
		t.Fatal(err)
	}
	fed := sessionCreds(fo.Credentials)
	gs, err := stsClient(base, user).GetSessionToken(ctx, nil, noRetry)
	if err != nil {
		t.Fatal(err)
	}
	userSession := sessionCreds(gs.Credentials)
	dur := func(s string) url.Values { return url.Values{"SessionDuration": {s}} }

	if code, _ := getSigninToken(t, base, role.AccessKeyID, role.SecretAccessKey, role.SessionToken, dur("3600")); code != 200 {
		t.Fatalf("role session: %d", code)
	}
	if code, _ := getSigninToken(t, base, fed.AccessKeyID, fed.SecretAccessKey, fed.SessionToken, nil); code != 200 {
		t.Fatalf("federated user: %d", code)
	}
	unknownID, unknownSecret := NewKey("ASIA")
	cases := []struct {
		name           string
		id, key, token string
		extra          url.Values
		reason         string
	}{
		{"temporary credentials the lab never issued", unknownID, unknownSecret, newToken(), nil, "The session credentials are not valid"},
		{"a wrong secret", role.AccessKeyID, role.SecretAccessKey + "x", role.SessionToken, nil, "The session credentials are not valid"},
		{"a wrong session token", role.AccessKeyID, role.SecretAccessKey, role.SessionToken + "x", nil, "The session credentials are not valid"},
		{"long-term keys", user.AccessKeyID, user.SecretAccessKey, "", nil, "The session credentials are not valid"},
		{"a GetSessionToken session", userSession.AccessKeyID, userSession.SecretAccessKey, userSession.SessionToken, nil, "The session credentials are not valid"},
		{"SessionDuration under 900", role.AccessKeyID, role.SecretAccessKey, role.SessionToken, dur("899"), "SessionDuration must be a number of seconds from 900 to 43200"},
		{"SessionDuration over 43200", role.AccessKeyID, role.SecretAccessKey, role.SessionToken, dur("43201"), "SessionDuration must be a number of seconds from 900 to 43200"},
		{"SessionDuration with a federated user", fed.AccessKeyID, fed.SecretAccessKey, fed.SessionToken, dur("3600"), "SessionDuration is not allowed with credentials from GetFederationToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getSigninToken(t, base, tc.id, tc.key, tc.token, tc.extra)
			if code != 400 || body != tc.reason {
				t.Errorf("got %d %q, want 400 %q", code, body, tc.reason)
			}
		})
	}
	c.Add(10*time.Minute + time.Second)
	t.Run("expired role credentials", func(t *testing.T) {
		code, body := getSigninToken(t, base, role.AccessKeyID, role.SecretAccessKey, role.SessionToken, nil)
		if code != 400 || body != "The session credentials have expired" {
			t.Errorf("got %d %q", code, body)
		}
	})
	if n := l.Refusals()["FederationRefused"]; n != int64(len(cases)+1) {
		t.Errorf("refusals counted %d, want %d", n, len(cases)+1)
	}
}

// loginURL makes the login URL for session credentials.
func loginURL(t *testing.T, base string, c aws.Credentials, dest string) string {
	t.Helper()
	code, tok := getSigninToken(t, base, c.AccessKeyID, c.SecretAccessKey, c.SessionToken, nil)
	if code != 200 {
		t.Fatalf("getSigninToken: %d %s", code, tok)
	}
	return base + "/federation?" + url.Values{"Action": {"login"}, "Issuer": {"https://example.com"}, "Destination": {dest}, "SigninToken": {tok}}.Encode()
}

// Headless Chromium with two profiles in two user-data-dirs: each signs
// in as its own identity and keeps it, side by side, and a logout ends
// only its own session.
func TestConsoleInChromiumProfiles(t *testing.T) {
	testpeer.Chromium(t)
	l, base := start(t, Options{TTL: time.Hour})
	ctx := context.Background()
	user := userCreds(l.Users()[0])
	ar, err := assume(ctx, base, user, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(DefaultRole)), RoleSessionName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	fo, err := federationToken(ctx, base, user, "bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	roleARN := "arn:aws:sts::000000000000:assumed-role/" + DefaultRole + "/alice"
	fedARN := "arn:aws:sts::000000000000:federated-user/bob"
	shows := func(dom, arn string) bool { return strings.Contains(dom, `<span id="identity">`+arn+`</span>`) }

	dom := testpeer.ChromiumDumpDOM(t, dirA, loginURL(t, base, sessionCreds(ar.Credentials), "https://console.aws.amazon.com/s3/home"))
	if !shows(dom, roleARN) || !strings.Contains(dom, `<span id="destination">https://console.aws.amazon.com/s3/home</span>`) {
		t.Fatalf("profile a after login:\n%s", dom)
	}
	dom = testpeer.ChromiumDumpDOM(t, dirB, loginURL(t, base, sessionCreds(fo.Credentials), "https://console.aws.amazon.com/ec2/home"))
	if !shows(dom, fedARN) {
		t.Fatalf("profile b after login:\n%s", dom)
	}
	// Each profile keeps its own session.
	if dom := testpeer.ChromiumDumpDOM(t, dirA, base+"/console/"); !shows(dom, roleARN) {
		t.Errorf("profile a later:\n%s", dom)
	}
	if dom := testpeer.ChromiumDumpDOM(t, dirB, base+"/console/"); !shows(dom, fedARN) {
		t.Errorf("profile b later:\n%s", dom)
	}
	// A profile never signed in shows nobody.
	if dom := testpeer.ChromiumDumpDOM(t, filepath.Join(t.TempDir(), "c"), base+"/console/"); !shows(dom, "not signed in") {
		t.Errorf("a fresh profile:\n%s", dom)
	}
	// Logout in a ends a's session only.
	if dom := testpeer.ChromiumDumpDOM(t, dirA, base+"/oauth?Action=logout&redirect_uri="+url.QueryEscape(base+"/console/")); !shows(dom, "not signed in") {
		t.Errorf("profile a after logout:\n%s", dom)
	}
	if dom := testpeer.ChromiumDumpDOM(t, dirB, base+"/console/"); !shows(dom, fedARN) {
		t.Errorf("profile b after a's logout:\n%s", dom)
	}
	// A sign-in token that was never issued logs nobody in.
	bad := base + "/federation?" + url.Values{"Action": {"login"}, "Destination": {"https://console.aws.amazon.com/"}, "SigninToken": {"labsignin00"}}.Encode()
	if dom := testpeer.ChromiumDumpDOM(t, dirA, bad); !strings.Contains(dom, "The sign-in token is not valid or has expired") {
		t.Errorf("an unknown sign-in token:\n%s", dom)
	}
}

// The AWS CLI v2 (an independent client) gets a federation token from
// the lab, and the token's credentials sign its next call.
func TestGetFederationTokenWithAWSCLI(t *testing.T) {
	cli := testpeer.AWSCLIv2(t)
	l, base := start(t, Options{})
	env := awsFiles(t, l)
	out, err := runPeer(t, env, cli, "sts", "get-federation-token", "--name", "cli-user", "--duration-seconds", "900",
		"--policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "--endpoint-url", base, "--output", "json")
	if err != nil {
		t.Fatalf("get-federation-token: %v\n%s", err, out)
	}
	var ans struct {
		Credentials   struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		FederatedUser struct{ Arn string }
	}
	if err := json.Unmarshal([]byte(out), &ans); err != nil || ans.FederatedUser.Arn != "arn:aws:sts::000000000000:federated-user/cli-user" {
		t.Fatalf("answer %v:\n%s", err, out)
	}
	c := ans.Credentials
	env = append(env, "AWS_ACCESS_KEY_ID="+c.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "AWS_SESSION_TOKEN="+c.SessionToken)
	out, err = runPeer(t, env, cli, "sts", "get-caller-identity", "--endpoint-url", base, "--output", "text", "--query", "Arn")
	if err != nil || strings.TrimSpace(out) != ans.FederatedUser.Arn {
		t.Errorf("get-caller-identity as the federated user: %v\n%s", err, out)
	}
	out, err = runPeer(t, env, cli, "sts", "get-federation-token", "--name", "again", "--endpoint-url", base)
	if err == nil || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "Cannot call GetFederationToken with session credentials") {
		t.Errorf("get-federation-token with session credentials: %v\n%s", err, out)
	}
}
