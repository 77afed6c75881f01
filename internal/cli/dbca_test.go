package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/rdsauth"
)

// sharedRDSBundle is AWS's RDS global bundle of October 2024 kept beside
// the project (../shared/testdata/rds): 109 roots, 28 of them expired.
const sharedRDSBundle = "../../../shared/testdata/rds/global-bundle-2024-10.pem"

func serveBundle(t *testing.T, body []byte, status int) (url, caFile string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/global/global-bundle.pem" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "download-ca.pem")
	writeFile(t, caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	return srv.URL + "/global/global-bundle.pem", caFile
}

func TestDBCAFetch(t *testing.T) {
	body, err := os.ReadFile(sharedRDSBundle)
	if err != nil {
		t.Skipf("no RDS CA bundle beside the project: %v", err)
	}
	url, caFile := serveBundle(t, body, http.StatusOK)
	home := t.TempDir()
	env := map[string]string{"HOME": home}

	res := runNow(t, env, "", "db", "ca", "fetch", "--url", url, "--download-ca", caFile, "--json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var out struct {
		Path    string `json:"path"`
		Kept    int    `json:"kept"`
		Expired int    `json:"expired"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, res.stdout)
	}
	// The counts the bundle's README states.
	if out.Kept != 81 || out.Expired != 28 || out.Path != rdsauth.CABundlePath(home) {
		t.Fatalf("got %+v, want 81 kept and 28 expired in %s", out, rdsauth.CABundlePath(home))
	}
	st, err := os.Stat(out.Path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("installed bundle: %v, mode %v; want 0644", err, st.Mode().Perm())
	}
	// Every kept certificate is one of the source's, byte for byte, and
	// none of them has expired.
	src := map[[32]byte]bool{}
	for rest := body; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		src[sha256.Sum256(b.Bytes)] = true
	}
	installed, _ := os.ReadFile(out.Path)
	n := 0
	for rest := installed; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil || !src[sha256.Sum256(b.Bytes)] || c.NotAfter.Before(time.Now()) {
			t.Fatalf("installed certificate %d is not one of the bundle's valid ones: %v", n, err)
		}
	}
	if n != 81 {
		t.Fatalf("installed %d certificates, want 81", n)
	}

	// The text form says the same.
	res = runNow(t, env, "", "db", "ca", "fetch", "--url", url, "--download-ca", caFile)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "kept 81 certificates (dropped 28 expired) in "+out.Path) {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Without --download-ca the test server is not trusted.
	res = runNow(t, env, "", "db", "ca", "fetch", "--url", url)
	if res.code != 1 || !strings.Contains(res.stderr, "certificate") || strings.Count(res.stderr, "\n") != 1 {
		t.Fatalf("want exit 1 for an untrusted download server, got %d\n%s", res.code, res.stderr)
	}
}

func TestDBCAFetchRefusesBadBundles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
		want   string
	}{
		{"not PEM", []byte("<html>hello</html>"), http.StatusOK, "no PEM certificate in it"},
		{"not found", []byte("nope"), http.StatusNotFound, "404 Not Found"},
		{"a key, not a certificate", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), http.StatusOK, `PEM block 1 is a "PRIVATE KEY"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, caFile := serveBundle(t, tc.body, tc.status)
			home := t.TempDir()
			res := runNow(t, map[string]string{"HOME": home}, "", "db", "ca", "fetch", "--url", url, "--download-ca", caFile)
			if res.code != 1 || !strings.Contains(res.stderr, tc.want) || strings.Count(res.stderr, "\n") != 1 {
				t.Fatalf("want exit 1 with %q, got %d\n%s", tc.want, res.code, res.stderr)
			}
			if _, err := os.Stat(rdsauth.CABundlePath(home)); !os.IsNotExist(err) {
				t.Fatalf("a bundle was written: %v", err)
			}
		})
	}
	res := runNow(t, nil, "", "db", "ca", "fetch", "--url", "http://example.com/bundle.pem")
	if res.code != 2 || !strings.Contains(res.stderr, "only fetched over https") {
		t.Fatalf("plain http: exit %d\n%s", res.code, res.stderr)
	}
}
