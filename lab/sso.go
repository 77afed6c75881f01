package lab

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The lab plays IAM Identity Center: the SSO-OIDC API (RegisterClient,
// StartDeviceAuthorization, CreateToken with the device code,
// authorization code with PKCE and refresh token grants), its /authorize
// page, and the portal API (GetRoleCredentials, ListAccounts,
// ListAccountRoles, Logout), on the lab's one address, as aws-sdk-go-v2's
// ssooidc and sso clients and botocore speak them (REST-JSON; errors with
// X-Amzn-ErrorType and the OAuth error body). Role credentials from the
// portal are lab sessions: STS and IAM accept them.

// SSOStartURL is the start URL of the written sso-session. It is not
// fetched (clients send it as an identifier), so it need not resolve.
const SSOStartURL = "https://lab.awsapps.invalid/start"

// SSOSession is the name of the written [sso-session].
const SSOSession = "lab"

// KindSSO counts the credentials the portal issued.
const KindSSO = "GetRoleCredentials"

// SSOOptions are the Identity Center faults and timings.
type SSOOptions struct {
	// ManualApprove makes /authorize wait, and device codes stay
	// pending, until POST /_lab/sso/approve.
	ManualApprove bool
	// AuthorizationPending answers the first N device code grants with
	// authorization_pending, approved or not.
	AuthorizationPending int
	// SlowDown answers the first N device code grants with slow_down.
	SlowDown int
	// DeviceCodeTTL is the lifetime of device codes and authorization
	// codes; 0 means 10 minutes. A short one makes expired_token.
	DeviceCodeTTL time.Duration
	// RefreshInvalidGrant refuses the first N refresh token grants with
	// invalid_grant.
	RefreshInvalidGrant int
	// TokenTTL is the lifetime of access tokens; 0 means 1 hour.
	TokenTTL time.Duration
	// ClientTTL is the lifetime of client registrations; 0 means 90 days.
	ClientTTL time.Duration
}

type ssoClient struct {
	id, secret   string
	name         string
	grants       []string
	redirectURIs []string
	scopes       []string
	expires      time.Time
}

type ssoGrant struct { // a device code or an authorization code
	client    string
	expires   time.Time
	approved  bool
	userCode  string
	challenge string // PKCE
	redirect  string
	scopes    []string
	used      bool
}

type ssoToken struct {
	user    string
	client  string
	scopes  []string
	expires time.Time
	refresh string
}

// ssoState is the Identity Center's memory.
type ssoState struct {
	mu       sync.Mutex
	clients  map[string]*ssoClient
	devices  map[string]*ssoGrant // by device code
	codes    map[string]*ssoGrant // by authorization code
	tokens   map[string]*ssoToken // by access token
	refresh  map[string]*ssoToken // by refresh token
	approved chan struct{}        // closed by /_lab/sso/approve, then replaced
	pending  int                  // authorization_pending faults answered
	slowed   int
	refused  int // invalid_grant faults answered
	calls    map[string]int64
}

func (s *ssoState) init() {
	if s.clients == nil {
		s.clients, s.devices, s.codes = map[string]*ssoClient{}, map[string]*ssoGrant{}, map[string]*ssoGrant{}
		s.tokens, s.refresh, s.calls = map[string]*ssoToken{}, map[string]*ssoToken{}, map[string]int64{}
		s.approved = make(chan struct{})
	}
}

// SSOCalls counts the Identity Center calls the lab answered with
// success, by operation ("RegisterClient", "StartDeviceAuthorization",
// "Authorize", "CreateToken:authorization_code",
// "CreateToken:refresh_token", "CreateToken:device_code",
// "GetRoleCredentials", "ListAccounts", "ListAccountRoles", "Logout").
func (l *Lab) SSOCalls() map[string]int64 {
	l.sso.mu.Lock()
	defer l.sso.mu.Unlock()
	l.sso.init()
	out := map[string]int64{}
	for k, v := range l.sso.calls {
		out[k] = v
	}
	return out
}

// ApproveSSO approves every pending device code and lets every waiting
// /authorize page go on (what POST /_lab/sso/approve does).
func (l *Lab) ApproveSSO() {
	l.sso.mu.Lock()
	defer l.sso.mu.Unlock()
	l.sso.init()
	for _, d := range l.sso.devices {
		d.approved = true
	}
	close(l.sso.approved)
	l.sso.approved = make(chan struct{})
}

func (l *Lab) routeSSO(mux *http.ServeMux) {
	mux.HandleFunc("POST /client/register", l.ssoRegister)
	mux.HandleFunc("POST /device_authorization", l.ssoDeviceAuthorization)
	mux.HandleFunc("POST /token", l.ssoCreateToken)
	mux.HandleFunc("GET /authorize", l.ssoAuthorize)
	mux.HandleFunc("GET /_lab/sso/device", l.ssoDevicePage)
	mux.HandleFunc("POST /_lab/sso/approve", func(w http.ResponseWriter, _ *http.Request) {
		l.ApproveSSO()
		writeJSON(w, http.StatusOK, map[string]bool{"approved": true})
	})
	mux.HandleFunc("GET /federation/credentials", l.ssoGetRoleCredentials)
	mux.HandleFunc("GET /assignment/accounts", l.ssoListAccounts)
	mux.HandleFunc("GET /assignment/roles", l.ssoListAccountRoles)
	mux.HandleFunc("POST /logout", l.ssoLogout)
}

// oidcError answers an SSO-OIDC error: the exception's name in
// X-Amzn-ErrorType and the OAuth error body.
func (l *Lab) oidcError(w http.ResponseWriter, status int, typ, oauth, desc string) {
	l.count(typ)
	l.logf("lab: refused: sso-oidc %s: %s", typ, desc)
	w.Header().Set("X-Amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"error": oauth, "error_description": desc})
}

// portalError answers an SSO portal error.
func (l *Lab) portalError(w http.ResponseWriter, status int, typ, msg string) {
	l.count(typ)
	l.logf("lab: refused: sso %s: %s", typ, msg)
	w.Header().Set("X-Amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"message": msg})
}

func (l *Lab) ssoOpts() SSOOptions {
	o := l.opts.SSO
	if o.DeviceCodeTTL == 0 {
		o.DeviceCodeTTL = 10 * time.Minute
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = time.Hour
	}
	if o.ClientTTL == 0 {
		o.ClientTTL = 90 * 24 * time.Hour
	}
	return o
}

func ssoRandom(prefix string, n int) string {
	b := make([]byte, n)
	randRead(b)
	return prefix + b64.EncodeToString(b)
}

func readJSONBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	return dec.Decode(v)
}

func (l *Lab) ssoRegister(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientName   string   `json:"clientName"`
		ClientType   string   `json:"clientType"`
		Scopes       []string `json:"scopes"`
		GrantTypes   []string `json:"grantTypes"`
		RedirectURIs []string `json:"redirectUris"`
		IssuerURL    string   `json:"issuerUrl"`
	}
	if err := readJSONBody(r, &in); err != nil {
		l.oidcError(w, 400, "InvalidRequestException", "invalid_request", "the body is not JSON: "+err.Error())
		return
	}
	if in.ClientName == "" || in.ClientType != "public" {
		l.oidcError(w, 400, "InvalidClientMetadataException", "invalid_client_metadata", "clientName is required and clientType must be public")
		return
	}
	for _, g := range in.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			l.oidcError(w, 400, "InvalidClientMetadataException", "invalid_client_metadata", "grantTypes may hold authorization_code and refresh_token only, not "+g)
			return
		}
	}
	if slices.Contains(in.GrantTypes, "authorization_code") {
		if len(in.RedirectURIs) == 0 || in.IssuerURL == "" {
			l.oidcError(w, 400, "InvalidRequestException", "invalid_request", "the authorization_code grant needs redirectUris and issuerUrl")
			return
		}
		for _, u := range in.RedirectURIs {
			if err := loopbackRedirect(u); err != nil {
				l.oidcError(w, 400, "InvalidRedirectUriException", "invalid_redirect_uri", err.Error())
				return
			}
		}
	}
	now := l.now()
	c := &ssoClient{id: ssoRandom("labclient-", 12), secret: ssoRandom("labsecret-", 32), name: in.ClientName,
		grants: in.GrantTypes, redirectURIs: in.RedirectURIs, scopes: in.Scopes, expires: now.Add(l.ssoOpts().ClientTTL).Truncate(time.Second)}
	l.sso.mu.Lock()
	l.sso.init()
	l.sso.clients[c.id] = c
	l.sso.calls["RegisterClient"]++
	l.sso.mu.Unlock()
	l.Served.Add(1)
	base := "http://" + r.Host
	writeJSON(w, 200, map[string]any{
		"clientId": c.id, "clientSecret": c.secret, "clientIdIssuedAt": now.Unix(), "clientSecretExpiresAt": c.expires.Unix(),
		"authorizationEndpoint": base + "/authorize", "tokenEndpoint": base + "/token",
	})
}

