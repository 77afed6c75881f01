package creds

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults of CacheOptions and the retry policy of a Cache.
const (
	// DefaultRefreshTimeout bounds one upstream call when
	// CacheOptions.RefreshTimeout is zero.
	DefaultRefreshTimeout = time.Minute

	// The default refresh window is a quarter of the credentials' lifetime,
	// kept within [minWindow, maxWindow] and never more than half the
	// lifetime.
	minWindow = 10 * time.Second
	maxWindow = 15 * time.Minute

	// After a failed background refresh the next attempt waits half the
	// time the cached credentials have left, kept within
	// [minRetryBackoff, maxRetryBackoff].
	minRetryBackoff = time.Second
	maxRetryBackoff = 30 * time.Second
)

// CacheOptions configures a Cache. The zero value is ready to use.
type CacheOptions struct {
	// Now is the clock that decides expiry and refresh times; nil means
	// time.Now. Its monotonic reading is dropped, so credentials expire by
	// the wall clock, also after a laptop wakes from sleep.
	Now func() time.Time

	// RefreshTimeout bounds one upstream call, whoever waits for it; zero
	// or negative means DefaultRefreshTimeout. It is measured on the real
	// clock, not on Now.
	RefreshTimeout time.Duration

	// Window returns, for credentials valid for lifetime from when they
	// were fetched, how long before their expiry a background refresh may
	// start. The result is kept within [0, lifetime]. Nil means the
	// default: lifetime/4 kept within [10s, 15m], and at most lifetime/2
	// (15s lifetime: 7.5s; 1h: 15m; 12h: 15m).
	//
	// The window is then jittered so that many processes holding the same
	// kind of credentials do not refresh in step: the refresh starts at
	//
	//	expiry - window + Jitter()*window/2
	//
	// that is, inside the later part of the window, never before
	// expiry-window and never after expiry-window/2.
	Window func(lifetime time.Duration) time.Duration

	// Jitter returns a number in [0, 1); nil means math/rand/v2's
	// randomly seeded generator. A constant makes refresh times exact.
	Jitter func() float64

	// OnRefresh, if set, observes every upstream call: once when it starts
	// (on the goroutine of the Retrieve that starts it) and once when it
	// has finished and the cache has taken its result (on the refresh's
	// own goroutine, before waiting callers are released). It is called
	// without the cache's lock held; keep it short.
	OnRefresh func(RefreshEvent)
}

// RefreshEvent describes one upstream call of a Cache, for logs and tests.
// It never holds the credentials themselves.
type RefreshEvent struct {
	// Done is false when the call starts and true when it has finished.
	Done bool
	// Background reports whether the call started while the cached
	// credentials were still valid, so that no caller had to wait for it.
	Background bool
	// Time is the cache's clock at the start or the end of the call.
	Time time.Time
	// Expires is the new credentials' expiry (Done, Err == nil); zero when
	// they do not expire.
	Expires time.Time
	// NextRefresh is when the cache will next start a background refresh
	// (Done): the start of the new credentials' jittered window after a
	// success, the end of the backoff after a failure while the cached
	// credentials are still valid; zero when there is none to plan
	// (credentials that do not expire, or nothing valid is cached).
	NextRefresh time.Time
	// Err is why the call failed (Done), nil after a success.
	Err error
}

