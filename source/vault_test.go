package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/lab"
)

// labSTS is the lab's STS on loopback, with a request recorder.
type labSTS struct {
	rec    *stsRecorder
	client *http.Client
	url    string
}

func newLabSTS(t *testing.T, l *lab.Lab) *labSTS {
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	rec := &stsRecorder{next: &http.Transport{Proxy: nil}}
	return &labSTS{rec: rec, client: &http.Client{Transport: rec, Timeout: 30 * time.Second}, url: srv.URL}
}

func (m *labSTS) opts() STSOptions {
	return STSOptions{Region: "us-east-1", Endpoint: m.url, HTTPClient: m.client}
}

// callerIdentity asks the lab who c is (unrecorded).
func (m *labSTS) callerIdentity(t *testing.T, c creds.Credentials) (arn, errText string) {
	t.Helper()
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.url),
		Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err.Error()
	}
	return aws.ToString(out.Arn), ""
}

// memKeys is a KeyStore of a map.
type memKeys map[string]creds.Credentials

func (m memKeys) StoredKeys(p string) (creds.Provider, bool, error) {
	c, ok := m[p]
	return creds.Static{Creds: c}, ok, nil
}
func (memKeys) StoreName() string { return "vault (test backend)" }

// memSessions is a SessionStore of a map, counting stores.
type memSessions struct {
	mu     sync.Mutex
	m      map[string]creds.Credentials
	stored []string
}

func (s *memSessions) CachedSession(kind, profile, serial string) (creds.Credentials, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[kind+"|"+profile+"|"+serial]
	return c, ok
}

func (s *memSessions) StoreSession(kind, profile, serial string, c creds.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]creds.Credentials{}
	}
	s.m[kind+"|"+profile+"|"+serial] = c
	s.stored = append(s.stored, kind+"|"+profile+"|"+serial)
	return nil
}