// loopbackRedirect checks a redirect URI as Identity Center does for
// public clients: http, a loopback address, path /oauth/callback.
func loopbackRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("redirect URI %q is not a URL", raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme != "http" || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("redirect URI %q is not an http:// loopback address", raw)
	}
	if u.Path != "/oauth/callback" {
		return fmt.Errorf("redirect URI %q: the path must be /oauth/callback", raw)
	}
	return nil
}

// client finds a registered client by id and secret.
func (l *Lab) ssoClientOf(id, secret string) (*ssoClient, string) {
	l.sso.mu.Lock()
	defer l.sso.mu.Unlock()
	l.sso.init()
	c := l.sso.clients[id]
	switch {
	case c == nil || (secret != "" && c.secret != secret):
		return nil, "InvalidClientException"
	case !l.now().Before(c.expires):
		return nil, "InvalidClientException:expired"
	}
	return c, ""
}

func (l *Lab) refuseClient(w http.ResponseWriter, why string) {
	if why == "InvalidClientException:expired" {
		l.oidcError(w, 401, "InvalidClientException", "invalid_client", "the client registration has expired")
		return
	}
	l.oidcError(w, 401, "InvalidClientException", "invalid_client", "unknown client or wrong client secret")
}

// clientAuth are the client fields of a request body.
type clientAuth struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// clientRequest reads a request body into in (holding auth) and finds
// its client; nil when the request was refused.
func (l *Lab) clientRequest(w http.ResponseWriter, r *http.Request, in any, auth *clientAuth) *ssoClient {
	if err := readJSONBody(r, in); err != nil {
		l.oidcError(w, 400, "InvalidRequestException", "invalid_request", "the body is not JSON")
		return nil
	}
	c, why := l.ssoClientOf(auth.ClientID, auth.ClientSecret)
	if c == nil {
		l.refuseClient(w, why)
	}
	return c
}

