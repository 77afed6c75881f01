package sigv4

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/credkit/credkit/creds"
)

// p256NMinus2 is the order N of P-256 minus 2, big-endian: a derived
// candidate above it is rejected, so that d = candidate+1 is in [1, N-1].
var p256NMinus2 = [32]byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x4f,
}

// maxKeyCounter is the last external counter value tried when deriving a
// SigV4a key; each try fails with probability about 2^-32.
const maxKeyCounter = 254

// ErrKeyDerivation is returned when no SigV4a key can be derived from a
// secret: every counter value gave a candidate out of range. Its chance is
// about 2^(-32*254); it exists so that the loop ends.
var ErrKeyDerivation = errors.New("sigv4a: no ECDSA key derivable from the secret access key")

// SigningKeyV4a derives the SigV4a (AWS4-ECDSA-P256-SHA256) P-256 private
// key of an access key pair, as aws-c-auth and aws-sdk-go-v2 do: NIST SP
// 800-108 KDF in counter mode with HMAC-SHA256, keyed by "AWS4A"+secret,
// over
//
//	0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || access key id || counter || 0x00000100
//
// where counter, one byte, starts at 1 and is incremented while the
// 256-bit output exceeds N-2 (N the order of P-256); the private scalar is
// the output plus 1. The key depends on neither date, region nor service.
func SigningKeyV4a(accessKeyID, secret string) (*ecdsa.PrivateKey, error) {
	m := hmac.New(sha256.New, []byte("AWS4A"+secret))
	in := make([]byte, 0, 4+len(AlgorithmV4a)+1+len(accessKeyID)+1+4)
	in = binary.BigEndian.AppendUint32(in, 1)
	in = append(in, AlgorithmV4a...)
	in = append(in, 0)
	in = append(in, accessKeyID...)
	ctr := len(in)
	in = append(in, 0)
	in = binary.BigEndian.AppendUint32(in, 256)
	var k [32]byte
	defer clear(k[:])
	for counter := 1; counter <= maxKeyCounter; counter++ {
		in[ctr] = byte(counter)
		m.Reset()
		m.Write(in)
		m.Sum(k[:0])
		if compareBE(&k, &p256NMinus2) > 0 {
			continue
		}
		addOneBE(&k)
		return ecdsa.ParseRawPrivateKey(elliptic.P256(), k[:])
	}
	return nil, ErrKeyDerivation
}

// compareBE compares two 256-bit big-endian integers in constant time:
// -1, 0 or 1 as a <, = or > b.
func compareBE(a, b *[32]byte) int {
	gt, eq := 0, 1
	for i := range a {
		x, y := int(a[i]), int(b[i])
		gt |= ((y - x) >> 31) & 1 & eq
		eq &= subtle.ConstantTimeByteEq(a[i], b[i])
	}
	return 2*gt + eq - 1
}

// addOneBE adds 1 to a 256-bit big-endian integer in constant time.
func addOneBE(a *[32]byte) {
	carry := uint16(1)
	for i := len(a) - 1; i >= 0; i-- {
		s := uint16(a[i]) + carry
		a[i] = byte(s)
		carry = s >> 8
	}
}

// ecKey is a derived SigV4a key; the secret is kept to tell apart two
// secrets under the same access key id.
type ecKey struct {
	accessKey string
	secret    string
	priv      *ecdsa.PrivateKey
}

// ecKey returns the SigV4a key of c from the cache, deriving it on a miss.
func (c *KeyCache) ecKey(accessKeyID, secret string) (*ecKey, error) {
	if k := c.lastEC.Load(); k != nil && k.accessKey == accessKeyID && k.secret == secret {
		return k, nil
	}
	c.mu.RLock()
	k := c.ec[accessKeyID]
	c.mu.RUnlock()
	if k == nil || k.secret != secret {
		priv, err := SigningKeyV4a(accessKeyID, secret)
		if err != nil {
			return nil, fmt.Errorf("%w (access key %s)", err, creds.RedactKeyID(accessKeyID))
		}
		k = &ecKey{accessKey: accessKeyID, secret: secret, priv: priv}
		c.mu.Lock()
		if c.ec == nil {
			c.ec = make(map[string]*ecKey)
		}
		if _, replacing := c.ec[accessKeyID]; !replacing && len(c.ec) >= c.max {
			for id := range c.ec {
				delete(c.ec, id)
				break
			}
		}
		c.ec[accessKeyID] = k
		c.mu.Unlock()
	}
	c.lastEC.Store(k)
	return k, nil
}
