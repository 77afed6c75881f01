package execrun

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
)

// resolver counts its calls and answers key.
type resolver struct {
	calls int
	key   string
	err   error
}

func (r *resolver) resolve(context.Context) (creds.Provider, creds.Credentials, string, error) {
	r.calls++
	c := creds.Credentials{AccessKeyID: r.key, SecretAccessKey: "s", SessionToken: "t", Expires: time.Now().Add(time.Hour)}
	return creds.Static{Creds: c}, c, "resolved-region", r.err
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A warm exec starts from the cached session and the profile's region
// noted with it, resolving nothing; a cold one, or one whose record lacks
// the region, resolves.
func TestSessionFromCache(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"HOME": dir, "XDG_CACHE_HOME": filepath.Join(dir, "cache"), "AWS_CONFIG_FILE": filepath.Join(dir, "none")}
	getenv := envOf(vars)
	now := time.Now()
	region := "eu-central-1"
	rec := sessioncache.Record{Profile: "dev", Region: &region, Credentials: sessioncache.Output{Version: 1, AccessKeyID: "ASIACACHED", SecretAccessKey: "s", SessionToken: "t",
		Expiration: now.Add(time.Hour).UTC().Format(time.RFC3339)}}
	r := &resolver{key: "ASIARESOLVED"}
	session := func(regionFlag string) (creds.Credentials, string) {
		t.Helper()
		_, c, reg, err := Session(context.Background(), SessionOptions{Getenv: getenv, Profile: "dev", Region: regionFlag, Resolve: r.resolve})
		if err != nil {
			t.Fatal(err)
		}
		return c, reg
	}
	if c, reg := session(""); c.AccessKeyID != "ASIARESOLVED" || reg != "resolved-region" || r.calls != 1 {
		t.Fatalf("cold: %s in %s after %d resolves", c.AccessKeyID, reg, r.calls)
	}
	if err := sessioncache.Write(sessioncache.File(getenv, "dev"), rec); err != nil {
		t.Fatal(err)
	}
	if c, reg := session(""); c.AccessKeyID != "ASIACACHED" || reg != region || r.calls != 1 {
		t.Fatalf("warm: %s in %s after %d resolves", c.AccessKeyID, reg, r.calls)
	}
	vars["AWS_DEFAULT_REGION"] = "ap-south-1"
	if _, reg := session(""); reg != "ap-south-1" {
		t.Errorf("warm with AWS_DEFAULT_REGION: region %s", reg)
	}
	if _, reg := session("us-west-2"); reg != "us-west-2" || r.calls != 1 {
		t.Errorf("warm with --region: region %s after %d resolves", reg, r.calls)
	}
	rec.Region = nil
	sessioncache.Write(sessioncache.File(getenv, "dev"), rec)
	if c, _ := session(""); c.AccessKeyID != "ASIARESOLVED" || r.calls != 2 {
		t.Errorf("a record without the region: %s after %d resolves", c.AccessKeyID, r.calls)
	}
}

// The session read at start is answered only while the cache itself would
// still hand it out; after that the cache file, then the full chain, whose
// failure names the profile.
func TestCachedSessionRefreshes(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	getenv := envOf(map[string]string{"HOME": dir, "XDG_CACHE_HOME": filepath.Join(dir, "cache"), "AWS_CONFIG_FILE": filepath.Join(dir, "none")})
	first := creds.Credentials{AccessKeyID: "ASIAFIRST", SecretAccessKey: "s", SessionToken: "t", Expires: start.Add(6 * time.Minute)}
	r := &resolver{key: "ASIARESOLVED"}
	at := start
	p := &cachedSession{getenv: getenv, profile: "dev", file: sessioncache.File(getenv, "dev"), first: &first, now: func() time.Time { return at }, resolve: r.resolve}
	at = start.Add(2 * time.Minute) // 4 minutes left: inside the margin
	if c, err := p.Retrieve(context.Background()); err != nil || c.AccessKeyID != "ASIARESOLVED" || r.calls != 1 {
		t.Fatalf("late first request: %s %v after %d resolves", c.AccessKeyID, err, r.calls)
	}
	// Another process cached a session meanwhile: that one, no resolve.
	other := sessioncache.Record{Profile: "dev", Credentials: sessioncache.Output{Version: 1, AccessKeyID: "ASIAOTHER", SecretAccessKey: "s", SessionToken: "t",
		Expiration: at.Add(time.Hour).UTC().Format(time.RFC3339)}}
	if err := sessioncache.Write(p.file, other); err != nil {
		t.Fatal(err)
	}
	if c, err := p.Retrieve(context.Background()); err != nil || c.AccessKeyID != "ASIAOTHER" || r.calls != 1 {
		t.Fatalf("after another process cached: %s %v after %d resolves", c.AccessKeyID, err, r.calls)
	}
	at = start.Add(2 * time.Hour)
	r.err = errors.New("sts unreachable")
	if _, err := p.Retrieve(context.Background()); !errors.Is(err, r.err) || err.Error() != "refresh the session of profile dev: sts unreachable" {
		t.Errorf("resolve failing: %v", err)
	}

	fresh := &cachedSession{getenv: getenv, profile: "dev", file: p.file, first: &first, now: func() time.Time { return start }, resolve: r.resolve}
	if c, err := fresh.Retrieve(context.Background()); err != nil || c.AccessKeyID != "ASIAFIRST" {
		t.Fatalf("the session read at start: %s %v", c.AccessKeyID, err)
	}
}
