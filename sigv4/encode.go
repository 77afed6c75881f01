package sigv4

import "math/bits"

// The encoders in this file write into caller-owned buffers so that a
// signature costs no allocations beyond its result.

const upperHex = "0123456789ABCDEF"

// unreserved reports the characters SigV4 leaves unencoded:
// A-Z a-z 0-9 - . _ ~
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['.'], t['_'], t['~'] = true, true, true, true
	return t
}()

// safeBytes is a set of bytes for skipSafe: 1 for a member, else 0.
type safeBytes [256]uint8

func bytesOf(set *[256]bool) (t safeBytes) {
	for c, in := range set {
		if in {
			t[c] = 1
		}
	}
	return t
}

var (
	unreservedSet = bytesOf(&unreserved)
	// pathSafe is unreserved and '/'.
	pathSafe = func() safeBytes {
		t := unreservedSet
		t['/'] = 1
		return t
	}()
)

// skipSafe returns the end of the run of bytes in safe that starts at
// s[i]. It looks at eight bytes at a time, without a branch per byte.
func skipSafe[T ~string | ~[]byte](safe *safeBytes, s T, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		m := uint8(safe[w[0]] | safe[w[1]]<<1 | safe[w[2]]<<2 | safe[w[3]]<<3 |
			safe[w[4]]<<4 | safe[w[5]]<<5 | safe[w[6]]<<6 | safe[w[7]]<<7)
		if m != 0xff {
			return i + bits.TrailingZeros8(^m)
		}
	}
	for i < len(s) && safe[s[i]] != 0 {
		i++
	}
	return i
}

// appendEncoded appends s URI-encoded per SigV4: every byte but the
// unreserved ones as %XX with upper-case hex. With keepSlash, '/' is kept.
func appendEncoded[T ~string | ~[]byte](dst []byte, s T, keepSlash bool) []byte {
	safe := &unreservedSet
	if keepSlash {
		safe = &pathSafe
	}
	for i := 0; i < len(s); {
		j := skipSafe(safe, s, i)
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			break
		}
		c := s[j]
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		i = j + 1
	}
	return dst
}

// AppendEncoded appends s URI-encoded as SigV4 requires for query keys and
// values (every byte except A-Z a-z 0-9 - . _ ~ as %XX).
func AppendEncoded(dst []byte, s string) []byte { return appendEncoded(dst, s, false) }

// EncodeQueryComponent returns s encoded as SigV4 encodes query keys and
// values.
func EncodeQueryComponent(s string) string {
	if skipSafe(&unreservedSet, s, 0) < len(s) {
		return string(appendEncoded(make([]byte, 0, len(s)+16), s, false))
	}
	return s
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendReencoded decodes a raw query component (%XX sequences, '+' as a
// space, as a form decoder reads it) and appends its SigV4 encoding. A '%'
// not followed by two hex digits stands for itself.
func appendReencoded(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); {
		// Copy a run that needs no work in one go.
		j := skipSafe(&unreservedSet, raw, i)
		dst = append(dst, raw[i:j]...)
		if j == len(raw) {
			break
		}
		c := raw[j]
		i = j + 1
		switch c {
		case '%':
			if j+2 < len(raw) {
				hi, ok1 := unhex(raw[j+1])
				lo, ok2 := unhex(raw[j+2])
				if ok1 && ok2 {
					c = hi<<4 | lo
					i = j + 3
				}
			}
		case '+':
			c = ' '
		}
		if unreserved[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// needsNormalizing reports whether a path has empty, "." or ".." segments.
func needsNormalizing(p string) bool {
	if p == "" {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		if len(rest) > 0 && rest[0] == '/' {
			return true
		}
		if len(rest) > 0 && rest[0] == '.' {
			if len(rest) == 1 || rest[1] == '/' {
				return true
			}
			if rest[1] == '.' && (len(rest) == 2 || rest[2] == '/') {
				return true
			}
		}
	}
	return p[0] != '/'
}

// appendNormalizedPath appends p with empty, "." and ".." segments removed,
// always starting with '/', keeping a trailing '/' when p ends in a
// directory.
func appendNormalizedPath(dst []byte, p string) []byte {
	start := len(dst)
	dst = append(dst, '/')
	trailing := false
	for more := true; more; {
		seg := p
		if i := indexByte(p, '/'); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			more = false
		}
		switch seg {
		case "", ".":
			trailing = true
		case "..":
			trailing = true
			// Drop the last segment written, if any.
			j := len(dst) - 1
			if j > start {
				j-- // skip the '/' that ends the last segment
				for j > start && dst[j] != '/' {
					j--
				}
				dst = dst[:j+1]
			}
		default:
			trailing = false
			dst = append(dst, seg...)
			dst = append(dst, '/')
		}
	}
	if !trailing && len(dst)-start > 1 {
		dst = dst[:len(dst)-1]
	}
	return dst
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// appendCanonicalURI appends the canonical URI of a path as it is sent on
// the wire (already escaped). normalize removes dot segments and empty
// segments; escape encodes the wire path once more, which is the "double
// encoding" every service but S3 expects.
func appendCanonicalURI(dst []byte, wirePath string, normalize, escape bool) []byte {
	if wirePath == "" || wirePath == "/" {
		return append(dst, '/')
	}
	if normalize && needsNormalizing(wirePath) {
		if !escape {
			return appendNormalizedPath(dst, wirePath)
		}
		var tmp [256]byte
		n := appendNormalizedPath(tmp[:0], wirePath)
		return appendEncoded(dst, n, true)
	}
	if !escape {
		return append(dst, wirePath...)
	}
	return appendEncoded(dst, wirePath, true)
}

// EncodePath encodes a decoded path (an S3 key, say) as SigV4 and S3
// expect it on the wire: every byte but A-Z a-z 0-9 - . _ ~ and / as %XX.
func EncodePath(p string) string {
	if skipSafe(&pathSafe, p, 0) < len(p) {
		return string(appendEncoded(make([]byte, 0, len(p)+16), p, true))
	}
	return p
}
