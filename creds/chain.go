package creds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status says what the chain did with one source.
type Status string

// Statuses of a Step.
const (
	// Used: this source supplied the credentials.
	Used Status = "used"
	// Skipped: this source is not configured here (the step says why).
	Skipped Status = "skipped"
	// Shadowed: this source is configured, but an earlier one won.
	Shadowed Status = "shadowed"
	// Failed: this source is configured and was chosen, but failed. As in
	// the AWS SDKs, the chain does not fall back to later sources then.
	Failed Status = "failed"
	// NotReached: the chain stopped before looking at this source.
	NotReached Status = "not reached"
)

// Step is one source in a Trace.
type Step struct {
	Source string `json:"source"`
	Status Status `json:"status"`
	// Detail says why, in words: "AWS_ACCESS_KEY_ID not set", "profile dev
	// has static keys (~/.aws/credentials:3)".
	Detail string `json:"detail,omitempty"`
	Err    error  `json:"-"`
	Error  string `json:"error,omitempty"`
}

// Trace is what a chain looked at, in order, what it chose, and what a
// person should know about the result.
type Trace struct {
	Steps    []Step   `json:"steps"`
	Chosen   string   `json:"chosen,omitempty"`
	Warnings []string `json:"warnings"`
}

// String renders the trace as lines for people.
func (t *Trace) String() string {
	var b strings.Builder
	for _, s := range t.Steps {
		fmt.Fprintf(&b, "%-11s %s", s.Status, s.Source)
		if s.Detail != "" {
			fmt.Fprintf(&b, ": %s", s.Detail)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, ": %s", s.Error)
		}
		b.WriteByte('\n')
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// Link is one source a Chain considers.
type Link struct {
	// Name is shown in the trace, e.g. "environment" or "profile dev".
	Name string
	// Configured reports, without network calls, whether this source is
	// set up here; when not, reason says why ("AWS_ACCESS_KEY_ID not
	// set"); when it is, reason may say how ("static keys at
	// ~/.aws/credentials:3"). A non-nil error means the configuration is
	// broken (a malformed variable, say): the chain stops with it, as the
	// SDKs do.
	Configured func() (ok bool, reason string, err error)
	// Provider gives the source's provider; called only for the chosen
	// link.
	Provider func() (Provider, error)
}

// ErrNoCredentials reports that there are no credentials to use: no
// source in a chain is configured, a profile holds none, a variable a
// profile points at is unset, or a signer was handed empty keys. It is
// the one sentinel for that: the errors of every package that finds no
// credentials wrap it, so errors.Is(err, creds.ErrNoCredentials) answers
// "were there no credentials?" wherever err came from.
var ErrNoCredentials = errors.New("no AWS credentials found")

// Chain picks the first configured source, as the AWS SDKs do, and
// records why each source was used, skipped or shadowed.
type Chain struct {
	Links []Link
}

// Select returns the provider of the first configured link and the trace
// of the choice, without retrieving credentials.
func (c *Chain) Select() (Provider, *Trace, error) {
	t := &Trace{Warnings: []string{}}
	var chosen Provider
	var failure error
	for _, l := range c.Links {
		if chosen != nil || failure != nil {
			ok, reason, err := l.Configured()
			switch {
			case failure != nil:
				t.Steps = append(t.Steps, Step{Source: l.Name, Status: NotReached})
			case err != nil:
				t.Steps = append(t.Steps, Step{Source: l.Name, Status: Shadowed, Detail: "misconfigured, but an earlier source won", Err: err, Error: err.Error()})
			case ok:
				t.Steps = append(t.Steps, Step{Source: l.Name, Status: Shadowed, Detail: reason})
			default:
				t.Steps = append(t.Steps, Step{Source: l.Name, Status: Skipped, Detail: reason})
			}
			continue
		}
		ok, reason, err := l.Configured()
		if err != nil {
			t.Steps = append(t.Steps, Step{Source: l.Name, Status: Failed, Detail: reason, Err: err, Error: err.Error()})
			failure = fmt.Errorf("%s: %w", l.Name, err)
			continue
		}
		if !ok {
			t.Steps = append(t.Steps, Step{Source: l.Name, Status: Skipped, Detail: reason})
			continue
		}
		p, err := l.Provider()
		if err != nil {
			t.Steps = append(t.Steps, Step{Source: l.Name, Status: Failed, Detail: reason, Err: err, Error: err.Error()})
			failure = fmt.Errorf("%s: %w", l.Name, err)
			continue
		}
		t.Steps = append(t.Steps, Step{Source: l.Name, Status: Used, Detail: reason})
		t.Chosen = l.Name
		chosen = p
	}
	if failure != nil {
		return nil, t, failure
	}
	if chosen == nil {
		return nil, t, ErrNoCredentials
	}
	return chosen, t, nil
}

// Resolve selects a source and retrieves its credentials. A retrieval
// failure marks the chosen step failed; the chain does not fall back.
func (c *Chain) Resolve(ctx context.Context) (Credentials, *Trace, error) {
	p, t, err := c.Select()
	if err != nil {
		return Credentials{}, t, err
	}
	cr, err := p.Retrieve(ctx)
	if err != nil {
		for i := range t.Steps {
			if t.Steps[i].Status == Used {
				t.Steps[i].Status, t.Steps[i].Err, t.Steps[i].Error = Failed, err, err.Error()
			}
		}
		return Credentials{}, t, fmt.Errorf("%s: %w", t.Chosen, err)
	}
	if cr.Source == "" {
		cr.Source = t.Chosen
	}
	return cr, t, nil
}

// ExpiryWarnings returns the warnings about c's lifetime at now: expired,
// or expiring within soon.
func ExpiryWarnings(c Credentials, now time.Time, soon time.Duration) []string {
	if !c.CanExpire() {
		return nil
	}
	left := c.Expires.Sub(now)
	switch {
	case left <= 0:
		return []string{fmt.Sprintf("these credentials (%s) expired at %s, %s ago", c.Source, c.Expires.UTC().Format(time.RFC3339), (-left).Round(time.Second))}
	case left < soon:
		return []string{fmt.Sprintf("these credentials (%s) expire in %s (at %s)", c.Source, left.Round(time.Second), c.Expires.UTC().Format(time.RFC3339))}
	}
	return nil
}
