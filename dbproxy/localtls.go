package dbproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"time"
)

// Clients that open with a TLS handshake (libpq's sslnegotiation=direct,
// which needs sslmode=require) get one: the local leg is on loopback or a
// unix socket, so the proxy serves a self-signed certificate made when the
// process starts; such a client does not verify it (sslmode=require).

var (
	localCertOnce sync.Once
	localCert     tls.Certificate
	localCertErr  error
)

func localTLSConfig() (*tls.Config, error) {
	localCertOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			localCertErr = err
			return
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 96))
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: "credkit db proxy (local)"},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			localCertErr = err
			return
		}
		localCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	if localCertErr != nil {
		return nil, localCertErr
	}
	return &tls.Config{Certificates: []tls.Certificate{localCert}, NextProtos: []string{"postgresql"}, MinVersion: tls.VersionTLS12}, nil
}

// prefixConn returns the bytes already read from a connection before the
// rest of it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
