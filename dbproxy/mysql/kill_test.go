package mysql

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/credkit/credkit/dbproxy"
)

func TestParseKill(t *testing.T) {
	for _, tc := range []struct {
		q  string
		id uint64 // 0: not a KILL of a thread id
	}{
		{"KILL 10", 10},
		{"KILL QUERY 10", 10},
		{"kill query 10;", 10},
		{"  Kill\tConnection\n12 ; \n", 12},
		{"KILL HARD QUERY 7", 7},
		{"kill soft 7", 7},
		{"KILL QUERY ID 10", 0}, // a query id, not a thread id
		{"KILL USER app", 0},
		{"KILLQUERY 10", 0},
		{"KILL QUERY10", 0},
		{"KILL 10 11", 0},
		{"KILL 10;;", 0},
		{"KILL 10; SELECT 1", 0},
		{"KILL", 0},
		{"KILL 99999999999999999999999", 0},
		{"SELECT 'KILL 10'", 0},
	} {
		start, end, id, ok := parseKill([]byte(tc.q))
		if ok != (tc.id != 0) || id != tc.id {
			t.Errorf("parseKill(%q) = %d, %v; want %d", tc.q, id, ok, tc.id)
			continue
		}
		if ok && tc.q[start:end] != fmt.Sprint(tc.id) {
			t.Errorf("parseKill(%q): the id is at %q", tc.q, tc.q[start:end])
		}
	}
}

func TestRewriteKill(t *testing.T) {
	target := &dbproxy.Target{Host: "db.example", Port: 3306}
	other := &dbproxy.Target{Host: "db.example", Port: 3307}
	defer kills.add(target, 10, 11)()
	for _, tc := range []struct {
		name       string
		t          *dbproxy.Target
		payload    string
		queryAttrs bool
		want       string // empty: sent as it is
	}{
		{"mapped id", target, "\x03KILL QUERY 10", false, "\x03KILL QUERY 11"},
		{"mapped id, lower case and semicolon", target, "\x03kill 10 ;", false, "\x03kill 11 ;"},
		{"unmapped id", target, "\x03KILL QUERY 12", false, ""},
		{"another target's map", other, "\x03KILL QUERY 10", false, ""},
		{"not COM_QUERY", target, "\x16KILL QUERY 10", false, ""},
		{"query attributes, none", target, "\x03\x00\x01KILL QUERY 10", true, "\x03\x00\x01KILL QUERY 11"},
		{"query attributes, one", target, "\x03\x01\x01\x00\x01\xfe\x00\x01a\x01bKILL QUERY 10", true, ""},
		{"query attributes not negotiated", target, "\x03\x00\x01KILL QUERY 10", false, ""},
	} {
		got := rewriteKill([]byte(tc.payload), tc.t, tc.queryAttrs)
		if string(got) != tc.want {
			t.Errorf("%s: rewriteKill(%q) = %q, want %q", tc.name, tc.payload, got, tc.want)
		}
	}
}

// sink is the database side of a commandConn in a test.
type sink struct {
	net.Conn
	got    bytes.Buffer
	writes int
}

func (s *sink) Write(p []byte) (int, error) {
	s.writes++
	return s.got.Write(p)
}

func (s *sink) String() string { return s.got.String() }

func packet(seq byte, payload string) string {
	n := len(payload)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}) + payload
}

