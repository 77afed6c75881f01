package dbproxy

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/credkit/credkit/rdsauth"
)

// Roots reads a PEM CA bundle and returns a pool of its certificates that
// are valid at now (rdsauth.ParseBundle's rules: expired ones are dropped,
// a block that does not parse is an error). Which file to read — the one
// given, the installed RDS bundle, the system's — is the command's choice.
func Roots(path string, now time.Time) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	b, err := rdsauth.ParseBundle(data, now)
	if err != nil {
		return nil, fmt.Errorf("CA bundle %s: %w", path, err)
	}
	return b.CertPool(), nil
}
