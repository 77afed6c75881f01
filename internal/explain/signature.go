package explain

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"time"
)

// SignatureMismatch is what a SignatureDoesNotMatch answer says. The
// server's canonical request and string to sign are there when the
// service sends them: S3 in its XML error (<CanonicalRequest>,
// <StringToSign>), the query APIs in the long form of the message ("The
// Canonical String for this request should have been '...' The
// String-to-Sign should have been '...'").
type SignatureMismatch struct {
	AccessKeyID       string `json:"access_key_id,omitempty"`
	SignatureProvided string `json:"signature_provided,omitempty"`
	// StringToSign is the server's string to sign, as sent.
	StringToSign string `json:"string_to_sign,omitempty"`
	// Algorithm, RequestTime and Scope are read from StringToSign.
	Algorithm   string `json:"algorithm,omitempty"`
	RequestTime string `json:"request_time,omitempty"`
	Scope       *Scope `json:"scope,omitempty"`
	// Canonical is the server's canonical request, read.
	Canonical *CanonicalRequest `json:"canonical_request,omitempty"`
	// Differ lists what commonly differs between the client's canonical
	// request and this one, with the server's values.
	Differ []string `json:"what_commonly_differs,omitempty"`
}

// Scope is the credential scope of a string to sign.
type Scope struct {
	Date    string `json:"date"`
	Region  string `json:"region"`
	Service string `json:"service"`
}

// CanonicalRequest is a SigV4 canonical request, read back.
type CanonicalRequest struct {
	Raw           string   `json:"raw"`
	Method        string   `json:"method"`
	Path          string   `json:"path"`
	Query         string   `json:"query"`
	Headers       []Header `json:"headers"`
	SignedHeaders []string `json:"signed_headers"`
	PayloadHash   string   `json:"payload_hash"`
}

// Header is one canonical header line.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var (
	sigMismatchRE = regexp.MustCompile(`SignatureDoesNotMatch|request signature we calculated does not match the signature you provided`)
	longFormRE    = regexp.MustCompile(`(?s)The Canonical String for this request should have been\s*'(.*?)'\s*The String-to-Sign should have been\s*'(.*?)'`)
)

// xmlField is the text of <name> in an S3-style XML error, unescaped,
// "" when it is not there.
func xmlField(text, name string) string {
	i := strings.Index(text, "<"+name+">")
	if i < 0 {
		return ""
	}
	rest := text[i+len(name)+2:]
	j := strings.Index(rest, "</"+name+">")
	if j < 0 {
		return ""
	}
	return html.UnescapeString(rest[:j])
}

func readSignature(r *Refusal) bool {
	if !sigMismatchRE.MatchString(r.Message) {
		return false
	}
	r.Kind, r.Code = KindSignature, "SignatureDoesNotMatch"
	s := &SignatureMismatch{
		AccessKeyID:       xmlField(r.Message, "AWSAccessKeyId"),
		SignatureProvided: xmlField(r.Message, "SignatureProvided"),
		StringToSign:      xmlField(r.Message, "StringToSign"),
	}
	canonical := xmlField(r.Message, "CanonicalRequest")
	if m := longFormRE.FindStringSubmatch(r.Message); m != nil {
		canonical, s.StringToSign = m[1], m[2]
	}
	if lines := strings.Split(s.StringToSign, "\n"); len(lines) >= 3 {
		s.Algorithm, s.RequestTime = lines[0], lines[1]
		if p := strings.Split(lines[2], "/"); len(p) == 4 {
			s.Scope = &Scope{Date: p[0], Region: p[1], Service: p[2]}
		}
	}
	if canonical != "" {
		s.Canonical = parseCanonical(canonical)
	}
	s.Differ = differ(s)
	r.Signature = s
	r.Says = "the service knows the access key but computed another signature: the secret, or what was signed, differs from what it received"
	return true
}

