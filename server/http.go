package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is what the endpoints read of an HTTP request. The server keeps
// one Request per connection and fills it anew for every request, so a
// handler must not keep the *Request after it returns; the strings in it
// are never modified and may be kept.
type Request struct {
	Method string // "GET", "PUT", ...
	// Path is the target's path, percent-decoded, without the query:
	// "/credentials" for "GET /credentials?x=1" and for
	// "GET http://127.0.0.1:8080/credentials".
	Path string
	// Host is the Host header, or the authority of an absolute-form
	// target (which takes precedence, as RFC 9112 says).
	Host string
	// RemoteAddr is the peer's address, "IP:port".
	RemoteAddr string

	// The header values the endpoints read; "" when absent. When a header
	// comes more than once, the first value counts.
	Authorization string // Authorization
	IMDSToken     string // X-aws-ec2-metadata-token
	IMDSTokenTTL  string // X-aws-ec2-metadata-token-ttl-seconds
	// ForwardedFor reports that an X-Forwarded-For header is present,
	// whatever its value.
	ForwardedFor bool
}

// Response is a handler's answer. The zero value is a 200 with an empty
// body and no Content-Type.
type Response struct {
	Status       int    // 0 means 200
	ContentType  string // Content-Type; "" sends none
	CacheControl string // Cache-Control; "" sends none
	// TokenTTL is sent as X-aws-ec2-metadata-token-ttl-seconds; "" sends
	// none.
	TokenTTL string
	// Body is sent as it is and never modified: a handler may hand out a
	// slice it shares with other answers.
	Body []byte
}

// Handler answers requests. *ECS and *IMDS are Handlers; nethttp.Handler
// adapts one to net/http.
type Handler interface {
	// Serve fills w for r. ctx is cancelled when Close returns: when it
	// gives up waiting for requests in flight, at the latest.
	Serve(ctx context.Context, w *Response, r *Request)
}

// Limits and timeouts of the server.
const (
	// DefaultIdleTimeout closes a keep-alive connection that sent no
	// request for this long. The deadline is moved only once it is 1/16
	// of the timeout behind: a connection may be closed up to 1/16
	// earlier.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultHeaderTimeout closes a connection whose request line and
	// headers (and body, if any) did not all arrive within this time of
	// its first byte.
	DefaultHeaderTimeout = 5 * time.Second
	// DefaultWriteTimeout closes a connection whose peer does not read its
	// answers: a write that blocks this long fails.
	DefaultWriteTimeout = 10 * time.Second
	// MaxHeaderBytes bounds the request line and headers together; a
	// longer head is answered 431 and the connection closed.
	MaxHeaderBytes = 16 << 10
	// MaxBodyBytes bounds a request body (which the endpoints never read:
	// it is discarded); a longer one is answered 413 and the connection
	// closed.
	MaxBodyBytes = 64 << 10

	initialBufSize = 4 << 10
	lingerTimeout  = 500 * time.Millisecond // reading what a peer still sends after an error
	lingerMaxBytes = 1 << 20
)

// config holds the server's limits; tests shorten the timeouts.
type config struct {
	idleTimeout   time.Duration
	headerTimeout time.Duration
	writeTimeout  time.Duration
}

var defaultConfig = config{
	idleTimeout:   DefaultIdleTimeout,
	headerTimeout: DefaultHeaderTimeout,
	writeTimeout:  DefaultWriteTimeout,
}

// Server is a running loopback HTTP/1.1 server.
type Server struct {
	URL string // http://127.0.0.1:PORT
	ln  net.Listener
	h   Handler
	cfg config

	ctx    context.Context // handlers' context, cancelled when Close gives up waiting
	cancel context.CancelFunc

	closing atomic.Bool
	wg      sync.WaitGroup // every connection
	mu      sync.Mutex
	conns   map[*conn]struct{}
}

// Listen starts h on addr, which must be a loopback address ("" means
// 127.0.0.1 on a random port).
func Listen(addr string, h Handler) (*Server, error) {
	return listen(addr, h, defaultConfig)
}