func (l *Lab) ssoDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		clientAuth
		StartURL string `json:"startUrl"`
	}
	c := l.clientRequest(w, r, &in, &in.clientAuth)
	if c == nil {
		return
	}
	if !strings.HasPrefix(in.StartURL, "https://") {
		l.oidcError(w, 400, "InvalidRequestException", "invalid_request", "startUrl must be an https:// URL")
		return
	}
	o := l.ssoOpts()
	code := ssoRandom("labdevice-", 24)
	uc := make([]byte, 8)
	randRead(uc)
	const letters = "BCDFGHJKLMNPQRSTVWXZ"
	var ub strings.Builder
	for i, b := range uc {
		if i == 4 {
			ub.WriteByte('-')
		}
		ub.WriteByte(letters[int(b)%len(letters)])
	}
	g := &ssoGrant{client: c.id, expires: l.now().Add(o.DeviceCodeTTL), approved: !o.ManualApprove, userCode: ub.String()}
	l.sso.mu.Lock()
	l.sso.devices[code] = g
	l.sso.calls["StartDeviceAuthorization"]++
	l.sso.mu.Unlock()
	l.Served.Add(1)
	verify := "http://" + r.Host + "/_lab/sso/device"
	writeJSON(w, 200, map[string]any{
		"deviceCode": code, "userCode": g.userCode, "verificationUri": verify,
		"verificationUriComplete": verify + "?user_code=" + g.userCode,
		"expiresIn":               int(o.DeviceCodeTTL / time.Second), "interval": 1,
	})
}

