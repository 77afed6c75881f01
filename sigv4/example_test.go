package sigv4_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
)

// The examples use the key of AWS's SigV4 test suite, whose expected
// signatures are in testdata/sigv4/aws-signing-test-suite.
var (
	exampleKey  = creds.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	exampleTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
)

// Sign a request: the Authorization header is the one AWS's test suite
// gives for its get-vanilla case.
func ExampleSigner_Sign() {
	req, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	var s sigv4.Signer
	if err := s.Sign(req, exampleKey, sigv4.Options{Service: "service", Region: "us-east-1", Time: exampleTime}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Get("X-Amz-Date"))
	fmt.Println(req.Header.Get("Authorization"))
	// Output:
	// 20150830T123600Z
	// AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
}

// Presign a URL valid for an hour; the signature is the one of AWS's test
// suite (get-vanilla, query signing).
func ExampleSigner_Presign() {
	req, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	var s sigv4.Signer
	u, err := s.Presign(req, exampleKey, sigv4.Options{Service: "service", Region: "us-east-1", Time: exampleTime, Expires: time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}
	parsed, _ := url.Parse(u)
	q := parsed.Query()
	fmt.Println(q.Get("X-Amz-Credential"))
	fmt.Println(q.Get("X-Amz-Expires"), q.Get("X-Amz-SignedHeaders"))
	fmt.Println(q.Get("X-Amz-Signature"))
	// Output:
	// AKIDEXAMPLE/20150830/us-east-1/service/aws4_request
	// 3600 host
	// e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d
}

// Verify signed requests, and say precisely why one is refused: here a
// request whose query was changed after signing.
func ExampleVerifier_Verify() {
	v := &sigv4.Verifier{
		Lookup: func(_ context.Context, id string) (sigv4.Secret, error) {
			if id != exampleKey.AccessKeyID {
				return sigv4.Secret{}, fmt.Errorf("%s: %w", id, sigv4.ErrUnknownKey)
			}
			return sigv4.Secret{SecretAccessKey: exampleKey.SecretAccessKey}, nil
		},
		Now:     func() time.Time { return exampleTime.Add(time.Minute) },
		Service: "sts",
		Region:  "us-east-1",
	}
	req, _ := http.NewRequest("GET", "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	var s sigv4.Signer
	if err := s.Sign(req, exampleKey, sigv4.Options{Service: "sts", Region: "us-east-1", Time: exampleTime}); err != nil {
		fmt.Println(err)
		return
	}
	signed, err := v.Verify(context.Background(), req)
	fmt.Println("signed request:", signed.AccessKeyID, signed.Service, signed.Region, err)

	req.URL.RawQuery = "Action=AssumeRole&Version=2011-06-15"
	_, err = v.Verify(context.Background(), req)
	var ve *sigv4.VerifyError
	if errors.As(err, &ve) {
		fmt.Println("tampered request:", errors.Is(err, sigv4.ErrSignatureMismatch), ve.Reason)
	}
	// Output:
	// signed request: AKIDEXAMPLE sts us-east-1 <nil>
	// tampered request: true signature does not match
}

// Build a browser upload form for S3 with temporary credentials: the
// session token is both a form field and a policy condition. (The
// signature is the hex HMAC-SHA256, under the signing key for s3 in
// us-east-1, of the base64 policy field; an independent computation gives
// the same.)
func ExampleSigner_PresignPost() {
	session := creds.Credentials{AccessKeyID: "ASIDEXAMPLE", SecretAccessKey: exampleKey.SecretAccessKey, SessionToken: "EXAMPLETOKEN"}
	var s sigv4.Signer
	form, err := s.PresignPost(sigv4.PostPolicy{
		Bucket:           "examplebucket",
		Key:              "uploads/",
		KeyStartsWith:    true,
		ContentLengthMax: 10 << 20,
		Region:           "us-east-1",
		Expires:          10 * time.Minute,
		Time:             exampleTime,
	}, session)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(form.URL)
	for _, f := range form.Fields {
		if f.Name != "policy" {
			fmt.Printf("%s=%s\n", f.Name, f.Value)
		}
	}
	fmt.Println(form.Policy)
	// Output:
	// https://examplebucket.s3.us-east-1.amazonaws.com/
	// key=uploads/${filename}
	// x-amz-algorithm=AWS4-HMAC-SHA256
	// x-amz-credential=ASIDEXAMPLE/20150830/us-east-1/s3/aws4_request
	// x-amz-date=20150830T123600Z
	// x-amz-security-token=EXAMPLETOKEN
	// x-amz-signature=02adc0fbae4606a0e7c40b1157e15d7b44348b36420673ade1217c17d8e819fe
	// {"expiration":"2015-08-30T12:46:00.000Z","conditions":[{"bucket":"examplebucket"},["starts-with","$key","uploads/"],["content-length-range",0,10485760],{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-credential":"ASIDEXAMPLE/20150830/us-east-1/s3/aws4_request"},{"x-amz-date":"20150830T123600Z"},{"x-amz-security-token":"EXAMPLETOKEN"}]}
}

// CheckRegion catches the usual slips before they become a signature
// error.
func ExampleCheckRegion() {
	fmt.Println(sigv4.CheckRegion("eu-central-2"))
	fmt.Println(sigv4.CheckRegion("us-east-1a"))
	// Output:
	// <nil>
	// region "us-east-1a" is not an AWS region name (like us-east-1 or eu-west-2)
}

// Sign for every region with SigV4a, then verify. The signature is an
// ECDSA one, different at each signing, so the example shows the rest.
func ExampleSigner_Sign_sigV4a() {
	req, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	var s sigv4.Signer
	o := sigv4.Options{Service: "service", Time: exampleTime, Algorithm: sigv4.SigV4a, RegionSet: []string{"*"}}
	if err := s.Sign(req, exampleKey, o); err != nil {
		fmt.Println(err)
		return
	}
	auth, _, _ := strings.Cut(req.Header.Get("Authorization"), ", Signature=")
	fmt.Println(req.Header.Get("X-Amz-Region-Set"))
	fmt.Println(auth)

	v := sigv4.Verifier{
		Region: "eu-west-1",
		Now:    func() time.Time { return exampleTime },
		Lookup: func(_ context.Context, id string) (sigv4.Secret, error) {
			if id != exampleKey.AccessKeyID {
				return sigv4.Secret{}, sigv4.ErrUnknownKey
			}
			return sigv4.Secret{SecretAccessKey: exampleKey.SecretAccessKey}, nil
		},
	}
	signed, err := v.Verify(context.Background(), req)
	fmt.Println(signed.Algorithm, signed.RegionSet, err)
	// Output:
	// *
	// AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set
	// AWS4-ECDSA-P256-SHA256 [*] <nil>
}
