package creds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStaticRefusesExpiredCredentials(t *testing.T) {
	now := time.Now()
	session := Credentials{AccessKeyID: "ASIASTATIC", SecretAccessKey: "sekrit-static", SessionToken: "tok-static", Source: "a copied session"}
	for _, c := range []struct {
		name    string
		expires time.Time
		wantErr bool
	}{
		{"no expiry never expires", time.Time{}, false},
		{"before the expiry", now.Add(time.Hour), false},
		{"just expired", now.Add(-time.Millisecond), true},
		{"long expired", now.Add(-24 * time.Hour), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr := session
			cr.Expires = c.expires
			got, err := Static{Creds: cr}.Retrieve(context.Background())
			if !c.wantErr {
				if err != nil || got != cr {
					t.Fatalf("got %v, %v; want the credentials", got, err)
				}
				return
			}
			if !errors.Is(err, ErrExpired) || got != (Credentials{}) {
				t.Fatalf("got %v, %v; want no credentials and ErrExpired", got, err)
			}
			msg := err.Error()
			for _, want := range []string{"ASIASTATIC", "a copied session", "expired at " + c.expires.UTC().Format(time.RFC3339)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, cr.SecretAccessKey) || strings.Contains(msg, cr.SessionToken) {
				t.Errorf("error %q holds a secret", msg)
			}
		})
	}
}

// Static stays comparable: providers are compared with ==.
func TestStaticIsComparable(t *testing.T) {
	var a, b Provider = Static{Creds: Credentials{AccessKeyID: "A"}}, Static{Creds: Credentials{AccessKeyID: "A"}}
	if a != b {
		t.Error("two Static providers of the same credentials differ")
	}
}
