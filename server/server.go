// Package server serves credentials to local programs over the two
// protocols the AWS SDKs already speak: the ECS container credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN) and EC2 instance metadata, IMDSv2
// (AWS_EC2_METADATA_SERVICE_ENDPOINT). A program that asks the endpoint on
// every refresh never holds expired credentials: the endpoint asks its
// creds.Provider (a refresh-ahead cache) each time.
//
// *ECS and *IMDS are http.Handlers. Listen serves one on loopback for
// `credkit exec` and `credkit serve`; the lab mounts both on its own mux.
//
// # What the handlers refuse
//
// Every check is in the handlers, so that they hold wherever the handlers
// are mounted. A refused request gets an error and never credentials:
//
//   - a peer that is not on loopback (the request's RemoteAddr): 403;
//   - a Host header that is not the address the request came in on
//     (http.LocalAddrContextKey; "localhost" with its port is accepted
//     too): 403. A web page that rebinds its own DNS name to 127.0.0.1
//     sends its own name, so a browser cannot be made to fetch the
//     credentials (DNS rebinding). A request without the local address in
//     its context is refused: the check fails closed;
//   - on the container endpoint, an Authorization header that is not the
//     token (compared in constant time): 401; a method other than GET:
//     405; another path: 404. These answers are JSON ({"code","message"}),
//     as the SDKs expect of this endpoint;
//   - on IMDS, a GET without a live session token: 401 (IMDSv2 only); a
//     token PUT carrying X-Forwarded-For (a proxied request, as EC2
//     refuses it): 403; a token TTL outside 1 to 21600 seconds: 400; other
//     methods: 405. An IMDS endpoint keeps at most MaxTokens live tokens:
//     past it, the one closest to expiry is dropped.
//
// # Why net/http
//
// An SDK asks this endpoint once per credential refresh (every few
// minutes at most, per process), so what a request costs does not matter,
// while the endpoint sits on a security boundary: it hands out
// credentials to anything on the machine that gets past its checks. An
// HTTP parser written for it would be one more place for a request
// smuggled past those checks to hide, and the one advantage it had, a
// small binary that starts fast without net/http, went away once credkit
// became one binary that links net/http anyway. Listen configures the
// server for a loopback endpoint: timeouts for slow headers, idle
// connections and stuck writes, a bound on header size, HTTP/1.1 only,
// and no logging of its own (a library does not print).
//
// The handlers keep their last encoded answer and hand it out again for
// as long as the credentials (and, for IMDS, the second of LastUpdated)
// stay the same: encoding is most of a handler's work, and the check is
// a few string comparisons.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// NewToken returns a fresh 256-bit token, hex-encoded.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new endpoint token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Stats counts what an endpoint served.
type Stats struct {
	Served  atomic.Int64 // credentials handed out
	Refused atomic.Int64 // requests refused (auth, host, peer)
	Failed  atomic.Int64 // provider errors
}

// Limits and timeouts of the server Listen runs.
const (
	// ReadHeaderTimeout closes a connection whose request headers did not
	// all arrive in this time.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request, body included (the
	// endpoints read no body; net/http discards a small one).
	ReadTimeout = 10 * time.Second
	// WriteTimeout bounds answering a request, the provider's work
	// included: a refresh that takes longer fails the request.
	WriteTimeout = time.Minute
	// IdleTimeout closes a keep-alive connection that sent no request for
	// this long.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds the request line and headers; net/http answers
	// a longer head 431.
	MaxHeaderBytes = 16 << 10
)

// Server is a running loopback HTTP server.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// Listen serves h on addr, which must be a loopback address ("" means
// 127.0.0.1 on a random port).
func Listen(addr string, h http.Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("server: Listen needs a handler, got nil")
	}
	ln, err := ListenLoopback(addr, "credential endpoints serve")
	if err != nil {
		return nil, err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		ln:  ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: ReadHeaderTimeout,
			ReadTimeout:       ReadTimeout,
			WriteTimeout:      WriteTimeout,
			IdleTimeout:       IdleTimeout,
			MaxHeaderBytes:    MaxHeaderBytes,
			Protocols:         &protocols,
			ErrorLog:          log.New(io.Discard, "", 0),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln) // returns http.ErrServerClosed once Close starts
	}()
	return s, nil
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

// Addr is the listener's address (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops accepting connections, closes the idle ones, and waits for
// the requests in flight to be answered, then returns nil. If ctx ends
// first, it closes every connection left (which cancels the requests'
// contexts) and returns ctx's error.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}
