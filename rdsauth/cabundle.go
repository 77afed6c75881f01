package rdsauth

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// GlobalBundleURL is where AWS publishes the RDS CA bundle for every
// region (the certificates RDS endpoints are signed with).
const GlobalBundleURL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

// CABundleName is the RDS CA bundle's path below the home directory, where
// `credkit db ca fetch` installs it and `db connect` and `db proxy` look
// first when no bundle is given.
const CABundleName = ".config/credkit/rds-ca-bundle.pem"

// CABundlePath returns the installed RDS CA bundle's path under home.
func CABundlePath(home string) string {
	return filepath.Join(home, filepath.FromSlash(CABundleName))
}

// SystemCAFiles are the PEM files of the system's trusted roots on common
// systems (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine, macOS with
// Homebrew OpenSSL): database clients that take a CA file, not a store,
// get the first that exists.
var SystemCAFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// Bundle is a parsed CA bundle.
type Bundle struct {
	// Certs are the certificates valid at the time given to ParseBundle,
	// in the file's order.
	Certs []*x509.Certificate
	// Expired counts the certificates dropped because they had expired
	// (or were not yet valid).
	Expired int
	// PEM holds Certs, PEM-encoded.
	PEM []byte
}

// ErrNoCertificates reports a bundle without any valid certificate.
var ErrNoCertificates = errors.New("no certificate in it is valid now")

// ParseBundle parses PEM data as a CA bundle and keeps the certificates
// valid at now. A block that is not a certificate, or one that does not
// parse, is an error naming its position; so is a bundle that keeps none.
func ParseBundle(data []byte, now time.Time) (Bundle, error) {
	var b Bundle
	var out bytes.Buffer
	rest := data
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return Bundle{}, fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return Bundle{}, fmt.Errorf("certificate %d does not parse: %w", n, err)
		}
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			b.Expired++
			continue
		}
		b.Certs = append(b.Certs, cert)
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	}
	if n == 0 {
		return Bundle{}, errors.New("no PEM certificate in it (is it a PEM file?)")
	}
	if len(b.Certs) == 0 {
		return Bundle{}, fmt.Errorf("%w: all %d have expired", ErrNoCertificates, n)
	}
	b.PEM = out.Bytes()
	return b, nil
}

// Engines of RDS IAM authentication.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
)

// EngineOfPort returns the engine whose usual port is port (5432
// postgres, 3306 mysql), or "".
func EngineOfPort(port int) string {
	switch port {
	case 5432:
		return EnginePostgres
	case 3306:
		return EngineMySQL
	}
	return ""
}

// ParseEngine accepts an engine name as RDS and people spell it
// (postgres, postgresql, aurora-postgresql; mysql, mariadb,
// aurora-mysql) and returns EnginePostgres or EngineMySQL.
func ParseEngine(name string) (string, error) {
	switch name {
	case "postgres", "postgresql", "aurora-postgresql", "pg":
		return EnginePostgres, nil
	case "mysql", "mariadb", "aurora-mysql", "aurora":
		return EngineMySQL, nil
	}
	return "", fmt.Errorf("engine %q: postgres or mysql (MariaDB and Aurora count as these)", name)
}