// ListenLoopback listens on addr, which must be a loopback address (""
// means 127.0.0.1 on a random port); who names what listens, for the
// refusal of any other address ("the lab serves": "... this machine only").
func ListenLoopback(addr, who string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("listen address %q is not loopback: %s this machine only", addr, who)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

func listen(addr string, h Handler, cfg config) (*Server, error) {
	if h == nil {
		return nil, errors.New("server: nil Handler")
	}
	ln, err := ListenLoopback(addr, "credential endpoints serve")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		ln:     ln,
		h:      h,
		cfg:    cfg,
		ctx:    ctx,
		cancel: cancel,
		conns:  map[*conn]struct{}{},
	}
	go s.accept()
	return s, nil
}

// Addr is the listener's address (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections, closes the idle ones, and waits for
// the requests in flight to be answered (with "Connection: close"), then
// returns nil. If ctx ends first, it closes every connection left,
// cancels the handlers' context, and returns ctx's error.
func (s *Server) Close(ctx context.Context) error {
	s.closing.Store(true)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.interruptIfIdle()
	}
	none := len(s.conns) == 0
	s.mu.Unlock()
	if none {
		// No connection can be added now (accept checks closing under
		// mu): nothing to wait for.
		s.cancel()
		return nil
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// accept runs until the listener is closed. A connection is added to
// s.conns and s.wg under s.mu, and only while the server is not closing,
// so that Close, which sets closing before it takes s.mu, waits for every
// connection accepted.
func (s *Server) accept() {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// Connection states, for Close.
const (
	stateActive int32 = iota // reading or answering a request
	stateIdle                // waiting for the first byte of a request
)

// conn is one connection. Only its goroutine touches its fields, except
// state, which Close reads.
type conn struct {
	s          *Server
	nc         net.Conn
	remoteAddr string
	state      atomic.Int32

	in  []byte // bytes read and not yet consumed: in[start:]
	out []byte // answers not yet written

	req  Request
	resp Response

	// The last strings made from request bytes: a client asks the same
	// thing again and again, and reusing them spares an allocation per
	// request and value.
	lastPath, lastHost, lastAuth, lastToken, lastTTL, lastMethod string

	// checked is how many bytes of a head that has not all arrived were
	// searched for its end already.
	checked int

	// Body bytes of the current request still to be read and discarded,
	// and whether its answer waits for them.
	skip    int64
	pending bool
	pendKA  bool // the pending request's keep-alive
	pendV10 bool // and its HTTP version is 1.0

	// reqStart is when the first byte of the request being read was seen
	// (zero: no request under way, or not yet noted).
	reqStart time.Time

	// The deadlines in force, to renew them only when needed.
	readDeadline  time.Time
	readIsIdle    bool
	writeDeadline time.Time

	now time.Time // taken after every read and every handler call
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s:   s,
		nc:  nc,
		in:  make([]byte, 0, initialBufSize),
		out: make([]byte, 0, initialBufSize),
	}
	if a := nc.RemoteAddr(); a != nil {
		c.remoteAddr = a.String()
	}
	return c
}

// interruptIfIdle makes a connection waiting for a request stop waiting.
// The connection's goroutine marks itself idle before it checks
// s.closing and reads, and sets no deadline in between, so either it sees
// closing or its read fails at once.
func (c *conn) interruptIfIdle() {
	if c.state.Load() == stateIdle {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.s.wg.Done()
	}()
	c.now = time.Now()
	start := 0
	for {
		var act action
		start, act = c.process(start)
		if len(c.out) > 0 {
			if !c.flush() {
				return
			}
		}
		switch act {
		case closeNow:
			if start < len(c.in) {
				// The peer sent more after a request that closes the
				// connection: keep the answer from a reset.
				c.linger()
			}
			return
		case closeLinger:
			c.linger()
			return
		}
		// Keep unconsumed bytes at the front of the buffer.
		if start > 0 {
			n := copy(c.in[:cap(c.in)], c.in[start:])
			c.in = c.in[:n]
			start = 0
		}
		if len(c.in) == cap(c.in) {
			// A head that does not fit yet (process answers 431 past
			// MaxHeaderBytes).
			grown := make([]byte, len(c.in), min(2*cap(c.in), MaxHeaderBytes+initialBufSize))
			copy(grown, c.in)
			c.in = grown
		}
		if len(c.in) == 0 && !c.pending {
			// Between requests.
			c.reqStart = time.Time{}
			c.armIdle()
			c.state.Store(stateIdle)
			if c.s.closing.Load() {
				return
			}
		} else {
			c.armHeader()
		}
		n, err := c.nc.Read(c.in[len(c.in):cap(c.in)])
		c.state.Store(stateActive)
		c.now = time.Now()
		if n > 0 && c.reqStart.IsZero() {
			c.reqStart = c.now
		}
		c.in = c.in[:len(c.in)+n]
		if err != nil && n == 0 {
			// EOF, a timeout (idle, or a request that took too long: as
			// net/http, no answer), Close, or a reset.
			return
		}
	}
}

// armIdle sets the idle deadline. It is renewed only when the one in
// force is a header deadline or ends more than 1/16 of the idle timeout
// too early: a connection asking many times a second sets it once in a
// while, not on every request.
func (c *conn) armIdle() {
	want := c.now.Add(c.s.cfg.idleTimeout)
	if c.readIsIdle && want.Sub(c.readDeadline) < c.s.cfg.idleTimeout/16 {
		return
	}
	c.readDeadline, c.readIsIdle = want, true
	c.nc.SetReadDeadline(want)
}

// armHeader sets the deadline of the request under way: the header
// timeout from its first byte.
func (c *conn) armHeader() {
	if c.reqStart.IsZero() {
		c.reqStart = c.now
	}
	want := c.reqStart.Add(c.s.cfg.headerTimeout)
	if !c.readIsIdle && c.readDeadline.Equal(want) {
		return
	}
	c.readDeadline, c.readIsIdle = want, false
	c.nc.SetReadDeadline(want)
}

// flush writes the answers, renewing the write deadline as armIdle does
// the idle one.
func (c *conn) flush() bool {
	want := c.now.Add(c.s.cfg.writeTimeout)
	if want.Sub(c.writeDeadline) >= c.s.cfg.writeTimeout/16 {
		c.writeDeadline = want
		c.nc.SetWriteDeadline(want)
	}
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err == nil
}

// linger closes the sending side, then reads and drops what the peer
// still sends for a short while, so that the answer is not lost to a
// reset (closing a socket with unread data sends RST).
func (c *conn) linger() {
	if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	buf := c.in[:cap(c.in)]
	for n := 0; n < lingerMaxBytes; {
		m, err := c.nc.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}

// action is what the connection does after writing its answers.
type action int

const (
	readMore    action = iota // read more requests
	closeNow                  // close (the peer asked, or the server closes)
	closeLinger               // close after a protocol error: linger
)

// process answers every complete request in c.in[start:], appending the
// answers to c.out. It returns where the unconsumed bytes start.
func (c *conn) process(start int) (int, action) {
	for {
		if c.skip > 0 {
			n := min(c.skip, int64(len(c.in)-start))
			start += int(n)
			c.skip -= n
			if c.skip > 0 {
				return start, readMore
			}
		}
		if c.pending {
			c.pending = false
			if act := c.answer(c.pendKA, c.pendV10); act != readMore {
				return start, act
			}
		}
		// Empty lines before a request line are ignored (RFC 9112, 2.2).
		for len(c.in)-start >= 2 && c.in[start] == '\r' && c.in[start+1] == '\n' {
			start += 2
			c.checked = 0
		}
		p := c.in[start:]
		if len(p) == 0 {
			c.reqStart = time.Time{}
			return start, readMore
		}
		end := headEnd(p, c.checked)
		if end < 0 {
			if len(p) > MaxHeaderBytes {
				return start, c.fail(431, "request header fields too large")
			}
			if (!isTokenChar(p[0]) && !(p[0] == '\r' && len(p) == 1)) || bareLineEnd(p, c.checked) {
				// Not HTTP (a TLS handshake, say), or lines that do not
				// end in CRLF: no need to wait for more.
				return start, c.fail(400, "malformed request")
			}
			// A head arriving in pieces is searched once, not again
			// from its start on every read.
			c.checked = len(p)
			return start, readMore
		}
		c.checked = 0
		if end > MaxHeaderBytes {
			return start, c.fail(431, "request header fields too large")
		}
		h, status, msg := c.parseHead(p[:end])
		if status != 0 {
			return start, c.fail(status, msg)
		}
		start += end
		c.reqStart = time.Time{}
		if h.bodyLen > MaxBodyBytes {
			return start, c.fail(413, "request body too large")
		}
		c.skip = h.bodyLen
		c.pending = true
		c.pendKA, c.pendV10 = h.keepAlive, h.http10
		if h.expectContinue && c.skip > int64(len(c.in)-start) {
			// The peer may wait for this before sending the body.
			c.out = append(c.out, "HTTP/1.1 100 Continue\r\n\r\n"...)
		}
	}
}

// answer calls the handler for c.req and appends its answer.
func (c *conn) answer(keepAlive, http10 bool) action {
	c.resp = Response{}
	c.s.h.Serve(c.s.ctx, &c.resp, &c.req)
	// A handler may wait long for its provider: the Date header and the
	// deadlines set next count from now, not from the read.
	c.now = time.Now()
	if c.s.closing.Load() {
		keepAlive = false
	}
	c.out = appendResponse(c.out, &c.resp, c.req.Method == "HEAD", keepAlive, http10, c.now)
	if !keepAlive {
		return closeNow
	}
	return readMore
}

// fail appends an error answer that closes the connection.
func (c *conn) fail(status int, msg string) action {
	r := Response{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(msg + "\n")}
	c.out = appendResponse(c.out, &r, false, false, false, c.now)
	return closeLinger
}

// headEnd returns the length of the head at the start of p (through the
// blank line ending it), or -1 if p does not hold all of it yet. The
// first checked bytes of p are known to hold no end of the head.
func headEnd(p []byte, checked int) int {
	from := max(0, checked-3)
	if i := bytes.Index(p[from:], crlfcrlf); i >= 0 {
		return from + i + 4
	}
	return -1
}

var crlfcrlf = []byte("\r\n\r\n")

// bareLineEnd reports whether p has a CR not followed by LF or an LF not
// preceded by CR (p may end with a CR whose LF has not arrived). The
// first checked bytes of p were found free of them (but a CR at their end
// had no LF after it yet).
func bareLineEnd(p []byte, checked int) bool {
	for i := max(0, checked-1); i < len(p); i++ {
		switch b := p[i]; {
		case b == '\r' && i+1 < len(p) && p[i+1] != '\n':
			return true
		case b == '\n' && (i == 0 || p[i-1] != '\r'):
			return true
		}
	}
	return false
}

// head is what the server itself reads of a request's head.
type head struct {
	http10         bool
	keepAlive      bool
	bodyLen        int64
	expectContinue bool
}

// parseHead parses the request line and headers in p (which ends with
// the blank line) into c.req. On a malformed head it returns the status
// to answer and why.
func (c *conn) parseHead(p []byte) (h head, status int, msg string) {
	c.req = Request{RemoteAddr: c.remoteAddr}
	line, rest, ok := cutLine(p)
	if !ok {
		return h, 400, "malformed request line"
	}
	// Request line: method SP request-target SP HTTP-version.
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 {
		return h, 400, "malformed request line"
	}
	method := line[:sp1]
	for _, b := range method {
		if !isTokenChar(b) {
			return h, 400, "malformed request line"
		}
	}
	sp2 := indexByte(line[sp1+1:], ' ')
	if sp2 <= 0 {
		return h, 400, "malformed request line"
	}
	target := line[sp1+1 : sp1+1+sp2]
	version := line[sp1+1+sp2+1:]
	switch string(version) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.http10 = true
	default:
		if len(version) == 8 && string(version[:5]) == "HTTP/" && isDigit(version[5]) && version[6] == '.' && isDigit(version[7]) {
			return h, 505, "HTTP version not supported"
		}
		return h, 400, "malformed request line"
	}
	c.req.Method = c.methodString(method)
	path, authority, ok := c.parseTarget(target)
	if !ok {
		return h, 400, "malformed request target"
	}
	c.req.Path = path

	var (
		hostSeen, lengthSeen, teSeen, connClose, connKeepAlive bool
		authSeen, tokenSeen, ttlSeen                           bool
	)
	h.bodyLen = 0
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return h, 400, "malformed header line"
		}
		if len(line) == 0 {
			break
		}
		colon := indexByte(line, ':')
		if colon <= 0 {
			return h, 400, "malformed header line"
		}
		name := line[:colon]
		for _, b := range name {
			if !isTokenChar(b) { // also refuses obs-fold and space before ':'
				return h, 400, "malformed header line"
			}
		}
		value := trimOWS(line[colon+1:])
		for _, b := range value {
			if (b < ' ' && b != '\t') || b == 0x7f {
				return h, 400, "malformed header value"
			}
		}
		switch len(name) {
		case 4:
			if equalFold(name, "host") {
				if hostSeen {
					return h, 400, "more than one Host header"
				}
				hostSeen = true
				c.req.Host = c.cached(&c.lastHost, value)
			}
		case 6:
			if equalFold(name, "expect") {
				if !equalFold(value, "100-continue") {
					return h, 417, "unsupported Expect header"
				}
				h.expectContinue = !h.http10
			}
		case 10:
			if equalFold(name, "connection") {
				for v := value; len(v) > 0; {
					var tok []byte
					tok, v = cutComma(v)
					switch {
					case equalFold(tok, "close"):
						connClose = true
					case equalFold(tok, "keep-alive"):
						connKeepAlive = true
					}
				}
			}
		case 13:
			if equalFold(name, "authorization") && !authSeen {
				authSeen = true
				c.req.Authorization = c.cached(&c.lastAuth, value)
			}
		case 14:
			if equalFold(name, "content-length") {
				n, ok := parseLength(value)
				if !ok || (lengthSeen && n != h.bodyLen) {
					return h, 400, "bad Content-Length"
				}
				lengthSeen, h.bodyLen = true, n
			}
		case 15:
			if equalFold(name, "x-forwarded-for") {
				c.req.ForwardedFor = true
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				teSeen = true
			}
		case 24:
			if equalFold(name, "x-aws-ec2-metadata-token") && !tokenSeen {
				tokenSeen = true
				c.req.IMDSToken = c.cached(&c.lastToken, value)
			}
		case 36:
			if equalFold(name, "x-aws-ec2-metadata-token-ttl-seconds") && !ttlSeen {
				ttlSeen = true
				c.req.IMDSTokenTTL = c.cached(&c.lastTTL, value)
			}
		}
	}
	if teSeen {
		// Chunked bodies are not read: the endpoints take none.
		return h, 501, "Transfer-Encoding not supported"
	}
	if !hostSeen && !h.http10 {
		return h, 400, "missing Host header"
	}
	if authority != nil {
		c.req.Host = c.cached(&c.lastHost, authority)
	}
	if h.http10 {
		h.keepAlive = connKeepAlive && !connClose
	} else {
		h.keepAlive = !connClose
	}
	return h, 0, ""
}

