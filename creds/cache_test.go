package creds

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// guard bounds a wait that only a broken cache would make long.
const guard = 5 * time.Second

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fakeUpstream counts its calls and issues credentials AKID0001, AKID0002,
// ... valid for lifetime from the clock's time when they are issued.
type fakeUpstream struct {
	clock *fakeClock
	calls atomic.Int64
	ctxs  chan context.Context // if set, receives each call's context once it has read its settings

	mu       sync.Mutex
	lifetime time.Duration // 0: credentials that do not expire
	err      error         // returned instead of credentials when set
	gate     chan struct{} // when set, calls wait until it is closed
}

func (u *fakeUpstream) Retrieve(ctx context.Context) (Credentials, error) {
	u.mu.Lock()
	lifetime, err, gate := u.lifetime, u.err, u.gate
	u.mu.Unlock()
	n := u.calls.Add(1)
	if u.ctxs != nil {
		u.ctxs <- ctx
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Credentials{}, ctx.Err()
		}
	}
	if err != nil {
		return Credentials{}, err
	}
	cr := Credentials{
		AccessKeyID:     fmt.Sprintf("AKID%04d", n),
		SecretAccessKey: "secret",
		SessionToken:    "token",
		Source:          "fake upstream",
	}
	if lifetime != 0 {
		cr.Expires = u.clock.Now().Add(lifetime)
	}
	return cr, nil
}

func (u *fakeUpstream) setErr(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.err = err
}

func (u *fakeUpstream) setGate(gate chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gate = gate
}

// recorder keeps a cache's refresh events.
type recorder struct {
	mu     sync.Mutex
	starts []RefreshEvent
	done   chan RefreshEvent
}

func newRecorder() *recorder { return &recorder{done: make(chan RefreshEvent, 1024)} }

func (r *recorder) observe(e RefreshEvent) {
	if e.Done {
		r.done <- e
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, e)
}

// started is the number of upstream calls started so far. The start event
// is reported before Retrieve returns, so this is exact right after it.
func (r *recorder) started() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

func (r *recorder) lastStart() RefreshEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[len(r.starts)-1]
}

// waitDone returns the next finished refresh.
func (r *recorder) waitDone(t *testing.T) RefreshEvent {
	t.Helper()
	select {
	case e := <-r.done:
		return e
	case <-time.After(guard):
		t.Fatal("no refresh finished")
		return RefreshEvent{}
	}
}

func noJitter() float64 { return 0 }

func fixedWindow(w time.Duration) func(time.Duration) time.Duration {
	return func(time.Duration) time.Duration { return w }
}

// mustRetrieve calls Retrieve and fails the test if it errs or takes long.
func mustRetrieve(t *testing.T, c *Cache) Credentials {
	t.Helper()
	cr, err := retrieveWithin(t, c, context.Background())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	return cr
}

// retrieveWithin calls Retrieve and fails the test if it does not return
// promptly.
func retrieveWithin(t *testing.T, c *Cache, ctx context.Context) (Credentials, error) {
	t.Helper()
	type result struct {
		cr  Credentials
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cr, err := c.Retrieve(ctx)
		ch <- result{cr, err}
	}()
	select {
	case r := <-ch:
		return r.cr, r.err
	case <-time.After(guard):
		t.Fatal("Retrieve blocked")
		return Credentials{}, nil
	}
}

