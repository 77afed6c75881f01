package cli

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/source"
)

// awsHostsProxy is an HTTPS proxy that answers for the AWS SSO hosts
// with the lab: the AWS CLI 2.9 honours neither endpoint variables nor
// endpoint_url for SSO, but it honours HTTPS_PROXY and AWS_CA_BUNDLE.
// It returns the proxy's URL and the CA bundle's path.
func awsHostsProxy(t *testing.T, handler http.Handler, hosts ...string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "credkit test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, DNSNames: hosts}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	conns := make(chan net.Conn)
	inner := &http.Server{Handler: handler}
	ln := &chanListener{conns: conns, done: make(chan struct{})}
	go inner.Serve(ln)
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		select {
		case conns <- tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}}):
		case <-ln.done:
			conn.Close()
		}
	})}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go proxy.Serve(pl)
	t.Cleanup(func() { proxy.Close(); ln.Close(); inner.Close() })
	return "http://" + pl.Addr().String(), bundle
}

type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// The AWS CLI v2 and credkit share the token cache both ways: credkit
// reads the token the CLI's own device login wrote, and the CLI gets
// role credentials with the token credkit's login wrote.
func TestAWSCLIAndCredkitShareTheSSOCache(t *testing.T) {
	awsCLI := testpeer.AWSCLIv2(t)
	sl := newSSOLab(t, lab.Options{})
	proxy, bundle := awsHostsProxy(t, sl.lab.Handler(), "oidc."+lab.Region+".amazonaws.com", "portal.sso."+lab.Region+".amazonaws.com")
	// A config for the CLI without endpoint overrides: it reaches the
	// lab's SSO through the proxy, and its STS with --endpoint-url.
	conf := filepath.Join(t.TempDir(), "config")
	profile := "cli-sso"
	os.WriteFile(conf, []byte("[profile "+profile+"]\nsso_session = "+lab.SSOSession+"\nsso_account_id = "+lab.DefaultAccount+
		"\nsso_role_name = "+lab.DefaultRole+"\nregion = "+lab.Region+"\n\n[sso-session "+lab.SSOSession+"]\nsso_start_url = "+lab.SSOStartURL+
		"\nsso_region = "+lab.Region+"\nsso_registration_scopes = sso:account:access\n"), 0o600)
	cliEnv := testpeer.IsolatedAWSEnv("HOME="+sl.home, "AWS_CONFIG_FILE="+conf, "HTTPS_PROXY="+proxy, "https_proxy="+proxy, "AWS_CA_BUNDLE="+bundle, "BROWSER=/bin/false")
	aws := func(args ...string) (string, error) {
		cmd := exec.Command(awsCLI, args...)
		cmd.Env = cliEnv
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// 1. The CLI's own device login writes the cache; credkit uses it.
	out, err := aws("sso", "login", "--profile", profile, "--no-browser")
	if err != nil {
		t.Fatalf("aws sso login: %v\n%s", err, out)
	}
	if n := sl.lab.SSOCalls()["CreateToken:device_code"]; n != 1 {
		t.Fatalf("the lab saw %d device grants from the CLI", n)
	}
	r := runAt(t, time.Now, sl.env, "", "sso", "status", "--sso-session", lab.SSOSession)
	if r.code != 0 || !strings.Contains(r.stdout, "sso-session lab ("+lab.SSOStartURL+"): signed in until") || !strings.Contains(r.stdout, "refresh possible") {
		t.Fatalf("credkit's status of the CLI's token: %s%s", r.stdout, r.stderr)
	}
	r = runAt(t, time.Now, sl.env, "", "whoami", "--profile", lab.SSOProfilePrefix+lab.DefaultRole)
	if r.code != 0 || !strings.Contains(r.stdout, "assumed-role/"+lab.DefaultRole+"/"+lab.DefaultUser) {
		t.Fatalf("credkit whoami with the CLI's token: %d %s%s", r.code, r.stdout, r.stderr)
	}

	// 2. credkit's login writes the cache; the CLI uses it.
	file, _ := source.SSOTokenCacheFile(filepath.Join(sl.home, ".aws", "sso", "cache"), lab.SSOSession)
	os.Remove(file)
	if r := runAt(t, time.Now, sl.env, "", "sso", "login", "--sso-session", lab.SSOSession, "--use-device-code"); r.code != 0 {
		t.Fatalf("credkit sso login: %s%s", r.stdout, r.stderr)
	}
	out, err = aws("sts", "get-caller-identity", "--profile", profile, "--endpoint-url", sl.url, "--query", "Arn", "--output", "text")
	if err != nil || strings.TrimSpace(out) != "arn:aws:sts::"+lab.DefaultAccount+":assumed-role/"+lab.DefaultRole+"/"+lab.DefaultUser {
		t.Fatalf("aws sts get-caller-identity with credkit's token: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "aoa") {
			t.Fatal("the CLI printed a token")
		}
	}
}
