package sigv4_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/sigv4"
)

// These tests use a real MinIO server, which checks SigV4 strictly, as the
// independent judge of credkit's signatures.

func minioCreds(m *testpeer.MinIOServer) creds.Credentials {
	return creds.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}
}

// signedDo signs a request with header auth and sends it.
func signedDo(t *testing.T, c creds.Credentials, method, u string, body []byte, service string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var s sigv4.Signer
	o := sigv4.Options{Service: service, Region: "us-east-1", PayloadHash: sigv4.UnsignedPayload}
	if service != "s3" {
		o.PayloadHash = ""
		if len(body) > 0 {
			o.PayloadHash = sha256hex(body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err := s.Sign(req, c, o); err != nil {
		t.Fatal(err)
	}
	return testpeer.Do(t, req)
}

func makeBucket(t *testing.T, m *testpeer.MinIOServer, bucket string) {
	t.Helper()
	if code, body := signedDo(t, minioCreds(m), "PUT", m.Endpoint+"/"+bucket, nil, "s3"); code != 200 {
		t.Fatalf("create bucket: %d %s", code, body)
	}
}

func presignObject(t *testing.T, m *testpeer.MinIOServer, c creds.Credentials, method, bucket, key string, at time.Time, expires time.Duration) string {
	t.Helper()
	u, _ := url.Parse(m.Endpoint)
	var s sigv4.Signer
	signed, err := s.PresignTarget(sigv4.Target{Method: method, Scheme: u.Scheme, Host: u.Host, Path: "/" + bucket + "/" + sigv4.EncodePath(key)},
		c, sigv4.Options{Service: "s3", Region: "us-east-1", Time: at, Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestMinIOPresignedURLs(t *testing.T) {
	m := testpeer.MinIO(t)
	makeBucket(t, m, "presign")
	temp := m.AssumeRole(t)
	for _, tc := range []struct {
		name string
		c    creds.Credentials
	}{{"long-term keys", minioCreds(m)}, {"temporary credentials from STS AssumeRole", temp}} {
		t.Run(tc.name, func(t *testing.T) {
			key := "dir/a file+with=odd&chars (1).txt"
			content := "hello from " + tc.name
			put := presignObject(t, m, tc.c, "PUT", "presign", key, time.Now(), 5*time.Minute)
			req, _ := http.NewRequest("PUT", put, strings.NewReader(content))
			if code, body := testpeer.Do(t, req); code != 200 {
				t.Fatalf("presigned PUT: %d %s", code, body)
			}
			get := presignObject(t, m, tc.c, "GET", "presign", key, time.Now(), 5*time.Minute)
			req, _ = http.NewRequest("GET", get, nil)
			if code, body := testpeer.Do(t, req); code != 200 || body != content {
				t.Fatalf("presigned GET: %d %q", code, body)
			}
			// Signed 10 minutes ago for 5 minutes: MinIO must refuse it.
			old := presignObject(t, m, tc.c, "GET", "presign", key, time.Now().Add(-10*time.Minute), 5*time.Minute)
			req, _ = http.NewRequest("GET", old, nil)
			if code, body := testpeer.Do(t, req); code != 403 || !strings.Contains(body, "expired") {
				t.Errorf("expired URL: %d %s", code, body)
			}
			// A GET URL used for a PUT is refused: the method is signed.
			req, _ = http.NewRequest("PUT", get, strings.NewReader("overwrite"))
			if code, _ := testpeer.Do(t, req); code != 403 {
				t.Errorf("GET URL accepted for PUT: %d", code)
			}
		})
	}
	t.Run("token left out of a temporary URL", func(t *testing.T) {
		get := presignObject(t, m, temp, "GET", "presign", "x", time.Now(), time.Minute)
		u, _ := url.Parse(get)
		q := u.Query()
		q.Del("X-Amz-Security-Token")
		u.RawQuery = q.Encode()
		req, _ := http.NewRequest("GET", u.String(), nil)
		if code, body := testpeer.Do(t, req); code != 403 {
			t.Errorf("URL without its session token: %d %s", code, body)
		}
	})
}

// postForm uploads content through a presigned POST form, leaving out the
// named fields.
func postForm(t *testing.T, form *sigv4.PostForm, filename, content string, drop ...string) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
fields:
	for _, f := range form.Fields {
		for _, d := range drop {
			if f.Name == d {
				continue fields
			}
		}
		w.WriteField(f.Name, f.Value)
	}
	fw, _ := w.CreateFormFile("file", filename)
	fw.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", form.URL, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return testpeer.Do(t, req)
}

func TestMinIOPresignedPost(t *testing.T) {
	m := testpeer.MinIO(t)
	makeBucket(t, m, "uploads")
	temp := m.AssumeRole(t)
	policy := func() sigv4.PostPolicy {
		return sigv4.PostPolicy{
			Bucket: "uploads", Key: "incoming/", KeyStartsWith: true, Region: "us-east-1", Endpoint: m.Endpoint,
			Expires: 5 * time.Minute, ContentLengthMin: 1, ContentLengthMax: 1024,
			ContentType: "text/", ContentTypeStartsWith: true, SuccessActionStatus: "201",
			Meta: map[string]string{"owner": "alice"},
		}
	}
	var s sigv4.Signer
	for _, tc := range []struct {
		name string
		c    creds.Credentials
	}{{"long-term keys", minioCreds(m)}, {"temporary credentials", temp}} {
		t.Run(tc.name, func(t *testing.T) {
			form, err := s.PresignPost(policy(), tc.c)
			if err != nil {
				t.Fatal(err)
			}
			_, hasTok := form.Field("x-amz-security-token")
			if hasTok != tc.c.Temporary() || strings.Contains(form.Policy, "x-amz-security-token") != tc.c.Temporary() {
				t.Fatalf("session token field %v / condition in %s", hasTok, form.Policy)
			}
			for i, f := range form.Fields {
				if f.Name == "Content-Type" {
					form.Fields[i].Value = "text/plain"
				}
			}
			code, body := postForm(t, form, "note.txt", "uploaded via POST")
			if code != 201 {
				t.Fatalf("POST upload: %d %s", code, body)
			}
			get := presignObject(t, m, minioCreds(m), "GET", "uploads", "incoming/note.txt", time.Now(), time.Minute)
			req, _ := http.NewRequest("GET", get, nil)
			if code, got := testpeer.Do(t, req); code != 200 || got != "uploaded via POST" {
				t.Fatalf("uploaded object: %d %q", code, got)
			}
			// The policy's conditions are enforced: too large, wrong prefix.
			if code, body := postForm(t, form, "big.txt", strings.Repeat("x", 2048)); code < 400 {
				t.Errorf("upload over content-length-range accepted: %d %s", code, body)
			}
		})
	}
	t.Run("session token missing from the form is refused", func(t *testing.T) {
		form, err := s.PresignPost(policy(), temp)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range form.Fields {
			if f.Name == "Content-Type" {
				form.Fields[i].Value = "text/plain"
			}
		}
		if code, body := postForm(t, form, "note.txt", "x", "x-amz-security-token"); code < 400 {
			t.Errorf("upload without session token accepted: %d %s", code, body)
		}
	})
}
