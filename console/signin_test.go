package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
)

// later is a clock that tests move forward.
type later struct{ ahead atomic.Int64 }

func (c *later) Now() time.Time      { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *later) Add(d time.Duration) { c.ahead.Add(int64(d)) }

// labFixture is a lab on a test server with the user's keys and a role
// session of it.
type labFixture struct {
	lab        *lab.Lab
	url        string
	clock      *later
	user, role creds.Credentials
	opts       Options
}

func startLab(t *testing.T) *labFixture {
	t.Helper()
	c := &later{}
	l, err := lab.New(lab.Options{TTL: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	t.Cleanup(s.Close)
	u := l.Users()[0]
	f := &labFixture{lab: l, url: s.URL, clock: c, user: creds.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}}
	f.opts = Options{STS: source.STSOptions{Region: "us-east-1", Endpoint: s.URL, MaxAttempts: 1}, FederationEndpoint: s.URL + "/federation"}
	prov := &source.AssumeRole{Source: creds.Static{Creds: f.user}, RoleARN: l.RoleARN(lab.DefaultRole), RoleSessionName: "console-test", Options: f.opts.STS}
	if f.role, err = prov.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// noSecret fails when err quotes one of the credentials' secrets.
func noSecret(t *testing.T, err error, cs ...creds.Credentials) {
	t.Helper()
	for _, c := range cs {
		for _, s := range []string{c.SecretAccessKey, c.SessionToken} {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("the error quotes a secret: %v", err)
			}
		}
	}
	if strings.Contains(err.Error(), "sessionKey") || strings.Contains(err.Error(), "SigninToken=") {
		t.Errorf("the error quotes the session or a sign-in URL: %v", err)
	}
}

func TestURLForEachKindOfCredentials(t *testing.T) {
	f := startLab(t)
	ctx := context.Background()
	roleARN := "arn:aws:sts::000000000000:assumed-role/lab-role/console-test"

	s, err := URL(ctx, f.role, Request{Region: "eu-west-1", Destination: "s3", Duration: 2 * time.Hour}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.ARN != roleARN || s.Kind != KindRole || s.SessionDuration != 2*time.Hour || len(s.Notes) != 0 {
		t.Errorf("role: %+v", s)
	}
	u, _ := url.Parse(s.URL)
	q := u.Query()
	if u.Path != "/federation" || q.Get("Action") != "login" || q.Get("Issuer") != DefaultIssuer ||
		q.Get("Destination") != "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1" || !strings.HasPrefix(q.Get("SigninToken"), "labsignin") {
		t.Errorf("login URL %s", u.Redacted())
	}
	if strings.Contains(s.String(), "labsignin") {
		t.Errorf("String() shows the URL: %s", s)
	}

	// Long-term keys go through GetFederationToken.
	s, err = URL(ctx, f.user, Request{Duration: 3 * time.Hour}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.ARN != "arn:aws:sts::000000000000:federated-user/lab-user" || s.Kind != KindUser || s.SessionDuration != 0 || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "GetFederationToken") {
		t.Errorf("user: %+v", s)
	}
	if got := f.lab.Summary().IssuedBy[lab.KindFederationToken]; got != 1 {
		t.Errorf("GetFederationToken calls: %d", got)
	}

	// A role session asked for 20h gets 12h, and says so.
	s, err = URL(ctx, f.role, Request{Duration: 20 * time.Hour}, f.opts)
	if err != nil || s.SessionDuration != 12*time.Hour || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "became 12h0m0s") {
		t.Errorf("role 20h: %+v %v", s, err)
	}

	// Logout first: the logout page on the endpoint's host, then the login.
	s, err = URL(ctx, f.role, Request{LogoutFirst: true}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	u, _ = url.Parse(s.URL)
	if u.Path != "/oauth" || u.Query().Get("Action") != "logout" || !strings.HasPrefix(u.Query().Get("redirect_uri"), f.url+"/federation?Action=login&") {
		t.Errorf("logout-first URL %s", u.Redacted())
	}
}

func TestURLRefuses(t *testing.T) {
	f := startLab(t)
	ctx := context.Background()
	gst, err := (&source.SessionToken{Source: creds.Static{Creds: f.user}, Options: f.opts.STS}).Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := URL(ctx, gst, Request{}, f.opts); !errors.Is(err, ErrSessionToken) {
		t.Errorf("GetSessionToken session: %v", err)
	}
	if _, err := URL(ctx, f.role, Request{Region: "cn-north-1"}, f.opts); err == nil || !strings.Contains(err.Error(), "partition aws") {
		t.Errorf("aws credentials with a China region: %v", err)
	}
	if _, err := URL(ctx, f.role, Request{Destination: "https://evil.example.com/"}, f.opts); !errors.Is(err, ErrDestination) {
		t.Errorf("a destination off the console: %v", err)
	}
	if _, err := URL(ctx, f.role, Request{Region: "us-isob-east-1"}, f.opts); !errors.Is(err, ErrNoConsolePartition) {
		t.Errorf("an isolated region: %v", err)
	}
}

// getSigninToken itself refuses temporary credentials the endpoint does
// not know and expired ones, and its errors quote no secret.
func TestSigninTokenRefusesUnknownAndExpired(t *testing.T) {
	f := startLab(t)
	ctx := context.Background()
	id, secret := lab.NewKey("ASIA")
	unknown := creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: "IQoJunknown" + secret}
	_, err := signinToken(ctx, nil, f.opts.FederationEndpoint, unknown, 0)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "400 Bad Request: The session credentials are not valid") {
		t.Errorf("unknown credentials: %v", err)
	} else {
		noSecret(t, err, unknown)
	}
	if _, err := signinToken(ctx, nil, f.opts.FederationEndpoint, f.role, 3600*time.Second); err != nil {
		t.Fatalf("live role session: %v", err)
	}
	f.clock.Add(2 * time.Hour)
	_, err = signinToken(ctx, nil, f.opts.FederationEndpoint, f.role, 0)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "have expired") {
		t.Errorf("expired credentials: %v", err)
	} else {
		noSecret(t, err, f.role)
	}
	// An endpoint that does not answer: the error names it, without the
	// query that holds the session.
	_, err = signinToken(ctx, nil, "http://127.0.0.1:1/federation", f.role, 0)
	if err == nil || !strings.Contains(err.Error(), "getSigninToken at http://127.0.0.1:1/federation") ||
		!strings.Contains(err.Error(), "check the network and the federation endpoint, then retry") {
		t.Errorf("unreachable endpoint: %v", err)
	} else {
		noSecret(t, err, f.role)
	}
	// Something that answers, but not a federation endpoint.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>a page</html>")) }))
	defer page.Close()
	_, err = signinToken(ctx, nil, page.URL+"/federation", f.role, 0)
	if err == nil || !strings.Contains(err.Error(), "is "+page.URL+"/federation a federation endpoint?") {
		t.Errorf("not a federation endpoint: %v", err)
	} else {
		noSecret(t, err, f.role)
	}
}

