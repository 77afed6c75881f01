package sigv4

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The SigV4a cases of the same suite. Their signatures are ECDSA, so
// randomized: a case gives the derived public key, the canonical request
// and string to sign, and signatures to verify, not to reproduce.
const suiteV4aDir = "../testdata/sigv4/aws-signing-test-suite/v4a"

func loadSuiteV4a(t *testing.T) []suiteCase {
	t.Helper()
	return loadSuiteFrom(t, suiteV4aDir, 40)
}

// inputOnly reports whether the case gives only its inputs (context.json
// and request.txt), as two cases of the v4a directory do; aws-c-auth skips
// them. Signing them is still checked by verifying the signature.
func (c *suiteCase) inputOnly() bool {
	_, err := os.Stat(filepath.Join(c.dir, c.name, "public-key.json"))
	return errors.Is(err, fs.ErrNotExist)
}

func (c *suiteCase) optionsV4a(body []byte) Options {
	o := c.options(body)
	o.Algorithm = SigV4a
	return o
}

// publicKey reads public-key.json: the P-256 point of the key derived
// from the case's credentials.
func (c *suiteCase) publicKey(t *testing.T) *ecdsa.PublicKey {
	t.Helper()
	var xy struct{ X, Y string }
	if err := json.Unmarshal([]byte(c.file(t, "public-key.json")), &xy); err != nil {
		t.Fatal(err)
	}
	x, err1 := hex.DecodeString(xy.X)
	y, err2 := hex.DecodeString(xy.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		t.Fatalf("public-key.json: X %q, Y %q are not 32-byte hex", xy.X, xy.Y)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("public-key.json: %v", err)
	}
	return pub
}

// verifyWith checks a hex signature of stringToSign with the suite's
// public key, by crypto/ecdsa alone.
func verifyWith(t *testing.T, pub *ecdsa.PublicKey, stringToSign, sigHex string) bool {
	t.Helper()
	der, err := hex.DecodeString(sigHex)
	if err != nil {
		t.Fatalf("signature %q is not hex", sigHex)
	}
	digest := sha256.Sum256([]byte(stringToSign))
	return ecdsa.VerifyASN1(pub, digest[:], der)
}

func TestSuiteV4aKeyDerivation(t *testing.T) {
	for _, c := range loadSuiteV4a(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.inputOnly() {
				t.Skip("the suite gives no public key for this case")
			}
			priv, err := SigningKeyV4a(c.ctx.Credentials.AccessKeyID, c.ctx.Credentials.SecretAccessKey)
			if err != nil {
				t.Fatal(err)
			}
			want := c.publicKey(t)
			if !priv.PublicKey.Equal(want) {
				got, _ := priv.PublicKey.Bytes()
				wb, _ := want.Bytes()
				t.Errorf("derived public key %x, want %x", got, wb)
			}
		})
	}
}

func TestSuiteV4aHeaderSigning(t *testing.T) {
	for _, c := range loadSuiteV4a(t) {
		t.Run(c.name, func(t *testing.T) {
			req, body := parseSuiteRequest(t, c.raw)
			var s Signer
			o := c.optionsV4a(body)
			if err := s.Sign(req, c.creds(), o); err != nil {
				t.Fatal(err)
			}
			v := c.verifier()
			signed, err := Parse(req)
			if err != nil {
				t.Fatal(err)
			}
			if signed.Algorithm != SigV4a || !slices.Equal(signed.RegionSet, []string{c.ctx.Region}) {
				t.Errorf("parsed as %s for regions %q", signed.Algorithm, signed.RegionSet)
			}
			if c.inputOnly() {
				if _, err := v.Verify(context.Background(), req); err != nil {
					t.Errorf("verify own signature: %v", err)
				}
				return
			}
			cr, sts, err := v.CanonicalRequest(req, signed, o.PayloadHash)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.file(t, "header-canonical-request.txt"); cr != want {
				t.Errorf("canonical request:\n%s\nwant:\n%s", cr, want)
			}
			wantSTS := c.file(t, "header-string-to-sign.txt")
			if sts != wantSTS {
				t.Errorf("string to sign:\n%s\nwant:\n%s", sts, wantSTS)
			}

			// credkit's signature, checked by crypto/ecdsa with the suite's
			// key and by the verifier.
			if !verifyWith(t, c.publicKey(t), wantSTS, signed.Signature) {
				t.Errorf("the signature does not verify with the suite's public key over its string to sign")
			}
			if _, err := v.Verify(context.Background(), req); err != nil {
				t.Errorf("verify own signature: %v", err)
			}

			// Headers as in the suite's signed request; Authorization up to
			// its (randomized) signature.
			compareSignedHeaders(t, req, c.file(t, "header-signed-request.txt"), true)

			// The suite's own signatures verify; a changed one does not.
			_, wantHeaders := signedRequestFile(t, c.file(t, "header-signed-request.txt"))
			_, fileSig, _ := strings.Cut(strings.Join(wantHeaders["authorization"], ""), "Signature=")
			for _, sig := range []string{strings.TrimSpace(c.file(t, "header-signature.txt")), fileSig} {
				setSignature(t, req, sig)
				if _, err := v.Verify(context.Background(), req); err != nil {
					t.Errorf("verify the suite's signature %s: %v", sig, err)
				}
				setSignature(t, req, flipDigit(sig))
				if _, err := v.Verify(context.Background(), req); !errors.Is(err, ErrSignatureMismatch) {
					t.Errorf("verify a changed signature: %v, want %v", err, ErrSignatureMismatch)
				}
			}
		})
	}
}

