package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credkit/credkit/creds"
)

var guardCreds = creds.Static{Creds: creds.Credentials{AccessKeyID: "ASIAGUARD", SecretAccessKey: "guard-secret", SessionToken: "guard-token"}}

// Who may ask: a loopback peer, naming the address it connected to (or
// localhost with its port). Both endpoints refuse everyone else with 403
// and no credentials.
func TestLocalGuard(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4567}
	v6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 4567}
	cases := []struct {
		name   string
		local  net.Addr // nil: none in the context
		remote string
		host   string
		want   int
	}{
		{"loopback peer, own address", v4, "127.0.0.1:50000", "127.0.0.1:4567", 200},
		{"localhost with the port", v4, "127.0.0.1:50000", "localhost:4567", 200},
		{"LOCALHOST in capitals", v4, "127.0.0.1:50000", "LOCALHOST:4567", 200},
		{"other loopback peer", v4, "127.0.0.2:50000", "127.0.0.1:4567", 200},
		{"IPv4-mapped loopback peer", v4, "[::ffff:127.0.0.1]:50000", "127.0.0.1:4567", 200},
		{"IPv6 listener", v6, "[::1]:50000", "[::1]:4567", 200},
		{"IPv6 listener, localhost", v6, "[::1]:50000", "localhost:4567", 200},
		{"peer on the network", v4, "10.0.0.1:50000", "127.0.0.1:4567", 403},
		{"peer with a zone", v6, "[::1%lo]:50000", "[::1]:4567", 403},
		{"no peer address", v4, "", "127.0.0.1:4567", 403},
		{"peer without a port", v4, "127.0.0.1", "127.0.0.1:4567", 403},
		{"rebinding host name", v4, "127.0.0.1:50000", "evil.example.com:4567", 403},
		{"rebinding host name without port", v4, "127.0.0.1:50000", "evil.example.com", 403},
		{"another port", v4, "127.0.0.1:50000", "127.0.0.1:4568", 403},
		{"no port: 80", v4, "127.0.0.1:50000", "127.0.0.1", 403},
		{"localhost without port", v4, "127.0.0.1:50000", "localhost", 403},
		{"another loopback address", v4, "127.0.0.1:50000", "127.0.0.2:4567", 403},
		{"IPv6 host on an IPv4 listener", v4, "127.0.0.1:50000", "[::1]:4567", 403},
		{"localhost subdomain", v4, "127.0.0.1:50000", "a.localhost:4567", 403},
		{"decimal IP", v4, "127.0.0.1:50000", "2130706433:4567", 403},
		{"empty host", v4, "127.0.0.1:50000", "", 403},
		{"no local address in the context", nil, "127.0.0.1:50000", "127.0.0.1:4567", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.local != nil {
				ctx = context.WithValue(ctx, http.LocalAddrContextKey, tc.local)
			}
			m := &IMDS{Provider: guardCreds, Role: "r"}
			tok, err := m.NewSessionToken(MaxTokenTTL)
			if err != nil {
				t.Fatal(err)
			}
			e := &ECS{Provider: guardCreds, Token: "tok"}
			for _, h := range []struct {
				name    string
				handler http.Handler
				path    string
				header  string
				value   string
			}{{"ecs", e, "/credentials", "Authorization", "tok"}, {"imds", m, "/latest/meta-data/iam/security-credentials/r", "X-aws-ec2-metadata-token", tok}} {
				r := httptest.NewRequestWithContext(ctx, "GET", h.path, nil)
				r.RemoteAddr, r.Host = tc.remote, tc.host
				r.Header.Set(h.header, h.value)
				w := httptest.NewRecorder()
				h.handler.ServeHTTP(w, r)
				if w.Code != tc.want {
					t.Errorf("%s: %d %s, want %d", h.name, w.Code, w.Body, tc.want)
				}
				if tc.want != 200 && (strings.Contains(w.Body.String(), "guard-secret") || !strings.Contains(w.Body.String(), `"code":"AccessDenied"`)) {
					t.Errorf("%s: refused with %s", h.name, w.Body)
				}
			}
			if tc.want != 200 && (e.Stats.Refused.Load() != 1 || m.Stats.Refused.Load() != 1) {
				t.Errorf("refusals counted: ecs %d, imds %d", e.Stats.Refused.Load(), m.Stats.Refused.Load())
			}
		})
	}
}

func TestEqualSecret(t *testing.T) {
	for _, c := range []struct {
		presented, want string
		ok              bool
	}{{"abc", "abc", true}, {"", "", false}, {"abd", "abc", false}, {"ab", "abc", false}, {"abcd", "abc", false}, {"ABC", "abc", false}} {
		if got := equalSecret(c.presented, c.want); got != c.ok {
			t.Errorf("equalSecret(%q, %q) = %v", c.presented, c.want, got)
		}
	}
}