// parseCanonical reads a canonical request: method, path, query, header
// lines, a blank line, the signed header names, the payload hash.
func parseCanonical(raw string) *CanonicalRequest {
	c := &CanonicalRequest{Raw: raw}
	lines := strings.Split(raw, "\n")
	if len(lines) < 6 {
		return c
	}
	c.Method, c.Path, c.Query = lines[0], lines[1], lines[2]
	c.PayloadHash = lines[len(lines)-1]
	c.SignedHeaders = strings.Split(lines[len(lines)-2], ";")
	for _, l := range lines[3 : len(lines)-2] {
		if name, value, ok := strings.Cut(l, ":"); ok {
			c.Headers = append(c.Headers, Header{Name: name, Value: value})
		}
	}
	return c
}

const emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// differ lists, with the server's values, what most often differs between
// what a client signed and what the server received.
func differ(s *SignatureMismatch) []string {
	var out []string
	if s.Scope != nil {
		out = append(out, fmt.Sprintf("the scope: the server signs for region %s and service %s on %s; a client that signed for another region (a bucket's region, a global endpoint's us-east-1) or another service name fails", s.Scope.Region, s.Scope.Service, s.Scope.Date))
	}
	c := s.Canonical
	if c == nil || c.Method == "" {
		return out
	}
	for _, h := range c.Headers {
		if h.Name == "host" {
			out = append(out, fmt.Sprintf("the Host header: the server saw %q; a proxy, load balancer or tunnel that rewrites Host, or a port added or dropped (:443, :80), changes it after signing", h.Value))
		}
	}
	out = append(out, fmt.Sprintf("the signed headers: the server signed %s with the values above; a header set or changed after signing (by a proxy, an HTTP library, a retry) breaks it", strings.Join(c.SignedHeaders, ";")))
	if strings.Contains(c.Path, "%") || strings.ContainsAny(c.Path, " +~=") {
		out = append(out, fmt.Sprintf("the path: the server's is %q; S3 encodes the path once, other services twice, and space, +, ~, = and non-ASCII are where signers differ", c.Path))
	} else {
		out = append(out, fmt.Sprintf("the path and query: the server's are %q and %q (query parameters sorted, each encoded)", c.Path, c.Query))
	}
	switch {
	case c.PayloadHash == "UNSIGNED-PAYLOAD":
		out = append(out, "the payload hash: the server used UNSIGNED-PAYLOAD; a client that hashed the body (or sent x-amz-content-sha256 with a hash) signed something else")
	case c.PayloadHash == emptyPayloadHash:
		out = append(out, "the payload hash: the server hashed an empty body; a body added after signing, or a hash of a body that was not sent, differs")
	case strings.HasPrefix(c.PayloadHash, "STREAMING-"):
		out = append(out, "the payload hash: the server expected a chunked, signed upload ("+c.PayloadHash+")")
	default:
		out = append(out, "the payload hash: the server hashed the body it received to "+c.PayloadHash+"; a body re-encoded or changed after signing differs (or sign with UNSIGNED-PAYLOAD where the service allows it)")
	}
	return out
}

func signatureCauses(s *SignatureMismatch) []Cause {
	key := "the secret must belong to the access key that signed"
	if s.AccessKeyID != "" {
		key = "the secret must be the one of " + s.AccessKeyID
	}
	compare := "credkit sign --json REQUEST-FILE"
	return []Cause{
		{score: 80, Cause: "wrong secret key", Why: "the most common cause; when the client's canonical request equals the server's, the only one left",
			Check:   key + ": a secret of another key (a rotated key, a profile mix-up), one with a stray space, quote or newline, or a session token of another session gives this error; whoami says which key the chain uses",
			Command: "credkit whoami"},
		{score: 65, Cause: "region or service in the scope",
			Check:   "the request must be signed for the region and the service the endpoint expects; sign --json prints the credential_scope credkit uses for the same request",
			Command: compare},
		{score: 60, Cause: "host rewritten after signing",
			Check:   "a proxy, load balancer, tunnel or custom endpoint that changes the Host (or its port) between client and service: sign for the host the service sees",
			Command: compare},
		{score: 55, Cause: "header added or changed after signing",
			Check:   "every signed header must reach the service unchanged: compare the signed_headers and headers of sign --json with the server's canonical request",
			Command: compare},
		{score: 50, Cause: "path or query encoding",
			Check:   "the path and query must be encoded as the service does (S3 once, others twice; query sorted by name); a URL rebuilt by a library or a redirect can differ",
			Command: compare},
		{score: 45, Cause: "payload hash",
			Check:   "x-amz-content-sha256 and the signed hash must be the SHA-256 of the body as sent, or UNSIGNED-PAYLOAD where S3 allows it",
			Command: compare},
		{score: 30, Cause: "presigned URL changed",
			Check:   "a presigned URL must be used with the method it was signed for and unchanged (no parameter added, re-encoded or reordered by a tool); token inspect --verify checks one against the current credentials",
			Command: `printf '%s' "$URL" | credkit token inspect --verify --method GET`},
	}
}

