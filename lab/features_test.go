package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/credkit/credkit/policy"
)

// start runs a lab on a loopback test server.
func start(t *testing.T, o Options) (*Lab, string) {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	t.Cleanup(s.Close)
	return l, s.URL
}

func userCreds(u User) aws.Credentials {
	return aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}
}

type ststypesCredentials = ststypes.Credentials

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func xmlDecode(resp *http.Response, v any) {
	defer resp.Body.Close()
	xml.NewDecoder(resp.Body).Decode(v)
}

func sessionCreds(c *ststypesCredentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// noRetry makes the SDK report the first answer, as the tests check it.
func noRetry(o *sts.Options) { o.RetryMaxAttempts = 1 }

func apiError(t *testing.T, err error) (code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		if err != nil {
			t.Fatalf("not an API error: %v", err)
		}
		return "", ""
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func assume(ctx context.Context, url string, c aws.Credentials, in *sts.AssumeRoleInput) (*sts.AssumeRoleOutput, error) {
	return stsClient(url, c).AssumeRole(ctx, in, noRetry)
}

func TestTrustPolicies(t *testing.T) {
	seed, err := ParseSeed("trust.json", []byte(`{
	  "account_id": "111122223333",
	  "users": [
	    {"name": "alice", "access_keys": [{"access_key_id": "AKIAALICE0000000TEST", "secret_access_key": "alice-secret"}], "policies": [{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}]},
	    {"name": "bob", "access_keys": [{"access_key_id": "AKIABOB00000000TEST0", "secret_access_key": "bob-secret"}], "policies": [{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}]}
	  ],
	  "roles": [
	    {"name": "alice-only", "policies": [{"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}], "trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}}]}},
	    {"name": "by-account-id", "trust_policy": {"Statement": {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"AWS": "111122223333"}}}},
	    {"name": "anyone", "trust_policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:*\",\"Principal\":\"*\"}]}"},
	    {"name": "other-account", "trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]}},
	    {"name": "root-but-not-bob", "trust_policy": {"Statement": [
	      {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
	      {"Sid": "NoBob", "Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": ["arn:aws:iam::111122223333:user/bob"]}}]}},
	    {"name": "wrong-action", "trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"AWS": "111122223333"}}]}},
	    {"name": "from-role", "trust_policy": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::111122223333:role/alice-only"}}]}}
	  ]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	l, url := start(t, Options{Seed: seed, Log: &log})
	ctx := context.Background()
	alice := aws.Credentials{AccessKeyID: "AKIAALICE0000000TEST", SecretAccessKey: "alice-secret"}
	bob := aws.Credentials{AccessKeyID: "AKIABOB00000000TEST0", SecretAccessKey: "bob-secret"}
	out, err := assume(ctx, url, alice, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN("alice-only")), RoleSessionName: aws.String("a")})
	_ = out
	if c, _ := apiError(t, err); c != "ValidationError" {
		t.Errorf("one-letter session name: %v, want ValidationError", err)
	}
	aliceRole, err := assume(ctx, url, alice, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN("alice-only")), RoleSessionName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	aliceSession := sessionCreds((*ststypesCredentials)(aliceRole.Credentials))
	cases := []struct {
		name   string
		caller aws.Credentials
		role   string
		ok     bool
		why    string // in the log when refused
	}{
		{"the user named in Principal", alice, "alice-only", true, ""},
		{"another user of the account", bob, "alice-only", false, "does not name arn:aws:iam::111122223333:user/bob"},
		{"principal as the bare account id", bob, "by-account-id", true, ""},
		{"principal *, policy given as a JSON string", bob, "anyone", true, ""},
		{"another account's root", alice, "other-account", false, "arn:aws:iam::999999999999:root"},
		{"the account's root allows alice", alice, "root-but-not-bob", true, ""},
		{"an explicit Deny wins over the account's Allow", bob, "root-but-not-bob", false, "statement 1 (NoBob) [Deny]: Action, Resource and Principal match"},
		{"a statement for another action", alice, "wrong-action", false, `Action ["sts:AssumeRoleWithWebIdentity"] does not match sts:AssumeRole`},
		{"a session of the role named in Principal", aliceSession, "from-role", true, ""},
		{"the user behind that role is not the role", alice, "from-role", false, "does not name"},
		{"a role that does not exist", alice, "nope", false, "no role"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log.Reset()
			_, err := assume(ctx, url, c.caller, &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(c.role)), RoleSessionName: aws.String("test")})
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, log.String())
				}
				return
			}
			code, msg := apiError(t, err)
			id, _ := stsClient(url, c.caller).GetCallerIdentity(ctx, nil)
			want := fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", *id.Arn, l.RoleARN(c.role))
			if code != "AccessDenied" || msg != want {
				t.Errorf("got %s %q, want AccessDenied %q", code, msg, want)
			}
			if !strings.Contains(log.String(), c.why) {
				t.Errorf("the log does not say %q:\n%s", c.why, log.String())
			}
		})
	}
}

func TestExternalID(t *testing.T) {
	var log bytes.Buffer
	l, url := start(t, Options{Log: &log})
	ctx := context.Background()
	u := userCreds(l.Users()[0])
	role := aws.String(l.RoleARN(DefaultExternalRole))
	for _, x := range []*string{nil, aws.String("guess")} {
		_, err := assume(ctx, url, u, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("partner"), ExternalId: x})
		if code, _ := apiError(t, err); code != "AccessDenied" {
			t.Errorf("ExternalId %v: %v, want AccessDenied", aws.ToString(x), err)
		}
	}
	if !strings.Contains(log.String(), `Condition StringEquals sts:ExternalId ["lab-external-id"] is not met (request value: ["guess"])`) {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := assume(ctx, url, u, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("partner"), ExternalId: aws.String(DefaultExternalID)}); err != nil {
		t.Errorf("right ExternalId: %v", err)
	}
}

func TestTOTPVectors(t *testing.T) {
	// RFC 6238 appendix B (SHA1, secret "12345678901234567890"), last six digits.
	secret := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		got, err := TOTP(secret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("TOTP at %d = %s %v, want %s", unix, got, err, want)
		}
	}
	if _, err := TOTP("not base32!", time.Now()); err == nil {
		t.Error("a bad secret was accepted")
	}
}

func TestMFA(t *testing.T) {
	var log bytes.Buffer
	l, url := start(t, Options{Log: &log})
	ctx := context.Background()
	u := l.Users()[0]
	client := stsClient(url, userCreds(u))
	role := aws.String(l.RoleARN(DefaultMFARole))
	// Codes are made from the real clock, as an authenticator app does,
	// away from a step boundary so that each check sees the step it meant.
	if s := time.Now().Unix() % 30; s >= 28 {
		time.Sleep(time.Duration(31-s) * time.Second)
	}
	mk := func(d time.Duration) *string {
		s, err := TOTP(u.MFASecret, time.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return aws.String(s)
	}

	_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa")}, noRetry)
	if code, _ := apiError(t, err); code != "AccessDenied" || !strings.Contains(log.String(), `aws:MultiFactorAuthPresent ["true"] is not met`) {
		t.Errorf("no MFA: %v\n%s", err, log.String())
	}
	if _, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(u.MFASerial), TokenCode: mk(0)}, noRetry); err != nil {
		t.Errorf("valid code: %v", err)
	}
	if _, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(u.MFASerial), TokenCode: mk(-30 * time.Second)}, noRetry); err != nil {
		t.Errorf("previous step's code (drift of one step): %v", err)
	}
	// A code is accepted once, as by AWS.
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(u.MFASerial), TokenCode: mk(0)}, noRetry)
	if code, msg := apiError(t, err); code != "AccessDenied" || !strings.HasPrefix(msg, "MultiFactorAuthentication failed with invalid MFA one time pass code") || !strings.Contains(log.String(), "was already used") {
		t.Errorf("a code used twice: %s %s\n%s", code, msg, log.String())
	}
	for name, tc := range map[string]*string{"invalid": aws.String("000000"), "old (90 s)": mk(-90 * time.Second)} {
		if *tc == *mk(0) || *tc == *mk(-30 * time.Second) || *tc == *mk(30 * time.Second) {
			continue // a collision with a valid code: one in 333,333
		}
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(u.MFASerial), TokenCode: tc}, noRetry)
		if code, msg := apiError(t, err); code != "AccessDenied" || !strings.HasPrefix(msg, "MultiFactorAuthentication failed with invalid MFA one time pass code") {
			t.Errorf("%s code: %s %s", name, code, msg)
		}
	}
	_, err = client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa"), SerialNumber: aws.String("arn:aws:iam::000000000000:mfa/someone-else"), TokenCode: mk(0)}, noRetry)
	if code, msg := apiError(t, err); code != "AccessDenied" || !strings.Contains(msg, "unable to validate MFA code") {
		t.Errorf("another user's device: %s %s", code, msg)
	}

	// GetSessionToken with MFA gives a session that satisfies the role's
	// MFA condition without a code; one without MFA does not.
	_, err = client.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(u.MFASerial), TokenCode: aws.String("123")}, noRetry)
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Errorf("GetSessionToken with a bad code: %v", err)
	}
	// The next step's code (drift of one step): the current one is used.
	withMFA, err := client.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(u.MFASerial), TokenCode: mk(30 * time.Second)}, noRetry)
	if err != nil {
		t.Fatal(err)
	}
	noMFA, err := client.GetSessionToken(ctx, nil, noRetry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := assume(ctx, url, sessionCreds((*ststypesCredentials)(withMFA.Credentials)), &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa")}); err != nil {
		t.Errorf("MFA session: %v", err)
	}
	_, err = assume(ctx, url, sessionCreds((*ststypesCredentials)(noMFA.Credentials)), &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("mfa")})
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Errorf("session without MFA: %v", err)
	}
}

func TestDurationLimits(t *testing.T) {
	seed := DefaultSeed()
	seed.Roles = append(seed.Roles, SeedRole{Name: "long", MaxSessionDuration: 12 * time.Hour, TrustPolicy: seed.Roles[0].TrustPolicy, Policies: seed.Roles[0].Policies})
	l, url := start(t, Options{Seed: seed, TTL: 24 * time.Hour})
	ctx := context.Background()
	user := userCreds(l.Users()[0])
	in := func(role string, secs int32) *sts.AssumeRoleInput {
		i := &sts.AssumeRoleInput{RoleArn: aws.String(l.RoleARN(role)), RoleSessionName: aws.String("dur")}
		if secs > 0 {
			i.DurationSeconds = aws.Int32(secs)
		}
		return i
	}
	lives := func(out *sts.AssumeRoleOutput) time.Duration {
		return out.Credentials.Expiration.Sub(time.Now()).Round(time.Minute)
	}

	// MaxSessionDuration: 1 hour by default.
	_, err := assume(ctx, url, user, in(DefaultRole, 7200))
	if code, msg := apiError(t, err); code != "ValidationError" || msg != "The requested DurationSeconds exceeds the MaxSessionDuration set for this role." {
		t.Errorf("7200 s on a 1 h role: %s %q", code, msg)
	}
	_, err = assume(ctx, url, user, in(DefaultRole, 600))
	if code, msg := apiError(t, err); code != "ValidationError" || !strings.Contains(msg, "greater than or equal to 900") {
		t.Errorf("600 s: %s %q", code, msg)
	}
	out, err := assume(ctx, url, user, in("long", 7200))
	if err != nil || lives(out) != 2*time.Hour {
		t.Fatalf("7200 s on a 12 h role: %v", err)
	}

	// Role chaining: one hour at most, whatever the role allows.
	chain := sessionCreds((*ststypesCredentials)(out.Credentials))
	_, err = assume(ctx, url, chain, in("long", 7200))
	if code, msg := apiError(t, err); code != "ValidationError" || msg != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Errorf("chained 7200 s: %s %q", code, msg)
	}
	out2, err := assume(ctx, url, chain, in("long", 0))
	if err != nil || lives(out2) != time.Hour {
		t.Errorf("chained, default duration: %v %v", err, lives(out2))
	}

	// The lab's TTL caps every lifetime.
	l2, url2 := start(t, Options{TTL: 20 * time.Second})
	out3, err := assume(ctx, url2, userCreds(l2.Users()[0]), in(DefaultRole, 3600))
	if err != nil || out3.Credentials.Expiration.Sub(time.Now()) > 21*time.Second {
		t.Errorf("TTL 20s: %v %v", err, out3)
	}
}

func webIdentity(ctx context.Context, url, role, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1})
	return c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String("web"), WebIdentityToken: aws.String(token)})
}

func TestWebIdentity(t *testing.T) {
	seed := DefaultSeed()
	host := strings.TrimPrefix(DefaultIssuer, "https://")
	seed.Roles = append(seed.Roles, SeedRole{Name: "app", TrustPolicy: mustPolicy(`{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": {"Federated": "arn:aws:iam::000000000000:oidc-provider/`+host+`"},
		"Condition": {"StringEquals": {"`+host+`:sub": "system:serviceaccount:prod:app"}}}]}`, policy.Trust)})
	var log bytes.Buffer
	l, url := start(t, Options{Seed: seed, Log: &log})
	ctx := context.Background()
	web := l.RoleARN(DefaultWebRole)
	good, err := l.MintWebIdentityToken("system:serviceaccount:prod:app", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	out, err := webIdentity(ctx, url, web, good)
	if err != nil {
		t.Fatalf("good token: %v\n%s", err, log.String())
	}
	if *out.SubjectFromWebIdentityToken != "system:serviceaccount:prod:app" || *out.AssumedRoleUser.Arn != "arn:aws:sts::000000000000:assumed-role/lab-web-role/web" || *out.Audience != "sts.amazonaws.com" {
		t.Errorf("answer: %+v %+v", out, out.AssumedRoleUser)
	}
	if _, err := webIdentity(ctx, url, l.RoleARN("app"), good); err != nil {
		t.Errorf("sub condition met: %v", err)
	}
	other, _ := l.MintWebIdentityToken("system:serviceaccount:prod:other", "", time.Hour)
	_, err = webIdentity(ctx, url, l.RoleARN("app"), other)
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "Not authorized to perform sts:AssumeRoleWithWebIdentity" {
		t.Errorf("other sub: %s %q", code, msg)
	}
	wrongAud, _ := l.MintWebIdentityToken("x", "my-app", time.Hour)
	now := time.Now()
	wrongIss, _ := l.signJWT(map[string]any{"iss": "https://token.actions.githubusercontent.com", "sub": "x", "aud": "sts.amazonaws.com", "exp": now.Add(time.Hour).Unix()})
	expired, _ := l.signJWT(map[string]any{"iss": DefaultIssuer, "sub": "x", "aud": "sts.amazonaws.com", "exp": now.Add(-time.Minute).Unix()})
	other2, _ := New(Options{}) // same issuer and claims, another key
	otherKey, _ := other2.MintWebIdentityToken("system:serviceaccount:prod:app", "", time.Hour)
	parts := strings.Split(good, ".")
	otherParts := strings.Split(otherKey, ".")
	badSig := parts[0] + "." + parts[1] + "." + otherParts[2]
	claims, _ := b64.DecodeString(parts[1])
	tampered := parts[0] + "." + b64.EncodeToString(bytes.Replace(claims, []byte("prod:app"), []byte("prod:adm"), 1)) + "." + parts[2]
	for _, c := range []struct {
		name, token, code, msg string
	}{
		{"wrong audience", wrongAud, "InvalidIdentityToken", "Incorrect token audience"},
		{"wrong issuer", wrongIss, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"},
		{"expired", expired, "ExpiredTokenException", "Token expired: current date/time"},
		{"another key's signature", badSig, "InvalidIdentityToken", "Couldn't verify the signature of the token"},
		{"another lab's token", otherKey, "InvalidIdentityToken", "Couldn't verify the signature of the token"},
		{"tampered claims", tampered, "InvalidIdentityToken", "Couldn't verify the signature of the token"},
		{"not a JWT", "abc", "InvalidIdentityToken", "not a valid JWT"},
	} {
		_, err := webIdentity(ctx, url, web, c.token)
		if code, msg := apiError(t, err); code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: %s %q, want %s %q", c.name, code, msg, c.code, c.msg)
		}
	}

	// The JWKS and the discovery document describe the key.
	resp, err := http.Get(url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer  string
		JWKSURI string `json:"jwks_uri"`
	}
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc.Issuer != DefaultIssuer || disc.JWKSURI != url+"/_lab/jwks.json" {
		t.Errorf("discovery: %+v", disc)
	}
	resp, err = http.Get(disc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E string }
	}
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 1 || set.Keys[0].Kid != l.kid || set.Keys[0].E != "AQAB" || len(set.Keys[0].N) < 300 {
		t.Errorf("jwks: %+v", set)
	}
}

func iamClient(url string, c aws.Credentials) *iam.Client {
	return iam.New(iam.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil }),
	})
}

func TestIAMKeyLifecycle(t *testing.T) {
	l, url := start(t, Options{})
	ctx := context.Background()
	u := l.Users()[0]
	old := userCreds(u)
	client := iamClient(url, old)
	me, err := client.GetUser(ctx, nil)
	if err != nil || *me.User.UserName != DefaultUser || *me.User.Arn != "arn:aws:iam::000000000000:user/lab-user" {
		t.Fatalf("GetUser: %v %+v", err, me)
	}
	_, err = client.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	if code, msg := apiError(t, err); code != "NoSuchEntity" || msg != "The user with name nobody cannot be found." {
		t.Errorf("GetUser nobody: %s %q", code, msg)
	}
	created, err := client.CreateAccessKey(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh := aws.Credentials{AccessKeyID: *created.AccessKey.AccessKeyId, SecretAccessKey: *created.AccessKey.SecretAccessKey}
	id, err := stsClient(url, fresh).GetCallerIdentity(ctx, nil)
	if err != nil || *id.Arn != "arn:aws:iam::000000000000:user/lab-user" {
		t.Fatalf("the new key does not sign at once: %v", err)
	}
	list, err := client.ListAccessKeys(ctx, nil)
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys: %v %+v", err, list)
	}
	_, err = client.CreateAccessKey(ctx, nil)
	if code, msg := apiError(t, err); code != "LimitExceeded" || msg != "Cannot exceed quota for AccessKeysPerUser: 2" {
		t.Errorf("third key: %s %q", code, msg)
	}
	// Rotate: the new key deletes the old one, which stops working.
	if _, err := iamClient(url, fresh).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(u.AccessKeyID)}); err != nil {
		t.Fatal(err)
	}
	_, err = stsClient(url, old).GetCallerIdentity(ctx, nil, noRetry)
	if code, _ := apiError(t, err); code != "InvalidClientTokenId" {
		t.Errorf("deleted key: %v", err)
	}
	_, err = iamClient(url, fresh).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(u.AccessKeyID)})
	if code, _ := apiError(t, err); code != "NoSuchEntity" {
		t.Errorf("deleting twice: %v", err)
	}
	// A role session has no user to default to.
	out, err := assume(ctx, url, fresh, &sts.AssumeRoleInput{RoleArn: aws.String(l.Roles()[0]), RoleSessionName: aws.String("role")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = iamClient(url, sessionCreds((*ststypesCredentials)(out.Credentials))).ListAccessKeys(ctx, nil)
	if code, _ := apiError(t, err); code != "ValidationError" {
		t.Errorf("role session without UserName: %v", err)
	}
	if s := l.Summary(); s.IssuedBy[KindAccessKey] != 1 {
		t.Errorf("summary: %+v", s)
	}
}

func TestThrottle(t *testing.T) {
	l, url := start(t, Options{STSThrottle: 2})
	ctx := context.Background()
	c := stsClient(url, userCreds(l.Users()[0]))
	var ok, throttled int
	for i := 0; i < 10; i++ {
		_, err := c.GetCallerIdentity(ctx, nil, noRetry)
		switch code, msg := apiError(t, err); {
		case err == nil:
			ok++
		case code == "Throttling" && msg == "Rate exceeded":
			throttled++
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if ok < 2 || ok > 4 || throttled < 6 {
		t.Errorf("10 calls at once with a 2/s limit: %d served, %d throttled", ok, throttled)
	}
	time.Sleep(600 * time.Millisecond)
	if _, err := c.GetCallerIdentity(ctx, nil, noRetry); err != nil {
		t.Errorf("after a pause: %v", err)
	}
	// The SDK's standard retryer backs off and gets through.
	if _, err := c.GetCallerIdentity(ctx, nil); err != nil {
		t.Errorf("with retries: %v", err)
	}
	if l.Refusals()["Throttling"] < 6 {
		t.Errorf("refusals: %v", l.Refusals())
	}
}

func TestIMDSOutage(t *testing.T) {
	c := &clock{t: time.Now()}
	l, url := start(t, Options{Now: c.Now, TTL: time.Minute, IMDSOutages: []Outage{{Start: time.Minute, Duration: 30 * time.Second}, {Start: 2 * time.Minute, Duration: 30 * time.Second, Status: 503}}})
	ctx := context.Background()
	client := imds.New(imds.Options{Endpoint: url, Retryer: aws.NopRetryer{}})
	get := func() error {
		_, err := client.GetMetadata(ctx, &imds.GetMetadataInput{Path: "iam/security-credentials/" + l.InstanceRole()})
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}
	c.Add(70 * time.Second)
	err := get()
	if err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("in the connection outage: %v, want a dropped connection", err)
	}
	c.Add(30 * time.Second)
	if err := get(); err != nil {
		t.Errorf("between outages: %v", err)
	}
	c.Add(30 * time.Second)
	err = get()
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Errorf("in the 503 outage: %v", err)
	}
	c.Add(time.Minute)
	if err := get(); err != nil {
		t.Errorf("after: %v", err)
	}
	if l.Refusals()["IMDSOutage"] < 2 {
		t.Errorf("refusals %v", l.Refusals())
	}
}

func TestIMDSv1(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		l, url := start(t, Options{DisableIMDSv1: disabled})
		resp, err := http.Get(url + "/latest/meta-data/iam/security-credentials/" + l.InstanceRole())
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ AccessKeyId, Expiration string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if disabled && resp.StatusCode != 401 || !disabled && (resp.StatusCode != 200 || !strings.HasPrefix(body.AccessKeyId, "ASIA")) {
			t.Errorf("IMDSv1 disabled=%v: %d %+v", disabled, resp.StatusCode, body)
		}
	}
}

// The lab's metadata endpoints keep the endpoints' checks: a request
// naming another host (DNS rebinding) gets no credentials, IMDSv1 or not.
func TestMetadataRefusesForeignHost(t *testing.T) {
	l, url := start(t, Options{})
	for _, c := range []struct {
		path, header, value string
	}{
		{"/latest/meta-data/iam/security-credentials/" + l.InstanceRole(), "", ""},
		{l.ECSPath(), "Authorization", l.ECSToken()},
	} {
		for host, want := range map[string]int{"": 200, "evil.example.com": 403} {
			req, _ := http.NewRequest("GET", url+c.path, nil)
			if host != "" {
				req.Host = host
			}
			if c.header != "" {
				req.Header.Set(c.header, c.value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || (want != 200) == strings.Contains(string(b), "ASIA") {
				t.Errorf("%s with Host %q: %d %s, want %d", c.path, host, resp.StatusCode, b, want)
			}
		}
	}
}

func TestClockSkew(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		skew time.Duration
		ok   bool
	}{{10 * time.Minute, true}, {-14 * time.Minute, true}, {20 * time.Minute, false}, {-16 * time.Minute, false}} {
		l, url := start(t, Options{ClockSkew: c.skew})
		u := l.Users()[0]
		req, _ := http.NewRequest("POST", url+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		signer := v4.NewSigner()
		body := "Action=GetCallerIdentity&Version=2011-06-15"
		if err := signer.SignHTTP(ctx, userCreds(u), req, sha256Hex(body), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		xmlDecode(resp, &e)
		date, _ := http.ParseTime(resp.Header.Get("Date"))
		if d := date.Sub(time.Now().Add(c.skew)); d > 2*time.Second || d < -2*time.Second {
			t.Errorf("skew %s: Date header %s is not the lab's clock", c.skew, resp.Header.Get("Date"))
		}
		if c.ok && resp.StatusCode != 200 || !c.ok && (e.Error.Code != "SignatureDoesNotMatch" || !strings.HasPrefix(e.Error.Message, "Signature ")) {
			t.Errorf("skew %s: %d %+v", c.skew, resp.StatusCode, e)
		}
	}
}

func TestVerifyEndpoint(t *testing.T) {
	c := &clock{t: time.Now()}
	l, url := start(t, Options{Now: c.Now, TTL: time.Minute})
	ctx := context.Background()
	u := l.Users()[0]
	sess, err := stsClient(url, userCreds(u)).GetSessionToken(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	session := sessionCreds((*ststypesCredentials)(sess.Credentials))
	raw := func(cr aws.Credentials, service, region string) []byte {
		req, _ := http.NewRequest("PUT", "https://my-bucket.s3.eu-west-1.amazonaws.com/some/key.txt?x-id=PutObject", strings.NewReader("hello"))
		req.Header.Set("X-Amz-Content-Sha256", sha256Hex("hello"))
		if err := v4.NewSigner().SignHTTP(ctx, cr, req, sha256Hex("hello"), service, region, time.Now()); err != nil {
			t.Fatal(err)
		}
		b, err := httputil.DumpRequestOut(req, true)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	check := func(body []byte) VerifyResult {
		resp, err := http.Post(url+"/_lab/verify", "message/http", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r VerifyResult
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := check(raw(userCreds(u), "s3", "eu-west-1"))
	if !r.Valid || r.Service != "s3" || r.Region != "eu-west-1" || r.Principal != "arn:aws:iam::000000000000:user/lab-user" || !strings.HasPrefix(r.CanonicalRequest, "PUT\n/some/key.txt\nx-id=PutObject\n") {
		t.Errorf("a valid S3 request: %+v", r)
	}
	if r := check(raw(session, "execute-api", "ap-south-1")); !r.Valid {
		t.Errorf("a session's request: %+v", r)
	}
	bad := userCreds(u)
	bad.SecretAccessKey = "wrong"
	r = check(raw(bad, "s3", "eu-west-1"))
	if r.Valid || len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], "SignatureDoesNotMatch: ") || r.CanonicalRequest == "" || r.StringToSign == "" {
		t.Errorf("wrong secret: %+v", r)
	}
	r = check(raw(aws.Credentials{AccessKeyID: "AKIANOTKNOWN00000000", SecretAccessKey: "x"}, "s3", "eu-west-1"))
	if r.Valid || !strings.HasPrefix(r.Reasons[0], "InvalidClientTokenId: ") {
		t.Errorf("unknown key: %+v", r)
	}
	tampered := bytes.Replace(raw(userCreds(u), "s3", "eu-west-1"), []byte("some/key.txt"), []byte("some/other.txt"), 1)
	if r := check(tampered); r.Valid || !strings.Contains(r.CanonicalRequest, "/some/other.txt") {
		t.Errorf("tampered path: %+v", r)
	}
	signedNow := raw(session, "s3", "eu-west-1")
	c.Add(2 * time.Minute)
	r = check(signedNow)
	if r.Valid || len(r.Reasons) != 1 || !strings.HasPrefix(r.Reasons[0], "ExpiredToken: ") {
		t.Errorf("expired session: %+v", r)
	}
	c.Add(20 * time.Minute)
	if r := check(raw(userCreds(u), "s3", "eu-west-1")); r.Valid || !strings.Contains(r.Reasons[0], "too far from the server's clock") {
		t.Errorf("skewed: %+v", r)
	}
	resp, _ := http.Post(url+"/_lab/verify", "message/http", strings.NewReader("not http"))
	if resp.StatusCode != 400 {
		t.Errorf("garbage: %d", resp.StatusCode)
	}
}

// The built-in seed survives a round trip through its JSON form.
func TestDefaultSeedRoundTrip(t *testing.T) {
	b, err := json.Marshal(DefaultSeed())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSeed("default.json", b); err != nil {
		t.Errorf("default seed round trip: %v\n%s", err, b)
	}
}

func TestSummary(t *testing.T) {
	l, url := start(t, Options{})
	ctx := context.Background()
	u := userCreds(l.Users()[0])
	stsClient(url, u).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(l.Roles()[0]), RoleSessionName: aws.String("s1")})
	bad := u
	bad.SecretAccessKey = "x"
	stsClient(url, bad).GetCallerIdentity(ctx, nil, noRetry)
	s := l.Summary()
	if s.Served != 1 || s.Refused != 1 || s.RefusedBy["SignatureDoesNotMatch"] != 1 || s.IssuedBy[KindAssumeRole] != 1 {
		t.Errorf("%+v", s)
	}
	if got := s.String(); !strings.HasPrefix(got, "lab: 1 requests served, 1 refused (SignatureDoesNotMatch 1); 1 credentials issued (AssumeRole 1)") {
		t.Errorf("text: %s", got)
	}
}
