package lab

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func oidcClient(u string) *ssooidc.Client {
	return ssooidc.New(ssooidc.Options{Region: Region, BaseEndpoint: aws.String(u), RetryMaxAttempts: 1})
}

func portalClient(u string) *sso.Client {
	return sso.New(sso.Options{Region: Region, BaseEndpoint: aws.String(u), RetryMaxAttempts: 1})
}

// errorType is the X-Amzn-ErrorType header of an SDK error's response.
func errorType(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amzn-ErrorType")
	}
	return ""
}

// authorize follows /authorize as a browser would, up to the redirect to
// the loopback URI, and returns that redirect's query.
func authorize(t *testing.T, base, clientID, redirect, state, challenge string) url.Values {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {state},
		"code_challenge_method": {"S256"}, "code_challenge": {challenge}, "scopes": {"sso:account:access"}}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(base + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/authorize: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("/authorize redirected to %q, want %s", loc, redirect)
	}
	return loc.Query()
}

func TestSSOAuthCodeFlowWithSDK(t *testing.T) {
	l, base := start(t, Options{TTL: time.Minute})
	ctx := context.Background()
	oc := oidcClient(base)
	reg, err := oc.RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("test"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl: aws.String(SSOStartURL), Scopes: []string{"sso:account:access"},
	})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 64)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:4711/oauth/callback"
	q := authorize(t, base, *reg.ClientId, redirect, "st4te", b64.EncodeToString(sum[:]))
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	// A wrong verifier is refused with the OAuth error, and spends nothing.
	_, err = oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("authorization_code"),
		Code: aws.String(q.Get("code")), RedirectUri: aws.String(redirect), CodeVerifier: aws.String(strings.Repeat("w", 64))})
	var ig *ssotypes.InvalidGrantException
	if !errors.As(err, &ig) || errorType(err) != "InvalidGrantException" {
		t.Fatalf("wrong verifier: %v (X-Amzn-ErrorType %q)", err, errorType(err))
	}
	tok, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("authorization_code"),
		Code: aws.String(q.Get("code")), RedirectUri: aws.String(redirect), CodeVerifier: aws.String(verifier)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(tok.RefreshToken) == "" || tok.ExpiresIn != 3600 {
		t.Fatalf("token answer: refresh %v, expiresIn %d", tok.RefreshToken != nil, tok.ExpiresIn)
	}
	// The code is spent.
	if _, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("authorization_code"),
		Code: aws.String(q.Get("code")), RedirectUri: aws.String(redirect), CodeVerifier: aws.String(verifier)}); apiCode(err) != "InvalidGrantException" {
		t.Fatalf("second use of a code: %v", err)
	}

	pc := portalClient(base)
	var roles []string
	p := sso.NewListAccountRolesPaginator(pc, &sso.ListAccountRolesInput{AccessToken: tok.AccessToken, AccountId: aws.String(DefaultAccount), MaxResults: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.RoleList {
			roles = append(roles, *r.RoleName)
		}
	}
	if pages != 4 || strings.Join(roles, ",") != "lab-mfa-role,lab-partner-role,lab-role,lab-web-role" {
		t.Fatalf("%d pages of roles %v", pages, roles)
	}
	accs, err := pc.ListAccounts(ctx, &sso.ListAccountsInput{AccessToken: tok.AccessToken})
	if err != nil || len(accs.AccountList) != 1 || *accs.AccountList[0].AccountId != DefaultAccount {
		t.Fatalf("ListAccounts: %v %v", accs, err)
	}
	rc, err := pc.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String(DefaultAccount), RoleName: aws.String(DefaultRole)})
	if err != nil {
		t.Fatal(err)
	}
	c := rc.RoleCredentials
	id, err := stsClient(base, aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}).GetCallerIdentity(ctx, nil)
	if err != nil || *id.Arn != "arn:aws:sts::000000000000:assumed-role/lab-role/lab-user" {
		t.Fatalf("STS with portal credentials: %v %v", id, err)
	}
	if _, err := pc.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken, AccountId: aws.String("111122223333"), RoleName: aws.String(DefaultRole)}); apiCode(err) != "ForbiddenException" {
		t.Fatalf("a role without a permission set: %v", err)
	}
	// Refresh, then log out: the token is gone, the refresh token too.
	ref, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Logout(ctx, &sso.LogoutInput{AccessToken: ref.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.ListAccounts(ctx, &sso.ListAccountsInput{AccessToken: ref.AccessToken}); apiCode(err) != "UnauthorizedException" {
		t.Fatalf("after Logout: %v", err)
	}
	if _, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken}); apiCode(err) != "InvalidGrantException" {
		t.Fatalf("refresh after Logout: %v", err)
	}
	calls := l.SSOCalls()
	if calls["RegisterClient"] != 1 || calls["Authorize"] != 1 || calls["CreateToken:authorization_code"] != 1 || calls["CreateToken:refresh_token"] != 1 || calls["Logout"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestSSOAuthorizeRefusesBadRequests(t *testing.T) {
	_, base := start(t, Options{})
	ctx := context.Background()
	reg, err := oidcClient(base).RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("test"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"}, IssuerUrl: aws.String(SSOStartURL),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oidcClient(base).RegisterClient(ctx, &ssooidc.RegisterClientInput{
		ClientName: aws.String("test"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code"}, RedirectUris: []string{"https://evil.example/oauth/callback"}, IssuerUrl: aws.String(SSOStartURL),
	}); apiCode(err) != "InvalidRedirectUriException" {
		t.Fatalf("a non-loopback redirect URI was registered: %v", err)
	}
	for name, q := range map[string]url.Values{
		"other path":   {"redirect_uri": {"http://127.0.0.1:5/callback"}},
		"not loopback": {"redirect_uri": {"http://10.0.0.1:5/oauth/callback"}},
		"bad client":   {"client_id": {"nope"}},
	} {
		v := url.Values{"response_type": {"code"}, "client_id": {*reg.ClientId}, "redirect_uri": {"http://127.0.0.1:5/oauth/callback"}, "state": {"s"},
			"code_challenge_method": {"S256"}, "code_challenge": {strings.Repeat("a", 43)}}
		for k, x := range q {
			v[k] = x
		}
		resp, err := http.Get(base + "/authorize?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %s, want 400", name, resp.Status)
		}
	}
	// Without PKCE the error goes back to the client, with the state.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	v := url.Values{"response_type": {"code"}, "client_id": {*reg.ClientId}, "redirect_uri": {"http://127.0.0.1:5/oauth/callback"}, "state": {"s"}}
	resp, err := hc.Get(base + "/authorize?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "s" || loc.Query().Get("code") != "" {
		t.Fatalf("no PKCE: %s %s", resp.Status, loc)
	}
}

