package dbproxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the proxy's Prometheus collectors.
type Metrics struct {
	connsOpen    prometheus.Gauge
	connsTotal   prometheus.Counter
	refused      prometheus.Counter
	tokensMinted prometheus.Counter
	cacheHits    prometheus.Counter
	authFailures *prometheus.CounterVec
	bytes        *prometheus.CounterVec
}

// NewMetrics makes the collectors and registers them with reg (when not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connsOpen:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "credkit_dbproxy_connections_open", Help: "Client connections open now."}),
		connsTotal:   prometheus.NewCounter(prometheus.CounterOpts{Name: "credkit_dbproxy_connections_total", Help: "Client connections accepted."}),
		refused:      prometheus.NewCounter(prometheus.CounterOpts{Name: "credkit_dbproxy_connections_refused_total", Help: "Client connections refused at --max-connections or while draining."}),
		tokensMinted: prometheus.NewCounter(prometheus.CounterOpts{Name: "credkit_dbproxy_tokens_minted_total", Help: "IAM authentication tokens signed."}),
		cacheHits:    prometheus.NewCounter(prometheus.CounterOpts{Name: "credkit_dbproxy_token_cache_hits_total", Help: "Upstream logins that reused a cached token."}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "credkit_dbproxy_upstream_auth_failures_total", Help: "Upstream logins that failed, by reason."}, []string{"reason"}),
		bytes:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "credkit_dbproxy_bytes_total", Help: "Bytes copied, by direction (upstream: client to database; downstream: database to client)."}, []string{"direction"}),
	}
	if reg != nil {
		reg.MustRegister(m.connsOpen, m.connsTotal, m.refused, m.tokensMinted, m.cacheHits, m.authFailures, m.bytes)
	}
	return m
}

func (m *Metrics) authFailure(reason string) { m.authFailures.WithLabelValues(reason).Inc() }

func (m *Metrics) bytesAdder(direction string) func(int) {
	c := m.bytes.WithLabelValues(direction)
	return func(n int) { c.Add(float64(n)) }
}

// countingConn counts the bytes read from it.
type countingConn struct {
	net.Conn
	add func(int)
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.add(n)
	}
	return n, err
}

// Health serves /startup, /liveness and /readiness (and /metrics when
// gatherer is not nil) for p.
type Health struct {
	started atomic.Bool
	proxy   *Proxy
	srv     *http.Server
	ln      net.Listener
}

// ListenHealth opens addr for the health endpoints; call Started once the
// proxy accepts clients.
func ListenHealth(addr string, p *Proxy, gatherer prometheus.Gatherer) (*Health, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &Health{proxy: p, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /startup", func(w http.ResponseWriter, r *http.Request) {
		if !h.started.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /liveness", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readiness", func(w http.ResponseWriter, r *http.Request) {
		if !h.started.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if err := p.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go h.srv.Serve(ln)
	return h, nil
}

// Addr is the address the health endpoints listen on.
func (h *Health) Addr() string { return h.ln.Addr().String() }

// Started marks start-up as complete.
func (h *Health) Started() { h.started.Store(true) }

// Close stops serving.
func (h *Health) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return h.srv.Close()
	}
	return err
}
