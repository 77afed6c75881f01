package explain

import (
	"encoding/json"
	"errors"
	"html"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// Wordings no peer here produces, from the services' documentation; each
// case names its source.
func TestReadDocumentedWordings(t *testing.T) {
	for _, c := range []struct {
		name, text string
		kind       Kind
		code       string
		first      string
	}{
		// PostgreSQL documentation, 21.15 Authentication Problems; RDS
		// answers so when the user lacks rds_iam.
		{"postgres password authentication", `psql: error: connection to server at "db.abc.eu-west-1.rds.amazonaws.com" (10.1.2.3), port 5432 failed: FATAL:  password authentication failed for user "app"`,
			KindDatabaseLogin, "", "database user not set up for IAM"},
		// RDS Proxy troubleshooting guide.
		{"RDS Proxy", `The IAM authentication failed for the role app_user. Check the IAM token for this role and try again.`,
			KindDatabaseLogin, "", "expired signing credentials"},
		// MySQL client library, CR_AUTH_PLUGIN_CANNOT_LOAD, with the
		// cleartext plugin's "plugin not enabled".
		{"mysql 2059", `ERROR 2059 (HY000): Authentication plugin 'mysql_clear_password' cannot be loaded: plugin not enabled`,
			KindDatabaseLogin, "2059", "client will not send the token in cleartext"},
		// MySQL server error reference, ER_SECURE_TRANSPORT_REQUIRED.
		{"mysql 3159", `ERROR 3159 (HY000): Connections using insecure transport are prohibited while --require_secure_transport=ON.`,
			KindDatabaseLogin, "3159", "no TLS"},
		// STS API reference, common errors (the AWS CLI's prefix).
		{"ExpiredToken", `An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired`,
			KindExpiredToken, "ExpiredToken", "environment keys shadow the profile"},
		// DynamoDB common errors.
		{"ExpiredTokenException", `ExpiredTokenException: The security token included in the request is expired`,
			KindExpiredToken, "ExpiredTokenException", "environment keys shadow the profile"},
		// EC2 error codes: RequestExpired also for expired session credentials.
		{"EC2 RequestExpired", `An error occurred (RequestExpired) when calling the DescribeInstances operation: Request has expired.`,
			KindExpiredToken, "RequestExpired", "environment keys shadow the profile"},
		// A session wrapped in a static provider, once it ends.
		{"provided token has expired", `The provided token has expired.`,
			KindExpiredToken, "", "environment keys shadow the profile"},
		// DynamoDB common errors.
		{"UnrecognizedClientException", `An error occurred (UnrecognizedClientException) when calling the ListTables operation: The security token included in the request is invalid.`,
			KindInvalidToken, "UnrecognizedClientException", "key deleted or inactive"},
		// S3 error responses, InvalidAccessKeyId, with a session key.
		{"S3 InvalidAccessKeyId", `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>ASIAEXAMPLEEXAMPLE00</AWSAccessKeyId><RequestId>1</RequestId></Error>`,
			KindInvalidToken, "InvalidAccessKeyId", "missing or mismatched session token"},
		// A JSON API's error document, pasted whole (DynamoDB's __type).
		{"JSON document", `{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}`,
			KindExpiredToken, "ExpiredTokenException", "environment keys shadow the profile"},
		// S3's POST policy refusals: the session token in the form but
		// not in the policy, a failed condition, an expired policy.
		{"S3 POST extra token field", `<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Extra input fields: x-amz-security-token</Message><RequestId>1</RequestId></Error>`,
			KindPostPolicy, "AccessDenied", "session token in the form but not in the policy"},
		{"S3 POST condition", `<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "incoming/"]</Message></Error>`,
			KindPostPolicy, "AccessDenied", "field value outside its condition"},
		{"S3 POST expired", `<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>`,
			KindPostPolicy, "AccessDenied", "policy expired"},
		// STS: AssumeRole signed with root keys.
		{"root", `An error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root accounts.`,
			KindRootAssumeRole, "AccessDenied", "root user's access keys"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Read(c.text)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != c.kind || r.Code != c.code || r.Says == "" {
				t.Errorf("kind %s code %q says %q; want %s %q", r.Kind, r.Code, r.Says, c.kind, c.code)
			}
			causes := Causes(r)
			if len(causes) == 0 || causes[0].Cause != c.first || causes[0].Rank != 1 {
				t.Fatalf("causes %+v; want %q first", causes, c.first)
			}
			for _, x := range causes {
				if x.Check == "" || x.Command != "" && !strings.Contains(x.Command, "credkit ") {
					t.Errorf("cause %+v: a check and a credkit command", x)
				}
			}
		})
	}
	r, _ := Read(`An error occurred (UnrecognizedClientException) when calling the ListTables operation: The security token included in the request is invalid.`)
	if r.Operation != "ListTables" {
		t.Errorf("operation %q", r.Operation)
	}
}