func TestCacheOneUpstreamCallPerRotation(t *testing.T) {
	const callers, rotations = 1000, 50
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock, lifetime: 15 * time.Minute}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, Jitter: func() float64 { return 0.5 }, OnRefresh: rec.observe})

	var expires time.Time
	for r := range rotations {
		// Rotation 0 is the first fetch. Then odd rotations land inside the
		// refresh window (callers are served at once, one refresh runs in
		// the background) and even ones exactly at the expiry (every caller
		// waits for one refresh).
		background := r%2 == 1
		switch {
		case background:
			clock.Set(expires.Add(-30 * time.Second))
		case r > 0:
			clock.Set(expires)
		}
		old, want := fmt.Sprintf("AKID%04d", r), fmt.Sprintf("AKID%04d", r+1)

		var (
			wg          sync.WaitGroup
			failed      atomic.Int64
			firstFailed sync.Once
			failure     string
		)
		fail := func(format string, args ...any) {
			failed.Add(1)
			firstFailed.Do(func() { failure = fmt.Sprintf(format, args...) })
		}
		start := make(chan struct{})
		for range callers {
			wg.Go(func() {
				<-start
				cr, err := c.Retrieve(context.Background())
				now := clock.Now()
				switch {
				case err != nil:
					fail("Retrieve: %v", err)
				case cr.Expired(now):
					fail("got %v, expired at %s", cr, now)
				case cr.AccessKeyID != want && !(background && cr.AccessKeyID == old):
					fail("got %s, want %s", cr.AccessKeyID, want)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("rotation %d: %d of %d callers failed, first: %s", r, n, callers, failure)
		}
		if e := rec.waitDone(t); e.Err != nil || e.Background != background {
			t.Fatalf("rotation %d: refresh %+v, want background=%v and no error", r, e, background)
		}
		if got := up.calls.Load(); got != int64(r+1) {
			t.Fatalf("rotation %d: %d upstream calls in all, want %d", r, got, r+1)
		}
		cr := mustRetrieve(t, c)
		if cr.AccessKeyID != want {
			t.Fatalf("rotation %d: cache holds %s, want %s", r, cr.AccessKeyID, want)
		}
		expires = cr.Expires
	}
}

func TestCacheRefreshesInBackgroundInsideWindow(t *testing.T) {
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock, lifetime: time.Hour}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, Window: fixedWindow(10 * time.Minute), Jitter: noJitter, OnRefresh: rec.observe})

	first := mustRetrieve(t, c)
	rec.waitDone(t)

	clock.Set(first.Expires.Add(-10*time.Minute - time.Nanosecond))
	if cr := mustRetrieve(t, c); cr.AccessKeyID != first.AccessKeyID || rec.started() != 1 {
		t.Fatalf("before the window: got %s after %d upstream calls, want %s and no refresh", cr.AccessKeyID, rec.started(), first.AccessKeyID)
	}

	gate := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	up.setGate(gate)
	clock.Set(first.Expires.Add(-10 * time.Minute))
	for i := range 3 {
		// The upstream is blocked: a cache that waited for it would hang here.
		if cr := mustRetrieve(t, c); cr.AccessKeyID != first.AccessKeyID {
			t.Fatalf("call %d inside the window: got %s, want the cached %s", i, cr.AccessKeyID, first.AccessKeyID)
		}
	}
	if rec.started() != 2 || !rec.lastStart().Background {
		t.Fatalf("inside the window: %d upstream calls started (last %+v), want 2, the second in the background", rec.started(), rec.lastStart())
	}
	if err := c.LastError(); err != nil {
		t.Fatalf("LastError while the refresh runs: %v", err)
	}

	close(gate)
	e := rec.waitDone(t)
	if e.Err != nil || !e.Background || !e.Expires.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("background refresh finished as %+v", e)
	}
	if want := e.Expires.Add(-10 * time.Minute); !e.NextRefresh.Equal(want) {
		t.Errorf("next refresh planned at %s, want %s", e.NextRefresh, want)
	}
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0002" {
		t.Fatalf("after the refresh landed: got %s, want AKID0002", cr.AccessKeyID)
	}
	if n := up.calls.Load(); n != 2 {
		t.Errorf("%d upstream calls, want 2", n)
	}
}

