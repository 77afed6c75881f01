package mysql

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Capability flags (Protocol::CapabilityFlags) the proxy looks at.
const (
	clientLongPassword         = 1 << 0
	clientConnectWithDB        = 1 << 3
	clientCompress             = 1 << 5
	clientProtocol41           = 1 << 9
	clientSSL                  = 1 << 11
	clientTransactions         = 1 << 13
	clientSecureConnection     = 1 << 15
	clientPluginAuth           = 1 << 19
	clientConnectAttrs         = 1 << 20
	clientPluginAuthLenencData = 1 << 21
	clientZstdCompression      = 1 << 26
)

// Authentication plugins.
const (
	pluginNative        = "mysql_native_password"
	pluginCachingSHA2   = "caching_sha2_password"
	pluginClearPassword = "mysql_clear_password"
)

// maxLoginPacket bounds a packet of the connection phase.
const maxLoginPacket = 1 << 20

// readPacket reads one packet and returns its sequence id and payload.
func readPacket(r io.Reader) (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n > maxLoginPacket {
		return 0, nil, fmt.Errorf("a packet of %d bytes during the login is not MySQL", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return hdr[3], p, nil
}

// writePacket writes payload as one packet with sequence id seq.
func writePacket(w io.Writer, seq byte, payload []byte) error {
	b := make([]byte, 4, 4+len(payload))
	b[0], b[1], b[2], b[3] = byte(len(payload)), byte(len(payload)>>8), byte(len(payload)>>16), seq
	_, err := w.Write(append(b, payload...))
	return err
}

// errPacket is an ERR packet. Before the client has answered the
// greeting (proto41 false) it carries no SQL state, as the server's own.
func errPacket(code uint16, state, msg string, proto41 bool) []byte {
	b := []byte{0xff, byte(code), byte(code >> 8)}
	if proto41 {
		b = append(b, '#')
		b = append(b, state...)
	}
	return append(b, msg...)
}

// serverError is an ERR packet a server sent.
type serverError struct {
	Code  uint16
	State string
	Msg   string
}

func (e *serverError) Error() string {
	if e.State != "" {
		return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Msg)
	}
	return fmt.Sprintf("ERROR %d: %s", e.Code, e.Msg)
}

func parseErr(p []byte) *serverError {
	e := &serverError{}
	if len(p) >= 3 {
		e.Code = binary.LittleEndian.Uint16(p[1:])
		p = p[3:]
		if len(p) >= 6 && p[0] == '#' {
			e.State, p = string(p[1:6]), p[6:]
		}
		e.Msg = string(p)
	}
	return e
}

// reader decodes the fields of a payload.
type reader struct {
	p   []byte
	err error
}

var errShort = errors.New("packet too short")

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.p) < n {
		r.err = errShort
		return nil
	}
	b := r.p[:n]
	r.p = r.p[n:]
	return b
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// cstring reads up to a NUL (or the end of the payload, as some servers
// leave the last string unterminated).
func (r *reader) cstring() string {
	if r.err != nil {
		return ""
	}
	i := bytes.IndexByte(r.p, 0)
	if i < 0 {
		s := string(r.p)
		r.p = nil
		return s
	}
	s := string(r.p[:i])
	r.p = r.p[i+1:]
	return s
}

// lenenc reads a length-encoded integer.
func (r *reader) lenenc() uint64 {
	switch b := r.u8(); {
	case b < 0xfb:
		return uint64(b)
	case b == 0xfc:
		return uint64(r.u16())
	case b == 0xfd:
		if v := r.take(3); v != nil {
			return uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16
		}
	case b == 0xfe:
		if v := r.take(8); v != nil {
			return binary.LittleEndian.Uint64(v)
		}
	default:
		r.err = errors.New("bad length-encoded integer")
	}
	return 0
}

func appendLenenc(b []byte, n uint64) []byte {
	switch {
	case n < 0xfb:
		return append(b, byte(n))
	case n < 1<<16:
		return append(b, 0xfc, byte(n), byte(n>>8))
	case n < 1<<24:
		return append(b, 0xfd, byte(n), byte(n>>8), byte(n>>16))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xfe), n)
	}
}
