package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/awsenv"
	"github.com/credkit/credkit/rdsauth"
)

func newDBCACmd(a *App) *cobra.Command {
	return newGroupCmd("ca", "the RDS CA bundle database clients verify servers with (ca fetch)",
		"The RDS CA bundle: the certificates RDS database servers chain to, which db connect\n"+
			"and db proxy verify the server with when no --ca-bundle is given.",
		newDBCAFetchCmd(a))
}

// maxCABundle bounds the download: AWS's global bundle is about 170 KB.
const maxCABundle = 8 << 20

func newDBCAFetchCmd(a *App) *cobra.Command {
	var rawURL, downloadCA string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "fetch [--url URL] [flags]",
		Short: "download the RDS CA bundle to ~/" + rdsauth.CABundleName,
		Long: "Downloads AWS's RDS CA bundle over HTTPS (--url), checks that every certificate in\n" +
			"it parses, drops those that have expired, writes the rest to\n" +
			"~/" + rdsauth.CABundleName + " (mode 0644, replaced atomically) and says how many it\n" +
			"kept. The download's server is verified against the system's roots,\n" +
			"and also against --download-ca when given (a mirror with a private CA).",
		Example: examples(
			"credkit db ca fetch",
			"credkit db ca fetch --url https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem",
			"credkit db ca fetch --url https://mirror.example.com/rds/global-bundle.pem --download-ca mirror-ca.pem --json"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.dbCAFetch(cmd.Context(), rawURL, downloadCA, asJSON)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&rawURL, "url", rdsauth.GlobalBundleURL, "HTTPS URL of the bundle")
	fs.StringVar(&downloadCA, "download-ca", "", "PEM file of a CA to trust for the download's server, besides the system's roots")
	fs.BoolVar(&asJSON, "json", false, "print {\"path\", \"url\", \"kept\", \"expired\", \"not_after\"} as JSON")
	return cmd
}

func (a *App) dbCAFetch(ctx context.Context, rawURL, downloadCA string, asJSON bool) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return badInput("--url %q is not a URL", rawURL)
	}
	if u.Scheme != "https" {
		return badInput("--url %q: the bundle is only fetched over https, so that nobody on the way can swap the CAs", u.Redacted())
	}
	home, err := awsenv.Home(a.Getenv)
	if err != nil {
		return fmt.Errorf("db ca fetch: no home directory to install the bundle in: %w", err)
	}
	client := a.HTTP
	if downloadCA != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		data, err := os.ReadFile(downloadCA)
		if err != nil {
			return badInput("--download-ca %s: %v", downloadCA, unwrapPath(err))
		}
		if !roots.AppendCertsFromPEM(data) {
			return badInput("--download-ca %s: no PEM certificate in it", downloadCA)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		c := *a.HTTP
		c.Transport = tr
		client = &c
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return badInput("--url %q: %v", u.Redacted(), err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("db ca fetch: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("db ca fetch: %s answered %s; check --url", u.Redacted(), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxCABundle+1))
	if err != nil {
		return fmt.Errorf("db ca fetch: reading %s: %v", u.Redacted(), err)
	}
	if len(data) > maxCABundle {
		return fmt.Errorf("db ca fetch: %s is over %d MB: not a CA bundle; check --url", u.Redacted(), maxCABundle>>20)
	}
	b, err := rdsauth.ParseBundle(data, a.Now())
	if err != nil {
		return fmt.Errorf("db ca fetch: %s: %v; nothing was written", u.Redacted(), err)
	}
	path := rdsauth.CABundlePath(home)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("db ca fetch: %v", err)
	}
	if err := atomicfile.Write(path, b.PEM); err != nil {
		return fmt.Errorf("db ca fetch: %v", err)
	}
	// Certificates are public: clients running as other users may read them.
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("db ca fetch: %v", err)
	}
	first := b.Certs[0].NotAfter
	for _, c := range b.Certs {
		if c.NotAfter.Before(first) {
			first = c.NotAfter
		}
	}
	if asJSON {
		return writeJSON(a.Stdout, map[string]any{"path": path, "url": u.Redacted(), "kept": len(b.Certs), "expired": b.Expired,
			"not_after": first.UTC().Format(time.RFC3339)})
	}
	fmt.Fprintf(a.Stdout, "kept %d certificates (dropped %d expired) in %s; the first expires %s\n",
		len(b.Certs), b.Expired, path, first.UTC().Format("2006-01-02"))
	return nil
}
