package mysql

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
)

// newNonce returns a 20-byte scramble of printable bytes (no NUL, which
// ends the scramble in the greeting).
func newNonce() []byte {
	b := make([]byte, 20)
	rand.Read(b)
	for i := range b {
		b[i] = 0x21 + b[i]%0x5e
	}
	return b
}

// nativeScramble is what a client sends for mysql_native_password:
// SHA1(password) XOR SHA1(nonce, SHA1(SHA1(password))).
func nativeScramble(password string, nonce []byte) []byte {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(nonce)
	h.Write(h2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// sha2Scramble is what a client sends for caching_sha2_password's fast
// authentication: SHA256(password) XOR SHA256(SHA256(SHA256(password)), nonce).
func sha2Scramble(password string, nonce []byte) []byte {
	h1 := sha256.Sum256([]byte(password))
	h2 := sha256.Sum256(h1[:])
	h := sha256.New()
	h.Write(h2[:])
	h.Write(nonce)
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// checkScramble reports whether auth is the scramble of password under
// plugin; an empty password never matches.
func checkScramble(plugin, password string, nonce, auth []byte) bool {
	var want []byte
	switch plugin {
	case pluginNative:
		want = nativeScramble(password, nonce)
	case pluginCachingSHA2:
		want = sha2Scramble(password, nonce)
	default:
		return false
	}
	return password != "" && subtle.ConstantTimeCompare(want, auth) == 1
}
