package dbproxy

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"sync"
)

// CancelKey identifies a session for cancel requests: the backend process
// id and secret key a PostgreSQL server hands its client.
type CancelKey struct {
	PID    uint32
	Secret string
}

// CancelTarget is where a cancel request for a client's session goes: the
// upstream's own key, and the address (IP:port) the session dialled.
type CancelTarget struct {
	Key  CancelKey
	Addr string
	// TLS is the configuration the session verified the server with.
	TLS *tls.Config
}

// CancelMap maps the keys the proxy gives its clients to the upstream
// sessions'. Clients never see an upstream key, so a cancel can only reach
// a session through the proxy that owns it.
type CancelMap struct {
	mu sync.Mutex
	m  map[CancelKey]CancelTarget
}

// Add makes a new client key for up (its secret as long as up's, at least
// 4 bytes) and returns it with a function that removes it.
func (c *CancelMap) Add(up CancelTarget) (CancelKey, func()) {
	n := max(len(up.Key.Secret), 4)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[CancelKey]CancelTarget{}
	}
	for {
		b := make([]byte, 4+n)
		rand.Read(b)
		k := CancelKey{PID: binary.BigEndian.Uint32(b) &^ (1 << 31), Secret: string(b[4:])}
		if _, taken := c.m[k]; taken || k.PID == 0 {
			continue
		}
		c.m[k] = up
		return k, func() {
			c.mu.Lock()
			delete(c.m, k)
			c.mu.Unlock()
		}
	}
}

// Lookup returns the upstream target of a client key.
func (c *CancelMap) Lookup(k CancelKey) (CancelTarget, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok
}
