package dbproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target is one database the proxy logs in to, and where it listens for it.
type Target struct {
	// Engine is "postgres" or "mysql" (the key of Options.Engines).
	Engine string
	Host   string
	Port   int
	// User is the database user the token is for. Empty means the user the
	// client asks for.
	User   string
	Region string
	// Roots verify the server certificate; nil means the system roots.
	Roots *x509.CertPool
	// Listen is host:port, or unix:PATH (PATH a directory gets psql's
	// .s.PGSQL.PORT name in it, or mysqld.sock for MySQL).
	Listen string
	// LocalPassword, when set, is the password clients must give.
	LocalPassword string
	// DialTimeout bounds connecting to the database; zero means 10 s.
	DialTimeout time.Duration
}

// Name is user@host:port, for logs and messages.
func (t *Target) Name() string {
	u := t.User
	if u == "" {
		u = "*"
	}
	return u + "@" + net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// Engine speaks one database protocol. An engine answers the client's
// startup, logs in upstream through Upstream, splices the two and returns
// when either side closes. Postgres is one; dbproxy/mysql has the other.
type Engine interface {
	// Serve handles one client connection until it ends.
	Serve(ctx context.Context, client net.Conn, s *Session) error
	// Refuse tells a client in its protocol that it cannot be served
	// (msg is one line), then closes it.
	Refuse(client net.Conn, msg string)
	// Probe checks that the database answers and passes TLS verification,
	// without logging in.
	Probe(ctx context.Context, s *Session) error
}

// Session is what an Engine gets for one client: the target, a way to
// reach the database and the proxy's counters.
type Session struct {
	Target *Target
	Tokens *Tokens
	Log    *slog.Logger
	proxy  *Proxy
}

// Dial connects to the target's host and returns the connection and the
// IP address it reached (cancel requests go to the same one).
func (s *Session) Dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: s.Target.DialTimeout}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Target.Host, strconv.Itoa(s.Target.Port)))
	if err != nil {
		s.proxy.metrics.authFailure("unreachable")
		return nil, fmt.Errorf("cannot reach %s: %w", s.Target.Name(), unwrapOp(err))
	}
	return c, nil
}

