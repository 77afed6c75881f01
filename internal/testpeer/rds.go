package testpeer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/atomicfile"
)

// FakeRDSRegion is the region whose tokens the fake RDS servers accept.
const FakeRDSRegion = "us-west-2"

// FakeRDS is a database server that authenticates like RDS with IAM
// database authentication: PostgreSQL (FakeRDSPostgres) or MariaDB standing
// in for RDS MySQL (FakeRDSMariaDB). See the package documentation.
type FakeRDS struct {
	// Engine is "postgres" or "mysql".
	Engine string
	// Host is "localhost"; the server listens on loopback and its
	// certificate is valid for localhost and 127.0.0.1.
	Host string
	Port int
	// Region is the region tokens must be signed for (FakeRDSRegion).
	Region string
	// CAFile is the PEM of the CA that signed the server certificate.
	CAFile string
	// AdminUser is the superuser, who logs in without IAM over the
	// server's private unix socket (see AdminDSN and AdminExec).
	AdminUser string
	// Socket is the private unix socket: the directory holding
	// .s.PGSQL.PORT for PostgreSQL, the socket file for MariaDB.
	Socket string
	// PAMService names the PAM service (in /etc/pam.d) that checks tokens.
	PAMService string

	dir       string
	trustFile string
	logFile   string
	server    *process
	also      []string // more endpoints whose tokens are accepted

	mu      sync.Mutex
	trusted map[string]trustedCreds
}

type trustedCreds struct {
	Secret       string `json:"secret"`
	SessionToken string `json:"session_token,omitempty"`
	Expires      int64  `json:"expires"`
}

// Login is one login attempt the fake RDS's verifier decided.
type Login struct {
	User        string `json:"user"`
	AccessKeyID string `json:"access_key_id"`
	OK          bool   `json:"ok"`
	// Reason says why a token was refused (empty when OK).
	Reason string `json:"reason"`
}

// Endpoint returns "localhost:PORT", the endpoint tokens are signed for.
func (r *FakeRDS) Endpoint() string {
	return net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
}

// Trust makes the server accept tokens signed with these credentials.
// sessionToken is empty for long-term keys; a zero expires means the
// credentials never expire, otherwise a token is refused once expires has
// passed, whenever it was signed (as RDS refuses tokens signed with a
// session that has ended). Trusting a key again replaces it.
func (r *FakeRDS) Trust(accessKeyID, secret, sessionToken string, expires time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := trustedCreds{Secret: secret, SessionToken: sessionToken}
	if !expires.IsZero() {
		c.Expires = expires.Unix()
	}
	r.trusted[accessKeyID] = c
	b, err := json.Marshal(r.trusted)
	if err == nil {
		err = atomicfile.Write(r.trustFile, b)
	}
	if err != nil {
		panic(fmt.Sprintf("testpeer: writing the fake RDS trust file: %v", err))
	}
}

// Logins returns the login attempts the verifier decided so far, oldest
// first. Logins refused before the token was checked (no TLS, an unknown
// user) are not in it.
func (r *FakeRDS) Logins(t testing.TB) []Login {
	t.Helper()
	b, err := os.ReadFile(r.logFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	var out []Login
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l Login
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("testpeer: fake RDS login log: %v", err)
		}
		out = append(out, l)
	}
	return out
}

// ServerLog returns the last lines the database server wrote.
func (r *FakeRDS) ServerLog() string {
	return r.server.out.lastLines(40)
}

//go:embed testdata/pam_rdsiam.c
var pamModuleSource []byte

//go:embed testdata/rdsiam_verifier.py
var verifierScript []byte

