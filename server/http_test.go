package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
)

// echo answers every request with what the server made of it, one
// "name=value" a line, so that tests can check the parsing.
type echo struct {
	calls atomic.Int64
	// block, when set, holds requests for /block until it is closed or
	// the handler's context ends.
	block chan struct{}
	// ctxErr receives the context's error of a request to /block that
	// gave up.
	ctxErr chan error
}

func (e *echo) Serve(ctx context.Context, w *Response, r *Request) {
	e.calls.Add(1)
	if r.Path == "/block" && e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			if e.ctxErr != nil {
				e.ctxErr <- ctx.Err()
			}
			w.Status = 503
			return
		}
	}
	w.ContentType = "text/plain"
	w.Body = fmt.Appendf(nil, "method=%s\npath=%s\nhost=%s\nremote-ok=%v\nauth=%s\ntoken=%s\nttl=%s\nfwd=%v\n",
		r.Method, r.Path, r.Host, strings.HasPrefix(r.RemoteAddr, "127.0.0.1:"), r.Authorization, r.IMDSToken, r.IMDSTokenTTL, r.ForwardedFor)
}

// testConfig is the default configuration with the given timeouts (0:
// the default).
func testConfig(idle, header time.Duration) config {
	cfg := defaultConfig
	if idle > 0 {
		cfg.idleTimeout = idle
	}
	if header > 0 {
		cfg.headerTimeout = header
	}
	return cfg
}

func startServer(t *testing.T, h Handler, cfg config) *Server {
	t.Helper()
	s, err := listen("", h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// client is a raw TCP connection to a server.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// answer is one answer as net/http's client reads it.
type answer struct {
	status int
	proto  string
	close  bool // "Connection: close" (net/http takes it out of header)
	header http.Header
	body   string
}

// read reads one answer (to a GET unless head).
func (c *client) read(head bool) answer {
	c.t.Helper()
	method := "GET"
	if head {
		method = "HEAD"
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading an answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("reading a body: %v", err)
	}
	return answer{status: resp.StatusCode, proto: resp.Proto, close: resp.Close, header: resp.Header, body: string(b)}
}

// closed checks that the server closed the connection: nothing more to
// read.
func (c *client) closed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.br.ReadByte()
	if err == nil {
		c.t.Fatalf("connection still open: read %q", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open after 5s")
	}
}

// open checks that the server has not closed the connection (within a
// short wait).
func (c *client) open() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.br.Peek(1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("connection not open and quiet: %v", err)
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + strings.Join(headers, "") + "\r\n"
}

func field(body, name string) string {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return v
		}
	}
	return "<missing>"
}

// Pipelined requests that arrive in one read are answered in order, in
// one write.
func TestPipelined(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	c := dial(t, s)
	c.send(get("/a") + get("/b") + "PUT /c HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nxyz" + get("/d"))
	// One write of the server reaches this side as one read.
	buf := make([]byte, 64<<10)
	n, err := c.nc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(buf[:n], []byte("HTTP/1.1 200 OK\r\n")); got != 4 {
		t.Fatalf("first read holds %d answers, want all 4:\n%s", got, buf[:n])
	}
	c.br = bufio.NewReader(io.MultiReader(bytes.NewReader(buf[:n]), c.nc))
	for _, want := range []string{"GET /a", "GET /b", "PUT /c", "GET /d"} {
		a := c.read(false)
		if got := field(a.body, "method") + " " + field(a.body, "path"); a.status != 200 || got != want {
			t.Errorf("answer %d %q, want %q", a.status, got, want)
		}
	}
	c.open()
}

func TestKeepAliveAndClose(t *testing.T) {
	h := &echo{}
	s := startServer(t, h, defaultConfig)
	c := dial(t, s)
	for i := range 3 {
		c.send(get(fmt.Sprintf("/%d", i)))
		a := c.read(false)
		if a.status != 200 || field(a.body, "path") != fmt.Sprintf("/%d", i) || a.close || a.header.Get("Connection") != "" {
			t.Fatalf("request %d: %+v", i, a)
		}
		if a.header.Get("Date") == "" || a.header.Get("Content-Length") == "" {
			t.Errorf("headers %v", a.header)
		}
	}
	c.open()
	// "Connection: close" among other tokens, in any case.
	c.send(get("/last", "Connection: foo, CLOSE\r\n") + get("/after"))
	a := c.read(false)
	if a.status != 200 || !a.close || field(a.body, "path") != "/last" {
		t.Fatalf("close: %+v", a)
	}
	c.closed()
	if n := h.calls.Load(); n != 4 {
		t.Errorf("%d requests served, want 4 (none after the close)", n)
	}
}

