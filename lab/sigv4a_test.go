package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// postVerify asks a running lab's /_lab/verify about a raw request.
func postVerify(t *testing.T, labURL string, raw []byte) VerifyResult {
	t.Helper()
	resp, err := http.Post(labURL+"/_lab/verify", "message/http", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res VerifyResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/_lab/verify: %s: %v", resp.Status, err)
	}
	return res
}

// changeByte returns raw with the byte at i changed.
func changeByte(raw []byte, i int) []byte {
	c := bytes.Clone(raw)
	c[i] ^= 0x01
	return c
}

// wantVerdict checks a /_lab/verify answer: valid SigV4a with a region
// set, or refused with SignatureDoesNotMatch.
func wantVerdict(t *testing.T, what string, res VerifyResult, valid bool, regionSet string) {
	t.Helper()
	if valid {
		if !res.Valid || res.Algorithm != sigv4.AlgorithmV4a || strings.Join(res.RegionSet, ",") != regionSet || res.Region != "" {
			t.Errorf("%s: valid %v %q, algorithm %q, region set %q, region %q; want valid SigV4a for %q", what, res.Valid, res.Reasons, res.Algorithm, res.RegionSet, res.Region, regionSet)
		}
		return
	}
	if res.Valid || len(res.Reasons) != 1 || !strings.HasPrefix(res.Reasons[0], "SignatureDoesNotMatch: signature does not match") || res.CanonicalRequest == "" {
		t.Errorf("%s: valid %v, reasons %q; want SignatureDoesNotMatch with the canonical request", what, res.Valid, res.Reasons)
	}
}

// relay stands for an AWS endpoint: it records each request it receives
// in raw form and answers with a fixed body.
type relay struct {
	mu     sync.Mutex
	raw    [][]byte
	answer string
}

// take returns the requests received so far and forgets them.
func (rl *relay) take() [][]byte {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	raw := rl.raw
	rl.raw = nil
	return raw
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := httputil.DumpRequest(r, true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rl.mu.Lock()
	rl.raw = append(rl.raw, raw)
	rl.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	io.WriteString(w, rl.answer)
}

// The AWS CLI v2 signs `events put-events --endpoint-id` with SigV4a
// through awscrt (aws-c-auth), an implementation independent of
// credkit's. The lab's /_lab/verify accepts the request as sent, and
// refuses it with one byte of its body changed.
func TestAWSCLIv2SigV4aPutEventsVerified(t *testing.T) {
	cli := testpeer.AWSCLIv2(t)
	l, labURL := start(t, Options{})
	rl := &relay{answer: `{"FailedEntryCount":0,"Entries":[{"EventId":"11710aed-b79e-4468-a20b-bb3c0c3b4860"}]}`}
	endpoint := httptest.NewServer(rl)
	defer endpoint.Close()
	u := l.Users()[0]
	sess, err := stsClient(labURL, userCreds(u)).GetSessionToken(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id, secret, token, principal string
	}{
		{"long-term key", u.AccessKeyID, u.SecretAccessKey, "", l.userARN(u.Name)},
		{"session credentials", *sess.Credentials.AccessKeyId, *sess.Credentials.SecretAccessKey, *sess.Credentials.SessionToken, l.userARN(u.Name)},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+c.id, "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_REGION=eu-west-1")
			if c.token != "" {
				env = append(env, "AWS_SESSION_TOKEN="+c.token)
			}
			out, err := runPeer(t, env, cli, "events", "put-events", "--endpoint-id", "abcde.xyz", "--endpoint-url", endpoint.URL,
				"--entries", `[{"Source":"credkit.test","DetailType":"lab","Detail":"{\"n\":1}"}]`, "--output", "json")
			if err != nil || !strings.Contains(out, `"FailedEntryCount": 0`) {
				t.Fatalf("aws events put-events: %v\n%s", err, out)
			}
			got := rl.take()
			if len(got) != 1 {
				t.Fatalf("the endpoint got %d requests, want 1", len(got))
			}
			raw := got[0]
			if !bytes.Contains(raw, []byte("Authorization: "+sigv4.AlgorithmV4a+" ")) {
				t.Fatalf("the AWS CLI did not sign with SigV4a:\n%s", raw)
			}
			if c.token != "" && !bytes.Contains(raw, []byte("X-Amz-Security-Token: "+c.token)) {
				t.Fatalf("the AWS CLI did not send the session token")
			}
			res := postVerify(t, labURL, raw)
			wantVerdict(t, "as sent", res, true, "*")
			if res.Service != "events" || res.AccessKeyID != c.id || res.Principal != c.principal {
				t.Errorf("as sent: service %q, key %q, principal %q", res.Service, res.AccessKeyID, res.Principal)
			}
			body := bytes.Index(raw, []byte("\r\n\r\n")) + 4
			if body < 4 || body >= len(raw) {
				t.Fatalf("no body in the CLI's request:\n%s", raw)
			}
			wantVerdict(t, "one body byte changed", postVerify(t, labURL, changeByte(raw, body+len(raw[body:])/2)), false, "")
		})
	}
}

