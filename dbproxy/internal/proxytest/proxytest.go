// Package proxytest holds what the tests of dbproxy and its engines share:
// credentials as AWS hands them out, a credential source the test changes
// while the proxy runs, one that rotates on its own, tokens signed by
// given credentials, a log buffer and medians for benchmarks.
package proxytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/internal/testpeer"
)

// SessionCreds returns credentials as STS hands them out: an ASIA key id,
// a secret and a session token over 1 KB.
func SessionCreds(expires time.Time) creds.Credentials {
	h := randHex(600)
	return creds.Credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(h[:16]),
		SecretAccessKey: h[16:56],
		SessionToken:    "FwoGZXIvYXdz" + h[56:],
		Expires:         expires,
		Source:          "test session",
	}
}

// StaticCreds returns long-term keys: an AKIA key id and a secret.
func StaticCreds() creds.Credentials {
	h := randHex(40)
	return creds.Credentials{AccessKeyID: "AKIA" + strings.ToUpper(h[:16]), SecretAccessKey: h[16:56], Source: "test keys"}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Trust makes r accept tokens signed with c until c expires.
func Trust(r *testpeer.FakeRDS, c creds.Credentials) {
	r.Trust(c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires)
}

// Provider is a credential source a test changes while the proxy runs.
// Invalidate, which the proxy calls before its retry, swaps in
// OnInvalid's credentials when it is set.
type Provider struct {
	mu          sync.Mutex
	C           creds.Credentials
	OnInvalid   func() creds.Credentials
	retrieved   int
	invalidated int
}

func (p *Provider) Retrieve(context.Context) (creds.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retrieved++
	return p.C, nil
}

func (p *Provider) Invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.invalidated++
	if p.OnInvalid != nil {
		p.C = p.OnInvalid()
	}
}

// Retrieved is how many times the proxy asked for credentials.
func (p *Provider) Retrieved() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.retrieved
}

// SyncBuffer is a log destination that several goroutines write.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Median is the median of v (v is not changed).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// Metric sums the samples of a counter or gauge whose labels include
// label (name=value; empty for all).
func Metric(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, l := range m.GetLabel() {
				if l.GetName()+"="+l.GetValue() == label {
					match = true
				}
			}
			if !match {
				continue
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// Rotating hands out session credentials as a credential source that
// rotates does: a new set every Every, each dying Life after it was
// issued, and each trusted by RDS only until it dies (so RDS refuses a
// token signed by a set that has expired, as RDS does).
type Rotating struct {
	RDS         *testpeer.FakeRDS
	Every, Life time.Duration

	mu     sync.Mutex
	issued time.Time
	sets   []creds.Credentials
}

func (p *Rotating) Retrieve(context.Context) (creds.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sets) == 0 || time.Since(p.issued) >= p.Every {
		p.issued = time.Now()
		c := SessionCreds(p.issued.Add(p.Life))
		Trust(p.RDS, c)
		p.sets = append(p.sets, c)
	}
	return p.sets[len(p.sets)-1], nil
}

// Sets returns the credential sets issued so far, oldest first.
func (p *Rotating) Sets() []creds.Credentials {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sets)
}

// TokenSignedBy returns an IAM token for r's user signed with c, whether
// or not c has expired: what a client that kept an old token holds.
func TokenSignedBy(t testing.TB, r *testpeer.FakeRDS, user string, c creds.Credentials) string {
	t.Helper()
	c.Expires = time.Time{}
	tokens := &dbproxy.Tokens{Credentials: creds.Static{Creds: c}}
	tok, err := tokens.Token(context.Background(), dbproxy.TokenRequest{Host: r.Host, Port: r.Port, Region: r.Region, User: user}, false)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// LastLogin returns r's verifier's last decision on a token signed by
// accessKeyID, and whether there was one.
func LastLogin(t testing.TB, r *testpeer.FakeRDS, accessKeyID string) (testpeer.Login, bool) {
	t.Helper()
	logins := r.Logins(t)
	for i := len(logins) - 1; i >= 0; i-- {
		if logins[i].AccessKeyID == accessKeyID {
			return logins[i], true
		}
	}
	return testpeer.Login{}, false
}

// CheckAllAccepted fails t for every login r's verifier refused, and
// returns how many credential sets signed the logins.
func CheckAllAccepted(t testing.TB, r *testpeer.FakeRDS) (sets int) {
	t.Helper()
	keys := map[string]bool{}
	for _, l := range r.Logins(t) {
		if !l.OK {
			t.Errorf("the fake RDS refused a login: %+v", l)
		}
		keys[l.AccessKeyID] = true
	}
	return len(keys)
}

// RefusedFirst is a source whose credentials r refuses (never trusted)
// until the proxy invalidates them, then ones r trusts: the login that
// the proxy retries with refreshed credentials.
func RefusedFirst(r *testpeer.FakeRDS) (p *Provider, stale creds.Credentials) {
	good := StaticCreds()
	Trust(r, good)
	stale = StaticCreds()
	return &Provider{C: stale, OnInvalid: func() creds.Credentials { return good }}, stale
}
