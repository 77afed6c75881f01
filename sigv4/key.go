package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"hash"
	"sync"
	"sync/atomic"
)

// SigningKey derives the SigV4 signing key for a secret, a date (YYYYMMDD),
// a region and a service: HMAC chains over "AWS4"+secret.
func SigningKey(secret, date, region, service string) [32]byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k[:], region)
	k = hmacSHA256(k[:], service)
	return hmacSHA256(k[:], "aws4_request")
}

func hmacSHA256(key []byte, msg string) (out [32]byte) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	m.Sum(out[:0])
	return out
}

// keyState is a derived signing key with the SHA-256 states after its
// HMAC inner and outer pad blocks, so that each signature hashes two
// blocks fewer.
type keyState struct {
	id     keyID
	secret string
	key    [32]byte
	inner  []byte // marshaled sha256 state after (key ^ ipad)
	outer  []byte // marshaled sha256 state after (key ^ opad)
}

type keyID struct {
	accessKey string
	date      [8]byte
	region    string
	service   string
}

func newKeyState(id keyID, secret string) *keyState {
	ks := &keyState{id: id, secret: secret}
	ks.key = SigningKey(secret, string(id.date[:]), id.region, id.service)
	var pad [64]byte
	for i := range pad {
		pad[i] = 0x36
	}
	for i, b := range ks.key {
		pad[i] ^= b
	}
	h := sha256.New()
	h.Write(pad[:])
	ks.inner, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad[:])
	ks.outer, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
	return ks
}

// sum appends HMAC-SHA256(key, msg) to dst, using h and tmp (32 bytes) as
// scratch; dst and tmp must not escape to the stack of the caller, since h
// is an interface and would move them to the heap.
func (ks *keyState) sum(h hash.Hash, dst, tmp, msg []byte) []byte {
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ks.inner); err != nil {
		panic("sigv4: sha256 state: " + err.Error())
	}
	h.Write(msg)
	in := h.Sum(tmp[:0])
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ks.outer); err != nil {
		panic("sigv4: sha256 state: " + err.Error())
	}
	h.Write(in)
	return h.Sum(dst)
}

// DefaultKeyCacheSize bounds a KeyCache made by NewKeyCache(0).
const DefaultKeyCacheSize = 512

// KeyCache holds derived signing keys per access key, date, region and
// service. A key is valid for one UTC day, so a process signing for a few
// identities derives each key once a day. It is safe for concurrent use and
// bounded: when full, an arbitrary entry is dropped. The secret is kept to
// tell apart two secrets presented under the same access key id (a wrong
// secret must not be answered with the right key).
type KeyCache struct {
	max  int
	last atomic.Pointer[keyState]
	mu   sync.RWMutex
	m    map[keyID]*keyState
}

// NewKeyCache returns a cache holding at most size keys (DefaultKeyCacheSize
// when size <= 0).
func NewKeyCache(size int) *KeyCache {
	if size <= 0 {
		size = DefaultKeyCacheSize
	}
	return &KeyCache{max: size, m: make(map[keyID]*keyState)}
}

// Len reports how many keys the cache holds.
func (c *KeyCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *KeyCache) get(id keyID, secret string) *keyState {
	if ks := c.last.Load(); ks != nil && ks.id == id && ks.secret == secret {
		return ks
	}
	c.mu.RLock()
	ks := c.m[id]
	c.mu.RUnlock()
	if ks == nil || ks.secret != secret {
		ks = newKeyState(id, secret)
		c.mu.Lock()
		if _, replacing := c.m[id]; !replacing && len(c.m) >= c.max {
			for k := range c.m {
				delete(c.m, k)
				break
			}
		}
		c.m[id] = ks
		c.mu.Unlock()
	}
	c.last.Store(ks)
	return ks
}
