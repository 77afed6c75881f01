package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
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

	// Pieces of text that depend on the key's identity only:
	scope      string // DATE/REGION/SERVICE/aws4_request
	authPrefix string // Authorization up to the signed headers
	credential string // X-Amz-Credential's value, encoded
}

type keyID struct {
	accessKey string
	date      [8]byte
	region    string
	service   string
}

func newKeyState(id keyID, secret string) *keyState {
	ks := &keyState{id: id, secret: secret}
	scope := appendScope(nil, id.date[:], id.region, id.service)
	ks.scope = string(scope)
	ks.authPrefix = Algorithm + " Credential=" + id.accessKey + "/" + ks.scope + ", SignedHeaders="
	ks.credential = string(appendEncoded(appendEncoded(nil, id.accessKey, false), "/"+ks.scope, false))
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

// The SHA-256 digests of a signature (the canonical request's and the two
// of the HMAC) are taken by writing the message already padded (FIPS 180-4,
// 5.1.1) and reading the hash from the digest's marshaled state, which
// holds the eight state words after the magic "sha\x03": once a whole padded
// message is in, they are the hash. This spares each digest the state
// copy, the padding and the extra block call of Sum; the blocks hashed are
// the same. paddedSums checks once that the state reads back as expected;
// when it does not, Sum is used.
//
// In each function below sha256.New is inlined, so the digest has a known
// concrete type: the compiler calls its methods directly and keeps it on
// the stack.

const (
	stateMagic = "sha\x03"
	stateSize  = len(stateMagic) + 32 + 64 + 8 // what AppendBinary writes
)

var paddedSums = func() bool {
	msg := make([]byte, 0, 300)
	for i := 0; i < 200; i++ {
		msg = append(msg, byte(i*7))
	}
	for _, n := range []int{0, 1, 55, 56, 63, 64, 119, 200} {
		// With room for the padding after the message, and without.
		for _, m := range [][]byte{msg[:n], msg[:n:n]} {
			sum, ok := sumPadded(m)
			if !ok || sum != sha256.Sum256(m) {
				return false
			}
		}
	}
	return true
}()

// appendPadding appends the SHA-256 padding of a message of total bytes.
func appendPadding(dst []byte, total int) []byte {
	n := 1 + (55-total%64+64)%64 + 8
	if cap(dst)-len(dst) < n {
		dst = append(dst, make([]byte, n)...)[:len(dst)]
	}
	p := dst[len(dst) : len(dst)+n]
	p[0] = 0x80
	clear(p[1 : n-8])
	binary.BigEndian.PutUint64(p[n-8:], uint64(total)<<3)
	return dst[:len(dst)+n]
}

// readState copies the state words of a marshaled SHA-256 digest to dst.
func readState(dst *[32]byte, state []byte) bool {
	if len(state) != stateSize || string(state[:len(stateMagic)]) != stateMagic {
		return false
	}
	copy(dst[:], state[len(stateMagic):])
	return true
}

// sumPadded hashes msg by writing it padded; it uses msg's spare capacity
// for the padding when there is room, which does not change msg.
func sumPadded(msg []byte) (sum [32]byte, ok bool) {
	h := sha256.New()
	if cap(msg)-len(msg) >= 72 {
		h.Write(appendPadding(msg, len(msg)))
	} else {
		full := len(msg) &^ 63
		h.Write(msg[:full])
		var tail [64 + 72]byte
		n := copy(tail[:], msg[full:])
		h.Write(appendPadding(tail[:n], len(msg)))
	}
	a, ok := h.(encoding.BinaryAppender)
	if !ok {
		return sum, false
	}
	var st [stateSize]byte
	b, err := a.AppendBinary(st[:0])
	return sum, err == nil && readState(&sum, b)
}

// sum256 returns the SHA-256 of msg; see sumPadded.
func sum256(msg []byte) [32]byte {
	if paddedSums {
		if sum, ok := sumPadded(msg); ok {
			return sum
		}
	}
	return sha256.Sum256(msg)
}

// sum writes HMAC-SHA256(key, msg) to dst. It uses msg's spare capacity
// as sumPadded does.
func (ks *keyState) sum(dst *[32]byte, msg []byte) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ks.inner); err != nil {
		panic("sigv4: sha256 state: " + err.Error())
	}
	if !paddedSums {
		h.Write(msg)
		var in [32]byte
		h.Sum(in[:0])
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ks.outer); err != nil {
			panic("sigv4: sha256 state: " + err.Error())
		}
		h.Write(in[:])
		h.Sum(dst[:0])
		return
	}
	// The inner and outer messages follow a 64-byte pad block.
	if cap(msg)-len(msg) >= 72 {
		h.Write(appendPadding(msg, 64+len(msg)))
	} else {
		full := len(msg) &^ 63
		h.Write(msg[:full])
		var tail [64 + 72]byte
		n := copy(tail[:], msg[full:])
		h.Write(appendPadding(tail[:n], 64+len(msg)))
	}
	var st [stateSize]byte
	b, _ := h.(encoding.BinaryAppender).AppendBinary(st[:0])
	var outer [64]byte // the inner hash, padded: 64+32 bytes in all
	if !readState((*[32]byte)(outer[:32]), b) {
		panic("sigv4: sha256 state does not read back")
	}
	appendPadding(outer[:32], 64+32)
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(ks.outer); err != nil {
		panic("sigv4: sha256 state: " + err.Error())
	}
	h.Write(outer[:])
	b, _ = h.(encoding.BinaryAppender).AppendBinary(st[:0])
	if !readState(dst, b) {
		panic("sigv4: sha256 state does not read back")
	}
}

// DefaultKeyCacheSize bounds a KeyCache made by NewKeyCache(0).
const DefaultKeyCacheSize = 512

// KeyCache holds derived signing keys: SigV4 keys per access key, date,
// region and service, and SigV4a (ECDSA) keys per access key. A SigV4 key
// is valid for one UTC day, so a process signing for a few identities
// derives each key once a day; a SigV4a key, which costs a scalar
// multiplication to derive, depends on the key pair alone and is derived
// once. It is safe for concurrent use and bounded: when full, an
// arbitrary entry of the same kind is dropped. The secret is kept to tell
// apart two secrets presented under the same access key id (a wrong secret
// must not be answered with the right key).
type KeyCache struct {
	max    int
	last   atomic.Pointer[keyState]
	lastEC atomic.Pointer[ecKey]
	mu     sync.RWMutex
	m      map[keyID]*keyState
	ec     map[string]*ecKey // by access key id
}

// NewKeyCache returns a cache holding at most size keys of each kind
// (DefaultKeyCacheSize when size <= 0).
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
	return len(c.m) + len(c.ec)
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
