package creds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func link(name string, configured bool, reason string, cfgErr error, c Credentials, retrieveErr error) Link {
	return Link{
		Name:       name,
		Configured: func() (bool, string, error) { return configured, reason, cfgErr },
		Provider: func() (Provider, error) {
			return ProviderFunc(func(context.Context) (Credentials, error) { return c, retrieveErr }), nil
		},
	}
}

func statuses(t *Trace) string {
	var s []string
	for _, st := range t.Steps {
		s = append(s, st.Source+"="+string(st.Status))
	}
	return strings.Join(s, " ")
}

func TestChainPicksFirstConfigured(t *testing.T) {
	a := Credentials{AccessKeyID: "AKIDA", SecretAccessKey: "a"}
	b := Credentials{AccessKeyID: "AKIDB", SecretAccessKey: "b"}
	boom := errors.New("boom")
	cases := []struct {
		name    string
		links   []Link
		want    string // access key id, or "" for an error
		wantErr error
		trace   string
	}{
		{"first configured wins, later configured are shadowed",
			[]Link{link("env", false, "AWS_ACCESS_KEY_ID not set", nil, a, nil), link("profile", true, "static keys", nil, a, nil), link("imds", true, "", nil, b, nil)},
			"AKIDA", nil, "env=skipped profile=used imds=shadowed"},
		{"nothing configured",
			[]Link{link("env", false, "", nil, a, nil), link("imds", false, "disabled", nil, b, nil)},
			"", ErrNoCredentials, "env=skipped imds=skipped"},
		{"a chosen source that fails does not fall back",
			[]Link{link("process", true, "", nil, a, boom), link("imds", true, "", nil, b, nil)},
			"", boom, "process=failed imds=shadowed"},
		{"broken configuration stops the chain",
			[]Link{link("env", false, "", boom, a, nil), link("imds", true, "", nil, b, nil)},
			"", boom, "env=failed imds=not reached"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Chain{Links: tc.links}
			got, tr, err := c.Resolve(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || got.AccessKeyID != tc.want {
				t.Fatalf("got %v, %v", got, err)
			}
			if s := statuses(tr); s != tc.trace {
				t.Errorf("trace %q, want %q", s, tc.trace)
			}
		})
	}
}

func TestTraceStringNeverHoldsSecrets(t *testing.T) {
	c := Chain{Links: []Link{link("env", true, "AWS_ACCESS_KEY_ID set", nil, Credentials{AccessKeyID: "AKID", SecretAccessKey: "s3cr3t"}, nil)}}
	got, tr, err := c.Resolve(context.Background())
	if err != nil || got.Source != "env" {
		t.Fatal(got, err)
	}
	if strings.Contains(tr.String(), "s3cr3t") {
		t.Error("trace shows the secret")
	}
}

func TestExpiryWarnings(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := Credentials{Source: "environment", Expires: now.Add(4 * time.Minute)}
	if w := ExpiryWarnings(c, now, 15*time.Minute); len(w) != 1 || !strings.Contains(w[0], "expire in 4m0s") {
		t.Errorf("%v", w)
	}
	if w := ExpiryWarnings(c, now.Add(5*time.Minute), 15*time.Minute); len(w) != 1 || !strings.Contains(w[0], "expired at 2026-01-01T12:04:00Z, 1m0s ago") {
		t.Errorf("%v", w)
	}
	if w := ExpiryWarnings(Credentials{}, now, time.Hour); w != nil {
		t.Errorf("static credentials warned: %v", w)
	}
}

// A chain with nothing configured fails with ErrNoCredentials itself, so
// that callers' errors.Is checks hold for it as they do for the errors of
// source and sigv4 that wrap it.
func TestEmptyChainIsNoCredentials(t *testing.T) {
	for _, links := range [][]Link{nil, {link("env", false, "AWS_ACCESS_KEY_ID not set", nil, Credentials{}, nil)}} {
		_, tr, err := (&Chain{Links: links}).Resolve(context.Background())
		if !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%d links: err = %v, want ErrNoCredentials", len(links), err)
		}
		if tr == nil || tr.Chosen != "" {
			t.Errorf("%d links: trace %+v", len(links), tr)
		}
	}
}