// parseTarget returns the path of an origin-form ("/p?q") or
// absolute-form ("http://host/p?q") request target, percent-decoded and
// without the query, and the authority of an absolute-form one.
func (c *conn) parseTarget(t []byte) (path string, authority []byte, ok bool) {
	for _, b := range t {
		if b <= ' ' || b >= 0x7f || b == '#' {
			return "", nil, false
		}
	}
	if len(t) == 0 {
		return "", nil, false
	}
	if t[0] != '/' {
		var rest []byte
		switch {
		case len(t) > 7 && equalFold(t[:7], "http://"):
			rest = t[7:]
		case len(t) > 8 && equalFold(t[:8], "https://"):
			rest = t[8:]
		default:
			return "", nil, false
		}
		i := 0
		for i < len(rest) && rest[i] != '/' && rest[i] != '?' {
			if rest[i] == '@' { // no user info
				return "", nil, false
			}
			i++
		}
		if i == 0 {
			return "", nil, false
		}
		authority, t = rest[:i], rest[i:]
		if len(t) == 0 || t[0] == '?' {
			t = append([]byte("/"), t...)
		}
	}
	if q := indexByte(t, '?'); q >= 0 {
		t = t[:q]
	}
	if indexByte(t, '%') < 0 {
		return c.cached(&c.lastPath, t), authority, true
	}
	d, ok := unescapePath(t)
	if !ok {
		return "", nil, false
	}
	return c.cached(&c.lastPath, d), authority, true
}