// AccessDenied texts read through Read as through Parse; text that is no
// refusal names every kind in its error.
func TestReadKeepsAccessDeniedAndRefusesGarbage(t *testing.T) {
	text := "User: arn:aws:iam::111122223333:user/dev is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::bucket/key"
	r, err := Read(text)
	d, _ := Parse(text)
	if err != nil || r.Kind != KindAccessDenied || r.Denial == nil || *r.Denial != *d {
		t.Errorf("AccessDenied: %+v %v", r, err)
	}
	if _, err := Read("the build is broken"); !errors.Is(err, ErrUnreadable) {
		t.Errorf("garbage: %v", err)
	}
	for _, words := range []string{"AccessDenied", "PAM authentication failed", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "root accounts"} {
		if !strings.Contains(ErrUnreadable.Error(), words) {
			t.Errorf("ErrUnreadable does not name %s", words)
		}
	}
}

// The times in clock refusals give the skew. Wordings: the query and JSON
// APIs' "Signature expired" / "Signature not yet current" (as botocore's
// clock-skew handling matches them), S3's XML with <RequestTime> and
// <ServerTime>, and S3's expired presigned URL with <Expires>.
func TestReadClock(t *testing.T) {
	for _, c := range []struct {
		name, text, wording string
		skew, expired       int64
		first               string
	}{
		{"signature expired", "An error occurred (InvalidSignatureException) when calling the ListTables operation: Signature expired: 20260105T080000Z is now earlier than 20260105T081500Z (20260105T083000Z - 15 min.)",
			"signature_expired", 1800, 0, "this machine's clock"},
		{"not yet current", "SignatureDoesNotMatch: Signature not yet current: 20260105T090000Z is still later than 20260105T083500Z (20260105T082000Z + 15 min.)",
			"signature_not_yet_current", -2400, 0, "this machine's clock"},
		{"S3 skewed by hours", `<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><RequestTime>20260105T020000Z</RequestTime><ServerTime>2026-01-05T08:00:00Z</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>`,
			"request_time_too_skewed", 6 * 3600, 0, "request signed long before it was sent"},
		{"S3 presigned URL expired", `<Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>300</X-Amz-Expires><Expires>2026-01-05T08:00:00Z</Expires><ServerTime>2026-01-05T09:30:00Z</ServerTime></Error>`,
			"presigned_expired", 0, 5400, "presigned URL used after its expiry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Read(c.text)
			if err != nil || r.Kind != KindClockSkew {
				t.Fatalf("%+v %v", r, err)
			}
			k := r.Clock
			if k.Wording != c.wording {
				t.Errorf("wording %q", k.Wording)
			}
			if c.skew != 0 && (k.SkewSeconds == nil || *k.SkewSeconds != c.skew) {
				t.Errorf("skew %v, want %d", k.SkewSeconds, c.skew)
			}
			if c.expired != 0 && (k.ExpiredSeconds == nil || *k.ExpiredSeconds != c.expired) {
				t.Errorf("expired %v, want %d", k.ExpiredSeconds, c.expired)
			}
			if got := firstCause(r); got != c.first {
				t.Errorf("first cause %q, want %q", got, c.first)
			}
		})
	}
}