func TestHTTP10(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	// Without keep-alive: answered, then closed. Host is optional in 1.0.
	c := dial(t, s)
	c.send("GET /old HTTP/1.0\r\n\r\n")
	a := c.read(false)
	if a.status != 200 || a.proto != "HTTP/1.0" || !a.close || field(a.body, "host") != "" {
		t.Fatalf("1.0: %+v", a)
	}
	c.closed()
	// With keep-alive: stays open.
	c = dial(t, s)
	for range 2 {
		c.send("GET /old HTTP/1.0\r\nHost: localhost\r\nConnection: Keep-Alive\r\n\r\n")
		a = c.read(false)
		if a.status != 200 || a.header.Get("Connection") != "keep-alive" || field(a.body, "host") != "localhost" {
			t.Fatalf("1.0 keep-alive: %+v", a)
		}
	}
	c.open()
}

func TestBodies(t *testing.T) {
	h := &echo{}
	s := startServer(t, h, defaultConfig)
	c := dial(t, s)
	// A body is read and dropped, whether it comes with the head or
	// later, in pieces.
	c.send("PUT /one HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\nhello")
	time.Sleep(20 * time.Millisecond)
	c.send(" wor")
	time.Sleep(20 * time.Millisecond)
	c.send("ld" + get("/two"))
	for _, want := range []string{"/one", "/two"} {
		if a := c.read(false); a.status != 200 || field(a.body, "path") != want {
			t.Fatalf("%s: %+v", want, a)
		}
	}
	// The largest body allowed.
	c.send("POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 65536\r\n\r\n" + strings.Repeat("b", MaxBodyBytes))
	if a := c.read(false); a.status != 200 || field(a.body, "path") != "/big" {
		t.Fatalf("64 KiB body: %+v", a)
	}
	c.open()
	// One byte more: 413, closed, and the handler never called.
	before := h.calls.Load()
	c = dial(t, s)
	c.send("POST /big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 65537\r\n\r\n" + strings.Repeat("b", 1000))
	if a := c.read(false); a.status != 413 || !a.close {
		t.Fatalf("too large: %+v", a)
	}
	c.closed()
	for _, cl := range []string{"abc", "-1", "+5", "1,1", "", "0x10", "1 1", "99999999999999999999"} {
		c = dial(t, s)
		c.send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + cl + "\r\n\r\n")
		if a := c.read(false); a.status != 400 {
			t.Errorf("Content-Length %q: %+v", cl, a)
		}
		c.closed()
	}
	c = dial(t, s)
	c.send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
	if a := c.read(false); a.status != 400 {
		t.Errorf("two Content-Lengths: %+v", a)
	}
	c.closed()
	if n := h.calls.Load(); n != before {
		t.Errorf("handler called %d times for refused requests", n-before)
	}
}