// The client's stream reaches the database packet for packet, in any
// pieces it is written in, with only a KILL of a mapped id changed.
func TestCommandConnFraming(t *testing.T) {
	target := &dbproxy.Target{Host: "db.example", Port: 3306}
	defer kills.add(target, 10, 11)()
	rewrite := func(p []byte) []byte { return rewriteKill(p, target, false) }

	small := []struct{ in, want string }{
		{packet(0, "\x03SELECT 1"), packet(0, "\x03SELECT 1")},
		{packet(0, "\x03KILL QUERY 10"), packet(0, "\x03KILL QUERY 11")},
		{packet(0, "\x03KILL QUERY 12"), packet(0, "\x03KILL QUERY 12")},
		{packet(0, "\x03kill 10 ;"), packet(0, "\x03kill 11 ;")},
		{packet(0, "\x03KILL 9999999999"), packet(0, "\x03KILL 9999999999")},
		{packet(1, "\x03KILL 10"), packet(1, "\x03KILL 10")}, // not a command: LOAD DATA's file, say
		{packet(0, ""), packet(0, "")},
		{packet(0, "\x03SELECT '"+strings.Repeat("y", 300)+"'"), packet(0, "\x03SELECT '"+strings.Repeat("y", 300)+"'")},
		{packet(0, "\x0e"), packet(0, "\x0e")}, // COM_PING
		{packet(0, "\x03KILL CONNECTION 10"), packet(0, "\x03KILL CONNECTION 11")},
	}
	var in, want strings.Builder
	for _, p := range small {
		in.WriteString(p.in)
		want.WriteString(p.want)
	}
	// Every way of cutting the stream in two, and in pieces of each size.
	for cut := 0; cut <= in.Len(); cut++ {
		s := &sink{}
		c := &commandConn{Conn: s, rewrite: rewrite}
		for _, part := range []string{in.String()[:cut], in.String()[cut:]} {
			if n, err := c.Write([]byte(part)); n != len(part) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if s.String() != want.String() {
			t.Fatalf("cut at %d: the database got\n%q\nwant\n%q", cut, s.String(), want.String())
		}
	}
	for size := 1; size <= 40; size++ {
		s := &sink{}
		c := &commandConn{Conn: s, rewrite: rewrite}
		b := []byte(in.String())
		for len(b) > 0 {
			n := min(size, len(b))
			c.Write(b[:n])
			b = b[n:]
		}
		if s.String() != want.String() {
			t.Fatalf("pieces of %d: the database got\n%q\nwant\n%q", size, s.String(), want.String())
		}
	}

	// A payload of 0xffffff bytes continues in the next packet, whatever
	// its sequence id and content.
	big := "\x03SELECT '" + strings.Repeat("z", maxPayload-10) + "'"
	stream := packet(0, big) + packet(0, "\x03KILL 10") + packet(0, "") + packet(0, "\x03KILL 10")
	wantBig := packet(0, big) + packet(0, "\x03KILL 10") + packet(0, "") + packet(0, "\x03KILL 11")
	for _, size := range []int{7, 4096, 65536, len(stream)} {
		s := &sink{}
		c := &commandConn{Conn: s, rewrite: rewrite}
		b := []byte(stream)
		for len(b) > 0 {
			n := min(size, len(b))
			c.Write(b[:n])
			b = b[n:]
		}
		if s.String() != wantBig {
			t.Fatalf("pieces of %d: the continued packet or the KILL after it came out wrong", size)
		}
		if size == len(stream) && s.writes != 1 {
			t.Errorf("one Write became %d writes", s.writes)
		}
	}
}

// discard is a database side that drops what it is sent.
type discard struct{ net.Conn }

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkCommandConn is the cost of following the framing of the
// client's stream, in 64 KiB writes as io.Copy makes them: bulk (16 KiB
// packets, LOAD DATA or large INSERTs) and commands (30-byte COM_QUERYs,
// each looked into as a possible KILL). Compare MB/s with what the
// proxy copies at all (BenchmarkMySQLProxy).
func BenchmarkCommandConn(b *testing.B) {
	target := &dbproxy.Target{Host: "db.example", Port: 3306}
	for _, bc := range []struct {
		name   string
		packet string
	}{
		{"bulk", packet(1, strings.Repeat("b", 16<<10))},
		{"commands", packet(0, "\x03SELECT id FROM t WHERE k = 42")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			stream := []byte(strings.Repeat(bc.packet, (1<<20)/len(bc.packet)))
			c := &commandConn{Conn: discard{}, rewrite: func(p []byte) []byte { return rewriteKill(p, target, false) }}
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				for p := stream; len(p) > 0; {
					n := min(64<<10, len(p))
					c.Write(p[:n])
					p = p[n:]
				}
			}
		})
	}
}