func TestCacheFailedRefreshKeepsServingValidCredentials(t *testing.T) {
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock, lifetime: time.Hour}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, Window: fixedWindow(10 * time.Minute), Jitter: noJitter, OnRefresh: rec.observe})
	first := mustRetrieve(t, c)
	rec.waitDone(t)

	boom := errors.New("sts unavailable")
	up.setErr(boom)
	retrieveValid := func(step string) {
		t.Helper()
		if cr := mustRetrieve(t, c); cr.AccessKeyID != first.AccessKeyID {
			t.Fatalf("%s: got %s, want the cached %s", step, cr.AccessKeyID, first.AccessKeyID)
		}
	}
	wantCalls := func(step string, n int) {
		t.Helper()
		if got := rec.started(); got != n {
			t.Fatalf("%s: %d upstream calls, want %d", step, got, n)
		}
	}

	// Eight minutes left: back off for min(30s, 8m/2) = 30s.
	clock.Set(first.Expires.Add(-8 * time.Minute))
	retrieveValid("refresh fails")
	e := rec.waitDone(t)
	if !errors.Is(e.Err, boom) || !e.NextRefresh.Equal(clock.Now().Add(30*time.Second)) {
		t.Fatalf("failed refresh reported as %+v, want %v and a retry in 30s", e, boom)
	}
	if err := c.LastError(); !errors.Is(err, boom) {
		t.Fatalf("LastError = %v, want %v", err, boom)
	}
	retrieveValid("right after the failure")
	clock.Advance(30*time.Second - time.Nanosecond)
	retrieveValid("during the backoff")
	wantCalls("during the backoff", 2)
	clock.Advance(time.Nanosecond)
	retrieveValid("after the backoff")
	wantCalls("after the backoff", 3)
	rec.waitDone(t)

	// Four seconds left: back off for half of it.
	clock.Set(first.Expires.Add(-4 * time.Second))
	retrieveValid("near the expiry")
	wantCalls("near the expiry", 4)
	if e := rec.waitDone(t); !e.NextRefresh.Equal(clock.Now().Add(2 * time.Second)) {
		t.Fatalf("near the expiry: next refresh at %s, want in 2s", e.NextRefresh)
	}

	// Expired: no backoff, every caller that asks gets a fresh attempt and
	// its error, never the expired credentials.
	clock.Set(first.Expires)
	for i := range 2 {
		cr, err := retrieveWithin(t, c, context.Background())
		if err == nil || cr != (Credentials{}) {
			t.Fatalf("expired %d: got %s, %v; want no credentials and an error", i, cr.AccessKeyID, err)
		}
		if !errors.Is(err, boom) || !errors.Is(err, ErrExpired) {
			t.Errorf("expired %d: error %v should wrap both %v and ErrExpired", i, err, boom)
		}
		for _, part := range []string{"refresh credentials", "sts unavailable", first.AccessKeyID, "expired at 2026-01-01T01:00:00Z"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("expired %d: error %q does not say %q", i, err, part)
			}
		}
		wantCalls("expired", 5+i)
		rec.waitDone(t)
	}
	if err := c.LastError(); !errors.Is(err, ErrExpired) {
		t.Errorf("LastError = %v, want ErrExpired", err)
	}

	up.setErr(nil)
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0007" || cr.Expired(clock.Now()) {
		t.Fatalf("upstream back: got %v", cr)
	}
	if err := c.LastError(); err != nil {
		t.Errorf("LastError after a success = %v, want nil", err)
	}
}

type ctxKey struct{}

func TestCacheCancelledCallerDoesNotCancelRefresh(t *testing.T) {
	clock := newFakeClock()
	gate := make(chan struct{})
	up := &fakeUpstream{clock: clock, lifetime: time.Hour, gate: gate, ctxs: make(chan context.Context, 4)}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, OnRefresh: rec.observe})

	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-42"))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Retrieve(ctx)
		errc <- err
	}()
	var upCtx context.Context
	select {
	case upCtx = <-up.ctxs:
	case <-time.After(guard):
		t.Fatal("upstream not called")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v, want context.Canceled", err)
		}
	case <-time.After(guard):
		t.Fatal("cancelled caller still waits for the upstream")
	}

	if err := upCtx.Err(); err != nil {
		t.Fatalf("the caller's cancellation reached the shared refresh: %v", err)
	}
	if d, ok := upCtx.Deadline(); !ok || time.Until(d) > DefaultRefreshTimeout {
		t.Errorf("shared refresh deadline %v (set %v), want within %s", d, ok, DefaultRefreshTimeout)
	}
	if v := upCtx.Value(ctxKey{}); v != "request-42" {
		t.Errorf("shared refresh lost the caller's context values: got %v", v)
	}

	close(gate)
	if e := rec.waitDone(t); e.Err != nil {
		t.Fatalf("shared refresh failed: %v", e.Err)
	}
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0001" {
		t.Fatalf("next caller got %s, want the shared refresh's AKID0001", cr.AccessKeyID)
	}
	if n := up.calls.Load(); n != 1 {
		t.Errorf("%d upstream calls, want 1", n)
	}
}