// A peer that goes on sending a body after the server refused it still
// reads the refusal.
func TestErrorAnswerNotLostToReset(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	for range 5 {
		c := dial(t, s)
		go func() {
			// A body ten times over the limit, sent in small pieces as the
			// answer arrives.
			io.WriteString(c.nc, "PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 655360\r\n\r\n")
			chunk := []byte(strings.Repeat("b", 1024))
			for range 640 {
				if _, err := c.nc.Write(chunk); err != nil {
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		}()
		time.Sleep(20 * time.Millisecond) // the answer is in, the body still coming
		if a := c.read(false); a.status != 413 || !a.close {
			t.Fatalf("%+v", a)
		}
	}
}

func TestTransferEncodingRefused(t *testing.T) {
	h := &echo{}
	s := startServer(t, h, defaultConfig)
	for _, te := range []string{"chunked", "gzip, chunked", "identity"} {
		c := dial(t, s)
		c.send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		if a := c.read(false); a.status != 501 || !a.close {
			t.Errorf("%s: %+v", te, a)
		}
		c.closed()
	}
	if h.calls.Load() != 0 {
		t.Error("handler called")
	}
}

func TestExpectContinue(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	c := dial(t, s)
	c.send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, err := c.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim answer %q, %v", line, err)
	}
	if blank, _ := c.br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100: %q", blank)
	}
	c.send("hello")
	if a := c.read(false); a.status != 200 || field(a.body, "path") != "/x" {
		t.Fatalf("final: %+v", a)
	}
	// Without a body there is nothing to wait for: no 100.
	c.send("PUT /y HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n")
	if a := c.read(false); a.status != 200 || field(a.body, "path") != "/y" {
		t.Fatalf("no body: %+v", a)
	}
	// A body that would be refused is refused before it is sent.
	c.send("PUT /z HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n")
	if a := c.read(false); a.status != 413 {
		t.Fatalf("large: %+v", a)
	}
	c.closed()
	c = dial(t, s)
	c.send("PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: something-else\r\n\r\n")
	if a := c.read(false); a.status != 417 {
		t.Fatalf("other expectation: %+v", a)
	}
	c.closed()
}

func TestHeaderLimit(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	// Just under the limit, in many headers: served.
	var b strings.Builder
	for b.Len() < MaxHeaderBytes-200 {
		b.WriteString("X-Filler: " + strings.Repeat("f", 90) + "\r\n")
	}
	c := dial(t, s)
	c.send(get("/ok", b.String()))
	if a := c.read(false); a.status != 200 {
		t.Fatalf("head of %d bytes: %+v", b.Len(), a)
	}
	// Over it, complete or not: 431 and closed.
	for _, tail := range []string{"\r\n", ""} {
		c = dial(t, s)
		c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("x", MaxHeaderBytes) + "\r\n" + tail)
		if a := c.read(false); a.status != 431 || !a.close {
			t.Fatalf("oversize head: %+v", a)
		}
		c.closed()
	}
}

func TestMalformedRequests(t *testing.T) {
	h := &echo{}
	s := startServer(t, h, defaultConfig)
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"GET /\r\n\r\n", 400},
		{"GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
		{"GET / HTTP/1.1\nHost: a\n\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\x7fb\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n\r\n", 400}, // no Host
		{"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /a%0a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET http://user@127.0.0.1/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400}, // a TLS ClientHello, incomplete: answered at once
		{"GET / HTTP/1.1\nHost: a", 400},                      // bare LF, incomplete: answered at once
	} {
		c := dial(t, s)
		c.send(tc.req)
		a := c.read(false)
		if a.status != tc.status || !a.close {
			t.Errorf("%q: %d %v, want %d and close", tc.req, a.status, a.header, tc.status)
		}
		c.closed()
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("handler called %d times", n)
	}
}