// Cache is a Provider that keeps the credentials of another Provider and
// refreshes them ahead of their expiry.
//
//   - Callers holding valid credentials never wait on the network: the
//     first Retrieve inside the refresh window (see CacheOptions.Window)
//     gets the cached credentials at once and starts one background
//     refresh.
//   - Concurrent refreshes collapse into one upstream call. Callers that
//     have nothing valid to get wait for that call, each until its own
//     context ends; a caller giving up does not cancel the call, which runs
//     with the values of the context that started it, no cancellation, and
//     its own deadline (CacheOptions.RefreshTimeout). An upstream call that
//     outlives that deadline is abandoned and reported as timed out.
//   - Retrieve never returns credentials that have expired by the cache's
//     clock. Credentials the upstream returns already expired are an error
//     wrapping ErrExpired, naming the expiry.
//   - A failed background refresh leaves the cached credentials in use,
//     is kept for LastError, and is retried no sooner than half the time
//     the credentials have left, at least 1s and at most 30s later. Once
//     the credentials have expired, every Retrieve that finds no refresh
//     running starts one at once, and its callers get its error.
//   - Credentials that do not expire are fetched once and kept until
//     Invalidate.
//
// No lock is held while the upstream Provider runs, and a Cache is safe for
// concurrent use.
type Cache struct {
	upstream  Provider
	now       func() time.Time
	timeout   time.Duration
	window    func(time.Duration) time.Duration
	jitter    func() float64
	onRefresh func(RefreshEvent)

	mu        sync.Mutex
	creds     Credentials
	have      bool      // creds were fetched and not invalidated
	refreshAt time.Time // expiring creds: the start of the jittered window
	retryAt   time.Time // no background refresh before this (backoff)
	lastErr   error
	flight    *refresh // the refresh whose result the cache will take
}

var _ Provider = (*Cache)(nil)

// refresh is one upstream call and what its waiters get. creds and err are
// written once, before done is closed.
type refresh struct {
	done       chan struct{}
	background bool
	creds      Credentials
	err        error
}

// NewCache returns a Cache of p's credentials. When p is already a *Cache,
// NewCache returns it unchanged and o is ignored, so that credentials are
// never cached twice.
func NewCache(p Provider, o CacheOptions) *Cache {
	if c, ok := p.(*Cache); ok {
		return c
	}
	c := &Cache{
		upstream:  p,
		now:       o.Now,
		timeout:   o.RefreshTimeout,
		window:    o.Window,
		jitter:    o.Jitter,
		onRefresh: o.OnRefresh,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.timeout <= 0 {
		c.timeout = DefaultRefreshTimeout
	}
	if c.window == nil {
		c.window = defaultWindow
	}
	if c.jitter == nil {
		c.jitter = rand.Float64
	}
	return c
}

// Retrieve returns valid credentials: the cached ones while they last, or
// the result of a refresh. It returns ctx.Err() when ctx ends before a
// refresh it waits for.
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	now := c.clock()
	c.mu.Lock()
	if c.have && !c.creds.Expired(now) {
		cr := c.creds
		var f *refresh
		if cr.CanExpire() && c.flight == nil && !now.Before(c.refreshAt) && !now.Before(c.retryAt) {
			f = c.startLocked(true)
		}
		c.mu.Unlock()
		if f != nil {
			c.launch(ctx, f, now)
		}
		return cr, nil
	}
	f := c.flight
	if f == nil {
		f = c.startLocked(false)
		c.mu.Unlock()
		c.launch(ctx, f, now)
	} else {
		c.mu.Unlock()
	}

	select {
	case <-f.done:
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
	if f.err != nil {
		return Credentials{}, f.err
	}
	if f.creds.Expired(c.clock()) {
		// The clock passed the expiry while the caller was being woken.
		return Credentials{}, fmt.Errorf("refresh credentials: %w", expiredError{fromProvider(f.creds), f.creds.Expires})
	}
	return f.creds, nil
}

// Invalidate drops the cached credentials: the next Retrieve refreshes. A
// refresh already running still answers the callers waiting for it, but
// the cache does not keep its result.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creds = Credentials{}
	c.have = false
	c.refreshAt = time.Time{}
	c.retryAt = time.Time{}
	c.flight = nil
}

// LastError returns why the last refresh failed, or nil when it succeeded
// (or none has finished yet).
func (c *Cache) LastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func (c *Cache) clock() time.Time { return c.now().Round(0) }

// startLocked records a new refresh as the one in flight. c.mu is held.
func (c *Cache) startLocked(background bool) *refresh {
	f := &refresh{done: make(chan struct{}), background: background}
	c.flight = f
	return f
}

