// Package nethttp serves a server.Handler (the credential endpoints) from
// net/http, for programs that put the endpoints on an http.ServeMux beside
// other handlers. Package server itself links no net/http: its own
// HTTP/1.1 server is what server.Listen runs.
package nethttp

import (
	"net/http"
	"strconv"

	"github.com/credkit/credkit/server"
)

// Handler returns an http.Handler that answers every request with h. The
// request's RemoteAddr, Host, path (r.URL.Path) and headers are given to
// h as the server package's own HTTP server would give them.
func Handler(h server.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := server.Request{
			Method:        r.Method,
			Path:          r.URL.Path,
			Host:          r.Host,
			RemoteAddr:    r.RemoteAddr,
			Authorization: first(r.Header, "Authorization"),
			IMDSToken:     first(r.Header, "X-Aws-Ec2-Metadata-Token"),
			IMDSTokenTTL:  first(r.Header, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"),
		}
		_, req.ForwardedFor = r.Header["X-Forwarded-For"]
		var resp server.Response
		h.Serve(r.Context(), &resp, &req)
		hdr := w.Header()
		if resp.ContentType != "" {
			hdr.Set("Content-Type", resp.ContentType)
		}
		if resp.CacheControl != "" {
			hdr.Set("Cache-Control", resp.CacheControl)
		}
		if resp.TokenTTL != "" {
			hdr.Set("X-aws-ec2-metadata-token-ttl-seconds", resp.TokenTTL)
		}
		hdr.Set("Content-Length", strconv.Itoa(len(resp.Body)))
		status := resp.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		w.Write(resp.Body)
	})
}

// first is r.Header.Get for a canonical key: the first value, without
// canonicalising the key again.
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
