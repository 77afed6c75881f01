package awssdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/lab"
)

// startLab runs a lab in this process and returns it, its URL and the
// keys of its first user.
func startLab(t *testing.T) (*lab.Lab, string, creds.Credentials) {
	t.Helper()
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	u := l.Users()[0]
	return l, srv.URL, creds.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey, Source: "lab user"}
}

func stsClient(url string, p aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: p})
}

// callerARN calls STS GetCallerIdentity with client.
func callerARN(t *testing.T, client *sts.Client) string {
	t.Helper()
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(out.Arn)
}

// isolateSDKConfig keeps LoadDefaultConfig away from this machine's AWS
// files and environment.
func isolateSDKConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_REGION"} {
		t.Setenv(k, "")
	}
}

// An SDK client signs with credkit's credentials, as a client's
// Credentials and through config.WithCredentialsProvider; the lab's STS
// checks every signature.
func TestToSDKSignsRealCalls(t *testing.T) {
	l, url, user := startLab(t)
	want := "arn:aws:iam::" + l.AccountID() + ":user/" + l.Users()[0].Name

	if got := callerARN(t, stsClient(url, awssdk.ToSDK(creds.Static{Creds: user}))); got != want {
		t.Errorf("client Credentials: caller %s, want %s", got, want)
	}

	isolateSDKConfig(t)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(awssdk.ToSDK(creds.Static{Creds: user})))
	if err != nil {
		t.Fatal(err)
	}
	if got := callerARN(t, sts.NewFromConfig(cfg)); got != want {
		t.Errorf("config.WithCredentialsProvider: caller %s, want %s", got, want)
	}

	// A wrong secret is refused by the lab: the adapter really signs
	// with what the provider answered.
	bad := user
	bad.SecretAccessKey += "x"
	_, err = stsClient(url, awssdk.ToSDK(creds.Static{Creds: bad})).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: %v", err)
	}

	// A provider's error reaches the SDK's caller, wrapped.
	sentinel := errors.New("vault locked")
	_, err = stsClient(url, awssdk.ToSDK(creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		return creds.Credentials{}, sentinel
	}))).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "credkit credentials: vault locked") {
		t.Errorf("provider error: %v", err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// When credkit's refresh-ahead Cache gets new credentials, the SDK client
// signs its next call with them: the adapter asks on every use.
func TestSDKClientFollowsCacheRefresh(t *testing.T) {
	l, url, user := startLab(t)
	clk := &clock{t: time.Now()}
	userClient := stsClient(url, awssdk.ToSDK(creds.Static{Creds: user}))
	var calls atomic.Int32
	upstream := creds.ProviderFunc(func(ctx context.Context) (creds.Credentials, error) {
		n := calls.Add(1)
		out, err := userClient.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(l.Roles()[0]), RoleSessionName: aws.String(fmt.Sprintf("s%d", n))})
		if err != nil {
			return creds.Credentials{}, err
		}
		return creds.Credentials{
			AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
			SessionToken: aws.ToString(out.Credentials.SessionToken),
			Expires:      clk.Now().Add(time.Hour), // by the cache's clock
			Source:       "lab role",
		}, nil
	})
	cache := creds.NewCache(upstream, creds.CacheOptions{Now: clk.Now, Jitter: func() float64 { return 0 }})
	client := stsClient(url, awssdk.ToSDK(cache))

	for i := 0; i < 2; i++ {
		if got := callerARN(t, client); !strings.HasSuffix(got, "/s1") || calls.Load() != 1 {
			t.Fatalf("call %d: caller %s after %d upstream calls, want session s1 from one call", i, got, calls.Load())
		}
	}
	clk.Add(2 * time.Hour) // the first session has expired by the cache's clock
	if got := callerARN(t, client); !strings.HasSuffix(got, "/s2") || calls.Load() != 2 {
		t.Fatalf("after expiry: caller %s after %d upstream calls, want session s2", got, calls.Load())
	}
}

