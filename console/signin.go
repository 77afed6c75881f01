package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// AllowAllPolicy is the inline policy of GetFederationToken: the session
// may do what the user may do (the intersection of the two).
const AllowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// DefaultIssuer is the Issuer of the login URL: where the console sends
// the user when the session ends.
const DefaultIssuer = "https://github.com/credkit/credkit"

// Request is what to sign in to.
type Request struct {
	// Region picks the partition and the console's region; "" is aws
	// without a region.
	Region string
	// Destination is a service name or a console URL ("" the home page).
	Destination string
	// Duration is the console session asked for; 0 means DefaultDuration.
	Duration time.Duration
	// Issuer is the login URL's Issuer; "" means DefaultIssuer.
	Issuer string
	// LogoutFirst makes the URL sign out any current console session of
	// the browser first: the partition's logout URL, which then redirects
	// to the login.
	LogoutFirst bool
}

// Options are the endpoints and clients used.
type Options struct {
	// STS calls GetCallerIdentity and GetFederationToken.
	STS source.STSOptions
	// FederationEndpoint replaces the partition's federation endpoint
	// (https://signin.aws.amazon.com/federation), for tests and
	// emulators such as credkit lab. Its logout page is /oauth on the
	// same host.
	FederationEndpoint string
	// HTTPClient calls the federation endpoint; nil means a client with a
	// 30 s timeout that does not follow redirects.
	HTTPClient *http.Client
}

// SignIn is a sign-in URL and what it signs in as.
type SignIn struct {
	// URL is the login URL: a bearer secret for 15 minutes.
	URL string
	// ARN is the identity the console will show.
	ARN string
	// Kind is the kind of credentials that were given.
	Kind Kind
	// Destination is the console page after sign-in.
	Destination string
	// Expires is when the credentials behind the session expire; the
	// console session ends then at the latest (for role sessions it is
	// SessionDuration, which may outlive them).
	Expires time.Time
	// SessionDuration is what was sent to getSigninToken (0: not sent).
	SessionDuration time.Duration
	// Notes explain adjustments (a clamped duration, a federation call).
	Notes []string
}

// String never shows the URL.
func (s SignIn) String() string { return "console sign-in as " + s.ARN + " (URL redacted)" }

// ErrRefused is a getSigninToken or GetFederationToken refusal.
var ErrRefused = errors.New("refused")

// URL makes a console sign-in URL for c (credkit's credentials of any
// kind; see the package documentation).
func URL(ctx context.Context, c creds.Credentials, req Request, opts Options) (*SignIn, error) {
	p, err := PartitionOfRegion(req.Region)
	if err != nil {
		return nil, err
	}
	dest, err := Destination(p, req.Destination, req.Region)
	if err != nil {
		return nil, err
	}
	if opts.STS.Region == "" {
		opts.STS.Region = req.Region
	}
	id, err := source.CallerIdentity(ctx, c, opts.STS)
	if err != nil {
		return nil, err
	}
	if ap := strings.SplitN(id.ARN, ":", 3); len(ap) == 3 && ap[1] != p.ID {
		return nil, fmt.Errorf("the credentials belong to partition %s (%s) but region %q is in %s: pass --region with a region of %s", ap[1], id.ARN, req.Region, p.ID, ap[1])
	}
	kind, name, err := Classify(id.ARN, c.Temporary())
	if err != nil {
		return nil, err
	}
	plan := PlanDuration(kind, req.Duration)
	out := &SignIn{ARN: id.ARN, Kind: kind, Destination: dest, SessionDuration: plan.SessionDuration, Expires: c.Expires}
	if plan.Note != "" {
		out.Notes = append(out.Notes, plan.Note)
	}
	if plan.FederationDuration > 0 {
		fc, farn, err := federationToken(ctx, c, id.ARN, name, plan.FederationDuration, opts.STS)
		if err != nil {
			return nil, err
		}
		out.Notes = append(out.Notes, fmt.Sprintf("%s has long-term keys: signing in as %s through GetFederationToken (asked for %s, the console session ends with it at %s; the user's own policies still apply)",
			id.ARN, farn, plan.FederationDuration, fc.Expires.UTC().Format(time.RFC3339)))
		c, out.ARN, out.Expires = fc, farn, fc.Expires
	}
	endpoint := opts.FederationEndpoint
	if endpoint == "" {
		endpoint = p.FederationURL()
	}
	tok, err := signinToken(ctx, opts.HTTPClient, endpoint, c, plan.SessionDuration)
	if err != nil {
		return nil, err
	}
	issuer := req.Issuer
	if issuer == "" {
		issuer = DefaultIssuer
	}
	q := url.Values{"Action": {"login"}, "Issuer": {issuer}, "Destination": {dest}, "SigninToken": {tok}}
	out.URL = endpoint + "?" + q.Encode()
	if req.LogoutFirst {
		out.URL = logoutURL(endpoint, p) + "?" + url.Values{"Action": {"logout"}, "redirect_uri": {out.URL}}.Encode()
	}
	return out, nil
}

// logoutURL is the console's logout page next to the federation
// endpoint: https://SIGNIN-HOST/oauth.
func logoutURL(endpoint string, p Partition) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "https://" + p.SigninHost + "/oauth"
	}
	return u.Scheme + "://" + u.Host + "/oauth"
}

// federationToken calls GetFederationToken with the allow-all policy;
// the federated user's ARN is in the partition and account of caller.
func federationToken(ctx context.Context, c creds.Credentials, caller, name string, d time.Duration, so source.STSOptions) (creds.Credentials, string, error) {
	p := &source.FederationToken{Source: creds.Static{Creds: c}, Name: name, Policy: AllowAllPolicy, Duration: d, Options: so}
	fc, err := p.Retrieve(ctx)
	if err != nil {
		return creds.Credentials{}, "", err
	}
	parts := strings.SplitN(caller, ":", 6)
	return fc, "arn:" + parts[1] + ":sts::" + parts[4] + ":federated-user/" + name, nil
}

// signinToken calls getSigninToken. Its errors name the endpoint without
// its query (which holds the session) and never quote the answer's token.
func signinToken(ctx context.Context, hc *http.Client, endpoint string, c creds.Credentials, d time.Duration) (string, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	session, err := json.Marshal(map[string]string{"sessionId": c.AccessKeyID, "sessionKey": c.SecretAccessKey, "sessionToken": c.SessionToken})
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}
	if d > 0 {
		q.Set("SessionDuration", strconv.Itoa(int(d/time.Second)))
	}
	where := "getSigninToken at " + endpoint
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("%s: the federation endpoint is not a URL", where)
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its message quotes the URL, session included
			err = ue.Err
		}
		return "", fmt.Errorf("%s with %s: %v (the endpoint did not answer: check the network and the federation endpoint, then retry)", where, c.AccessKeyID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%s: reading the answer: %v", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		why := strings.TrimSpace(string(body))
		if len(why) > 200 || strings.Contains(why, c.SessionToken) || strings.Contains(why, c.SecretAccessKey) {
			why = ""
		}
		if why != "" {
			why = ": " + strings.Join(strings.Fields(why), " ")
		}
		return "", fmt.Errorf("%s with %s: %w with %s%s (the credentials may have expired, or be unknown to this endpoint)", where, c.AccessKeyID, ErrRefused, resp.Status, why)
	}
	var ans struct{ SigninToken string }
	if err := json.Unmarshal(body, &ans); err != nil || ans.SigninToken == "" {
		return "", fmt.Errorf("%s: the answer is not JSON with a SigninToken: is %s a federation endpoint?", where, endpoint)
	}
	return ans.SigninToken, nil
}
