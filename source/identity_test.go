package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/lab"
)

// near fails unless got is within 3 s of want.
func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -3*time.Second || d > 3*time.Second {
		t.Errorf("%s = %s, want about %s (off by %s)", what, got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339), d)
	}
}

// GetCallerIdentity on moto, which checks signatures.
func TestCallerIdentityMoto(t *testing.T) {
	ctx := context.Background()
	m := startMotoSTS(t)
	id, secret := m.NewUserKeys(t, "whoami-user")
	user := creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test user"}

	t.Run("user keys", func(t *testing.T) {
		got, err := CallerIdentity(ctx, user, m.opts())
		if err != nil {
			t.Fatal(err)
		}
		if got.ARN != "arn:aws:iam::"+m.AccountID+":user/whoami-user" || got.Account != m.AccountID || got.UserID == "" {
			t.Errorf("identity %+v", got)
		}
		if got.Endpoint != m.Endpoint {
			t.Errorf("endpoint %q, want %q", got.Endpoint, m.Endpoint)
		}
		near(t, "server time", got.ServerTime, time.Now())
		reqs := m.rec.requests()
		if last := reqs[len(reqs)-1]; last.form.Get("Action") != "GetCallerIdentity" || last.keyID != id {
			t.Errorf("request %+v", last)
		}
	})

	t.Run("role session", func(t *testing.T) {
		role := m.NewRole(t, "whoami-role")
		sess, err := (&AssumeRole{Source: creds.Static{Creds: user}, RoleARN: role, RoleSessionName: "who", Options: m.opts()}).Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CallerIdentity(ctx, sess, m.opts())
		if err != nil || got.ARN != "arn:aws:sts::"+m.AccountID+":assumed-role/whoami-role/who" {
			t.Fatalf("identity %+v, %v", got, err)
		}
	})

	for _, c := range []struct {
		name string
		c    creds.Credentials
		code string
	}{
		{"wrong secret", creds.Credentials{AccessKeyID: id, SecretAccessKey: secretB}, "SignatureDoesNotMatch"},
		{"unknown key", creds.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: secretA}, "InvalidClientTokenId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := CallerIdentity(ctx, c.c, m.opts())
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != c.code || ae.Operation != "GetCallerIdentity" || ae.StatusCode != 403 {
				t.Fatalf("err = %v; want an *APIError %s (HTTP 403)", err, c.code)
			}
			noSecrets(t, err)
			containsAll(t, err.Error(), "STS GetCallerIdentity at "+m.Endpoint+" with "+c.c.AccessKeyID+": "+c.code+": ")
			// The answer's Date is read from error answers too.
			near(t, "server time of an error answer", got.ServerTime, time.Now())
		})
	}

	t.Run("no keys", func(t *testing.T) {
		before := len(m.rec.requests())
		_, err := CallerIdentity(ctx, creds.Credentials{AccessKeyID: id}, m.opts())
		if !errors.Is(err, creds.ErrNoCredentials) {
			t.Errorf("err = %v, want creds.ErrNoCredentials", err)
		}
		if len(m.rec.requests()) != before {
			t.Error("a request was sent without keys")
		}
	})
}

// The lab's clock runs ahead or behind: the identity says by how much,
// whether the signature was accepted (within 15 minutes, as AWS does) or
// refused. The SDK's clock skew correction must not hide a refusal.
func TestCallerIdentityLabClockSkew(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		skew time.Duration
		ok   bool
	}{{0, true}, {10 * time.Minute, true}, {-10 * time.Minute, true}, {20 * time.Minute, false}, {-20 * time.Minute, false}} {
		t.Run(fmt.Sprint(c.skew), func(t *testing.T) {
			l, err := lab.New(lab.Options{ClockSkew: c.skew})
			if err != nil {
				t.Fatal(err)
			}
			s := newLabSTS(t, l)
			u := l.Users()[0]
			got, err := CallerIdentity(ctx, creds.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}, s.opts())
			near(t, "server time", got.ServerTime, time.Now().Add(c.skew))
			if got.Endpoint != s.url {
				t.Errorf("endpoint %q, want %q", got.Endpoint, s.url)
			}
			if c.ok {
				if err != nil || !strings.HasSuffix(got.ARN, ":user/"+u.Name) {
					t.Errorf("identity %+v, %v", got, err)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != "SignatureDoesNotMatch" {
				t.Fatalf("err = %v; want an *APIError SignatureDoesNotMatch", err)
			}
			if n := len(s.rec.requests()); n != 1 {
				t.Errorf("%d requests; a skewed signature is refused once, not retried with a corrected clock", n)
			}
		})
	}
}