// ssoDevicePage is the verification page of the device flow.
func (l *Lab) ssoDevicePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>credkit lab: device sign-in</title><p>Code %s. Approve with POST /_lab/sso/approve.</p>", html.EscapeString(r.URL.Query().Get("user_code")))
}

// ssoAuthorize is the /authorize page of the authorization code flow.
func (l *Lab) ssoAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bad := func(msg string) {
		l.count("InvalidAuthorizeRequest")
		l.logf("lab: refused: sso /authorize: %s", msg)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(400)
		fmt.Fprintln(w, msg)
	}
	c, _ := l.ssoClientOf(q.Get("client_id"), "")
	if c == nil {
		bad("unknown or expired client_id")
		return
	}
	redirect := q.Get("redirect_uri")
	if err := loopbackRedirect(redirect); err != nil {
		bad(err.Error())
		return
	}
	registered := false
	for _, ru := range c.redirectURIs { // the port of a loopback URI may differ (RFC 8252)
		a, _ := url.Parse(ru)
		b, _ := url.Parse(redirect)
		registered = registered || (a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && a.Path == b.Path)
	}
	if !registered {
		bad("redirect_uri is not one the client registered")
		return
	}
	back := func(v url.Values) {
		u, _ := url.Parse(redirect)
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		l.count("unsupported_response_type")
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"response_type must be code"}})
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		l.count("invalid_request")
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE is required: code_challenge_method S256 and a 43-character code_challenge"}})
		return
	case q.Get("state") == "":
		l.count("invalid_request")
		back(url.Values{"error": {"invalid_request"}, "error_description": {"state is required"}})
		return
	}
	if l.ssoOpts().ManualApprove {
		l.sso.mu.Lock()
		ch := l.sso.approved
		l.sso.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
	}
	code := ssoRandom("labcode-", 24)
	scopes := strings.Fields(strings.ReplaceAll(q.Get("scopes"), ",", " "))
	l.sso.mu.Lock()
	l.sso.codes[code] = &ssoGrant{client: c.id, expires: l.now().Add(l.ssoOpts().DeviceCodeTTL), approved: true, challenge: q.Get("code_challenge"), redirect: redirect, scopes: scopes}
	l.sso.calls["Authorize"]++
	l.sso.mu.Unlock()
	back(url.Values{"code": {code}})
}

