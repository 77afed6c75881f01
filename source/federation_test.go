package source

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// moto answers GetFederationToken; the request carries the name, policy
// and duration asked for, signed with the user's key.
func TestFederationTokenWithMoto(t *testing.T) {
	m := startMotoSTS(t)
	ctx := context.Background()
	admin := creds.Static{Creds: creds.Credentials{AccessKeyID: m.AdminAccessKeyID, SecretAccessKey: m.AdminSecretAccessKey}}
	const policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	p := &FederationToken{Source: admin, Name: "console-user", Policy: policy, Duration: 3 * time.Hour, Options: m.opts()}
	start := time.Now()
	c, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reqs := m.rec.requests()
	if len(reqs) != 1 || reqs[0].form.Get("Action") != "GetFederationToken" || reqs[0].keyID != m.AdminAccessKeyID ||
		reqs[0].form.Get("Name") != "console-user" || reqs[0].form.Get("Policy") != policy || reqs[0].form.Get("DurationSeconds") != "10800" {
		t.Errorf("requests = %+v", reqs)
	}
	if !c.HasKeys() || !c.Temporary() || c.AccountID != m.AccountID {
		t.Errorf("credentials = %v (account %q, want %s)", c, c.AccountID, m.AccountID)
	}
	if left := c.Expires.Sub(start); left < 179*time.Minute || left > 181*time.Minute {
		t.Errorf("expires in %v, want 3h", left)
	}

	p = &FederationToken{Source: creds.Static{Creds: creds.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: secretA}}, Name: "x1", Options: m.opts()}
	_, err = p.Retrieve(ctx)
	noSecrets(t, err)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "InvalidClientTokenId" {
		t.Fatalf("err = %v", err)
	}
	containsAll(t, err.Error(), "get federation token for x1 with AKIAUNKNOWNUNKNOWN00: InvalidClientTokenId: ")
}