// botocoreSigned signs a request with botocore and returns its canonical
// request, string to sign and headers, the independent values the
// server's XML or long message would carry.
func botocoreSigned(t *testing.T, service, method, url, body string) (canonical, stringToSign string, headers map[string]string) {
	t.Helper()
	script := `
import sys, json
from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
service, method, url, body = sys.argv[1:5]
req = AWSRequest(method=method, url=url, data=body.encode(), headers={"Content-Type": "text/plain"})
cls = S3SigV4Auth if service == "s3" else SigV4Auth
auth = cls(Credentials("AKIDEXAMPLE", "secret"), service, "eu-west-1")
auth.add_auth(req)
headers = dict(req.headers.items())
del req.headers["Authorization"]
cr = auth.canonical_request(req)
print(json.dumps({"canonical": cr, "sts": auth.string_to_sign(req, cr), "headers": headers}))
`
	cmd := exec.Command(testpeer.Python(t), "-c", script, service, method, url, body)
	cmd.Env = testpeer.IsolatedAWSEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, out)
	}
	var v struct {
		Canonical, STS string
		Headers        map[string]string
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Canonical, v.STS, v.Headers
}

// The server's canonical request is read back as botocore built it: its
// method, path, query, signed headers, payload hash and scope match the
// Authorization header botocore made, in S3's XML and in the query APIs'
// long message.
func TestReadSignatureAgainstBotocore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs botocore")
	}
	authRE := regexp.MustCompile(`Credential=AKIDEXAMPLE/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=`)
	check := func(t *testing.T, text string, headers map[string]string, method, path, query string) {
		t.Helper()
		r, err := Read(text)
		if err != nil || r.Kind != KindSignature {
			t.Fatalf("%+v %v", r, err)
		}
		s := r.Signature
		m := authRE.FindStringSubmatch(headers["Authorization"])
		if m == nil {
			t.Fatalf("botocore's Authorization: %q", headers["Authorization"])
		}
		if s.Scope == nil || s.Scope.Date != m[1] || s.Scope.Region != m[2] || s.Scope.Service != m[3] || s.RequestTime != headers["X-Amz-Date"] {
			t.Errorf("scope %+v at %q; botocore signed %v at %q", s.Scope, s.RequestTime, m[1:4], headers["X-Amz-Date"])
		}
		c := s.Canonical
		if c == nil || c.Method != method || c.Path != path || c.Query != query || strings.Join(c.SignedHeaders, ";") != m[4] {
			t.Fatalf("canonical request read as %+v; botocore signed %s", c, m[4])
		}
		if want := headers["X-Amz-Content-SHA256"]; want != "" && c.PayloadHash != want {
			t.Errorf("payload hash %q, botocore sent %q", c.PayloadHash, want)
		}
		var host string
		for _, h := range c.Headers {
			if h.Name == "host" {
				host = h.Value
			}
		}
		if host == "" || !strings.Contains(strings.Join(s.Differ, "\n"), host) {
			t.Errorf("the Host %q is not among what commonly differs: %q", host, s.Differ)
		}
		if len(Causes(r)) < 6 || firstCause(r) != "wrong secret key" {
			t.Errorf("causes %+v", Causes(r))
		}
	}

	t.Run("S3 XML", func(t *testing.T) {
		cr, sts, h := botocoreSigned(t, "s3", "PUT", "https://bucket.s3.eu-west-1.amazonaws.com/a%20b/c.txt?x-id=PutObject", "hello")
		text := `<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><StringToSign>" +
			html.EscapeString(sts) + "</StringToSign><SignatureProvided>00</SignatureProvided><CanonicalRequest>" + html.EscapeString(cr) + "</CanonicalRequest><RequestId>1</RequestId></Error>"
		check(t, text, h, "PUT", "/a%20b/c.txt", "x-id=PutObject")
		r, _ := Read(text)
		if r.Signature.AccessKeyID != "AKIDEXAMPLE" || !strings.Contains(strings.Join(r.Signature.Differ, "\n"), `the path: the server's is "/a%20b/c.txt"`) {
			t.Errorf("key %q, differ %q", r.Signature.AccessKeyID, r.Signature.Differ)
		}
	})
	t.Run("query API long form", func(t *testing.T) {
		cr, sts, h := botocoreSigned(t, "sts", "POST", "https://sts.eu-west-1.amazonaws.com/", "Action=GetCallerIdentity&Version=2011-06-15")
		text := "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'" +
			cr + "'\n\nThe String-to-Sign should have been\n'" + sts + "'\n"
		check(t, text, h, "POST", "/", "")
	})
}

