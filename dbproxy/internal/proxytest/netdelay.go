package proxytest

import (
	"net"
	"testing"
	"time"
)

// NetDelay serves a TCP relay on 127.0.0.1 that forwards each
// connection to the address to, holding every chunk of bytes for oneWay
// in each direction while keeping their order: a network path with a
// round-trip time of 2×oneWay, for benchmarks that ask what a proxy costs
// when the database is not on the same machine. It returns the relay's
// port; the relay stops when t ends.
func NetDelay(t testing.TB, to string, oneWay time.Duration) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				u, err := net.Dial("tcp", to)
				if err != nil {
					c.Close()
					return
				}
				go delayCopy(u, c, oneWay)
				delayCopy(c, u, oneWay)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// delayCopy copies src to dst, each chunk written oneWay after it was
// read; it closes both when either side ends.
func delayCopy(dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		due time.Time
		b   []byte
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{time.Now().Add(oneWay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		if d := time.Until(c.due); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}
