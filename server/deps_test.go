package server

import (
	"os/exec"
	"strings"
	"testing"
)

// Package server links no HTTP library: a small binary that serves
// credentials must not pay net/http's (and crypto/tls's) start-up cost.
// Only package net and what it needs are allowed of the network stack.
func TestNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps said %q", out)
	}
	for _, p := range deps {
		switch {
		case p == "net" || p == "net/netip" || p == "vendor/golang.org/x/net/dns/dnsmessage":
		case strings.HasPrefix(p, "net/"), strings.HasPrefix(p, "crypto/tls"), strings.HasPrefix(p, "crypto/x509"),
			p == "mime" || strings.HasPrefix(p, "mime/"), strings.HasPrefix(p, "compress/"),
			strings.HasPrefix(p, "vendor/golang.org/x/net/"), strings.HasPrefix(p, "vendor/golang.org/x/text/"):
			t.Errorf("package server depends on %s", p)
		}
	}
}
