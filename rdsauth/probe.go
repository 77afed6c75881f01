package rdsauth

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// TLSProbe is what ProbeTLS learned of a database server.
type TLSProbe struct {
	// Offered reports whether the server agreed to TLS ('S' to
	// PostgreSQL's SSLRequest, CLIENT_SSL in a MySQL greeting).
	Offered bool
	// ServerVersion is the MySQL greeting's server version ("" for
	// PostgreSQL, which tells it only after login).
	ServerVersion string
	// Version is the negotiated TLS version, e.g. "TLS 1.3".
	Version string
	// Subject and NotAfter describe the server's certificate.
	Subject  string
	NotAfter time.Time
	// VerifyErr says why the certificate did not verify against the roots
	// for the host name; nil when it did.
	VerifyErr error
}

// ErrTLSRefused reports a server that does not do TLS: RDS IAM tokens are
// only accepted over TLS.
var ErrTLSRefused = errors.New("the server does not offer TLS")

// ProbeTLS connects to host:port, asks the engine's server for TLS the way
// its clients do, and completes a TLS handshake verifying the certificate
// against roots (nil: the system's) for host. It sends no credentials and
// closes the connection after the handshake. An error means the probe
// could not tell (no connection, no TLS); a certificate that does not
// verify is reported in TLSProbe.VerifyErr.
func ProbeTLS(ctx context.Context, engine, host string, port int, roots *x509.CertPool) (TLSProbe, error) {
	var p TLSProbe
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return p, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	switch engine {
	case EnginePostgres:
		err = postgresSSLRequest(conn, &p)
	case EngineMySQL:
		err = mysqlSSLRequest(conn, &p)
	default:
		err = fmt.Errorf("engine %q: postgres or mysql", engine)
	}
	if err != nil {
		return p, err
	}
	var verifyErr error
	cfg := &tls.Config{
		ServerName:         host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below, so that a failure can be described
		VerifyConnection: func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, verifyErr = cs.PeerCertificates[0].Verify(opts)
			return nil
		},
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return p, fmt.Errorf("TLS handshake: %w", err)
	}
	cs := tc.ConnectionState()
	p.Version = tls.VersionName(cs.Version)
	leaf := cs.PeerCertificates[0]
	p.Subject = leaf.Subject.String()
	p.NotAfter = leaf.NotAfter
	p.VerifyErr = verifyErr
	return p, nil
}

// postgresSSLRequest sends PostgreSQL's SSLRequest and reads the answer.
func postgresSSLRequest(conn net.Conn, p *TLSProbe) error {
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:], 8)
	binary.BigEndian.PutUint32(req[4:], 80877103)
	if _, err := conn.Write(req[:]); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return fmt.Errorf("reading the answer to SSLRequest: %w (is it a PostgreSQL server?)", err)
	}
	switch b[0] {
	case 'S':
		p.Offered = true
		return nil
	case 'N':
		return ErrTLSRefused
	}
	return fmt.Errorf("answer %q to SSLRequest: not a PostgreSQL server", b[0])
}

// MySQL capability flags the probe uses.
const (
	mysqlClientProtocol41     = 0x00000200
	mysqlClientSSL            = 0x00000800
	mysqlClientSecureConn     = 0x00008000
	mysqlClientPluginAuth     = 0x00080000
	mysqlMaxGreeting          = 1 << 16
	mysqlCharsetUTF8MB4       = 45
	mysqlSSLRequestPayloadLen = 32
)

// mysqlSSLRequest reads a MySQL greeting and, when it offers TLS, sends
// the SSL request packet.
func mysqlSSLRequest(conn net.Conn, p *TLSProbe) error {
	r := bufio.NewReader(conn)
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("reading the greeting: %w (is it a MySQL server?)", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n > mysqlMaxGreeting || n < 1 {
		return fmt.Errorf("greeting of %d bytes: not a MySQL server", n)
	}
	g := make([]byte, n)
	if _, err := io.ReadFull(r, g); err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	if g[0] == 0xff {
		msg := ""
		if len(g) > 3 {
			msg = string(g[3:])
			if len(msg) > 0 && msg[0] == '#' && len(msg) > 6 {
				msg = msg[6:]
			}
		}
		return fmt.Errorf("the server refused the connection: %s", msg)
	}
	if g[0] != 10 {
		return fmt.Errorf("greeting protocol %d: not a MySQL server", g[0])
	}
	i := 1
	for i < len(g) && g[i] != 0 {
		i++
	}
	p.ServerVersion = string(g[1:i])
	i++            // NUL
	i += 4 + 8 + 1 // connection id, auth data part 1, filler
	if i+2 > len(g) {
		return errors.New("greeting too short: not a MySQL server")
	}
	caps := uint32(binary.LittleEndian.Uint16(g[i:]))
	if caps&mysqlClientSSL == 0 {
		return ErrTLSRefused
	}
	p.Offered = true
	pkt := make([]byte, 4+mysqlSSLRequestPayloadLen)
	pkt[0] = mysqlSSLRequestPayloadLen
	pkt[3] = 1 // sequence id
	binary.LittleEndian.PutUint32(pkt[4:], mysqlClientProtocol41|mysqlClientSSL|mysqlClientSecureConn|mysqlClientPluginAuth)
	binary.LittleEndian.PutUint32(pkt[8:], 1<<24)
	pkt[12] = mysqlCharsetUTF8MB4
	_, err := conn.Write(pkt)
	return err
}

// CertPool returns the pool of a parsed bundle.
func (b Bundle) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range b.Certs {
		pool.AddCert(c)
	}
	return pool
}
