package lab

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/server"
)

// bucket is a token bucket: rate tokens a second, one second's worth of
// burst (at least one).
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	burst := b.rate
	if burst < 1 {
		burst = 1
	}
	if b.last.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * b.rate
		if b.tokens > burst {
			b.tokens = burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// throttled answers Throttling when STS is over its rate.
func (l *Lab) throttled(w http.ResponseWriter) bool {
	if l.throttle == nil || l.throttle.take(l.now()) {
		return false
	}
	l.refuse(w, stsNS, awsError{400, "Throttling", "Rate exceeded"}, "")
	return true
}

// ecsPath is where the container credentials endpoint answers.
const ecsPath = "/_lab/ecs/credentials"

func (l *Lab) setupMetadata() {
	role := l.seed.InstanceRole
	if role == "" && len(l.seed.Roles) > 0 {
		role = l.seed.Roles[0].Name
	}
	var p creds.Provider = creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		if role == "" {
			return creds.Credentials{}, errNoInstanceRole
		}
		arn := "arn:aws:sts::" + l.seed.AccountID + ":assumed-role/" + role + "/i-0123456789lab"
		return l.issue(KindMetadata, session{arn: arn, userID: roleIDFor(role) + ":i-0123456789lab", role: role}, time.Hour), nil
	})
	p = creds.NewCache(p, creds.CacheOptions{Now: l.now})
	l.ecsToken, _ = server.NewToken()
	l.ecs = &server.ECS{Provider: p, Token: l.ecsToken, Path: ecsPath}
	l.imds = &server.IMDS{Provider: p, Role: role, Region: Region, AccountID: l.seed.AccountID, Now: l.now}
}

type labError string

func (e labError) Error() string { return string(e) }

const errNoInstanceRole = labError("the seed has no role to serve as the instance role")

// ECSToken is the Authorization value of the container credentials
// endpoint (AWS_CONTAINER_AUTHORIZATION_TOKEN).
func (l *Lab) ECSToken() string { return l.ecsToken }

// ECSPath is the path of the container credentials endpoint.
func (l *Lab) ECSPath() string { return ecsPath }

// InstanceRole is the role whose credentials the metadata endpoints serve.
func (l *Lab) InstanceRole() string { return l.imds.Role }

// inOutage returns the outage the lab is in, if any.
func (l *Lab) inOutage() *Outage {
	since := l.now().Sub(l.start)
	for i, o := range l.opts.IMDSOutages {
		if since >= o.Start && since < o.Start+o.Duration {
			return &l.opts.IMDSOutages[i]
		}
	}
	return nil
}

// imdsHandler is server.IMDS with the lab's outages and, unless disabled,
// IMDSv1: a GET without a session token is answered as if it had one.
func (l *Lab) imdsHandler() http.Handler {
	h := l.imds
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := l.inOutage(); o != nil {
			l.count("IMDSOutage")
			if o.Status == 0 {
				if hj, ok := w.(http.Hijacker); ok {
					if conn, _, err := hj.Hijack(); err == nil {
						conn.Close()
						return
					}
				}
				panic(http.ErrAbortHandler)
			}
			w.WriteHeader(o.Status)
			return
		}
		if !l.opts.DisableIMDSv1 && r.Method == http.MethodGet && r.Header.Get("X-aws-ec2-metadata-token") == "" {
			// The handler still checks the peer and the Host header.
			if tok, err := h.NewSessionToken(time.Minute); err == nil {
				r = r.Clone(r.Context())
				r.Header.Set("X-aws-ec2-metadata-token", tok)
			}
		}
		h.ServeHTTP(w, r)
	})
}