func TestSSODeviceFlowFaults(t *testing.T) {
	clk := &clock{t: time.Now()}
	_, base := start(t, Options{Now: clk.Now, SSO: SSOOptions{SlowDown: 1, AuthorizationPending: 2, DeviceCodeTTL: time.Minute}})
	ctx := context.Background()
	oc := oidcClient(base)
	reg, err := oc.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("dev"), ClientType: aws.String("public")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String("http://plain.example")}); apiCode(err) != "InvalidRequestException" {
		t.Fatalf("http start URL: %v", err)
	}
	da, err := oc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(SSOStartURL)})
	if err != nil {
		t.Fatal(err)
	}
	if da.ExpiresIn != 60 || da.Interval != 1 || !strings.Contains(*da.VerificationUriComplete, *da.UserCode) {
		t.Fatalf("device authorization %+v", da)
	}
	grant := func() error {
		_, err := oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: da.DeviceCode})
		return err
	}
	var got []string
	for range 3 {
		got = append(got, apiCode(grant()))
	}
	if strings.Join(got, ",") != "SlowDownException,AuthorizationPendingException,AuthorizationPendingException" {
		t.Fatalf("fault sequence %v", got)
	}
	if err := grant(); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	// An expired device code.
	da2, err := oc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(SSOStartURL)})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(61 * time.Second)
	_, err = oc.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: da2.DeviceCode})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ExpiredTokenException" || errorType(err) != "ExpiredTokenException" {
		t.Fatalf("expired device code: %v", err)
	}
}

func TestSSOManualApproveAndRefreshFault(t *testing.T) {
	l, base := start(t, Options{SSO: SSOOptions{ManualApprove: true, RefreshInvalidGrant: 1}})
	ctx := context.Background()
	oc := oidcClient(base)
	reg, err := oc.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("dev"), ClientType: aws.String("public"), Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatal(err)
	}
	da, err := oc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(SSOStartURL)})
	if err != nil {
		t.Fatal(err)
	}
	in := &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: da.DeviceCode}
	if _, err := oc.CreateToken(ctx, in); apiCode(err) != "AuthorizationPendingException" {
		t.Fatalf("before approval: %v", err)
	}
	resp, err := http.Post(base+"/_lab/sso/approve", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("approve: %v %v", resp, err)
	}
	tok, err := oc.CreateToken(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ref := &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, GrantType: aws.String("refresh_token"), RefreshToken: tok.RefreshToken}
	if _, err := oc.CreateToken(ctx, ref); apiCode(err) != "InvalidGrantException" {
		t.Fatalf("refresh fault: %v", err)
	}
	if _, err := oc.CreateToken(ctx, ref); err != nil {
		t.Fatalf("refresh after the fault: %v", err)
	}
	if n := l.SSOCalls()["CreateToken:refresh_token"]; n != 1 {
		t.Fatalf("%d refreshes counted", n)
	}
}

func TestSSOSeed(t *testing.T) {
	s, err := ParseSeed("seed.yaml", []byte(`
roles:
  - name: dev
    trust_policy: {Statement: {Effect: Allow, Action: sts:AssumeRole, Principal: {AWS: "arn:aws:iam::000000000000:root"}}}
sso:
  accounts: [{id: "111122223333", name: prod}]
  permission_sets:
    - {user: alice, role: dev}
    - {user: alice, account_id: "111122223333", role: ReadOnly}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.SSO.User != "alice" || len(s.SSO.PermissionSets) != 2 || s.SSO.PermissionSets[0].AccountID != DefaultAccount {
		t.Fatalf("%+v", s.SSO)
	}
	_, err = ParseSeed("seed.yaml", []byte("sso:\n  permission_sets:\n    - {user: alice, role: nope}\n"))
	if err == nil || err.Error() != `seed.yaml:3: $.sso.permission_sets[0].role: role "nope" is not among $.roles (a permission set in the seed's own account names a seeded role)` {
		t.Fatalf("%v", err)
	}
}
