package lab

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The console side of the lab: STS GetFederationToken, the federation
// endpoint of the AWS sign-in service and a console page.
//
//   - GetFederationToken (signed with an IAM user's long-term key) issues
//     session credentials of arn:aws:sts::ACCOUNT:federated-user/NAME,
//     which every other endpoint of the lab accepts; Name must be 2 to 32
//     characters of [\w+=,.@-], DurationSeconds 900 to 129,600, as STS
//     checks them (the lab has no root user). Session credentials are refused
//     as AWS refuses them.
//   - GET /federation?Action=getSigninToken&Session={"sessionId",
//     "sessionKey","sessionToken"}[&SessionDuration=S] answers
//     {"SigninToken": ...} for live session credentials the lab issued:
//     unknown ones, a wrong secret or token, expired ones, long-term keys
//     and GetSessionToken sessions are refused with 400. SessionDuration
//     (900 to 43,200) is taken for role sessions only; a federated user's
//     console session lasts as long as its credentials.
//   - GET /federation?Action=login&Issuer=...&Destination=...&SigninToken=...
//     takes a sign-in token (valid 15 minutes), sets the console session
//     cookie and redirects to /console/ with the destination.
//   - GET /oauth?Action=logout[&redirect_uri=...] ends the session behind
//     the cookie and redirects to redirect_uri when it is on the lab.
//   - GET /console/ shows the identity signed in behind the cookie
//     (element ids identity, account, destination, expires), or "not
//     signed in" with 401.

// KindFederationToken counts GetFederationToken in the Summary.
const KindFederationToken = "GetFederationToken"

// ConsoleCookie is the name of the lab console's session cookie.
const ConsoleCookie = "credkit-lab-console"

// SigninTokenTTL is how long a sign-in token can be used to log in.
const SigninTokenTTL = 15 * time.Minute

// defaultConsoleSession is the console session of a role when
// getSigninToken has no SessionDuration.
const defaultConsoleSession = time.Hour

// federation holds sign-in tokens and console sessions.
type federation struct {
	mu       sync.Mutex
	tokens   map[string]consoleSession // sign-in token -> what it signs in
	sessions map[string]consoleSession // cookie value -> session
}

type consoleSession struct {
	arn     string
	expires time.Time // of the console session
	until   time.Time // of a sign-in token: when it can no longer log in
}

func (l *Lab) getFederationToken(w http.ResponseWriter, c caller, form url.Values) {
	if c.session {
		l.refuse(w, stsNS, awsError{403, "AccessDenied", "Cannot call GetFederationToken with session credentials"}, c.arn)
		return
	}
	name := form.Get("Name")
	pre := "1 validation error detected: Value '" + name + "' at 'name' failed to satisfy constraint: "
	switch {
	case name == "":
		l.refuse(w, stsNS, awsError{400, "ValidationError", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"}, "")
		return
	case len(name) < 2:
		l.refuse(w, stsNS, awsError{400, "ValidationError", pre + "Member must have length greater than or equal to 2"}, "")
		return
	case len(name) > 32:
		l.refuse(w, stsNS, awsError{400, "ValidationError", pre + "Member must have length less than or equal to 32"}, "")
		return
	}
	if e := sessionNameError(name); e != nil {
		l.refuse(w, stsNS, awsError{400, "ValidationError", pre + "Member must satisfy regular expression pattern: [\\w+=,.@-]*"}, "")
		return
	}
	if p := form.Get("Policy"); p != "" && !json.Valid([]byte(p)) {
		l.refuse(w, stsNS, awsError{400, "MalformedPolicyDocument", "The policy is not in the valid JSON format."}, "")
		return
	}
	d, e := durationParam(form, 12*time.Hour, 15*time.Minute, 36*time.Hour)
	if e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	arn := "arn:aws:sts::" + l.seed.AccountID + ":federated-user/" + name
	cr := l.issue(KindFederationToken, session{arn: arn, userID: l.seed.AccountID + ":" + name}, d)
	l.Served.Add(1)
	writeXML(w, stsNS, "GetFederationToken", credentialsXML(cr)+fmt.Sprintf(
		"<FederatedUser><FederatedUserId>%s:%s</FederatedUserId><Arn>%s</Arn></FederatedUser><PackedPolicySize>6</PackedPolicySize>",
		l.seed.AccountID, xmlEscape(name), xmlEscape(arn)))
}

// federationRoutes adds the federation endpoint, logout and the console
// page to mux.
func (l *Lab) federationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/federation", l.federationEndpoint)
	mux.HandleFunc("/oauth", l.consoleLogout)
	mux.HandleFunc("/console/", l.consolePage)
}

func (l *Lab) federationEndpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("Action") {
	case "getSigninToken":
		l.getSigninToken(w, q)
	case "login":
		l.consoleLogin(w, r, q)
	default:
		l.refuseFederation(w, "Action must be getSigninToken or login", "federation endpoint: action "+strconv.Quote(q.Get("Action")))
	}
}

// refuseFederation answers 400 with a short reason; detail goes to the
// log only (never a secret).
func (l *Lab) refuseFederation(w http.ResponseWriter, reason, detail string) {
	l.count("FederationRefused")
	l.logf("lab: refused: federation endpoint: %s\n  %s", reason, detail)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintln(w, reason)
}

