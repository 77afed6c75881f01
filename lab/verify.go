package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/credkit/credkit/sigv4"
)

// VerifyResult is the answer of POST /_lab/verify.
type VerifyResult struct {
	Valid bool `json:"valid"`
	// Reasons say why the request would be refused, each as
	// "Code: explanation" with the code AWS would answer; empty when valid.
	Reasons     []string `json:"reasons"`
	AccessKeyID string   `json:"access_key_id,omitempty"`
	Principal   string   `json:"principal,omitempty"` // the ARN the key belongs to
	Service     string   `json:"service,omitempty"`
	// Algorithm is AWS4-HMAC-SHA256 (SigV4) or AWS4-ECDSA-P256-SHA256
	// (SigV4a). A SigV4 signature names one Region; a SigV4a one names no
	// region in its scope but a RegionSet (X-Amz-Region-Set) instead.
	Algorithm     string   `json:"algorithm,omitempty"`
	Region        string   `json:"region,omitempty"`
	RegionSet     []string `json:"region_set,omitempty"`
	SigningTime   string   `json:"signing_time,omitempty"`
	Presigned     bool     `json:"presigned"`
	Expires       string   `json:"expires,omitempty"` // presigned URL expiry
	SignedHeaders []string `json:"signed_headers,omitempty"`
	// CanonicalRequest and StringToSign are what the lab computed from the
	// request, to compare with the signer's.
	CanonicalRequest string `json:"canonical_request,omitempty"`
	StringToSign     string `json:"string_to_sign,omitempty"`
}

// maxVerifyBody bounds the request a client may send to /_lab/verify.
const maxVerifyBody = 10 << 20

func (l *Lab) verifyEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST the raw HTTP/1.1 request to check as the body"})
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxVerifyBody+1))
	if err != nil || len(raw) > maxVerifyBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the request to check must be at most %d bytes", maxVerifyBody)})
		return
	}
	res, err := l.VerifyRaw(r.Context(), raw)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// VerifyRaw checks the signature of a raw HTTP/1.1 request (for any
// service and region) against the keys the lab knows, without executing
// it. An error means raw is not an HTTP request.
func (l *Lab) VerifyRaw(ctx context.Context, raw []byte) (*VerifyResult, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("the body is not a raw HTTP/1.1 request (request line, headers, blank line, body): %v", err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read the request's body: %v", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return l.verify(ctx, req, body), nil
}

func (l *Lab) verify(ctx context.Context, req *http.Request, body []byte) *VerifyResult {
	res := &VerifyResult{Reasons: []string{}}
	var expires time.Time
	v := &sigv4.Verifier{Now: l.now, Lookup: func(_ context.Context, id string) (sigv4.Secret, error) {
		sec, exp, err := l.secretOf(id)
		expires = exp
		return sec, err
	}}
	s, err := v.Verify(ctx, req)
	if s != nil {
		res.AccessKeyID, res.Service, res.Region, res.Presigned, res.SignedHeaders = s.AccessKeyID, s.Service, s.Region, s.Presigned, s.SignedHeaders
		res.Algorithm, res.RegionSet = s.Algorithm.String(), s.RegionSet
		res.SigningTime = s.SigningTime.UTC().Format(time.RFC3339)
		if s.Presigned {
			res.Expires = s.Expiry().UTC().Format(time.RFC3339)
		}
		if _, _, kerr := l.secretOf(s.AccessKeyID); kerr == nil {
			res.Principal = l.callerOf(s.AccessKeyID).arn
		}
		var ve *sigv4.VerifyError
		if errors.As(err, &ve) && ve.CanonicalRequest != "" {
			res.CanonicalRequest, res.StringToSign = ve.CanonicalRequest, ve.StringToSign
		} else {
			res.CanonicalRequest, res.StringToSign, _ = v.CanonicalRequest(req, s, payloadHash(req, s, body))
		}
	}
	if err != nil {
		res.Reasons = append(res.Reasons, reasonCode(err)+": "+err.Error())
	}
	if !expires.IsZero() && !l.now().Before(expires) {
		res.Reasons = append(res.Reasons, fmt.Sprintf("ExpiredToken: the session of access key %s expired at %s", s.AccessKeyID, expires.UTC().Format(time.RFC3339)))
	}
	res.Valid = len(res.Reasons) == 0
	return res
}

// reasonCode is the error code AWS answers for a verification failure.
func reasonCode(err error) string {
	switch {
	case errors.Is(err, sigv4.ErrUnknownKey), errors.Is(err, sigv4.ErrMissingSessionToken), errors.Is(err, sigv4.ErrInvalidSessionToken):
		return "InvalidClientTokenId"
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrClockSkew), errors.Is(err, sigv4.ErrNotYetValid):
		return "SignatureDoesNotMatch"
	case errors.Is(err, sigv4.ErrExpired):
		return "AccessDenied" // a presigned URL past its expiry ("Request has expired")
	case errors.Is(err, sigv4.ErrPayloadHashMismatch):
		return "XAmzContentSHA256Mismatch"
	case errors.Is(err, sigv4.ErrMalformed), errors.Is(err, sigv4.ErrWrongScope):
		return "IncompleteSignature"
	}
	return "InvalidRequest"
}

func payloadHash(req *http.Request, s *sigv4.Signed, body []byte) string {
	if h := req.Header.Get("X-Amz-Content-Sha256"); h != "" {
		return h
	}
	if s.Presigned && (s.Service == "s3" || strings.HasPrefix(s.Service, "s3")) {
		return sigv4.UnsignedPayload
	}
	return sigv4.PayloadHash(body)
}
