package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
)

// Every way of signing refuses credentials without both keys with an
// error that is ErrNoCredentials and creds.ErrNoCredentials, says which
// key is missing and holds no secret.
func TestSigningWithoutKeysIsNoCredentials(t *testing.T) {
	opts := Options{Service: "s3", Region: "eu-west-1", Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	req := func() *http.Request {
		r, _ := http.NewRequest("GET", "https://bucket.s3.eu-west-1.amazonaws.com/key", nil)
		return r
	}
	var s Signer
	ways := map[string]func(c creds.Credentials) error{
		"Sign":    func(c creds.Credentials) error { return s.Sign(req(), c, opts) },
		"Presign": func(c creds.Credentials) error { _, err := s.Presign(req(), c, opts); return err },
		"PresignPost": func(c creds.Credentials) error {
			_, err := s.PresignPost(PostPolicy{Bucket: "bucket", Region: "eu-west-1"}, c)
			return err
		},
	}
	for _, c := range []struct {
		name string
		c    creds.Credentials
		want string
	}{
		{"empty", creds.Credentials{}, "both are empty"},
		{"no access key id", creds.Credentials{SecretAccessKey: "only-the-secret"}, "the access key id is empty"},
		{"no secret", creds.Credentials{AccessKeyID: "AKIDNOSECRET", SessionToken: "a-token"}, "the secret access key of AKIDNOSECRET is empty"},
	} {
		for way, sign := range ways {
			t.Run(way+"/"+c.name, func(t *testing.T) {
				err := sign(c.c)
				if !errors.Is(err, ErrNoCredentials) || !errors.Is(err, creds.ErrNoCredentials) {
					t.Fatalf("err = %v; want ErrNoCredentials wrapping creds.ErrNoCredentials", err)
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not say %q", err, c.want)
				}
				if strings.Contains(err.Error(), "only-the-secret") || strings.Contains(err.Error(), "a-token") {
					t.Errorf("error %q holds a secret", err)
				}
			})
		}
	}
}

func TestPayloadHash(t *testing.T) {
	if got := PayloadHash(nil); got != EmptyPayloadHash {
		t.Errorf("PayloadHash(nil) = %s, want %s", got, EmptyPayloadHash)
	}
	// The body of the AWS suite's post-x-www-form-urlencoded case.
	if got := PayloadHash([]byte("Param1=value1")); got != "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e" {
		t.Errorf("PayloadHash = %s", got)
	}
}