func TestCacheRefreshTimeoutBoundsHungUpstream(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		says    string
		// watchCtx: the upstream returns when its context ends; otherwise
		// it ignores its context and hangs until the test ends.
		watchCtx bool
	}{
		{"default timeout, upstream ignores its context", 0, "timed out after 1m0s", false},
		{"own timeout, upstream honours its context", 5 * time.Second, "timed out after 5s", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hang := make(chan struct{})
				defer close(hang)
				up := ProviderFunc(func(ctx context.Context) (Credentials, error) {
					if tc.watchCtx {
						<-ctx.Done()
						return Credentials{}, ctx.Err()
					}
					<-hang
					return Credentials{}, errors.New("too late")
				})
				c := NewCache(up, CacheOptions{RefreshTimeout: tc.timeout})
				want := tc.timeout
				if want == 0 {
					want = DefaultRefreshTimeout
				}

				start := time.Now()
				cr, err := c.Retrieve(context.Background())
				if took := time.Since(start); took != want {
					t.Errorf("Retrieve returned after %s, want %s", took, want)
				}
				if err == nil || cr != (Credentials{}) {
					t.Fatalf("got %s, %v; want a timeout error", cr.AccessKeyID, err)
				}
				if !strings.Contains(err.Error(), tc.says) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %q should say %q and wrap context.DeadlineExceeded", err, tc.says)
				}
				if !errors.Is(c.LastError(), context.DeadlineExceeded) {
					t.Errorf("LastError = %v", c.LastError())
				}
			})
		})
	}
}

func TestCacheRefreshStartsInsideWindow(t *testing.T) {
	for _, tc := range []struct {
		lifetime, window time.Duration
	}{
		// The default window: lifetime/4 within [10s, 15m], at most lifetime/2.
		{15 * time.Second, 7500 * time.Millisecond},
		{time.Minute, 15 * time.Second},
		{15 * time.Minute, 225 * time.Second},
		{time.Hour, 15 * time.Minute},
		{6 * time.Hour, 15 * time.Minute},
		{12 * time.Hour, 15 * time.Minute},
	} {
		for _, j := range []float64{0, 0.25, 0.5, 0.999} {
			t.Run(fmt.Sprintf("%s/jitter %g", tc.lifetime, j), func(t *testing.T) {
				clock := newFakeClock()
				up := &fakeUpstream{clock: clock, lifetime: tc.lifetime}
				rec := newRecorder()
				c := NewCache(up, CacheOptions{Now: clock.Now, Jitter: func() float64 { return j }, OnRefresh: rec.observe})
				first := mustRetrieve(t, c)
				rec.waitDone(t)

				w := tc.window
				start := first.Expires.Add(-w + time.Duration(j*float64(w)/2))
				if start.Before(first.Expires.Add(-w)) || start.After(first.Expires.Add(-w/2)) {
					t.Fatalf("planned start %s outside the window's later half", start)
				}
				clock.Set(start.Add(-time.Nanosecond))
				mustRetrieve(t, c)
				if rec.started() != 1 {
					t.Fatalf("refresh started before %s (%s before expiry)", start, first.Expires.Sub(start))
				}
				clock.Set(start)
				if cr := mustRetrieve(t, c); cr.AccessKeyID != first.AccessKeyID {
					t.Fatalf("at the refresh start: got %s, want the cached %s", cr.AccessKeyID, first.AccessKeyID)
				}
				if rec.started() != 2 || !rec.lastStart().Background {
					t.Fatalf("no background refresh at %s (%s before expiry)", start, first.Expires.Sub(start))
				}
				if e := rec.waitDone(t); e.Err != nil {
					t.Fatal(e.Err)
				}
			})
		}
	}
}

func TestCacheRandomJitterSpreadsRefreshes(t *testing.T) {
	// With random jitter the refresh of one-hour credentials starts in
	// [expiry-15m, expiry-7m30s); halfway, some caches have refreshed and
	// some have not.
	const caches = 64
	refreshedHalfway := 0
	for i := range caches {
		clock := newFakeClock()
		up := &fakeUpstream{clock: clock, lifetime: time.Hour}
		rec := newRecorder()
		c := NewCache(up, CacheOptions{Now: clock.Now, OnRefresh: rec.observe})
		first := mustRetrieve(t, c)
		rec.waitDone(t)

		for _, p := range []struct {
			before time.Duration
			check  func(started int)
		}{
			{15*time.Minute + time.Nanosecond, func(n int) {
				if n != 1 {
					t.Fatalf("cache %d refreshed before its window", i)
				}
			}},
			{11*time.Minute + 15*time.Second, func(n int) { refreshedHalfway += n - 1 }},
			{7*time.Minute + 30*time.Second, func(n int) {
				if n != 2 {
					t.Fatalf("cache %d: %d upstream calls by the end of the jittered span, want 2", i, n)
				}
			}},
		} {
			clock.Set(first.Expires.Add(-p.before))
			mustRetrieve(t, c)
			p.check(rec.started())
		}
		rec.waitDone(t)
	}
	if refreshedHalfway == 0 || refreshedHalfway == caches {
		t.Errorf("%d of %d caches refreshed halfway through the window: the jitter does not spread them", refreshedHalfway, caches)
	}
}