// ClockRefusal is what a refusal over time says: a signing time too far
// from the server's clock, or a presigned URL past its expiry.
type ClockRefusal struct {
	// Wording is "signature_expired", "signature_not_yet_current",
	// "request_time_too_skewed" or "presigned_expired".
	Wording string `json:"wording"`
	// SignedAt is the request's signing time, ServerTime the server's
	// clock when it refused, Expires a presigned URL's end; each is set
	// when the message gives it.
	SignedAt   *time.Time `json:"signed_at,omitempty"`
	ServerTime *time.Time `json:"server_time,omitempty"`
	Expires    *time.Time `json:"expires,omitempty"`
	// SkewSeconds is ServerTime minus SignedAt: positive when the
	// request's time is behind the server's (a slow clock, or a request
	// signed long before it was sent), negative when ahead.
	SkewSeconds *int64 `json:"skew_seconds,omitempty"`
	// ExpiredSeconds is how long before ServerTime a presigned URL
	// expired.
	ExpiredSeconds *int64 `json:"expired_seconds,omitempty"`
}

// Clock wordings: the query and JSON APIs' (botocore treats
// "Signature expired" and RequestTimeTooSkewed as clock skew, and the AWS
// SDKs correct their clock on them), S3's XML (<RequestTime>,
// <ServerTime>, <Expires>), MinIO's (provoked in the tests).
var (
	sigExpiredRE    = regexp.MustCompile(`Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) - (\d+) min\.?\)`)
	sigNotYetRE     = regexp.MustCompile(`Signature not yet current: (\d{8}T\d{6}Z) is still later than (\d{8}T\d{6}Z) \((\d{8}T\d{6}Z) \+ (\d+) min\.?\)`)
	tooSkewedRE     = regexp.MustCompile(`RequestTimeTooSkewed|difference between the request time and the (?:current|server's) time is too large`)
	presignExpireRE = regexp.MustCompile(`Request has expired`)
)

// clockTime reads the times AWS puts in its messages.
func clockTime(s string) *time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"20060102T150405Z", time.RFC3339, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 GMT"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

