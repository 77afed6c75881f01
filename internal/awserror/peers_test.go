package awserror

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// call sends a request signed with c and decodes its error answer.
func call(t *testing.T, method, url, service, contentType, target, body string, c creds.Credentials) (*Error, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	var s sigv4.Signer
	if err := s.Sign(req, c, sigv4.Options{Service: service, Region: "us-east-1", Time: time.Now(), PayloadHash: hexSHA256(body)}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		t.Fatalf("%s %s answered %d, want an error answer:\n%s", method, url, resp.StatusCode, b)
	}
	t.Logf("%s %s: %d %v\n%s", method, url, resp.StatusCode, resp.Header, b)
	return Decode(resp.StatusCode, resp.Header, b), b
}

// Error answers of moto_server, which speaks every protocol of the AWS
// services it emulates.
func TestDecodeMotoAnswers(t *testing.T) {
	m := testpeer.Moto(t)
	admin := creds.Credentials{AccessKeyID: m.AdminAccessKeyID, SecretAccessKey: m.AdminSecretAccessKey}
	wrong := admin
	wrong.SecretAccessKey = "not-the-secret"
	form := "application/x-www-form-urlencoded; charset=utf-8"
	for _, c := range []struct {
		name                                             string
		method, path, service, contentType, target, body string
		creds                                            creds.Credentials
		status                                           int
		code, message                                    string
		requestID                                        bool
	}{
		{"query (IAM)", "POST", "/", "iam", form, "", "Action=GetUser&UserName=nosuch&Version=2010-05-08", admin,
			404, "NoSuchEntity", "nosuch", true},
		{"query signature refused (STS)", "POST", "/", "sts", form, "", "Action=GetCallerIdentity&Version=2011-06-15", wrong,
			403, "SignatureDoesNotMatch", "signature", false},
		{"ec2", "POST", "/", "ec2", form, "", "Action=DescribeInstances&InstanceId.1=i-1234567890abcdef0&Version=2016-11-15", admin,
			400, "InvalidInstanceID.NotFound", "i-1234567890abcdef0", true},
		{"JSON 1.0 (DynamoDB)", "POST", "/", "dynamodb", "application/x-amz-json-1.0", "DynamoDB_20120810.DescribeTable", `{"TableName":"nosuch"}`, admin,
			400, "ResourceNotFoundException", "", false},
		{"JSON 1.1 (KMS)", "POST", "/", "kms", "application/x-amz-json-1.1", "TrentService.DescribeKey", `{"KeyId":"alias/nosuch"}`, admin,
			400, "NotFoundException", "alias/nosuch", false},
		// (moto refuses the signature of every GET outside S3, the AWS
		// SDK's signer's too, so the restJson call is a POST.)
		{"restJson (Lambda)", "POST", "/2015-03-31/functions/nosuch/invocations", "lambda", "application/json", "", "{}", admin,
			404, "ResourceNotFoundException", "nosuch", false},
		{"S3 XML", "GET", "/nosuch-bucket/key", "s3", "", "", "", admin,
			404, "NoSuchBucket", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, body := call(t, c.method, m.Endpoint+c.path, c.service, c.contentType, c.target, c.body, c.creds)
			check(t, e, body, c.status, c.code, c.message, c.requestID)
		})
	}
}

// Error answers of MinIO, an S3 that checks signatures strictly.
func TestDecodeMinIOAnswers(t *testing.T) {
	s := testpeer.MinIO(t)
	root := creds.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	t.Run("no such bucket", func(t *testing.T) {
		e, body := call(t, "GET", s.Endpoint+"/nosuch-bucket/key", "s3", "", "", "", root)
		check(t, e, body, 404, "NoSuchBucket", "bucket does not exist", true)
	})
	t.Run("signature refused", func(t *testing.T) {
		wrong := root
		wrong.SecretAccessKey = "not-the-secret"
		e, body := call(t, "GET", s.Endpoint+"/", "s3", "", "", "", wrong)
		check(t, e, body, 403, "SignatureDoesNotMatch", "signature", true)
	})
}

func check(t *testing.T, e *Error, body []byte, status int, code, message string, requestID bool) {
	t.Helper()
	if e.StatusCode != status || e.Code != code {
		t.Errorf("decoded status %d code %q; want %d %q\nbody: %s", e.StatusCode, e.Code, status, code, body)
	}
	if !strings.Contains(strings.ToLower(e.Message), strings.ToLower(message)) {
		t.Errorf("message %q lacks %q", e.Message, message)
	}
	if requestID && e.RequestID == "" {
		t.Errorf("no request id read from %s", body)
	}
	var err error = e
	var as *Error
	if !errors.As(err, &as) || as != e || !strings.HasPrefix(err.Error(), code) {
		t.Errorf("errors.As or Error() wrong: %q", err)
	}
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
