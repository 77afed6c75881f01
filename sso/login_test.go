package sso

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
)

// testUI is a UI whose browser is a function; it never waits for a human.
type testUI struct {
	mu      sync.Mutex
	browser func(u string) error
	shown   []string
	codes   []DeviceCode
	paste   func(ctx context.Context) (string, error)
}

func (u *testUI) OpenBrowser(s string) error {
	if u.browser == nil {
		return errors.New("no browser")
	}
	return u.browser(s)
}
func (u *testUI) Authorize(s string) { u.mu.Lock(); u.shown = append(u.shown, s); u.mu.Unlock() }
func (u *testUI) DeviceCode(d DeviceCode) {
	u.mu.Lock()
	u.codes = append(u.codes, d)
	u.mu.Unlock()
}
func (u *testUI) PasteCallback(ctx context.Context) (string, error) {
	if u.paste == nil {
		return "", errors.New("no terminal")
	}
	return u.paste(ctx)
}

func startLab(t *testing.T, o lab.Options) (*lab.Lab, string) {
	t.Helper()
	l, err := lab.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	t.Cleanup(s.Close)
	return l, s.URL
}

func labSession(base, dir string) *Session {
	return &Session{Name: lab.SSOSession, StartURL: lab.SSOStartURL, Region: lab.Region, OIDCEndpoint: base, PortalEndpoint: base, CacheDir: dir}
}

// followRedirects is a browser without a page: it follows /authorize's
// redirect to the loopback listener.
func followRedirects(t *testing.T) func(string) error {
	return func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("browser ended at %s with %s", resp.Request.URL.Path, resp.Status)
		}
		return nil
	}
}