func readClock(r *Refusal) bool {
	text := r.Message
	c := &ClockRefusal{}
	switch {
	case sigExpiredRE.MatchString(text):
		m := sigExpiredRE.FindStringSubmatch(text)
		c.Wording, c.SignedAt, c.ServerTime = "signature_expired", clockTime(m[1]), clockTime(m[3])
	case sigNotYetRE.MatchString(text):
		m := sigNotYetRE.FindStringSubmatch(text)
		c.Wording, c.SignedAt, c.ServerTime = "signature_not_yet_current", clockTime(m[1]), clockTime(m[3])
	case tooSkewedRE.MatchString(text):
		c.Wording, c.SignedAt, c.ServerTime = "request_time_too_skewed", clockTime(xmlField(text, "RequestTime")), clockTime(xmlField(text, "ServerTime"))
		r.Code = "RequestTimeTooSkewed"
	case presignExpireRE.MatchString(text) && r.Code != "RequestExpired" && !strings.Contains(text, "RequestExpired"):
		c.Wording, c.Expires, c.ServerTime = "presigned_expired", clockTime(xmlField(text, "Expires")), clockTime(xmlField(text, "ServerTime"))
	default:
		return false
	}
	if c.SignedAt != nil && c.ServerTime != nil {
		s := int64(c.ServerTime.Sub(*c.SignedAt) / time.Second)
		c.SkewSeconds = &s
	}
	if c.Expires != nil && c.ServerTime != nil {
		s := int64(c.ServerTime.Sub(*c.Expires) / time.Second)
		c.ExpiredSeconds = &s
	}
	r.Kind, r.Clock = KindClockSkew, c
	switch {
	case c.Wording == "presigned_expired" && c.ExpiredSeconds != nil:
		r.Says = fmt.Sprintf("the presigned URL expired at %s, %s before the server's clock (%s)", c.Expires.Format(time.RFC3339), seconds(*c.ExpiredSeconds), c.ServerTime.Format(time.RFC3339))
	case c.Wording == "presigned_expired":
		r.Says = "the presigned URL is past its expiry"
	case c.SkewSeconds != nil && *c.SkewSeconds >= 0:
		r.Says = fmt.Sprintf("the request was signed at %s, %s behind the server's clock (%s); AWS accepts 5 minutes (S3 15)", c.SignedAt.Format(time.RFC3339), seconds(*c.SkewSeconds), c.ServerTime.Format(time.RFC3339))
	case c.SkewSeconds != nil:
		r.Says = fmt.Sprintf("the request was signed at %s, %s ahead of the server's clock (%s); AWS accepts 5 minutes (S3 15)", c.SignedAt.Format(time.RFC3339), seconds(-*c.SkewSeconds), c.ServerTime.Format(time.RFC3339))
	default:
		r.Says = "the request's signing time is too far from the server's clock"
	}
	return true
}

// seconds says a number of seconds as a duration ("1h2m3s").
func seconds(s int64) string {
	return (time.Duration(s) * time.Second).String()
}

func clockCauses(c *ClockRefusal) []Cause {
	presigned := c.Wording == "presigned_expired"
	// Hours behind is more often a request signed and kept than a clock
	// that far off; ahead is always a clock.
	old := c.SkewSeconds != nil && *c.SkewSeconds > 3600
	score := func(cond bool, yes, no int) int {
		if cond {
			return yes
		}
		return no
	}
	clock := "this machine's clock must be within 5 minutes of AWS's: turn on time sync (timedatectl set-ntp true; a VM or laptop resumed from sleep drifts); doctor measures this clock against STS"
	if c.SkewSeconds != nil {
		clock = fmt.Sprintf("the request's time was %s off the server's; ", seconds(abs(*c.SkewSeconds))) + clock
	}
	out := []Cause{
		{score: score(!presigned && !old, 90, score(old, 60, 40)), Cause: "this machine's clock", Check: clock, Command: "credkit doctor"},
		{score: score(old && !presigned, 95, 50), Cause: "request signed long before it was sent",
			Check:   "a request signed once and sent later (a queue, a retry loop that reuses the signed request, a batch held back) or a fixed signing time (a test clock, --signing-time) carries an old time: sign just before sending",
			Command: "credkit sign --json REQUEST-FILE"},
	}
	if presigned {
		out = append(out,
			Cause{score: 100, Cause: "presigned URL used after its expiry",
				Check:   "a presigned URL works for its X-Amz-Expires (at most 7 days) from its signing: make a new one, with a longer --expires if it waits in a queue or an e-mail; token inspect shows a URL's expiry",
				Command: `printf '%s' "$URL" | credkit token inspect`},
			Cause{score: 90, Cause: "session credentials ended first",
				Check:   "a URL signed with session credentials stops working when the session ends, whatever X-Amz-Expires says: sign long-lived URLs with credentials that live as long",
				Command: `printf '%s' "$URL" | credkit token inspect`})
	}
	return out
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