// newFakeRDS prepares what both engines share: a private directory, the
// TLS files, the PAM module and service, and the token verifier.
func newFakeRDS(t testing.TB, engine string) *FakeRDS {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "fake RDS ("+engine+")", "it installs a PAM service in /etc/pam.d and must run as root")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		missing(t, "gcc", err.Error())
	}
	if _, err := os.Stat("/usr/include/security/pam_modules.h"); err != nil {
		missing(t, "libpam0g-dev", "no /usr/include/security/pam_modules.h")
	}
	python := Python(t)

	// A short path: unix socket names are limited to 107 bytes.
	parent := os.TempDir()
	if len(parent) > 40 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "ckrds-")
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The database server runs as another user and must reach its files.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	r := &FakeRDS{
		Engine:    engine,
		Host:      "localhost",
		Region:    FakeRDSRegion,
		dir:       dir,
		trustFile: filepath.Join(dir, "trust.json"),
		logFile:   filepath.Join(dir, "logins.jsonl"),
		trusted:   map[string]trustedCreds{},
	}
	r.CAFile, err = writeServerTLS(dir)
	if err != nil {
		t.Fatalf("testpeer: fake RDS TLS: %v", err)
	}

	src := filepath.Join(dir, "pam_rdsiam.c")
	module := filepath.Join(dir, "pam_rdsiam.so")
	if err := os.WriteFile(src, pamModuleSource, 0o644); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	if out, err := exec.Command(gcc, "-Wall", "-shared", "-fPIC", "-o", module, src, "-lpam").CombinedOutput(); err != nil {
		t.Fatalf("testpeer: compiling the fake RDS PAM module: %v\n%s", err, out)
	}
	if err := os.Chmod(module, 0o755); err != nil {
		t.Fatalf("testpeer: %v", err)
	}

	socket := filepath.Join(dir, "verify.sock")
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	r.PAMService = "credkit-rds-" + hex.EncodeToString(rnd[:])
	pamFile := filepath.Join("/etc/pam.d", r.PAMService)
	service := fmt.Sprintf("auth required %s socket=%s\naccount required pam_permit.so\n", module, socket)
	if err := os.WriteFile(pamFile, []byte(service), 0o644); err != nil {
		missing(t, "fake RDS ("+engine+")", "cannot install its PAM service: "+err.Error())
	}
	t.Cleanup(func() { _ = os.Remove(pamFile) })

	r.Trust("AKIDFAKERDSPLACEHOLDER", "-", "", time.Unix(1, 0)) // creates the trust file
	r.mu.Lock()
	delete(r.trusted, "AKIDFAKERDSPLACEHOLDER")
	r.mu.Unlock()

	script := filepath.Join(dir, "verifier.py")
	if err := os.WriteFile(script, verifierScript, 0o600); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	cfg, _ := json.Marshal(map[string]string{
		"socket":     socket,
		"region":     r.Region,
		"hosts_file": filepath.Join(dir, "hosts.json"),
		"trust_file": r.trustFile,
		"log_file":   r.logFile,
	})
	cfgFile := filepath.Join(dir, "verifier.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	v, err := start(t, "fake RDS token verifier", []string{python, script, cfgFile}, IsolatedAWSEnv("PYTHONUNBUFFERED=1"), dir)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	err = v.waitReady(func(ctx context.Context) error {
		if !strings.Contains(v.out.String(), "ready") {
			return errors.New("no ready line yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return r
}

// setPort records the server's port, which the verifier checks tokens
// against (localhost:PORT and 127.0.0.1:PORT).
func (r *FakeRDS) setPort(port int) error {
	r.Port = port
	r.also = nil
	return r.writeHosts()
}

// AcceptEndpoint makes the server also accept tokens signed for endpoint
// (host:port), as when clients reach it through a relay there.
func (r *FakeRDS) AcceptEndpoint(t testing.TB, endpoint string) {
	t.Helper()
	r.also = append(r.also, endpoint)
	if err := r.writeHosts(); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
}

func (r *FakeRDS) writeHosts() error {
	p := strconv.Itoa(r.Port)
	b, _ := json.Marshal(append([]string{"localhost:" + p, "127.0.0.1:" + p}, r.also...))
	return os.WriteFile(filepath.Join(r.dir, "hosts.json"), b, 0o644)
}

// writeServerTLS creates a CA and a server certificate for localhost,
// 127.0.0.1 and ::1 signed by it, in dir: ca.pem, server.crt and
// server.key (0600). It returns the path of ca.pem.
func writeServerTLS(dir string) (string, error) {
	caKey, caPEM, caCert, err := newCA("credkit fake RDS CA")
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", err
	}
	return caFile, nil
}

// newCA returns a fresh self-signed CA: its key, PEM and certificate.
func newCA(name string) (*ecdsa.PrivateKey, []byte, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// UntrustedCAFile writes the PEM of a new CA that signed nothing and
// returns its path: a CA bundle under which no peer's certificate
// verifies.
func UntrustedCAFile(t testing.TB) string {
	t.Helper()
	_, caPEM, _, err := newCA("credkit unrelated CA")
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	path := filepath.Join(t.TempDir(), "untrusted-ca.pem")
	if err := os.WriteFile(path, caPEM, 0o644); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return path
}