func (l *Lab) getSigninToken(w http.ResponseWriter, q url.Values) {
	var s struct {
		ID    string `json:"sessionId"`
		Key   string `json:"sessionKey"`
		Token string `json:"sessionToken"`
	}
	if err := json.Unmarshal([]byte(q.Get("Session")), &s); err != nil || s.ID == "" || s.Key == "" {
		l.refuseFederation(w, "Session must be JSON with sessionId, sessionKey and sessionToken", "getSigninToken: malformed Session")
		return
	}
	const invalid = "The session credentials are not valid"
	sec, exp, err := l.secretOf(s.ID)
	switch {
	case err != nil:
		l.refuseFederation(w, invalid, "getSigninToken: access key "+s.ID+" is not known (never issued, or deleted)")
		return
	case exp.IsZero():
		l.refuseFederation(w, invalid, "getSigninToken: access key "+s.ID+" is a long-term key; the federation endpoint takes session credentials")
		return
	case sec.SecretAccessKey != s.Key || sec.SessionToken != s.Token:
		l.refuseFederation(w, invalid, "getSigninToken: access key "+s.ID+": the secret or the session token does not match")
		return
	case !l.now().Before(exp):
		l.refuseFederation(w, "The session credentials have expired", "getSigninToken: access key "+s.ID+" expired at "+exp.UTC().Format(time.RFC3339))
		return
	}
	c := l.callerOf(s.ID)
	now := l.now()
	var end time.Time
	switch {
	case strings.Contains(c.arn, ":assumed-role/"):
		d := defaultConsoleSession
		if v := q.Get("SessionDuration"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 900 || n > 43200 {
				l.refuseFederation(w, "SessionDuration must be a number of seconds from 900 to 43200", "getSigninToken: SessionDuration "+strconv.Quote(v))
				return
			}
			d = time.Duration(n) * time.Second
		}
		end = now.Add(d)
	case strings.Contains(c.arn, ":federated-user/"):
		if q.Has("SessionDuration") {
			l.refuseFederation(w, "SessionDuration is not allowed with credentials from GetFederationToken", "getSigninToken: "+c.arn)
			return
		}
		end = exp
	default:
		l.refuseFederation(w, invalid, "getSigninToken: "+c.arn+": GetSessionToken sessions cannot sign in to the console")
		return
	}
	tok := newSigninToken()
	l.fed.mu.Lock()
	if l.fed.tokens == nil {
		l.fed.tokens, l.fed.sessions = map[string]consoleSession{}, map[string]consoleSession{}
	}
	for k, t := range l.fed.tokens {
		if !now.Before(t.until) {
			delete(l.fed.tokens, k)
		}
	}
	l.fed.tokens[tok] = consoleSession{arn: c.arn, expires: end, until: now.Add(SigninTokenTTL)}
	l.fed.mu.Unlock()
	l.Served.Add(1)
	writeJSON(w, http.StatusOK, map[string]string{"SigninToken": tok})
}

func newSigninToken() string {
	b := make([]byte, 48)
	randRead(b)
	return "labsignin" + hex.EncodeToString(b)
}

func (l *Lab) consoleLogin(w http.ResponseWriter, r *http.Request, q url.Values) {
	dest := q.Get("Destination")
	if u, err := url.Parse(dest); err != nil || u.Scheme != "https" || u.Host == "" {
		l.refuseFederation(w, "Destination must be an https URL", "login: Destination "+strconv.Quote(dest))
		return
	}
	now := l.now()
	l.fed.mu.Lock()
	s, ok := l.fed.tokens[q.Get("SigninToken")]
	if ok && now.Before(s.until) && now.Before(s.expires) {
		id := newSigninToken()
		l.fed.sessions[id] = s
		l.fed.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: ConsoleCookie, Value: id, Path: "/", Expires: s.expires, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		l.Served.Add(1)
		http.Redirect(w, r, "/console/?"+url.Values{"destination": {dest}}.Encode(), http.StatusFound)
		return
	}
	l.fed.mu.Unlock()
	l.refuseFederation(w, "The sign-in token is not valid or has expired", "login: an unknown or expired SigninToken")
}

func (l *Lab) consoleLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("Action") != "logout" {
		l.refuseFederation(w, "Action must be logout", "oauth: action "+strconv.Quote(q.Get("Action")))
		return
	}
	if ck, err := r.Cookie(ConsoleCookie); err == nil {
		l.fed.mu.Lock()
		delete(l.fed.sessions, ck.Value)
		l.fed.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: ConsoleCookie, Value: "", Path: "/", MaxAge: -1})
	if to, err := url.Parse(q.Get("redirect_uri")); err == nil && q.Get("redirect_uri") != "" && (to.Host == "" || to.Host == r.Host) {
		http.Redirect(w, r, to.String(), http.StatusFound)
		return
	}
	writeConsolePage(w, http.StatusOK, "signed out", "", "", "")
}

func (l *Lab) consolePage(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(ConsoleCookie)
	var s consoleSession
	ok := false
	if err == nil {
		l.fed.mu.Lock()
		s, ok = l.fed.sessions[ck.Value]
		l.fed.mu.Unlock()
	}
	if !ok || !l.now().Before(s.expires) {
		writeConsolePage(w, http.StatusUnauthorized, "not signed in", "", "", "")
		return
	}
	account := ""
	if p := strings.Split(s.arn, ":"); len(p) > 4 {
		account = p[4]
	}
	writeConsolePage(w, http.StatusOK, s.arn, account, r.URL.Query().Get("destination"), s.expires.UTC().Format(time.RFC3339))
}

func writeConsolePage(w http.ResponseWriter, status int, identity, account, dest, expires string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	e := html.EscapeString
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>credkit lab console</title></head><body>`+
		`<h1>credkit lab console</h1><p>Signed in as <span id="identity">%s</span></p>`+
		`<p>Account <span id="account">%s</span>, session until <span id="expires">%s</span></p>`+
		`<p>Destination <span id="destination">%s</span></p></body></html>`+"\n", e(identity), e(account), e(expires), e(dest))
}