// config.WithCredentialsProvider wraps the adapter in aws.CredentialsCache,
// which keeps credentials that do not expire for good: a key replaced in
// credkit reaches a client only when cfg.Credentials is the adapter
// itself, as the package documentation says.
func TestSDKCacheKeepsKeysThatDoNotExpire(t *testing.T) {
	l, url, user := startLab(t)
	out, err := stsClient(url, awssdk.ToSDK(creds.Static{Creds: user})).AssumeRole(context.Background(),
		&sts.AssumeRoleInput{RoleArn: aws.String(l.Roles()[0]), RoleSessionName: aws.String("replacement")})
	if err != nil {
		t.Fatal(err)
	}
	replacement := creds.Credentials{ // no expiry, as a rotated long-term key
		AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(out.Credentials.SessionToken),
	}
	var mu sync.Mutex
	current := user
	p := awssdk.ToSDK(creds.ProviderFunc(func(context.Context) (creds.Credentials, error) {
		mu.Lock()
		defer mu.Unlock()
		return current, nil
	}))

	isolateSDKConfig(t)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"), config.WithBaseEndpoint(url), config.WithCredentialsProvider(p))
	if err != nil {
		t.Fatal(err)
	}
	wrapped := sts.NewFromConfig(cfg)
	direct := cfg.Copy()
	direct.Credentials = p
	unwrapped := sts.NewFromConfig(direct)
	for _, c := range []*sts.Client{wrapped, unwrapped} {
		if got := callerARN(t, c); !strings.HasSuffix(got, ":user/"+l.Users()[0].Name) {
			t.Fatalf("before the change: caller %s", got)
		}
	}
	mu.Lock()
	current = replacement
	mu.Unlock()
	if got := callerARN(t, unwrapped); !strings.HasSuffix(got, "/replacement") {
		t.Errorf("cfg.Credentials = ToSDK(p): caller %s, want the replacement", got)
	}
	if got := callerARN(t, wrapped); !strings.HasSuffix(got, ":user/"+l.Users()[0].Name) {
		t.Errorf("through aws.CredentialsCache: caller %s; the SDK no longer keeps keys without expiry: update the package documentation", got)
	}
}

// FromSDK hands an SDK provider (stscreds against the lab) to credkit, and
// ToSDK hands it back: the session signs a real call.
func TestFromSDK(t *testing.T) {
	l, url, user := startLab(t)
	sdkProvider := stscreds.NewAssumeRoleProvider(stsClient(url, awssdk.ToSDK(creds.Static{Creds: user})), l.Roles()[0],
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "from-sdk" })
	p := awssdk.FromSDK(sdkProvider)
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionToken == "" || !c.CanExpire() || c.TimeLeft(time.Now()) <= 0 || !strings.HasPrefix(c.Source, "aws-sdk-go-v2: ") {
		t.Errorf("FromSDK: %v (source %q)", c, c.Source)
	}
	if got := callerARN(t, stsClient(url, awssdk.ToSDK(p))); !strings.HasSuffix(got, ":assumed-role/"+path.Base(l.Roles()[0])+"/from-sdk") {
		t.Errorf("caller %s, want the role session from-sdk", got)
	}

	// A round trip unwraps instead of stacking adapters.
	static := creds.Static{Creds: user}
	if back := awssdk.FromSDK(awssdk.ToSDK(static)); back != creds.Provider(static) {
		t.Errorf("FromSDK(ToSDK(p)) = %T, want p itself", back)
	}
}

func TestConversions(t *testing.T) {
	exp := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	kit := creds.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token", Expires: exp, Source: "vault (file backend)", AccountID: "123456789012"}
	sdk := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token", CanExpire: true, Expires: exp, Source: "credkit: vault (file backend)", AccountID: "123456789012"}
	if got := awssdk.ToSDKCredentials(kit); got != sdk {
		t.Errorf("ToSDKCredentials:\n got %+v\nwant %+v", got, sdk)
	}
	if got := awssdk.FromSDKCredentials(sdk); got != kit {
		t.Errorf("FromSDKCredentials of credkit's own: %+v, want %+v", got, kit)
	}

	long := creds.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}
	if got := awssdk.ToSDKCredentials(long); got.CanExpire || !got.Expires.IsZero() || got.Source != "credkit" {
		t.Errorf("keys without expiry: %+v", got)
	}
	// The SDK's Expires means nothing without CanExpire.
	fromSDK := awssdk.FromSDKCredentials(aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "s", Expires: exp, Source: "EnvConfigCredentials"})
	if fromSDK.CanExpire() || fromSDK.Source != "aws-sdk-go-v2: EnvConfigCredentials" {
		t.Errorf("FromSDKCredentials: expires %v, source %q", fromSDK.Expires, fromSDK.Source)
	}
	if got := awssdk.FromSDKCredentials(aws.Credentials{AccessKeyID: "A", Source: "credkit"}).Source; got != "" {
		t.Errorf("source of credkit credentials without a source: %q", got)
	}
}
