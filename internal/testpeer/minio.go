package testpeer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
)

// MinIOVersion is the pinned MinIO version (a Go module version of
// github.com/minio/minio). It must match MINIO_VERSION in the Makefile.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIOEnv names a minio binary to use instead of the pinned one.
const MinIOEnv = "CREDKIT_MINIO"

// MinIOServer is a running MinIO server.
type MinIOServer struct {
	// Endpoint is the S3 API base URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root credentials (random per server).
	AccessKey string
	SecretKey string
	// Region is MinIO's default region.
	Region string
	// DataDir holds the server's data.
	DataDir string
}

// MinIOPath returns where make deps installs the pinned minio binary:
// $HOME/.cache/credkit/peers/minio-<MinIOVersion>/minio.
func MinIOPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "credkit", "peers", "minio-"+MinIOVersion, "minio"), nil
}

// findMinIO looks for the minio binary: $CREDKIT_MINIO, the pinned install,
// then PATH.
func findMinIO() (string, error) {
	if p := os.Getenv(MinIOEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s is not an executable: %v", MinIOEnv, p, err)
		}
		return p, nil
	}
	pinned, err := MinIOPath()
	if err == nil {
		if _, err := exec.LookPath(pinned); err == nil {
			return pinned, nil
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no minio binary: %s unset, %s missing and minio not on PATH", MinIOEnv, pinned)
}

// MinIO starts a MinIO server on random ports on 127.0.0.1 with random root
// credentials and data in a temporary directory. The server is killed when t
// ends.
func MinIO(t testing.TB) *MinIOServer {
	t.Helper()
	bin, err := findMinIO()
	if err != nil {
		missing(t, "MinIO "+MinIOVersion, err.Error())
	}
	dir := t.TempDir()
	s := &MinIOServer{
		AccessKey: "credkit" + randomHex(t, 6),
		SecretKey: randomHex(t, 20),
		Region:    "us-east-1",
		DataDir:   filepath.Join(dir, "data"),
	}
	for _, d := range []string{s.DataDir, filepath.Join(dir, "certs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("testpeer: %v", err)
		}
	}

	launch := func() (*process, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		consolePort, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		argv := []string{bin, "server", s.DataDir,
			"--address", "127.0.0.1:" + strconv.Itoa(port),
			"--console-address", "127.0.0.1:" + strconv.Itoa(consolePort),
			"--certs-dir", filepath.Join(dir, "certs"),
		}
		env := IsolatedAWSEnv(
			"MINIO_ROOT_USER="+s.AccessKey,
			"MINIO_ROOT_PASSWORD="+s.SecretKey,
			"MINIO_UPDATE=off",
			"MINIO_BROWSER=off",
			"HOME="+dir,
		)
		return start(t, "minio", argv, env, dir)
	}
	ready := func(ctx context.Context) error {
		code, _, err := httpStatus(ctx, "GET", s.Endpoint+"/minio/health/cluster", nil)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("/minio/health/cluster: HTTP %d (object layer not ready)", code)
		}
		return nil
	}
	if _, err := startWithRetry(t, launch, ready); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return s
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	return hex.EncodeToString(b)
}

// Root returns the server's root credentials.
func (s *MinIOServer) Root() creds.Credentials {
	return creds.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, Source: "MinIO root user"}
}

// AssumeRole gets session credentials of the root user from MinIO's STS
// (AssumeRole, 15 minutes).
func (s *MinIOServer) AssumeRole(t testing.TB) creds.Credentials {
	t.Helper()
	body := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "DurationSeconds": {"900"}}.Encode()
	req, err := http.NewRequest("POST", s.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	var signer sigv4.Signer
	if err := signer.Sign(req, s.Root(), sigv4.Options{Service: "sts", Region: s.Region, PayloadHash: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
	code, answer := Do(t, req)
	var r struct {
		Creds struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"AssumeRoleResult>Credentials"`
	}
	if err := xml.Unmarshal([]byte(answer), &r); err != nil || code != 200 || r.Creds.SessionToken == "" {
		t.Fatalf("testpeer: MinIO AssumeRole: %d %s", code, answer)
	}
	exp, _ := time.Parse(time.RFC3339, r.Creds.Expiration)
	return creds.Credentials{AccessKeyID: r.Creds.AccessKeyID, SecretAccessKey: r.Creds.SecretAccessKey,
		SessionToken: r.Creds.SessionToken, Expires: exp, Source: "MinIO AssumeRole"}
}