func (l *Lab) ssoCreateToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		clientAuth
		GrantType    string `json:"grantType"`
		DeviceCode   string `json:"deviceCode"`
		Code         string `json:"code"`
		RefreshToken string `json:"refreshToken"`
		RedirectURI  string `json:"redirectUri"`
		CodeVerifier string `json:"codeVerifier"`
	}
	c := l.clientRequest(w, r, &in, &in.clientAuth)
	if c == nil {
		return
	}
	o := l.ssoOpts()
	now := l.now()
	user := l.ssoSeedOf().User
	var scopes []string
	grant := in.GrantType
	l.sso.mu.Lock()
	var reuse *ssoToken
	switch in.GrantType {
	case "urn:ietf:params:oauth:grant-type:device_code":
		grant = "device_code"
		g := l.sso.devices[in.DeviceCode]
		switch {
		case g == nil || g.client != c.id || g.used:
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "unknown or used device code")
			return
		case !now.Before(g.expires):
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "ExpiredTokenException", "expired_token", "the device code has expired")
			return
		case l.sso.slowed < o.SlowDown:
			l.sso.slowed++
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "SlowDownException", "slow_down", "polling too fast")
			return
		case !g.approved || l.sso.pending < o.AuthorizationPending:
			if g.approved {
				l.sso.pending++
			}
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "AuthorizationPendingException", "authorization_pending", "the user has not approved yet")
			return
		}
		g.used = true
		scopes = c.scopes
	case "authorization_code":
		g := l.sso.codes[in.Code]
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		switch {
		case g == nil || g.client != c.id || g.used:
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "unknown or used authorization code")
			return
		case !now.Before(g.expires):
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "the authorization code has expired")
			return
		case in.RedirectURI != g.redirect:
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "redirectUri differs from the one of the authorization request")
			return
		case len(in.CodeVerifier) < 43 || len(in.CodeVerifier) > 128 || b64.EncodeToString(sum[:]) != g.challenge:
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "the code verifier does not match the code challenge")
			return
		}
		g.used = true
		scopes = g.scopes
	case "refresh_token":
		t := l.sso.refresh[in.RefreshToken]
		switch {
		case t == nil || t.client != c.id:
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "unknown or revoked refresh token")
			return
		case l.sso.refused < o.RefreshInvalidGrant:
			l.sso.refused++
			l.sso.mu.Unlock()
			l.oidcError(w, 400, "InvalidGrantException", "invalid_grant", "the refresh token was refused")
			return
		}
		reuse, user, scopes = t, t.user, t.scopes
	default:
		l.sso.mu.Unlock()
		l.oidcError(w, 400, "UnsupportedGrantTypeException", "unsupported_grant_type", "grantType "+strconv.Quote(in.GrantType)+" is not supported")
		return
	}
	access := ssoRandom("aoa", 48)
	t := &ssoToken{user: user, client: c.id, scopes: scopes, expires: now.Add(o.TokenTTL)}
	if reuse != nil {
		t.refresh = reuse.refresh
	} else if slices.Contains(c.grants, "refresh_token") || len(c.scopes) > 0 {
		t.refresh = ssoRandom("aor", 48)
	}
	l.sso.tokens[access] = t
	if t.refresh != "" {
		l.sso.refresh[t.refresh] = t
	}
	l.sso.calls["CreateToken:"+grant]++
	l.sso.mu.Unlock()
	l.Served.Add(1)
	out := map[string]any{"accessToken": access, "tokenType": "Bearer", "expiresIn": int(o.TokenTTL / time.Second)}
	if t.refresh != "" {
		out["refreshToken"] = t.refresh
	}
	writeJSON(w, 200, out)
}

// bearer finds the token of a portal request.
func (l *Lab) bearer(w http.ResponseWriter, r *http.Request) *ssoToken {
	tok := r.Header.Get("X-Amz-Sso_bearer_token")
	l.sso.mu.Lock()
	l.sso.init()
	t := l.sso.tokens[tok]
	l.sso.mu.Unlock()
	if t == nil || !l.now().Before(t.expires) {
		l.portalError(w, 401, "UnauthorizedException", "Session token not found or invalid")
		return nil
	}
	return t
}

func (l *Lab) ssoGetRoleCredentials(w http.ResponseWriter, r *http.Request) {
	t := l.bearer(w, r)
	if t == nil {
		return
	}
	acc, role := r.URL.Query().Get("account_id"), r.URL.Query().Get("role_name")
	if acc == "" || role == "" {
		l.portalError(w, 400, "InvalidRequestException", "account_id and role_name are required")
		return
	}
	if !slices.Contains(l.ssoSeedOf().PermissionSets, PermissionSet{User: t.user, AccountID: acc, Role: role}) {
		l.portalError(w, 403, "ForbiddenException", "No access")
		return
	}
	sess := session{arn: "arn:aws:sts::" + acc + ":assumed-role/" + role + "/" + t.user, userID: roleIDFor(role) + ":" + t.user, role: role}
	cr := l.issue(KindSSO, sess, l.opts.TTL)
	l.ssoServed("GetRoleCredentials")
	writeJSON(w, 200, map[string]any{"roleCredentials": map[string]any{
		"accessKeyId": cr.AccessKeyID, "secretAccessKey": cr.SecretAccessKey, "sessionToken": cr.SessionToken,
		"expiration": cr.Expires.UnixMilli(),
	}})
}