// What the handler sees: header names in any case, values trimmed, the
// query dropped, escapes decoded, the authority of an absolute target.
func TestRequestParsing(t *testing.T) {
	s := startServer(t, &echo{}, defaultConfig)
	c := dial(t, s)
	c.send("PUT /latest/api/token?x=1&y=%zz HTTP/1.1\r\n" +
		"hOsT: 127.0.0.1:1234\r\n" +
		"aUtHoRiZaTiOn: \t secret-token \t\r\n" +
		"X-AWS-EC2-METADATA-TOKEN-TTL-SECONDS:21600\r\n" +
		"x-aws-ec2-metadata-token: imds-token\r\n" +
		"X-Aws-Ec2-Metadata-Token: second-ignored\r\n" +
		"x-forwarded-for:\r\n" +
		"Content-Length: 0\r\n\r\n")
	a := c.read(false)
	want := map[string]string{
		"method": "PUT", "path": "/latest/api/token", "host": "127.0.0.1:1234", "remote-ok": "true",
		"auth": "secret-token", "token": "imds-token", "ttl": "21600", "fwd": "true",
	}
	for k, v := range want {
		if got := field(a.body, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for target, path := range map[string]string{
		"/a%2Fb%41":                    "/a/bA",
		"http://127.0.0.1:9/p?q":       "/p",
		"HTTP://localhost":             "/",
		"http://localhost?q":           "/",
		"/?only=query":                 "/",
		"/credentials":                 "/credentials",
		"/latest/meta-data/iam/..%2Fx": "/latest/meta-data/iam/../x",
	} {
		c.send("GET " + target + " HTTP/1.1\r\nHost: evil.example.com\r\n\r\n")
		a := c.read(false)
		if got := field(a.body, "path"); a.status != 200 || got != path {
			t.Errorf("%s: path %q, want %q", target, got, path)
		}
		if host := field(a.body, "host"); strings.HasPrefix(target, "/") != (host == "evil.example.com") {
			t.Errorf("%s: host %q", target, host)
		}
		if field(a.body, "auth") != "" || field(a.body, "fwd") != "false" {
			t.Errorf("%s: values of the previous request kept: %s", target, a.body)
		}
	}
	// HEAD: headers with the body's length, no body.
	c.send("HEAD /h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + get("/after-head"))
	if a := c.read(true); a.status != 200 || a.body != "" || a.header.Get("Content-Length") == "0" {
		t.Errorf("HEAD: %+v", a)
	}
	if a := c.read(false); field(a.body, "path") != "/after-head" {
		t.Errorf("after HEAD: %+v", a)
	}
	// Empty lines before a request line are skipped.
	c.send("\r\n\r\n" + get("/after-blank"))
	if a := c.read(false); field(a.body, "path") != "/after-blank" {
		t.Errorf("after blank lines: %+v", a)
	}
}

// A request that arrives a byte at a time is answered as a whole one.
func TestSplitRequest(t *testing.T) {
	tok, _ := NewToken()
	e := &ECS{Provider: creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIASPLIT", SecretAccessKey: "s"}}, Token: tok}
	s := startServer(t, e, defaultConfig)
	c := dial(t, s)
	req := "GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + tok + "\r\n\r\n"
	for i := 0; i < 2; i++ {
		for j := range len(req) {
			c.send(req[j : j+1])
			if j%16 == 0 {
				time.Sleep(time.Millisecond) // let the server read a part
			}
		}
		if a := c.read(false); a.status != 200 || !strings.Contains(a.body, "ASIASPLIT") {
			t.Fatalf("split request: %+v", a)
		}
	}
	// Every byte in a read of its own: the end of the head comes in four.
	for j := range len(req) {
		c.send(req[j : j+1])
		time.Sleep(2 * time.Millisecond)
	}
	if a := c.read(false); a.status != 200 || !strings.Contains(a.body, "ASIASPLIT") {
		t.Fatalf("request a byte a read: %+v", a)
	}
	if e.Stats.Served.Load() != 3 {
		t.Errorf("served %d", e.Stats.Served.Load())
	}
	// A CR at the end of one read and no LF at the start of the next:
	// refused then, not when the head is complete.
	c = dial(t, s)
	c.send("GET / HTTP/1.1\r")
	time.Sleep(20 * time.Millisecond)
	c.send("Host: 127.0.0.1")
	if a := c.read(false); a.status != 400 {
		t.Fatalf("bare CR across reads: %+v", a)
	}
}

func TestTimeouts(t *testing.T) {
	const idle, header = 300 * time.Millisecond, 300 * time.Millisecond
	s := startServer(t, &echo{}, testConfig(idle, header))
	since := func(start time.Time, lo, hi time.Duration) {
		t.Helper()
		if d := time.Since(start); d < lo || d > hi {
			t.Errorf("closed after %v, want %v to %v", d, lo, hi)
		}
	}
	t.Run("idle after connecting", func(t *testing.T) {
		start := time.Now()
		c := dial(t, s)
		c.closed()
		since(start, idle-idle/16-10*time.Millisecond, idle+time.Second)
	})
	t.Run("idle after a request", func(t *testing.T) {
		c := dial(t, s)
		c.send(get("/"))
		c.read(false)
		start := time.Now()
		c.closed()
		since(start, idle-idle/16-10*time.Millisecond, idle+time.Second)
	})
	t.Run("busy connection stays", func(t *testing.T) {
		// Requests every 30 ms for 3 idle timeouts: the idle deadline
		// moves along.
		c := dial(t, s)
		for start := time.Now(); time.Since(start) < 3*idle; time.Sleep(30 * time.Millisecond) {
			c.send(get("/"))
			if a := c.read(false); a.status != 200 {
				t.Fatalf("%+v", a)
			}
		}
	})
	t.Run("header from its first byte", func(t *testing.T) {
		// A head trickling in, a byte every 20 ms, is cut off at the
		// header timeout from its first byte, without an answer.
		c := dial(t, s)
		time.Sleep(idle / 2) // the header timeout starts with the request, not the connection
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, b := range []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + strings.Repeat("s", 100)) {
				if _, err := c.nc.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		n, err := c.br.Read(make([]byte, 100))
		if n != 0 || err == nil {
			t.Errorf("answered a timed-out head: %d %v", n, err)
		}
		since(start, header-10*time.Millisecond, header+time.Second)
		c.nc.Close()
		<-done
	})
	t.Run("body", func(t *testing.T) {
		c := dial(t, s)
		c.send("PUT / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc")
		start := time.Now()
		c.closed()
		since(start, header-10*time.Millisecond, header+time.Second)
	})
}

// A handler that takes longer than the write timeout still has its
// answer written, and the connection stays usable.
func TestSlowHandler(t *testing.T) {
	h := &echo{block: make(chan struct{})}
	cfg := testConfig(0, 0)
	cfg.writeTimeout = 100 * time.Millisecond
	s := startServer(t, h, cfg)
	c := dial(t, s)
	c.send(get("/"))
	c.read(false)
	c.send(get("/block"))
	time.Sleep(3 * cfg.writeTimeout)
	close(h.block)
	if a := c.read(false); a.status != 200 || field(a.body, "path") != "/block" {
		t.Fatalf("%+v", a)
	}
	c.send(get("/after"))
	if a := c.read(false); a.status != 200 || field(a.body, "path") != "/after" {
		t.Fatalf("%+v", a)
	}
}

func TestCloseWithRequestInFlight(t *testing.T) {
	h := &echo{block: make(chan struct{})}
	s := startServer(t, h, defaultConfig)
	idle := dial(t, s)
	idle.send(get("/"))
	idle.read(false)
	busy := dial(t, s)
	busy.send(get("/block"))
	for h.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	// The idle connection is closed at once, and no new one accepted.
	idle.closed()
	if nc, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := nc.Read(make([]byte, 1))
		nc.Close()
		if err == nil {
			t.Error("a new connection was served after Close")
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	// The request in flight is answered, with "Connection: close".
	close(h.block)
	a := busy.read(false)
	if a.status != 200 || field(a.body, "path") != "/block" || !a.close {
		t.Errorf("in flight: %+v", a)
	}
	busy.closed()
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestCloseGivesUp(t *testing.T) {
	h := &echo{block: make(chan struct{}), ctxErr: make(chan error, 1)}
	s := startServer(t, h, defaultConfig)
	c := dial(t, s)
	c.send(get("/block"))
	for h.calls.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case err := <-h.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler's context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("handler's context not cancelled")
	}
	c.closed()
}

// Go's net/http client, keeping its connection alive, gets the same
// answers as SDKs do.
func TestNetHTTPClient(t *testing.T) {
	tok, _ := NewToken()
	e := &ECS{Provider: creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAGO", SecretAccessKey: "s", SessionToken: "t"}}, Token: tok}
	s := startServer(t, e, defaultConfig)
	tr := &http.Transport{MaxConnsPerHost: 1, ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var dials atomic.Int64
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for i := range 20 {
		method, body := "GET", io.Reader(nil)
		if i%5 == 4 {
			method, body = "PUT", strings.NewReader("ignored body")
		}
		req, _ := http.NewRequest(method, s.URL+"/credentials?n="+fmt.Sprint(i), body)
		req.Header.Set("Authorization", tok)
		if i == 9 {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 200
		if method == "PUT" {
			want = 405
		}
		if resp.StatusCode != want || (want == 200 && (!strings.Contains(string(b), `"AccessKeyId":"ASIAGO"`) || resp.Header.Get("Cache-Control") != "no-store")) {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, resp.Header, b)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for 20 requests, want 1", n)
	}
}

// Python's http.client (one kept-alive connection) and urllib (a
// connection per request, "Connection: close") read the answers.
func TestPythonClients(t *testing.T) {
	py := testpeer.Python(t)
	tok, _ := NewToken()
	e := &ECS{Provider: creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAPY", SecretAccessKey: "s", SessionToken: "t"}}, Token: tok}
	s := startServer(t, e, defaultConfig)
	m := &IMDS{Provider: e.Provider, Role: "py-role", Region: "eu-west-1"}
	si := startServer(t, m, defaultConfig)
	script := `
import http.client, json, sys, urllib.request, urllib.error
ecs, imds, tok = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = ecs.split("//")[1].split(":")
c = http.client.HTTPConnection(host, int(port), timeout=10)
for i in range(5):
    c.request("GET", "/credentials", headers={"Authorization": tok})
    r = c.getresponse()
    body = json.loads(r.read())
    print("http.client", r.status, r.getheader("Content-Type"), body["AccessKeyId"], r.getheader("Connection"))
c.request("POST", "/credentials", body=b"x" * 1000, headers={"Authorization": tok})
r = c.getresponse()
print("http.client post", r.status, json.loads(r.read())["code"])
c.request("GET", "/credentials", headers={"Authorization": tok})
r = c.getresponse()
print("http.client after post", r.status, len(r.read()) > 0)
c.close()
req = urllib.request.Request(ecs + "/credentials", headers={"Authorization": tok})
with urllib.request.urlopen(req, timeout=10) as r:
    print("urllib", r.status, json.loads(r.read())["AccessKeyId"])
try:
    urllib.request.urlopen(urllib.request.Request(ecs + "/credentials", headers={"Authorization": "wrong"}), timeout=10)
except urllib.error.HTTPError as e:
    print("urllib refused", e.code, json.loads(e.read())["code"])
put = urllib.request.Request(imds + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
with urllib.request.urlopen(put, timeout=10) as r:
    t, ttl = r.read().decode(), r.getheader("X-aws-ec2-metadata-token-ttl-seconds")
get = urllib.request.Request(imds + "/latest/meta-data/iam/security-credentials/", headers={"X-aws-ec2-metadata-token": t})
with urllib.request.urlopen(get, timeout=10) as r:
    print("urllib imds", ttl, r.read().decode())
`
	cmd := exec.Command(py, "-c", script, s.URL, si.URL, tok)
	cmd.Env = testpeer.IsolatedAWSEnv()
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	out := string(b)
	want := strings.Repeat("http.client 200 application/json ASIAPY None\n", 5) +
		"http.client post 405 MethodNotAllowed\n" +
		"http.client after post 200 True\n" +
		"urllib 200 ASIAPY\n" +
		"urllib refused 401 Unauthorized\n" +
		"urllib imds 60 py-role\n"
	if out != want {
		t.Errorf("python said:\n%s\nwant:\n%s", out, want)
	}
}

// Serving the container endpoint's cached credentials allocates nothing:
// parsing, the handler, and the answer.
func TestHotPathAllocs(t *testing.T) {
	tok, _ := NewToken()
	e := &ECS{Provider: creds.NewCache(creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAALLOC", SecretAccessKey: "s", SessionToken: "t", Expires: time.Now().Add(time.Hour)}}, creds.CacheOptions{}), Token: tok}
	s := &Server{h: e, cfg: defaultConfig, ctx: context.Background()}
	c := &conn{s: s, remoteAddr: "127.0.0.1:50000", in: make([]byte, 0, initialBufSize), out: make([]byte, 0, initialBufSize), now: time.Now()}
	req := []byte("GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: aws-sdk-go-v2/1.0\r\nAuthorization: " + tok + "\r\nAccept-Encoding: gzip\r\n\r\n")
	serve := func() {
		c.in = append(c.in[:0], req...)
		c.out = c.out[:0]
		start, act := c.process(0)
		if start != len(req) || act != readMore || !bytes.Contains(c.out, []byte("ASIAALLOC")) {
			t.Fatalf("process: %d %v %s", start, act, c.out)
		}
	}
	serve()
	if n := testing.AllocsPerRun(1000, serve); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}
