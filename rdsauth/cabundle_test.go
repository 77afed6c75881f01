package rdsauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, name string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParseBundleDropsExpired(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	valid := selfSigned(t, "valid", now.AddDate(-1, 0, 0), now.AddDate(10, 0, 0))
	expired := selfSigned(t, "expired", now.AddDate(-6, 0, 0), now.AddDate(0, 0, -1))
	future := selfSigned(t, "future", now.AddDate(0, 0, 1), now.AddDate(10, 0, 0))
	valid2 := selfSigned(t, "valid2", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	b, err := ParseBundle(bytes.Join([][]byte{valid, expired, future, valid2}, []byte("\n")), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Certs) != 2 || b.Expired != 2 || b.Certs[0].Subject.CommonName != "valid" || b.Certs[1].Subject.CommonName != "valid2" {
		t.Fatalf("kept %d (%v), dropped %d", len(b.Certs), b.Certs, b.Expired)
	}
	if !bytes.Equal(b.PEM, append(append([]byte(nil), valid...), valid2...)) {
		t.Fatalf("PEM is not the kept certificates in order:\n%s", b.PEM)
	}
	if !b.CertPool().Equal(func() *x509.CertPool {
		p := x509.NewCertPool()
		p.AppendCertsFromPEM(b.PEM)
		return p
	}()) {
		t.Fatal("CertPool differs from the kept certificates")
	}

	if _, err := ParseBundle(expired, now); !errors.Is(err, ErrNoCertificates) {
		t.Fatalf("only expired: %v", err)
	}
	for in, want := range map[string]string{
		"hello": "no PEM certificate",
		string(valid) + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n": "certificate 2 does not parse",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n":                 `PEM block 1 is a "PRIVATE KEY"`,
	} {
		if _, err := ParseBundle([]byte(in), now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: want %q, got %v", in, want, err)
		}
	}
}

func TestEngines(t *testing.T) {
	if EngineOfPort(5432) != EnginePostgres || EngineOfPort(3306) != EngineMySQL || EngineOfPort(6432) != "" {
		t.Fatal("EngineOfPort")
	}
	for in, want := range map[string]string{"postgresql": EnginePostgres, "aurora-postgresql": EnginePostgres, "mariadb": EngineMySQL, "aurora-mysql": EngineMySQL} {
		if got, err := ParseEngine(in); err != nil || got != want {
			t.Errorf("ParseEngine(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseEngine("oracle"); err == nil {
		t.Error("oracle accepted")
	}
}