// page cuts a sorted list at next_token, max_result items.
func page[T any](w http.ResponseWriter, r *http.Request, l *Lab, all []T) ([]T, string, bool) {
	start := 0
	if nt := r.URL.Query().Get("next_token"); nt != "" {
		n, err := strconv.Atoi(nt)
		if err != nil || n < 0 || n > len(all) {
			l.portalError(w, 400, "InvalidRequestException", "next_token is not one this API returned")
			return nil, "", false
		}
		start = n
	}
	size := 20
	if m := r.URL.Query().Get("max_result"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 100 {
			l.portalError(w, 400, "InvalidRequestException", "max_result must be 1 to 100")
			return nil, "", false
		}
		size = n
	}
	end := min(start+size, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, true
}

func (l *Lab) ssoListAccounts(w http.ResponseWriter, r *http.Request) {
	t := l.bearer(w, r)
	if t == nil {
		return
	}
	s := l.ssoSeedOf()
	var ids []string
	for _, ps := range s.PermissionSets {
		if ps.User == t.user && !slices.Contains(ids, ps.AccountID) {
			ids = append(ids, ps.AccountID)
		}
	}
	sort.Strings(ids)
	got, next, ok := page(w, r, l, ids)
	if !ok {
		return
	}
	list := []map[string]string{}
	for _, id := range got {
		a := SSOAccount{ID: id, Name: id}
		if id == l.seed.AccountID {
			a.Name = "lab"
		}
		for _, sa := range s.Accounts {
			if sa.ID == id && sa.Name != "" {
				a = sa
			}
		}
		if a.Email == "" {
			a.Email = "aws+" + id + "@lab.invalid"
		}
		list = append(list, map[string]string{"accountId": a.ID, "accountName": a.Name, "emailAddress": a.Email})
	}
	l.ssoServed("ListAccounts")
	writePage(w, "accountList", list, next)
}

func (l *Lab) ssoListAccountRoles(w http.ResponseWriter, r *http.Request) {
	t := l.bearer(w, r)
	if t == nil {
		return
	}
	acc := r.URL.Query().Get("account_id")
	if acc == "" {
		l.portalError(w, 400, "InvalidRequestException", "account_id is required")
		return
	}
	var roles []string
	for _, ps := range l.ssoSeedOf().PermissionSets {
		if ps.User == t.user && ps.AccountID == acc {
			roles = append(roles, ps.Role)
		}
	}
	sort.Strings(roles)
	got, next, ok := page(w, r, l, roles)
	if !ok {
		return
	}
	list := []map[string]string{}
	for _, role := range got {
		list = append(list, map[string]string{"roleName": role, "accountId": acc})
	}
	l.ssoServed("ListAccountRoles")
	writePage(w, "roleList", list, next)
}

// ssoServed counts a successful Identity Center call.
func (l *Lab) ssoServed(op string) {
	l.sso.mu.Lock()
	l.sso.init()
	l.sso.calls[op]++
	l.sso.mu.Unlock()
	l.Served.Add(1)
}

// writePage answers one page of a portal listing.
func writePage(w http.ResponseWriter, key string, list []map[string]string, next string) {
	out := map[string]any{key: list}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, 200, out)
}

func (l *Lab) ssoLogout(w http.ResponseWriter, r *http.Request) {
	t := l.bearer(w, r)
	if t == nil {
		return
	}
	l.sso.mu.Lock()
	for k, v := range l.sso.tokens {
		if v == t || (t.refresh != "" && v.refresh == t.refresh) {
			delete(l.sso.tokens, k)
		}
	}
	if t.refresh != "" {
		delete(l.sso.refresh, t.refresh)
	}
	l.sso.calls["Logout"]++
	l.sso.mu.Unlock()
	l.Served.Add(1)
	w.WriteHeader(200)
}