func TestPKCELoginWritesTheCacheAndTheSDKRefreshesIt(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	l, base := startLab(t, lab.Options{SSO: lab.SSOOptions{TokenTTL: 2 * time.Second}})
	s := labSession(base, "")
	ui := &testUI{browser: followRedirects(t)}
	tok, err := Login(context.Background(), s, LoginOptions{UI: ui, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sdkPath, err := ssocreds.StandardCachedTokenFilepath(lab.SSOSession)
	if err != nil || sdkPath != tok.File {
		t.Fatalf("aws-sdk-go-v2's cache file %s (%v), credkit's %s", sdkPath, err, tok.File)
	}
	if fi, err := os.Stat(tok.File); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	if !tok.Refreshable || len(ui.shown) != 1 || !strings.Contains(ui.shown[0], "code_challenge_method=S256") {
		t.Fatalf("token %+v, shown %v", tok, ui.shown)
	}
	// The registration asked for what the AWS CLI asks for.
	reg, err := source.ReadSSORegistration(tok.Registration)
	if err != nil || reg.ClientID == "" || len(reg.Scopes) != 1 || reg.Scopes[0] != DefaultScope {
		t.Fatalf("registration %+v %v", reg, err)
	}
	// aws-sdk-go-v2's token provider reads credkit's file and, once the
	// token has expired, refreshes it with the refresh token.
	time.Sleep(2100 * time.Millisecond)
	oc := ssooidc.New(ssooidc.Options{Region: lab.Region, BaseEndpoint: aws.String(base)})
	p := ssocreds.NewSSOTokenProvider(oc, sdkPath)
	bt, err := p.RetrieveBearerToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := l.SSOCalls()["CreateToken:refresh_token"]; n != 1 {
		t.Fatalf("the lab saw %d refresh grants, want 1 (calls %v)", n, l.SSOCalls())
	}
	after, _, err := source.ReadSSOToken(tok.File)
	if err != nil || after.AccessToken != bt.Value {
		t.Fatalf("the file after the SDK's refresh does not hold its token: %v", err)
	}
	st, err := TokenStatus(s)
	if err != nil || !st.Exists || st.Expired || !st.Refreshable {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestPKCEWithChromium(t *testing.T) {
	chromium := func(t *testing.T) func(string) error {
		dir := t.TempDir()
		return func(u string) error {
			dom := testpeer.ChromiumDumpDOM(t, filepath.Join(dir, "profile"), u)
			if !strings.Contains(dom, "Signed in") {
				t.Errorf("the loopback page Chromium ended at says %q", dom)
			}
			return nil
		}
	}
	testpeer.Chromium(t)
	l, base := startLab(t, lab.Options{})
	dir := t.TempDir()
	ui := &testUI{browser: chromium(t)}
	start := time.Now()
	tok, err := Login(context.Background(), labSession(base, dir), LoginOptions{UI: ui, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("login through Chromium: %v (after %s)", err, time.Since(start))
	}
	if tok.ExpiresAt.Before(time.Now().Add(50*time.Minute)) || l.SSOCalls()["CreateToken:authorization_code"] != 1 {
		t.Fatalf("token %+v, calls %v", tok, l.SSOCalls())
	}
}

func TestPKCERefusesAWrongState(t *testing.T) {
	_, base := startLab(t, lab.Options{})
	var wrong int
	ui := &testUI{browser: func(u string) error {
		au, _ := url.Parse(u)
		redirect := au.Query().Get("redirect_uri")
		// A redirect that this login did not start is refused, and the
		// login goes on waiting for the right one.
		resp, err := http.Get(redirect + "?code=forged&state=not-the-state")
		if err != nil {
			return err
		}
		resp.Body.Close()
		wrong = resp.StatusCode
		return followRedirects(t)(u)
	}}
	tok, err := Login(context.Background(), labSession(base, t.TempDir()), LoginOptions{UI: ui, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if wrong != http.StatusBadRequest || tok.File == "" {
		t.Fatalf("wrong state answered %d", wrong)
	}
}

func TestPKCEPastedCallbackAndTimeout(t *testing.T) {
	_, base := startLab(t, lab.Options{})
	// The browser is elsewhere: it cannot reach the listener, the user
	// pastes the address it ended at.
	var final string
	ready := make(chan struct{})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ui := &testUI{browser: func(u string) error {
		resp, err := hc.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		final = resp.Header.Get("Location")
		close(ready)
		return nil
	}, paste: func(ctx context.Context) (string, error) {
		<-ready
		return final, nil
	}}
	if _, err := Login(context.Background(), labSession(base, t.TempDir()), LoginOptions{UI: ui, Timeout: 30 * time.Second}); err != nil {
		t.Fatalf("pasted callback: %v", err)
	}
	// Nobody completes the sign-in: the flow gives up at its timeout.
	ui = &testUI{}
	start := time.Now()
	_, err := Login(context.Background(), labSession(base, t.TempDir()), LoginOptions{UI: ui, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 10*time.Second {
		t.Fatalf("timeout: %v", err)
	}
}

func TestPKCEPortInUse(t *testing.T) {
	_, base := startLab(t, lab.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Login(context.Background(), labSession(base, t.TempDir()), LoginOptions{UI: &testUI{}, RedirectPort: port})
	want := "--redirect-port " + strconv.Itoa(port) + ": 127.0.0.1:" + strconv.Itoa(port) + " is in use; pick another port, or leave --redirect-port out to use a free one"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v", err)
	}
}

func TestDeviceFlowPollsAsRFC8628(t *testing.T) {
	l, base := startLab(t, lab.Options{SSO: lab.SSOOptions{SlowDown: 1, AuthorizationPending: 1}})
	var slept []time.Duration
	ui := &testUI{}
	s := &Session{StartURL: lab.SSOStartURL, Region: lab.Region, OIDCEndpoint: base, PortalEndpoint: base, CacheDir: t.TempDir()}
	tok, err := Login(context.Background(), s, LoginOptions{Flow: Device, UI: ui, NoBrowser: true, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	// First grant at once: slow_down (interval 1 s + 5 s); then pending; then the token.
	if len(slept) != 2 || slept[0] != 6*time.Second || slept[1] != 6*time.Second {
		t.Fatalf("slept %v", slept)
	}
	if len(ui.codes) != 1 || ui.codes[0].UserCode == "" || !strings.Contains(ui.codes[0].Warning, "127.0.0.1 is not an AWS sign-in domain") {
		t.Fatalf("device code shown %+v", ui.codes)
	}
	want, _ := source.SSOTokenCacheFile(s.CacheDir, lab.SSOStartURL)
	if tok.File != want || tok.Refreshable || l.SSOCalls()["CreateToken:device_code"] != 1 {
		t.Fatalf("token %+v, calls %v", tok, l.SSOCalls())
	}
}

func TestDeviceFlowStopsAtExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, base := startLab(t, lab.Options{Now: clock, SSO: lab.SSOOptions{ManualApprove: true, DeviceCodeTTL: 20 * time.Second}})
	s := &Session{StartURL: lab.SSOStartURL, Region: lab.Region, OIDCEndpoint: base, CacheDir: t.TempDir(), Now: clock}
	polls := 0
	_, err := Login(context.Background(), s, LoginOptions{Flow: Device, UI: &testUI{}, NoBrowser: true, Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
		polls++
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "the device code expired before the sign-in was approved; run the login again") || polls < 15 || polls > 21 {
		t.Fatalf("after %d polls: %v", polls, err)
	}
}

func TestAWSSignInHost(t *testing.T) {
	for host, want := range map[string]bool{
		"device.sso.us-east-1.amazonaws.com": true, "d-123.awsapps.com": true, "oidc.eu-west-1.amazonaws.com": true,
		"amazonaws.com.evil.example": false, "127.0.0.1": false, "evilawsapps.com": false,
	} {
		if AWSSignInHost(host) != want {
			t.Errorf("%s: %v", host, !want)
		}
	}
}