// capture is an HTTP client that answers every request with an empty 200
// and keeps the request in raw form.
type capture struct {
	raw [][]byte
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	raw, err := httputil.DumpRequestOut(r, true)
	if err != nil {
		return nil, err
	}
	c.raw = append(c.raw, raw)
	return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// aws-sdk-go-v2's S3 client signs a GetObject on a Multi-Region Access
// Point with its own SigV4a signer (internal/v4a). The lab verifies what
// it sends, and refuses it for another key.
func TestSDKS3MultiRegionAccessPointVerified(t *testing.T) {
	l, labURL := start(t, Options{})
	u := l.Users()[0]
	c := &capture{}
	client := s3.New(s3.Options{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, ""),
		HTTPClient:  c,
	})
	_, err := client.GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String("arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"), Key: aws.String("reports/2026 q1.csv"),
	})
	if err != nil || len(c.raw) != 1 {
		t.Fatalf("GetObject: %v (%d requests)", err, len(c.raw))
	}
	raw := c.raw[0]
	if !bytes.Contains(raw, []byte("Host: mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com\r\n")) {
		t.Fatalf("not sent to the access point's global host:\n%s", raw)
	}
	res := postVerify(t, labURL, raw)
	wantVerdict(t, "as sent", res, true, "*")
	i := bytes.Index(raw, []byte("/reports/")) + 1
	wantVerdict(t, "another key", postVerify(t, labURL, changeByte(raw, i)), false, "")
}

// The lab's own API (STS here) takes SigV4a requests as it takes SigV4
// ones, from long-term keys and from the sessions it issues, and refuses
// a changed one with AWS's answer.
func TestLabAPIVerifiesSigV4a(t *testing.T) {
	l, labURL := start(t, Options{})
	u := l.Users()[0]
	call := func(c creds.Credentials, action string, tamper bool) (int, string) {
		body := "Action=" + action + "&Version=2011-06-15"
		req, _ := http.NewRequest("POST", labURL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var s sigv4.Signer
		err := s.Sign(req, c, sigv4.Options{Service: "sts", Algorithm: sigv4.SigV4a, RegionSet: []string{"us-east-1", "eu-west-1"}, PayloadHash: sigv4.PayloadHash([]byte(body))})
		if err != nil {
			t.Fatal(err)
		}
		if tamper {
			req.Body = io.NopCloser(strings.NewReader(body + "&"))
			req.ContentLength++
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	user := creds.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}
	if code, b := call(user, "GetCallerIdentity", false); code != 200 || !strings.Contains(b, "<Arn>"+l.userARN(u.Name)+"</Arn>") {
		t.Fatalf("long-term key: %d %s", code, b)
	}
	out, err := stsClient(labURL, userCreds(u)).GetSessionToken(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := creds.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	if code, b := call(sess, "GetCallerIdentity", false); code != 200 {
		t.Fatalf("session from GetSessionToken: %d %s", code, b)
	}
	if code, b := call(user, "GetCallerIdentity", true); code != 403 || !strings.Contains(b, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("changed body: %d %s", code, b)
	}
	sess.SessionToken = ""
	if code, b := call(sess, "GetCallerIdentity", false); code != 403 || !strings.Contains(b, "<Code>InvalidClientTokenId</Code>") {
		t.Errorf("session key without its token: %d %s", code, b)
	}
}
