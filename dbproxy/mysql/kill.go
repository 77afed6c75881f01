package mysql

import (
	"bytes"
	"math"
	"net"
	"strconv"
	"sync"

	"github.com/credkit/credkit/dbproxy"
)

// A client is given the connection id of the proxy's first upstream
// connection in its greeting. When that login is refused and the proxy
// logs in again on a new connection, the session's live id differs from
// the one the client holds, and the mysql client's Ctrl-C, which sends
// `KILL QUERY <id>` on a second connection, would miss. So the proxy
// keeps, per target, the ids it gave clients whose session lives under
// another id, and rewrites a KILL naming one of them.

// killMap maps, per target, the connection id a client was given to its
// session's live upstream id.
type killMap struct {
	mu sync.Mutex
	m  map[*dbproxy.Target]map[uint32]uint32
}

// kills is the process's map: a KILL reaches the proxy on a connection of
// its own, to the same target as the session it names.
var kills killMap

// add maps given to live for t's clients and returns the function that
// removes the mapping.
func (k *killMap) add(t *dbproxy.Target, given, live uint32) (remove func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[*dbproxy.Target]map[uint32]uint32{}
	}
	if k.m[t] == nil {
		k.m[t] = map[uint32]uint32{}
	}
	k.m[t][given] = live
	return func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		delete(k.m[t], given)
		if len(k.m[t]) == 0 {
			delete(k.m, t)
		}
	}
}

func (k *killMap) lookup(t *dbproxy.Target, given uint32) (uint32, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	live, ok := k.m[t][given]
	return live, ok
}

const (
	comQuery              = 0x03
	clientQueryAttributes = 1 << 27
	// maxKillPacket bounds the payload of a COM_QUERY that is looked at
	// as a KILL; longer commands pass untouched.
	maxKillPacket = 128
	// maxPayload is the payload of a packet that the next one continues.
	maxPayload = 0xffffff
)

// parseKill finds the thread id in `KILL [HARD|SOFT] [QUERY|CONNECTION]
// <id>`, in any case, with any whitespace and an optional trailing
// semicolon, and returns where it is in q.
func parseKill(q []byte) (start, end int, id uint64, ok bool) {
	i := skipSpace(q, 0)
	word := func(w string) bool {
		j := i + len(w)
		if j < len(q) && bytes.EqualFold(q[i:j], []byte(w)) && isSpace(q[j]) {
			i = skipSpace(q, j)
			return true
		}
		return false
	}
	if !word("KILL") {
		return 0, 0, 0, false
	}
	_ = word("HARD") || word("SOFT")
	_ = word("QUERY") || word("CONNECTION")
	start = i
	for i < len(q) && q[i] >= '0' && q[i] <= '9' {
		i++
	}
	end = i
	id, err := strconv.ParseUint(string(q[start:end]), 10, 64)
	if err != nil {
		return 0, 0, 0, false
	}
	i = skipSpace(q, i)
	if i < len(q) && q[i] == ';' {
		i = skipSpace(q, i+1)
	}
	if i != len(q) {
		return 0, 0, 0, false
	}
	return start, end, id, true
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func skipSpace(q []byte, i int) int {
	for i < len(q) && isSpace(q[i]) {
		i++
	}
	return i
}

// rewriteKill returns the payload of a command with the id of a KILL
// replaced by the live id of the session it names, or nil to send the
// command as it is. With CLIENT_QUERY_ATTRIBUTES a COM_QUERY carries the
// number of attributes first; a KILL with attributes is left alone (the
// clients' Ctrl-C sends none).
func rewriteKill(payload []byte, t *dbproxy.Target, queryAttrs bool) []byte {
	if len(payload) == 0 || payload[0] != comQuery {
		return nil
	}
	q := payload[1:]
	if queryAttrs {
		r := &reader{p: q}
		if n := r.lenenc(); n != 0 || r.err != nil {
			return nil
		}
		if r.lenenc(); r.err != nil {
			return nil
		}
		q = r.p
	}
	start, end, id, ok := parseKill(q)
	if !ok || id > math.MaxUint32 {
		return nil
	}
	live, ok := kills.lookup(t, uint32(id))
	if !ok || live == uint32(id) {
		return nil
	}
	at := len(payload) - len(q)
	out := append([]byte(nil), payload[:at+start]...)
	out = strconv.AppendUint(out, uint64(live), 10)
	return append(out, q[end:]...)
}

// commandConn is the database side of a session as the client's bytes
// reach it: Write follows MySQL's packet framing (a 4-byte header of
// length and sequence id; a payload of 0xffffff bytes continues in the
// next packet) and passes every packet on as it comes, in one write per
// Write, except a short command (sequence id 0) that rewrite changes.
// Only such a command, or a header split between two writes, is held
// back until it is whole.
type commandConn struct {
	net.Conn
	rewrite func(payload []byte) []byte // the new payload, or nil

	left int    // payload bytes of the current packet still to pass
	cont bool   // the last header was of a full packet: the next one continues it
	held []byte // the start of a packet that cannot be decided yet
	out  []byte
}

// decide looks at b, the bytes from a packet's start, and returns how
// many of them are settled and what to send for them (nil: as they are),
// or ok false when b is too short to tell.
func (c *commandConn) decide(b []byte) (n int, repl []byte, ok bool) {
	if len(b) < 4 {
		return 0, nil, false
	}
	size := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	command := !c.cont && b[3] == 0 && size > 0 && size <= maxKillPacket
	if !command {
		c.cont = size == maxPayload
		c.left = size
		return 4, nil, true
	}
	if len(b) < 4+size {
		return 0, nil, false
	}
	c.cont = false
	if p := c.rewrite(b[4 : 4+size]); p != nil {
		repl = append([]byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), 0}, p...)
	}
	return 4 + size, repl, true
}

func (c *commandConn) Write(p []byte) (int, error) {
	out := c.out[:0]
	copying := len(c.held) > 0 // out, not p[:mark], is what goes
	mark := 0
	pass := func(from, to int) {
		if copying {
			out = append(out, p[from:to]...)
		} else {
			mark = to
		}
	}
	for i := 0; i < len(p); {
		if c.left > 0 {
			n := min(c.left, len(p)-i)
			pass(i, i+n)
			i += n
			c.left -= n
			continue
		}
		if len(c.held) == 0 {
			n, repl, ok := c.decide(p[i:])
			if !ok {
				c.held = append(c.held, p[i:]...)
				break
			}
			if repl == nil {
				pass(i, i+n)
			} else {
				if !copying {
					out = append(out, p[:mark]...)
					copying = true
				}
				out = append(out, repl...)
			}
			i += n
			continue
		}
		// A packet begun in an earlier Write: at most a header and a
		// short command are needed to decide it.
		had := len(c.held)
		b := append(c.held, p[i:min(len(p), i+4+maxKillPacket-had)]...)
		n, repl, ok := c.decide(b)
		if !ok {
			c.held = b
			break
		}
		if repl == nil {
			repl = b[:n]
		}
		out = append(out, repl...)
		i += n - had
		c.held = b[:0]
	}
	var err error
	if copying {
		if len(out) > 0 {
			_, err = c.Conn.Write(out)
		}
		c.out = out[:0]
	} else if mark > 0 {
		_, err = c.Conn.Write(p[:mark])
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