// A profile whose keys are in the vault signs with a GetSessionToken
// session (MFA code from mfa_process), cached; a role needing MFA is
// assumed with that session, without a code of its own, and cached too.
func TestStoredKeysSessions(t *testing.T) {
	// moto's GetSessionToken returns keys that do not sign; the lab's
	// verify every signature.
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := newLabSTS(t, l)
	ctx := context.Background()
	u := l.Users()[0]
	userID, userSecret := u.AccessKeyID, u.SecretAccessKey
	// The role's trust policy needs aws:MultiFactorAuthPresent.
	role := l.RoleARN(lab.DefaultMFARole)
	serial := u.MFASerial

	// mfa_process is an RFC 6238 TOTP generator in Python (not the lab's
	// own) that counts its runs; the lab checks the codes.
	dir := t.TempDir()
	counter := filepath.Join(dir, "codes")
	secretFile := filepath.Join(dir, "secret")
	script := filepath.Join(dir, "totp.py")
	os.WriteFile(secretFile, []byte(u.MFASecret+"\n"), 0o600)
	os.WriteFile(script, []byte(`import base64, hashlib, hmac, struct, sys, time
s = open(sys.argv[1]).read().strip()
k = base64.b32decode(s + "=" * (-len(s) % 8))
h = hmac.new(k, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
open(sys.argv[2], "a").write("run\n")
`), 0o600)
	mfaCmd := "python3 " + script + " " + secretFile + " " + counter
	files := loadFiles(t,
		"[profile base]\nregion = us-east-1\nmfa_serial = "+serial+"\nmfa_process = "+mfaCmd+"\n"+
			"[profile admin]\nrole_arn = "+role+"\nsource_profile = base\nmfa_serial = "+serial+"\nmfa_process = "+mfaCmd+"\nrole_session_name = vaulted\n",
		absent)
	keys := memKeys{"base": {AccessKeyID: userID, SecretAccessKey: userSecret, Source: "vault"}}
	sessions := &memSessions{}
	opts := ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts(), Keys: keys, Sessions: sessions}
	runs := func() int {
		b, _ := os.ReadFile(counter)
		return strings.Count(string(b), "run")
	}

	t.Run("session token for the profile itself", func(t *testing.T) {
		m.rec.reset()
		chain, err := FromProfile(files, "base", opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := "vault (test backend) of profile base -> session token with MFA device " + serial + " (cached in the vault)"; chain.String() != want {
			t.Errorf("String() = %q, want %q", chain.String(), want)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SessionToken == "" || c.AccessKeyID == userID {
			t.Errorf("credentials %v are not a session", c)
		}
		reqs := m.rec.requests()
		if len(reqs) != 1 || reqs[0].form.Get("Action") != "GetSessionToken" || reqs[0].keyID != userID ||
			reqs[0].form.Get("SerialNumber") != serial || len(reqs[0].form.Get("TokenCode")) != 6 || reqs[0].form.Get("DurationSeconds") != "3600" {
			t.Fatalf("requests = %+v", reqs)
		}
		if runs() != 1 {
			t.Errorf("mfa_process ran %d times, want 1", runs())
		}
		arn, code := m.callerIdentity(t, c)
		if !strings.HasSuffix(arn, ":user/"+u.Name) {
			t.Errorf("session belongs to %q (%s)", arn, code)
		}
		// A second process (a new chain) reuses the cached session.
		m.rec.reset()
		chain2, _ := FromProfile(files, "base", opts)
		c2, err := chain2.Retrieve(ctx)
		if err != nil || c2.AccessKeyID != c.AccessKeyID {
			t.Errorf("second retrieve = %v, %v; want the cached session %s", c2, err, c.AccessKeyID)
		}
		if n := len(m.rec.requests()); n != 0 || runs() != 1 {
			t.Errorf("cached session: %d STS calls, %d mfa_process runs; want 0 and 1", n, runs())
		}
	})

	t.Run("role needing MFA assumed with the session", func(t *testing.T) {
		m.rec.reset()
		chain, err := FromProfile(files, "admin", opts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reqs := m.rec.requests()
		// The GetSessionToken session of base is in the cache already.
		if len(reqs) != 1 || reqs[0].form.Get("Action") != "AssumeRole" || !strings.HasPrefix(reqs[0].keyID, "ASIA") ||
			reqs[0].form.Has("SerialNumber") || reqs[0].form.Has("TokenCode") {
			t.Fatalf("requests = %+v; want one AssumeRole signed by the MFA session, without a code", reqs)
		}
		if runs() != 1 {
			t.Errorf("mfa_process ran %d times, want 1 (the session carries the MFA)", runs())
		}
		arn, _ := m.callerIdentity(t, c)
		if !strings.HasSuffix(arn, ":assumed-role/"+lab.DefaultMFARole+"/vaulted") {
			t.Errorf("caller = %q", arn)
		}
		if got := sessions.stored[len(sessions.stored)-1]; got != "AssumeRole|admin|"+serial {
			t.Errorf("last stored session = %q", got)
		}
		m.rec.reset()
		chain2, _ := FromProfile(files, "admin", opts)
		if c2, err := chain2.Retrieve(ctx); err != nil || c2.AccessKeyID != c.AccessKeyID || len(m.rec.requests()) != 0 {
			t.Errorf("second retrieve = %v, %v with %d calls; want the cached role session", c2, err, len(m.rec.requests()))
		}
	})

	t.Run("a cached role session is not reused for another role", func(t *testing.T) {
		edited := loadFiles(t,
			"[profile base]\nregion = us-east-1\nmfa_serial = "+serial+"\nmfa_process = "+mfaCmd+"\n"+
				"[profile admin]\nrole_arn = "+l.RoleARN(lab.DefaultRole)+"\nsource_profile = base\nmfa_serial = "+serial+"\nrole_session_name = vaulted\n",
			absent)
		m.rec.reset()
		chain, err := FromProfile(edited, "admin", opts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arn, _ := m.callerIdentity(t, c)
		if !strings.HasSuffix(arn, ":assumed-role/"+lab.DefaultRole+"/vaulted") {
			t.Errorf("after role_arn changed, caller = %q (a session of the old role was reused)", arn)
		}
		if reqs := m.rec.requests(); len(reqs) != 1 || reqs[0].form.Get("RoleArn") != l.RoleARN(lab.DefaultRole) {
			t.Errorf("requests = %+v", reqs)
		}
	})

	t.Run("profile only in the vault", func(t *testing.T) {
		m.rec.reset()
		keys["vault-only"] = keys["base"]
		chain, err := FromProfile(files, "vault-only", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts(), Keys: keys, Sessions: &memSessions{}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := chain.Retrieve(ctx)
		if err != nil || !strings.HasPrefix(c.AccessKeyID, "ASIA") {
			t.Fatalf("retrieve = %v, %v", c, err)
		}
		if reqs := m.rec.requests(); len(reqs) != 1 || reqs[0].form.Has("SerialNumber") {
			t.Errorf("requests = %+v; want one GetSessionToken without MFA", reqs)
		}
		// Without a session store, the keys themselves.
		chain, err = FromProfile(files, "vault-only", ProfileOptions{Getenv: fakeEnv{}.get, STS: m.opts(), Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		if c, err := chain.Retrieve(ctx); err != nil || c.AccessKeyID != userID {
			t.Errorf("retrieve = %v, %v; want the stored keys", c, err)
		}
		if _, err := FromProfile(files, "nowhere", opts); err == nil {
			t.Error("a profile in neither the files nor the vault resolved")
		}
	})
}

func TestMFAProcess(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cmd, want, err string
	}{
		{`echo " 654321 "`, "654321", ""},
		{`echo 12345`, "", "not a 6-digit code"},
		{`echo hunter2secret`, "", "14 bytes that are not a 6-digit code"},
		{`sh -c "exit 3"`, "", "exited with status 3"},
		{`/nonexistent/totp`, "", "cannot be run"},
		{`echo "unclosed`, "", "cannot be split"},
	} {
		m := &MFAProcess{Command: tc.cmd, Stderr: &strings.Builder{}}
		code, err := m.MFACode(ctx, "arn:aws:iam::1:mfa/x")
		if tc.err == "" {
			if err != nil || code != tc.want {
				t.Errorf("%s: %q, %v; want %q", tc.cmd, code, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", tc.cmd, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error quotes the output: %v", err)
		}
		if strings.Contains(tc.err, "6-digit") && !errors.Is(err, ErrMFAProcessOutput) {
			t.Errorf("%s: error does not wrap ErrMFAProcessOutput", tc.cmd)
		}
	}
	m := &MFAProcess{Command: "sleep 5", Timeout: 100 * time.Millisecond}
	if _, err := m.MFACode(ctx, "s"); err == nil || !strings.Contains(err.Error(), "within") {
		t.Errorf("slow mfa_process: %v", err)
	}
}
