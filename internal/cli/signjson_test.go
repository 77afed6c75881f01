package cli

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// signJSON runs credkit sign --json on the raw request in and decodes
// what it printed.
func signJSON(t *testing.T, env map[string]string, in string, args ...string) signedJSON {
	t.Helper()
	r := runAt(t, time.Now, env, in, append([]string{"sign", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("credkit sign --json %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	if secret := env["AWS_SECRET_ACCESS_KEY"]; strings.Contains(r.stdout, secret) {
		t.Fatalf("sign --json printed the secret key:\n%s", r.stdout)
	}
	var out signedJSON
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("sign --json printed %q: %v", r.stdout, err)
	}
	return out
}

// send sends what sign --json printed, with body, using net/http: the
// method, the URL, and every header of "headers" (Host as the request's
// host).
func send(t *testing.T, s signedJSON, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(s.Method, s.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range s.Headers {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return testpeer.Do(t, req)
}

// stsCredentials reads the Credentials of an STS answer.
func stsCredentials(t *testing.T, body, result string) (akid, secret, token string) {
	t.Helper()
	var r struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
	}
	dec := xml.NewDecoder(strings.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("no %s>Credentials in %s", result, body)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Credentials" {
			if err := dec.DecodeElement(&r, &se); err != nil || r.SessionToken == "" {
				t.Fatalf("credentials in %s: %v", body, err)
			}
			return r.AccessKeyID, r.SecretAccessKey, r.SessionToken
		}
	}
}

// MinIO, which checks SigV4 strictly, accepts the requests and URLs of
// sign --json sent as the JSON says, with long-term keys and with a
// session; the same request with a changed header is refused.
func TestSignJSONAgainstMinIO(t *testing.T) {
	m := testpeer.MinIO(t)
	u, _ := url.Parse(m.Endpoint)
	root := map[string]string{"AWS_ACCESS_KEY_ID": m.AccessKey, "AWS_SECRET_ACCESS_KEY": m.SecretKey, "AWS_REGION": m.Region}
	flags := []string{"--scheme", "http", "--service", "s3"}

	mk := signJSON(t, root, fmt.Sprintf("PUT /reports HTTP/1.1\nHost: %s\n\n", u.Host), flags...)
	if code, body := send(t, mk, ""); code != 200 {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	day := time.Now().UTC().Format("20060102")
	if mk.Algorithm != "AWS4-HMAC-SHA256" || mk.CredentialScope != day+"/"+m.Region+"/s3/aws4_request" || mk.Region != m.Region ||
		mk.AccessKeyID != m.AccessKey || mk.Service != "s3" || mk.ExpiresAt != "" {
		t.Errorf("scope of a SigV4 request: %+v", mk)
	}
	if !slices.Equal(mk.SignedHeaders, []string{"host", "x-amz-content-sha256", "x-amz-date"}) {
		t.Errorf("signed_headers %q", mk.SignedHeaders)
	}
	if at, err := time.Parse(time.RFC3339, mk.SignedAt); err != nil || time.Since(at).Abs() > time.Minute || mk.Headers["X-Amz-Date"][0] != at.Format("20060102T150405Z") {
		t.Errorf("signed_at %q, X-Amz-Date %q", mk.SignedAt, mk.Headers["X-Amz-Date"])
	}

	body := "quarterly numbers\n"
	put := signJSON(t, root, fmt.Sprintf("PUT /reports/q4.txt HTTP/1.1\nHost: %s\nContent-Type: text/plain\n\n%s\n", u.Host, body), flags...)
	if !slices.Contains(put.SignedHeaders, "content-type") || put.Headers["Content-Type"][0] != "text/plain" {
		t.Errorf("the Content-Type of the input is not signed and sent: %+v", put)
	}
	if code, resp := send(t, put, body); code != 200 {
		t.Fatalf("put object: %d %s", code, resp)
	}
	// MinIO judges: the same signature with a header changed is refused.
	tampered := put
	tampered.Headers = map[string][]string{}
	for k, v := range put.Headers {
		tampered.Headers[k] = v
	}
	tampered.Headers["Content-Type"] = []string{"text/html"}
	if code, resp := send(t, tampered, body); code != 403 || !strings.Contains(resp, "SignatureDoesNotMatch") {
		t.Fatalf("a changed signed header: %d %s, want 403 SignatureDoesNotMatch", code, resp)
	}

	// A session from MinIO's STS, asked for with sign --json too.
	form := "Action=AssumeRole&Version=2011-06-15&DurationSeconds=900"
	ar := signJSON(t, root, fmt.Sprintf("POST / HTTP/1.1\nHost: %s\nContent-Type: application/x-www-form-urlencoded\n\n%s\n", u.Host, form), "--scheme", "http", "--service", "sts")
	code, resp := send(t, ar, form)
	if code != 200 {
		t.Fatalf("AssumeRole: %d %s", code, resp)
	}
	akid, secret, token := stsCredentials(t, resp, "AssumeRoleResult")
	session := map[string]string{"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token, "AWS_REGION": m.Region}

	get := signJSON(t, session, fmt.Sprintf("GET /reports/q4.txt HTTP/1.1\nHost: %s\n\n", u.Host), flags...)
	if get.Headers["X-Amz-Security-Token"][0] != token || !slices.Contains(get.SignedHeaders, "x-amz-security-token") {
		t.Errorf("the session token is not carried and signed: %+v", get.SignedHeaders)
	}
	if code, resp := send(t, get, ""); code != 200 || resp != body {
		t.Fatalf("get object with session keys: %d %q", code, resp)
	}

	// --presign: the URL alone, then a PUT whose signed Content-Type goes
	// with it.
	pre := signJSON(t, session, fmt.Sprintf("GET /reports/q4.txt HTTP/1.1\nHost: %s\n\n", u.Host), append(flags, "--presign", "--expires", "5m")...)
	signedAt, _ := time.Parse(time.RFC3339, pre.SignedAt)
	expires, err := time.Parse(time.RFC3339, pre.ExpiresAt)
	if err != nil || !expires.Equal(signedAt.Add(5*time.Minute)) || len(pre.Headers) != 0 || !slices.Equal(pre.SignedHeaders, []string{"host"}) {
		t.Errorf("presigned GET: signed_at %s, expires_at %s (%v), headers %v, signed_headers %q", pre.SignedAt, pre.ExpiresAt, err, pre.Headers, pre.SignedHeaders)
	}
	if q, _ := url.Parse(pre.URL); q.Query().Get("X-Amz-Security-Token") != token {
		t.Errorf("the presigned URL does not carry the session token: %s", pre.URL)
	}
	if code, resp := send(t, pre, ""); code != 200 || resp != body {
		t.Fatalf("presigned GET: %d %q", code, resp)
	}
	prePut := signJSON(t, session, fmt.Sprintf("PUT /reports/q1.csv HTTP/1.1\nHost: %s\nContent-Type: text/csv\n\n", u.Host), append(flags, "--presign")...)
	if !slices.Equal(prePut.SignedHeaders, []string{"content-type", "host"}) || prePut.Headers["Content-Type"][0] != "text/csv" || len(prePut.Headers) != 1 {
		t.Fatalf("presigned PUT: headers %v, signed_headers %q", prePut.Headers, prePut.SignedHeaders)
	}
	if code, resp := send(t, prePut, "a,b\n"); code != 200 {
		t.Fatalf("presigned PUT with its headers: %d %s", code, resp)
	}
	prePut.Headers["Content-Type"] = []string{"text/plain"}
	if code, resp := send(t, prePut, "a,b\n"); code != 403 {
		t.Fatalf("presigned PUT with another Content-Type: %d %s, want 403", code, resp)
	}
}

// The lab's STS verifies SigV4a: a request and a presigned URL of
// sign --json --sigv4a are served, with keys and with a session, and the
// JSON names the algorithm and the region set.
func TestSignJSONSigV4aAgainstLab(t *testing.T) {
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	host := strings.TrimPrefix(s.URL, "http://")
	user := l.Users()[0]
	keys := map[string]string{"AWS_ACCESS_KEY_ID": user.AccessKeyID, "AWS_SECRET_ACCESS_KEY": user.SecretAccessKey}
	v4a := []string{"--scheme", "http", "--service", "sts", "--sigv4a", "--region-set", "us-east-1,eu-west-1"}
	post := func(form string) string {
		return fmt.Sprintf("POST / HTTP/1.1\nHost: %s\nContent-Type: application/x-www-form-urlencoded\n\n%s\n", host, form)
	}

	form := "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900"
	gst := signJSON(t, keys, post(form), v4a...)
	day := time.Now().UTC().Format("20060102")
	if gst.Algorithm != "AWS4-ECDSA-P256-SHA256" || gst.CredentialScope != day+"/sts/aws4_request" || gst.Region != "" ||
		!slices.Equal(gst.RegionSet, []string{"us-east-1", "eu-west-1"}) || gst.Headers["X-Amz-Region-Set"][0] != "us-east-1,eu-west-1" ||
		!slices.Contains(gst.SignedHeaders, "x-amz-region-set") {
		t.Errorf("a SigV4a request: %+v", gst)
	}
	code, resp := send(t, gst, form)
	if code != 200 {
		t.Fatalf("GetSessionToken: %d %s", code, resp)
	}
	akid, secret, token := stsCredentials(t, resp, "GetSessionTokenResult")
	session := map[string]string{"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token}

	who := "Action=GetCallerIdentity&Version=2011-06-15"
	sj := signJSON(t, session, post(who), v4a...)
	if code, resp := send(t, sj, who); code != 200 || !strings.Contains(resp, ":user/"+user.Name+"</Arn>") {
		t.Fatalf("GetCallerIdentity with the session: %d %s", code, resp)
	}
	if code, resp := send(t, sj, who+"&x=1"); code != 403 {
		t.Fatalf("another body under the same signature: %d %s, want 403", code, resp)
	}

	pre := signJSON(t, session, fmt.Sprintf("GET /?%s HTTP/1.1\nHost: %s\n\n", who, host), append(v4a, "--presign", "--expires", "2m")...)
	if pre.Algorithm != "AWS4-ECDSA-P256-SHA256" || pre.CredentialScope != day+"/sts/aws4_request" || !slices.Equal(pre.RegionSet, []string{"us-east-1", "eu-west-1"}) {
		t.Errorf("a SigV4a URL: %+v", pre)
	}
	signedAt, _ := time.Parse(time.RFC3339, pre.SignedAt)
	if exp, err := time.Parse(time.RFC3339, pre.ExpiresAt); err != nil || !exp.Equal(signedAt.Add(2*time.Minute)) {
		t.Errorf("expires_at %q for signed_at %q and --expires 2m", pre.ExpiresAt, pre.SignedAt)
	}
	if code, resp := send(t, pre, ""); code != 200 || !strings.Contains(resp, ":user/"+user.Name+"</Arn>") {
		t.Fatalf("presigned GetCallerIdentity: %d %s", code, resp)
	}
}