// Times a clock refusal gives are read in each of AWS's formats.
func TestClockTimeFormats(t *testing.T) {
	want := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for _, s := range []string{"20260105T080000Z", "2026-01-05T08:00:00Z", "Mon, 05 Jan 2026 08:00:00 GMT"} {
		if got := clockTime(s); got == nil || !got.Equal(want) {
			t.Errorf("%q: %v", s, got)
		}
	}
}

// What the chain gives here moves the causes it confirms to the top.
func TestWithChain(t *testing.T) {
	r, err := Read(`ERROR 1045 (28000): Access denied for user 'app'@'10.0.0.5' (using password: NO)`)
	if err != nil {
		t.Fatal(err)
	}
	causes := Causes(r)
	if causes[0].Cause != "no token sent" {
		t.Fatalf("offline: %v", causes[0])
	}
	got := WithChain(causes, Chain{Source: "environment", ShadowedProfile: "dev"})
	if got[0].Cause != "expired signing credentials" || !strings.Contains(got[0].Why, "AWS_PROFILE=dev") || got[1].Cause != "no token sent" || got[0].Rank != 1 || got[1].Rank != 2 {
		t.Errorf("with environment keys beside AWS_PROFILE: %+v", got[:2])
	}
	if len(got) != len(causes) || causes[0].Cause != "no token sent" {
		t.Errorf("WithChain changed its input or lost causes")
	}
	r, _ = Read("ExpiredToken: The security token included in the request is expired")
	got = WithChain(Causes(r), Chain{Source: "profile dev", Expired: true})
	if got[0].Cause != "an ended session or SSO sign-in" || !strings.Contains(got[0].Why, "profile dev") {
		t.Errorf("expired winner: %+v", got[0])
	}
	r, _ = Read("InvalidClientTokenId: The security token included in the request is invalid.")
	if got = WithChain(Causes(r), Chain{Source: "profile dev", Region: "me-central-1"}); got[0].Cause != "opt-in region or global endpoint's token" {
		t.Errorf("opt-in region: %+v", got[0])
	}
	if plain := WithChain(Causes(r), Chain{Source: "profile dev", Region: "eu-west-1"}); plain[0].Cause != Causes(r)[0].Cause {
		t.Errorf("nothing confirmed: order changed to %+v", plain[0])
	}
}

// A failed POST policy condition names its field.
func TestReadPostPolicyCondition(t *testing.T) {
	r, err := Read(`Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]`)
	if err != nil || r.PostPolicy.Field != "content-type" || r.PostPolicy.Condition != `["eq", "$Content-Type", "image/png"]` {
		t.Errorf("%+v %v", r, err)
	}
}

// A session token in the text never comes back.
func TestReadRedactsSessionTokens(t *testing.T) {
	const token = "FwoGZXIvYXdzEXAMPLETOKEN/with+slash=="
	text := "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><StringToSign>AWS4-HMAC-SHA256\n20260105T080000Z\n20260105/us-east-1/s3/aws4_request\nabc</StringToSign><CanonicalRequest>GET\n/k\nX-Amz-Security-Token=" + token + "\nhost:b.s3.amazonaws.com\nx-amz-security-token:" + token + "\n\nhost;x-amz-security-token\nUNSIGNED-PAYLOAD</CanonicalRequest></Error>"
	r, err := Read(text)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(struct {
		*Refusal
		C []Cause
	}{r, Causes(r)})
	if strings.Contains(string(b), "EXAMPLETOKEN") {
		t.Errorf("the token came back: %s", b)
	}
	if h := r.Signature.Canonical.Headers; len(h) != 2 || h[1] != (Header{"x-amz-security-token", "(redacted)"}) {
		t.Errorf("headers %+v", h)
	}
}