func TestCacheKeepsNonExpiringCredentialsUntilInvalidate(t *testing.T) {
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock}
	c := NewCache(up, CacheOptions{Now: clock.Now})
	for range 10 {
		if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0001" || cr.CanExpire() {
			t.Fatalf("got %v, want AKID0001 without expiry", cr)
		}
		clock.Advance(365 * 24 * time.Hour)
	}
	c.Invalidate()
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0002" {
		t.Fatalf("after Invalidate: got %s, want AKID0002", cr.AccessKeyID)
	}
	if n := up.calls.Load(); n != 2 {
		t.Errorf("%d upstream calls, want 2", n)
	}
}

func TestCacheRejectsCredentialsExpiredUpstream(t *testing.T) {
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock, lifetime: -time.Second}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, Window: fixedWindow(10 * time.Minute), Jitter: noJitter, OnRefresh: rec.observe})

	cr, err := retrieveWithin(t, c, context.Background())
	if !errors.Is(err, ErrExpired) || cr != (Credentials{}) {
		t.Fatalf("got %s, %v; want no credentials and ErrExpired", cr.AccessKeyID, err)
	}
	if want := "AKID0001 from the provider expired at 2025-12-31T23:59:59Z"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	rec.waitDone(t)

	// With valid credentials cached, expired ones from upstream are a
	// failed background refresh: the valid ones stay in use.
	up.mu.Lock()
	up.lifetime = time.Hour
	up.mu.Unlock()
	valid := mustRetrieve(t, c)
	rec.waitDone(t)
	up.mu.Lock()
	up.lifetime = -time.Second
	up.mu.Unlock()
	clock.Set(valid.Expires.Add(-5 * time.Minute))
	if cr := mustRetrieve(t, c); cr.AccessKeyID != valid.AccessKeyID {
		t.Fatalf("got %s, want the cached %s", cr.AccessKeyID, valid.AccessKeyID)
	}
	if e := rec.waitDone(t); !errors.Is(e.Err, ErrExpired) {
		t.Fatalf("background refresh of expired credentials reported %v", e.Err)
	}
	if cr := mustRetrieve(t, c); cr.AccessKeyID != valid.AccessKeyID {
		t.Fatalf("after the failed refresh: got %s, want the cached %s", cr.AccessKeyID, valid.AccessKeyID)
	}
	if !errors.Is(c.LastError(), ErrExpired) {
		t.Errorf("LastError = %v, want ErrExpired", c.LastError())
	}
}

func TestCacheInvalidateDropsRunningRefresh(t *testing.T) {
	clock := newFakeClock()
	up := &fakeUpstream{clock: clock, lifetime: time.Hour, ctxs: make(chan context.Context, 4)}
	rec := newRecorder()
	c := NewCache(up, CacheOptions{Now: clock.Now, Window: fixedWindow(10 * time.Minute), Jitter: noJitter, OnRefresh: rec.observe})
	first := mustRetrieve(t, c)
	<-up.ctxs
	rec.waitDone(t)

	// A background refresh (AKID0002) hangs; Invalidate; the next caller
	// must not get the cached AKID0001 nor wait for the old refresh.
	gate := make(chan struct{})
	up.setGate(gate)
	clock.Set(first.Expires.Add(-5 * time.Minute))
	mustRetrieve(t, c)
	select {
	case <-up.ctxs: // the background call holds the gate
	case <-time.After(guard):
		t.Fatal("no background refresh")
	}
	c.Invalidate()
	up.setGate(nil)
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0003" {
		t.Fatalf("after Invalidate: got %s, want a fresh AKID0003", cr.AccessKeyID)
	}
	rec.waitDone(t)
	close(gate)
	rec.waitDone(t)
	if cr := mustRetrieve(t, c); cr.AccessKeyID != "AKID0003" {
		t.Fatalf("the refresh started before Invalidate replaced the cache's credentials: got %s", cr.AccessKeyID)
	}
	if n := up.calls.Load(); n != 3 {
		t.Errorf("%d upstream calls, want 3", n)
	}
}

func TestNewCacheDoesNotWrapACache(t *testing.T) {
	up := &fakeUpstream{clock: newFakeClock(), lifetime: time.Hour}
	c := NewCache(up, CacheOptions{})
	if again := NewCache(c, CacheOptions{RefreshTimeout: time.Second}); again != c {
		t.Fatal("NewCache of a *Cache returned a second cache")
	}
}