// launch reports the start of f and runs it on its own goroutine, with
// ctx's values but neither its cancellation nor its deadline.
func (c *Cache) launch(ctx context.Context, f *refresh, now time.Time) {
	if c.onRefresh != nil {
		c.onRefresh(RefreshEvent{Background: f.background, Time: now})
	}
	go c.run(context.WithoutCancel(ctx), f)
}

// run calls upstream, stores the result if f is still the cache's
// refresh, and releases f's waiters.
func (c *Cache) run(ctx context.Context, f *refresh) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cr, err := c.call(ctx)
	now := c.clock()
	if err != nil {
		cr, err = Credentials{}, fmt.Errorf("refresh credentials: %w", err)
	} else if cr.Expired(now) {
		cr, err = Credentials{}, fmt.Errorf("refresh credentials: %w", expiredError{fromProvider(cr), cr.Expires})
	}

	var next time.Time
	if err == nil {
		next = c.refreshTime(cr, now)
	}
	ev := RefreshEvent{Done: true, Background: f.background, Time: now, Err: err}
	c.mu.Lock()
	if c.flight == f {
		c.flight = nil
		switch {
		case err == nil:
			c.creds, c.have = cr, true
			c.refreshAt, c.retryAt = next, time.Time{}
			c.lastErr = nil
			ev.Expires, ev.NextRefresh = cr.Expires, c.refreshAt
		case c.have && !c.creds.Expired(now):
			c.retryAt = now.Add(retryBackoff(c.creds.TimeLeft(now)))
			ev.NextRefresh = c.retryAt
		case c.have:
			err = fmt.Errorf("%w (cached %w)", err, expiredError{"credentials " + RedactKeyID(c.creds.AccessKeyID), c.creds.Expires})
			ev.Err = err
		}
		if err != nil {
			c.lastErr = err
		}
	}
	c.mu.Unlock()

	f.creds, f.err = cr, err
	if c.onRefresh != nil {
		c.onRefresh(ev)
	}
	close(f.done)
}

// call runs the upstream Provider and gives up on it when ctx's deadline
// passes, even if the Provider does not watch ctx.
func (c *Cache) call(ctx context.Context) (Credentials, error) {
	type result struct {
		creds Credentials
		err   error
	}
	ch := make(chan result, 1) // the abandoned call's send never blocks
	go func() {
		cr, err := c.upstream.Retrieve(ctx)
		ch <- result{cr, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		select {
		case r = <-ch:
		default:
			return Credentials{}, fmt.Errorf("timed out after %s: %w", c.timeout, ctx.Err())
		}
	}
	if r.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Credentials{}, fmt.Errorf("timed out after %s: %w", c.timeout, r.err)
	}
	return r.creds, r.err
}

// refreshTime is when a background refresh of cr, fetched at now, starts.
func (c *Cache) refreshTime(cr Credentials, now time.Time) time.Time {
	if !cr.CanExpire() {
		return time.Time{}
	}
	lifetime := cr.Expires.Sub(now)
	w := min(max(c.window(lifetime), 0), lifetime)
	j := c.jitter()
	if !(j >= 0 && j < 1) { // also catches NaN
		j = 0
	}
	w -= time.Duration(j * float64(w) / 2)
	return cr.Expires.Add(-w)
}

// defaultWindow is the refresh window of CacheOptions.Window's default.
func defaultWindow(lifetime time.Duration) time.Duration {
	return min(max(lifetime/4, minWindow), maxWindow, lifetime/2)
}

// retryBackoff is how long after a failed background refresh the next one
// may start, given the time the cached credentials have left.
func retryBackoff(left time.Duration) time.Duration {
	return min(max(left/2, minRetryBackoff), maxRetryBackoff)
}

// expiredError says which credentials expired when; it is ErrExpired.
type expiredError struct {
	what string
	at   time.Time
}

func (e expiredError) Error() string {
	return e.what + " expired at " + e.at.UTC().Format(time.RFC3339)
}

func (e expiredError) Is(target error) bool { return target == ErrExpired }

func fromProvider(cr Credentials) string {
	return "credentials " + RedactKeyID(cr.AccessKeyID) + " from the provider"
}
