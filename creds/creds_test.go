package creds

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFormatNeverPrintsSecrets(t *testing.T) {
	c := Credentials{
		AccessKeyID:     "AKIDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		SessionToken:    "FwoGZXIvYXdzEXAMPLETOKEN",
		Expires:         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:          "environment",
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out := fmt.Sprintf(verb, c)
		if strings.Contains(out, c.SecretAccessKey) || strings.Contains(out, c.SessionToken) {
			t.Errorf("%s printed a secret: %s", verb, out)
		}
		if !strings.Contains(out, "AKIDEXAMPLE") {
			t.Errorf("%s lost the access key id: %s", verb, out)
		}
	}
	// Inside other values too.
	wrapped := fmt.Sprintf("%+v", struct{ C Credentials }{c})
	if strings.Contains(wrapped, c.SecretAccessKey) {
		t.Errorf("nested %%+v printed the secret: %s", wrapped)
	}
	if err := fmt.Errorf("sign with %v: boom", c); strings.Contains(err.Error(), c.SecretAccessKey) {
		t.Errorf("error message carries the secret: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	static := Credentials{AccessKeyID: "A", SecretAccessKey: "S"}
	if static.Expired(now) || static.CanExpire() || static.TimeLeft(now) != 0 {
		t.Errorf("static credentials must never expire")
	}
	c := Credentials{AccessKeyID: "A", SecretAccessKey: "S", Expires: now.Add(time.Minute)}
	if c.Expired(now) || c.TimeLeft(now) != time.Minute {
		t.Errorf("one minute left expected")
	}
	if !c.Expired(now.Add(time.Minute)) {
		t.Errorf("credentials at their expiry instant must count as expired")
	}
}