// unescapePath decodes %XX escapes; it refuses bad escapes and escaped
// control characters.
func unescapePath(t []byte) ([]byte, bool) {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if t[i] != '%' {
			out = append(out, t[i])
			continue
		}
		if i+2 >= len(t) {
			return nil, false
		}
		hi, ok1 := unhex(t[i+1])
		lo, ok2 := unhex(t[i+2])
		b := hi<<4 | lo
		if !ok1 || !ok2 || b < ' ' || b == 0x7f {
			return nil, false
		}
		out = append(out, b)
		i += 2
	}
	return out, true
}

func unhex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

// cached returns b as a string, the one in *last if it holds the same
// bytes (comparing does not allocate).
func (c *conn) cached(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

func (c *conn) methodString(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "PUT":
		return "PUT"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	}
	return c.cached(&c.lastMethod, b)
}

// cutLine splits p at its first CRLF. A CR or LF alone is malformed.
func cutLine(p []byte) (line, rest []byte, ok bool) {
	for i, b := range p {
		switch b {
		case '\r':
			if i+1 < len(p) && p[i+1] == '\n' {
				return p[:i], p[i+2:], true
			}
			return nil, nil, false
		case '\n':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// cutComma returns the first element of a comma-separated list, trimmed,
// and the rest.
func cutComma(v []byte) (tok, rest []byte) {
	i := indexByte(v, ',')
	if i < 0 {
		return trimOWS(v), nil
	}
	return trimOWS(v[:i]), v[i+1:]
}

func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, b := range v {
		if !isDigit(b) {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// equalFold compares b with s, which is lower case, ignoring ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != s[i] {
			return false
		}
	}
	return true
}

// isTokenChar reports whether b may appear in a token (RFC 9110, 5.6.2):
// methods and header names.
func isTokenChar(b byte) bool {
	return b < 0x80 && tokenChars[b]
}

var tokenChars = func() (t [128]bool) {
	for b := '0'; b <= '9'; b++ {
		t[b] = true
	}
	for b := 'a'; b <= 'z'; b++ {
		t[b] = true
		t[b-'a'+'A'] = true
	}
	for _, b := range "!#$%&'*+-.^_`|~" {
		t[b] = true
	}
	return t
}()

// statusText is the reason phrase of the statuses the server sends.
func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 413:
		return "Request Entity Too Large"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// validHeaderValue reports whether v can be sent as a header value as it
// is: no control characters (which would let a value end the header).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// appendResponse appends r to out: status line, headers, body (none for
// HEAD). A status outside 200-599 or a header value with control
// characters is a handler bug and is answered 500.
func appendResponse(out []byte, r *Response, head, keepAlive, http10 bool, now time.Time) []byte {
	status := r.Status
	if status == 0 {
		status = 200
	}
	if status < 200 || status > 599 || !validHeaderValue(r.ContentType) || !validHeaderValue(r.CacheControl) || !validHeaderValue(r.TokenTTL) {
		r = &Response{Status: 500}
		status = 500
	}
	if http10 {
		out = append(out, "HTTP/1.0 "...)
	} else {
		out = append(out, "HTTP/1.1 "...)
	}
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, statusText(status)...)
	out = append(out, "\r\nDate: "...)
	out = appendDate(out, now)
	if r.ContentType != "" {
		out = append(out, "\r\nContent-Type: "...)
		out = append(out, r.ContentType...)
	}
	if r.CacheControl != "" {
		out = append(out, "\r\nCache-Control: "...)
		out = append(out, r.CacheControl...)
	}
	if r.TokenTTL != "" {
		out = append(out, "\r\nX-aws-ec2-metadata-token-ttl-seconds: "...)
		out = append(out, r.TokenTTL...)
	}
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(r.Body)), 10)
	switch {
	case !keepAlive:
		out = append(out, "\r\nConnection: close"...)
	case http10:
		out = append(out, "\r\nConnection: keep-alive"...)
	}
	out = append(out, "\r\n\r\n"...)
	if !head {
		out = append(out, r.Body...)
	}
	return out
}

// date is an IMF-fixdate (RFC 9110, 5.6.7) kept for the second it names.
type date struct {
	sec int64
	b   []byte
}

var lastDate atomic.Pointer[date]

func appendDate(out []byte, now time.Time) []byte {
	sec := now.Unix()
	d := lastDate.Load()
	if d == nil || d.sec != sec {
		d = &date{sec: sec, b: now.UTC().AppendFormat(nil, "Mon, 02 Jan 2006 15:04:05 GMT")}
		lastDate.Store(d)
	}
	return append(out, d.b...)
}
