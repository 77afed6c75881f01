package execrun

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/awsenv"
	"github.com/credkit/credkit/internal/sessioncache"
)

// Resolver resolves a profile through the full credential chain: its
// refreshing provider, the credentials it answered just now and the
// region (flag, environment, then the profile's). It caches the session it
// made where the session cache keeps it, so that the next exec, and every
// other process, starts from it.
type Resolver func(ctx context.Context) (p creds.Provider, current creds.Credentials, region string, err error)

// SessionOptions says whose session Session finds.
type SessionOptions struct {
	Getenv  func(string) string
	Profile string // the profile exec names (explicitly, as a flag would)
	Region  string // the --region flag; "" when not given
	Now     func() time.Time
	// Resolve is the full chain, for a cache miss and for refreshing a
	// session served from the cache.
	Resolve Resolver
}

// Session is what exec serves for o.Profile: the provider, what it
// answered just now and the region. When the session cache holds a
// session for the profile that may still be used (see sessioncache.Read)
// and notes the profile's region, it starts from that without resolving
// anything, which is what makes a warm exec take a few milliseconds; the
// provider then hands out that session until it nears expiry, then one
// another process cached meanwhile, else one o.Resolve makes. Otherwise
// Session is o.Resolve.
func Session(ctx context.Context, o SessionOptions) (creds.Provider, creds.Credentials, string, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	name, file := sessioncache.For(o.Getenv, o.Profile)
	if file == "" {
		return o.Resolve(ctx)
	}
	rec, ok := sessioncache.Read(o.Getenv, file, name, now())
	if !ok {
		return o.Resolve(ctx)
	}
	profileRegion, ok := rec.ProfileRegion()
	if !ok {
		return o.Resolve(ctx) // an older record, without the region: make a new one
	}
	current, err := rec.Credentials.Credentials()
	if err != nil {
		return o.Resolve(ctx)
	}
	region, _ := awsenv.RegionOf(o.Getenv, o.Region, profileRegion)
	p := &cachedSession{getenv: o.Getenv, profile: name, file: file, first: &current, now: now, resolve: o.Resolve}
	return creds.NewCache(p, creds.CacheOptions{Now: now}), current, region, nil
}

// cachedSession provides a profile's session from the session cache: the
// one read at start, then whatever the cache holds, then what resolve
// makes (and caches).
type cachedSession struct {
	getenv        func(string) string
	profile, file string
	now           func() time.Time
	resolve       Resolver

	mu    sync.Mutex
	first *creds.Credentials // the session read at start, answered once
}

func (p *cachedSession) Retrieve(ctx context.Context) (creds.Credentials, error) {
	p.mu.Lock()
	first := p.first
	p.first = nil
	p.mu.Unlock()
	// The session read at start, unless the first request came so late
	// that the cache would no longer hand it out either.
	if first != nil && first.TimeLeft(p.now()) >= sessioncache.Margin {
		return *first, nil
	}
	if rec, ok := sessioncache.Read(p.getenv, p.file, p.profile, p.now()); ok {
		if c, err := rec.Credentials.Credentials(); err == nil {
			return c, nil
		}
	}
	_, c, _, err := p.resolve(ctx)
	if err != nil {
		return creds.Credentials{}, fmt.Errorf("refresh the session of profile %s: %w", p.profile, err)
	}
	return c, nil
}