// setSignature replaces the signature of req's Authorization header.
func setSignature(t *testing.T, req *http.Request, sig string) {
	t.Helper()
	auth := req.Header.Get("Authorization")
	i := strings.Index(auth, "Signature=")
	if i < 0 {
		t.Fatalf("Authorization %q has no signature", auth)
	}
	req.Header.Set("Authorization", auth[:i]+"Signature="+sig)
}

// flipDigit changes one hex digit in the middle of an ECDSA signature (in
// r, so that the DER structure stays valid).
func flipDigit(sig string) string {
	b := []byte(sig)
	i := 20
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func TestSuiteV4aQuerySigning(t *testing.T) {
	for _, c := range loadSuiteV4a(t) {
		t.Run(c.name, func(t *testing.T) {
			req, body := parseSuiteRequest(t, c.raw)
			var s Signer
			o := c.optionsV4a(body)
			signedURL, err := s.Presign(req, c.creds(), o)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(signedURL)
			if err != nil {
				t.Fatalf("presigned URL %q: %v", signedURL, err)
			}

			if c.inputOnly() {
				sent := req.Clone(context.Background())
				sent.URL = &url.URL{Scheme: "https", Host: req.Host, Opaque: req.URL.Opaque, Path: req.URL.Path, RawQuery: u.RawQuery}
				if _, err := c.verifier().Verify(context.Background(), sent); err != nil {
					t.Errorf("verify own presigned URL: %v", err)
				}
				return
			}

			// The suite's parameters, but the (randomized) signature.
			target, _ := signedRequestFile(t, c.file(t, "query-signed-request.txt"))
			_, wantQuery, _ := strings.Cut(target, "?")
			wq, err := url.ParseQuery(wantQuery)
			if err != nil {
				t.Fatal(err)
			}
			fileSig := wq.Get("X-Amz-Signature")
			gq := u.Query()
			ownSig := gq.Get("X-Amz-Signature")
			gq.Del("X-Amz-Signature")
			wq.Del("X-Amz-Signature")
			if enc(gq) != enc(wq) {
				t.Errorf("query parameters:\n%s\nwant:\n%s", enc(gq), enc(wq))
			}

			sent := req.Clone(context.Background())
			sent.URL = &url.URL{Scheme: "https", Host: req.Host, Opaque: req.URL.Opaque, Path: req.URL.Path, RawQuery: u.RawQuery}
			v := c.verifier()
			signed, err := Parse(sent)
			if err != nil {
				t.Fatal(err)
			}
			cr, sts, err := v.CanonicalRequest(sent, signed, o.PayloadHash)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.file(t, "query-canonical-request.txt"); cr != want {
				t.Errorf("canonical request:\n%s\nwant:\n%s", cr, want)
			}
			wantSTS := c.file(t, "query-string-to-sign.txt")
			if sts != wantSTS {
				t.Errorf("string to sign:\n%s\nwant:\n%s", sts, wantSTS)
			}
			if !verifyWith(t, c.publicKey(t), wantSTS, ownSig) {
				t.Errorf("the signature does not verify with the suite's public key over its string to sign")
			}
			if _, err := v.Verify(context.Background(), sent); err != nil {
				t.Errorf("verify own presigned URL: %v", err)
			}

			for _, sig := range []string{strings.TrimSpace(c.file(t, "query-signature.txt")), fileSig} {
				sent.URL.RawQuery = withSignature(u.RawQuery, sig)
				if _, err := v.Verify(context.Background(), sent); err != nil {
					t.Errorf("verify the suite's signature %s: %v", sig, err)
				}
				sent.URL.RawQuery = withSignature(u.RawQuery, flipDigit(sig))
				if _, err := v.Verify(context.Background(), sent); !errors.Is(err, ErrSignatureMismatch) {
					t.Errorf("verify a changed signature: %v, want %v", err, ErrSignatureMismatch)
				}
			}
		})
	}
}

// withSignature replaces X-Amz-Signature in a raw query.
func withSignature(raw, sig string) string {
	var b bytes.Buffer
	b.WriteString(withoutParam(raw, "X-Amz-Signature"))
	b.WriteString("&X-Amz-Signature=")
	b.WriteString(sig)
	return b.String()
}
