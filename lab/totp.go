package lab

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// TOTP returns the 6-digit code of a virtual MFA device with the base32
// secret at time t (RFC 6238: HMAC-SHA1, 30-second steps), as an
// authenticator app shows it.
func TOTP(secret string, t time.Time) (string, error) {
	key, err := decodeBase32(secret)
	if err != nil {
		return "", fmt.Errorf("totp secret: %w", err)
	}
	return totpAt(key, t.Unix()/30), nil
}

func totpAt(key []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", code%1_000_000)
}

// checkTOTP accepts the code of the current step or of one step either
// side, as AWS tolerates a little clock drift.
func checkTOTP(secret, code string, now time.Time) bool {
	key, err := decodeBase32(secret)
	if err != nil || len(code) != 6 {
		return false
	}
	step := now.Unix() / 30
	ok := 0
	for d := int64(-1); d <= 1; d++ {
		ok |= subtle.ConstantTimeCompare([]byte(totpAt(key, step+d)), []byte(code))
	}
	return ok == 1
}

func decodeBase32(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("not base32")
	}
	if len(b) < 10 {
		return nil, fmt.Errorf("%d bytes; at least 10 (16 base32 characters)", len(b))
	}
	return b, nil
}
