package dbproxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultCABundle is where `credkit db ca fetch` installs AWS's RDS CA
// bundle, relative to the user's config directory ($XDG_CONFIG_HOME or
// ~/.config).
const DefaultCABundle = "credkit/rds-ca-bundle.pem"

// CABundle returns the roots that verify an RDS server certificate and
// where they came from: the file given (an error if it cannot be read or
// holds no certificate), else the installed RDS bundle under configDir
// when it exists, else the system roots (pool nil, from "system roots").
func CABundle(given, configDir string) (pool *x509.CertPool, from string, err error) {
	path := given
	if path == "" && configDir != "" {
		p := filepath.Join(configDir, DefaultCABundle)
		if _, err := os.Stat(p); err == nil {
			path = p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("CA bundle %s: %w", p, err)
		}
	}
	if path == "" {
		return nil, "system roots", nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("CA bundle: %w (pass a readable PEM file with --ca-bundle, or run credkit db ca fetch)", err)
	}
	pool = x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, "", fmt.Errorf("CA bundle %s holds no PEM certificate (pass the RDS bundle with --ca-bundle, or run credkit db ca fetch)", path)
	}
	return pool, path, nil
}