// The URL signs a browser in: headless Chromium with two profiles shows
// each its own identity.
func TestURLSignsChromiumIn(t *testing.T) {
	testpeer.Chromium(t)
	f := startLab(t)
	ctx := context.Background()
	a, err := URL(ctx, f.role, Request{Destination: "iam"}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := URL(ctx, f.user, Request{}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	shows := func(dom, arn string) bool { return strings.Contains(dom, `<span id="identity">`+arn+`</span>`) }
	if dom := testpeer.ChromiumDumpDOM(t, dirA, a.URL); !shows(dom, a.ARN) || !strings.Contains(dom, `<span id="destination">https://console.aws.amazon.com/iam/home</span>`) {
		t.Errorf("profile a:\n%s", dom)
	}
	if dom := testpeer.ChromiumDumpDOM(t, dirB, b.URL); !shows(dom, b.ARN) {
		t.Errorf("profile b:\n%s", dom)
	}
	if dom := testpeer.ChromiumDumpDOM(t, dirA, f.url+"/console/"); !shows(dom, a.ARN) {
		t.Errorf("profile a again:\n%s", dom)
	}
	// Logging out first, then in as b, in a's profile.
	c, err := URL(ctx, f.user, Request{LogoutFirst: true}, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if dom := testpeer.ChromiumDumpDOM(t, dirA, c.URL); !shows(dom, c.ARN) {
		t.Errorf("profile a after logout and login as the federated user:\n%s", dom)
	}
}