// DialAddr connects to addr (an IP:port an earlier Dial reached).
func (s *Session) DialAddr(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// TLSConfig is the upstream TLS configuration: verify-full against the
// target's roots with the target's host name.
func (s *Session) TLSConfig() *tls.Config {
	return &tls.Config{ServerName: s.Target.Host, RootCAs: s.Target.Roots, MinVersion: tls.VersionTLS12}
}

// AuthFailed counts an upstream authentication failure by reason.
func (s *Session) AuthFailed(reason string) { s.proxy.metrics.authFailure(reason) }

// Count wraps c so that the bytes read from it count as direction.
func (s *Session) Count(c net.Conn, direction string) net.Conn {
	return &countingConn{Conn: c, add: s.proxy.metrics.bytesAdder(direction)}
}

// Cancels is the proxy's map of client cancel keys to upstream ones.
func (s *Session) Cancels() *CancelMap { return &s.proxy.cancels }

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Options configure a Proxy.
type Options struct {
	Targets []*Target
	Tokens  *Tokens
	// Engines by Target.Engine.
	Engines map[string]Engine
	// MaxConnections caps open client connections over all targets; 0 is
	// no cap.
	MaxConnections int
	Log            *slog.Logger
	// Metrics registers the proxy's collectors; nil keeps them unregistered.
	Metrics *Metrics
}

// Proxy listens for clients of its targets.
type Proxy struct {
	opts      Options
	log       *slog.Logger
	metrics   *Metrics
	listeners []*listener
	cancels   CancelMap

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	draining bool
	wg       sync.WaitGroup
}

type listener struct {
	net.Listener
	target *Target
	engine Engine
	addr   string
}

// New opens every target's listener, or none: on an error the ones opened
// are closed.
func New(o Options) (*Proxy, error) {
	p := &Proxy{opts: o, log: o.Log, metrics: o.Metrics, conns: map[net.Conn]struct{}{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.metrics == nil {
		p.metrics = NewMetrics(nil)
	}
	if o.Tokens != nil {
		o.Tokens.OnMint = p.metrics.tokensMinted.Inc
		o.Tokens.OnHit = p.metrics.cacheHits.Inc
	}
	for _, t := range o.Targets {
		e := o.Engines[t.Engine]
		if e == nil {
			p.closeListeners()
			return nil, fmt.Errorf("target %s: unknown engine %q (known: %s)", t.Name(), t.Engine, strings.Join(slices.Sorted(maps.Keys(o.Engines)), ", "))
		}
		l, addr, err := listen(t)
		if err != nil {
			p.closeListeners()
			return nil, fmt.Errorf("target %s: %w", t.Name(), err)
		}
		p.listeners = append(p.listeners, &listener{Listener: l, target: t, engine: e, addr: addr})
	}
	return p, nil
}

// Addrs returns the listening addresses, one per target, in order
// (host:port, or unix:PATH).
func (p *Proxy) Addrs() []string {
	var a []string
	for _, l := range p.listeners {
		a = append(a, l.addr)
	}
	return a
}

// ErrNotLoopback refuses a listen address other than loopback for a
// target without a local password.
var ErrNotLoopback = errors.New("not a loopback address")

// portTries is how many ports after the default one listen tries.
const portTries = 20

// listen opens t.Listen. An empty address is 127.0.0.1 on the target's
// port or the next free one.
func listen(t *Target) (net.Listener, string, error) {
	if path, ok := strings.CutPrefix(t.Listen, "unix:"); ok {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			if t.Engine == "mysql" {
				path = filepath.Join(path, "mysqld.sock") // as Debian's /run/mysqld/mysqld.sock
			} else {
				path = filepath.Join(path, ".s.PGSQL."+strconv.Itoa(t.Port))
			}
		}
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			// A stale socket from an earlier run: remove it only if no one answers.
			if c, err := net.Dial("unix", path); err == nil {
				c.Close()
				return nil, "", fmt.Errorf("listen unix:%s: another process is serving this socket", path)
			}
			os.Remove(path)
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, "", fmt.Errorf("listen %s: %w", t.Listen, unwrapOp(err))
		}
		// Only the owner may connect.
		if err := os.Chmod(path, 0o600); err != nil {
			l.Close()
			return nil, "", err
		}
		return l, "unix:" + path, nil
	}
	if t.Listen != "" {
		host, _, err := net.SplitHostPort(t.Listen)
		if err != nil {
			return nil, "", fmt.Errorf("--listen %q is not host:port or unix:PATH", t.Listen)
		}
		if _, port, _ := net.SplitHostPort(t.Listen); loopback(host) && loopback(t.Host) && port == strconv.Itoa(t.Port) {
			return nil, "", fmt.Errorf("listen %s is the database's own address: the proxy would dial itself; pick another port", t.Listen)
		}
		if !loopback(host) && t.LocalPassword == "" {
			return nil, "", fmt.Errorf("listen %s: %w: anyone who reaches it would log in as %s; set a local password (--local-password-file) or listen on 127.0.0.1", t.Listen, ErrNotLoopback, t.Name())
		}
		l, err := net.Listen("tcp", t.Listen)
		if err != nil {
			return nil, "", fmt.Errorf("listen %s: %w", t.Listen, unwrapOp(err))
		}
		return l, l.Addr().String(), nil
	}
	var first error
	for port := t.Port; port < t.Port+portTries && port <= 65535; port++ {
		if port == t.Port && loopback(t.Host) {
			continue // the database's own address: the proxy would dial itself
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return l, l.Addr().String(), nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, "", fmt.Errorf("no free port on 127.0.0.1 from %d to %d (pass --listen): %w", t.Port, t.Port+portTries-1, unwrapOp(first))
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return (ip != nil && ip.IsLoopback()) || host == ""
}

// Serve accepts clients until ctx ends or Shutdown; it returns the first
// accept error that is not a shutdown.
func (p *Proxy) Serve(ctx context.Context) error {
	errc := make(chan error, len(p.listeners))
	for _, l := range p.listeners {
		go func() { errc <- p.accept(ctx, l) }()
	}
	var first error
	for range p.listeners {
		if err := <-errc; err != nil && first == nil {
			first = err
			p.closeListeners()
		}
	}
	return first
}

func (p *Proxy) accept(ctx context.Context, l *listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			p.mu.Lock()
			d := p.draining
			p.mu.Unlock()
			if d || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors: the sessions that end free some.
				p.log.Warn("accept failed; retrying", "listen", l.addr, "error", err.Error())
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept on %s: %w", l.addr, err)
		}
		if !p.track(c) {
			p.metrics.refused.Inc()
			go l.engine.Refuse(c, fmt.Sprintf("credkit db proxy: too many connections (--max-connections %d); try again later", p.opts.MaxConnections))
			continue
		}
		p.metrics.connsTotal.Inc()
		p.metrics.connsOpen.Inc()
		go func() {
			defer p.untrack(c)
			log := p.log.With("target", l.target.Name(), "client", c.RemoteAddr().String())
			s := &Session{Target: l.target, Tokens: p.opts.Tokens, Log: log, proxy: p}
			start := time.Now()
			err := l.engine.Serve(ctx, c, s)
			if err != nil {
				log.Warn("connection ended", "error", err.Error(), "duration", time.Since(start).Round(time.Millisecond).String())
			} else {
				log.Debug("connection ended", "duration", time.Since(start).Round(time.Millisecond).String())
			}
		}()
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining || (p.opts.MaxConnections > 0 && len(p.conns) >= p.opts.MaxConnections) {
		return false
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	p.metrics.connsOpen.Dec()
	p.wg.Done()
}

// Open is the number of client connections open now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Ready reports whether the proxy accepts new clients: not draining and
// under --max-connections.
func (p *Proxy) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.draining {
		return errors.New("draining")
	}
	if p.opts.MaxConnections > 0 && len(p.conns) >= p.opts.MaxConnections {
		return fmt.Errorf("at --max-connections %d", p.opts.MaxConnections)
	}
	return nil
}

func (p *Proxy) closeListeners() {
	for _, l := range p.listeners {
		l.Close()
	}
}

// Probe checks every target with its engine's Probe and returns the
// errors, one per failing target.
func (p *Proxy) Probe(ctx context.Context) []error {
	errs := make([]error, len(p.listeners))
	var wg sync.WaitGroup
	for i, l := range p.listeners {
		wg.Go(func() {
			s := &Session{Target: l.target, Tokens: p.opts.Tokens, Log: p.log, proxy: p}
			errs[i] = l.engine.Probe(ctx, s)
		})
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Shutdown stops accepting, waits for open connections to end until ctx
// is done, then closes those still open and returns how many it closed.
func (p *Proxy) Shutdown(ctx context.Context) (closed int) {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
	p.closeListeners()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return 0
	case <-ctx.Done():
	}
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
		closed++
	}
	p.mu.Unlock()
	<-done
	return closed
}
