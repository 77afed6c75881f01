package server

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Content types of the answers.
const (
	contentJSON = "application/json"
	contentText = "text/plain; charset=utf-8"
)

// write answers with status and body, with a Content-Type (when there is
// a body) and a Content-Length.
func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if len(body) > 0 {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// jsonError answers with a JSON error body, as the container endpoint's
// clients expect ({"code","message"}).
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	write(w, status, contentJSON, encodeJSON(map[string]string{"code": code, "message": msg}))
}

// encodeJSON is json.NewEncoder(&buf).Encode(v)'s output (with its
// newline). v is always one of the answers' own types, which encode.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	return buf.Bytes()
}

// Refusals of requests that do not come from this machine, to this
// endpoint.
const (
	msgNotLocal = "credentials are served to this machine only"
	msgBadHost  = "unexpected Host header: this endpoint answers to the address it listens on (or localhost with its port) only"
)

// localRefusal says why r does not come from loopback to this endpoint's
// own address, or "" when it does.
func localRefusal(r *http.Request) string {
	peer, ok := loopbackAddrPort(r.RemoteAddr)
	if !ok || !peer.Addr().IsLoopback() {
		return msgNotLocal
	}
	if !ownHost(r) {
		return msgBadHost
	}
	return ""
}

// loopbackAddrPort parses an "IP:port" address, as RemoteAddr holds it;
// IPv4-mapped IPv6 addresses count as IPv4. Addresses with a zone are
// refused: loopback has none.
func loopbackAddrPort(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// ownHost reports whether r's Host names the address the request came in
// on: the same IP and port, or localhost with the same port. A Host
// without a port means port 80.
func ownHost(r *http.Request) bool {
	la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	local, ok := loopbackAddrPort(la.String())
	if !ok {
		return false
	}
	host, port := r.Host, "80"
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || uint16(n) != local.Port() {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap() == local.Addr()
}

// equalSecret compares a presented secret with the expected one in time
// that depends on their lengths only; an empty secret never matches.
func equalSecret(presented, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}
