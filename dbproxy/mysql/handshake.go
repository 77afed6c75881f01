package mysql

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// greeting is Protocol::HandshakeV10.
type greeting struct {
	version string
	connID  uint32
	nonce   []byte // auth-plugin-data, 20 bytes for the usual plugins
	caps    uint32
	charset byte
	status  uint16
	// reserved is the 10 bytes after the auth data length; MariaDB keeps
	// its extended capabilities in the last 4.
	reserved [10]byte
	plugin   string
}

func parseGreeting(p []byte) (*greeting, error) {
	if len(p) > 0 && p[0] == 0xff {
		return nil, parseErr(p)
	}
	if len(p) == 0 || p[0] != 10 {
		return nil, errors.New("the server's greeting is not MySQL protocol version 10")
	}
	r := &reader{p: p[1:]}
	g := &greeting{}
	g.version = r.cstring()
	g.connID = r.u32()
	g.nonce = append([]byte(nil), r.take(8)...)
	r.u8()
	g.caps = uint32(r.u16())
	if r.err != nil {
		return nil, fmt.Errorf("the server's greeting: %w", r.err)
	}
	if len(r.p) == 0 {
		return g, nil
	}
	g.charset = r.u8()
	g.status = r.u16()
	g.caps |= uint32(r.u16()) << 16
	authLen := int(r.u8())
	copy(g.reserved[:], r.take(10))
	if g.caps&clientSecureConnection != 0 {
		n := max(13, authLen-8)
		part := r.take(n)
		if len(part) > 0 && part[len(part)-1] == 0 {
			part = part[:len(part)-1]
		}
		g.nonce = append(g.nonce, part...)
	}
	if g.caps&clientPluginAuth != 0 {
		g.plugin = r.cstring()
	}
	if r.err != nil {
		return nil, fmt.Errorf("the server's greeting: %w", r.err)
	}
	return g, nil
}

func (g *greeting) encode() []byte {
	b := []byte{10}
	b = append(append(b, g.version...), 0)
	b = binary.LittleEndian.AppendUint32(b, g.connID)
	b = append(b, g.nonce[:8]...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(g.caps))
	b = append(b, g.charset)
	b = binary.LittleEndian.AppendUint16(b, g.status)
	b = binary.LittleEndian.AppendUint16(b, uint16(g.caps>>16))
	b = append(b, byte(len(g.nonce)+1))
	b = append(b, g.reserved[:]...)
	b = append(append(b, g.nonce[8:]...), 0)
	return append(append(b, g.plugin...), 0)
}

// sslRequestLen is the length of an SSLRequest: the fixed part of a
// HandshakeResponse41.
const sslRequestLen = 32

// response is Protocol::HandshakeResponse41 (or, when only its fixed
// part came, an SSLRequest).
type response struct {
	caps      uint32
	maxPacket uint32
	charset   byte
	// filler is 23 bytes; MariaDB's clients put their extended
	// capabilities in the last 4.
	filler [23]byte
	user   string
	auth   []byte
	db     string
	plugin string
	// attrs is the connection attributes as sent, with their length.
	attrs []byte
}

func parseResponse(p []byte) (*response, error) {
	r := &reader{p: p}
	x := &response{}
	x.caps = r.u32()
	x.maxPacket = r.u32()
	x.charset = r.u8()
	copy(x.filler[:], r.take(23))
	if r.err != nil {
		return nil, fmt.Errorf("the client's handshake response: %w", r.err)
	}
	if x.caps&clientProtocol41 == 0 {
		return nil, errors.New("the client speaks the pre-4.1 protocol, which the proxy does not serve")
	}
	if len(r.p) == 0 {
		return x, nil // an SSLRequest
	}
	x.user = r.cstring()
	switch {
	case x.caps&clientPluginAuthLenencData != 0:
		x.auth = r.take(int(r.lenenc()))
	case x.caps&clientSecureConnection != 0:
		x.auth = r.take(int(r.u8()))
	default:
		x.auth = []byte(r.cstring())
	}
	if x.caps&clientConnectWithDB != 0 {
		x.db = r.cstring()
	}
	if x.caps&clientPluginAuth != 0 {
		x.plugin = r.cstring()
	}
	if x.caps&clientConnectAttrs != 0 && len(r.p) > 0 {
		start := r.p
		n := r.lenenc()
		r.take(int(n))
		if r.err == nil {
			x.attrs = start[:len(start)-len(r.p)]
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("the client's handshake response: %w", r.err)
	}
	return x, nil
}

// header is the fixed part: by itself, an SSLRequest.
func (x *response) header() []byte {
	b := binary.LittleEndian.AppendUint32(nil, x.caps)
	b = binary.LittleEndian.AppendUint32(b, x.maxPacket)
	b = append(b, x.charset)
	return append(b, x.filler[:]...)
}

func (x *response) encode() []byte {
	b := append(x.header(), x.user...)
	b = append(b, 0)
	switch {
	case x.caps&clientPluginAuthLenencData != 0:
		b = append(appendLenenc(b, uint64(len(x.auth))), x.auth...)
	case x.caps&clientSecureConnection != 0:
		b = append(append(b, byte(len(x.auth))), x.auth...)
	default:
		b = append(append(b, x.auth...), 0)
	}
	if x.caps&clientConnectWithDB != 0 {
		b = append(append(b, x.db...), 0)
	}
	if x.caps&clientPluginAuth != 0 {
		b = append(append(b, x.plugin...), 0)
	}
	if x.caps&clientConnectAttrs != 0 {
		b = append(b, x.attrs...)
	}
	return b
}
