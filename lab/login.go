package lab

// The sign-in service's token endpoint, which refreshes the sessions that
// `aws login` (AWS CLI 2.32+) starts: POST /v1/token (CreateOAuth2Token)
// with grantType refresh_token and a DPoP proof (RFC 9449).
//
// The lab has no console to log in to: MintLoginSession plays `aws login`
// and gives the cache file it would write. Each refresh token is bound to
// the DPoP key of its session and is spent by its refresh (the answer
// carries the next one). A proof is accepted when it is an ES256 JWT with
// typ dpop+jwt whose jwk (EC, P-256) verifies the signature and is the
// session's key, whose htm is POST, whose htu is the URL the request was
// sent to, whose iat is within five minutes of the lab's clock and whose
// jti the lab has not seen. Anything else is refused with a
// ValidationException naming what was wrong; an unknown, spent or revoked
// refresh token with an AccessDeniedException whose error is
// TOKEN_EXPIRED.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// KindLogin counts the credentials the sign-in token endpoint issued.
const KindLogin = "CreateOAuth2Token"

// loginClientID is the client id `aws login` uses (the AWS CLI's).
const loginClientID = "arn:aws:signin:::devtools/same-device"

type loginState struct {
	mu      sync.Mutex
	grants  map[string]*loginGrant // by refresh token
	jtis    map[string]time.Time
	refresh int64
}

type loginGrant struct {
	arn, user, clientID string
	jkt                 string // the session's key: x || y
}

// LoginRefreshes is the number of refreshes the token endpoint answered
// with new credentials.
func (l *Lab) LoginRefreshes() int64 {
	l.login.mu.Lock()
	defer l.login.mu.Unlock()
	return l.login.refresh
}

// RevokeLoginSessions makes every refresh token issued so far invalid (a
// session ended or a password changed).
func (l *Lab) RevokeLoginSessions() {
	l.login.mu.Lock()
	l.login.grants = nil
	l.login.mu.Unlock()
}

// MintLoginSession plays `aws login` for the seeded user: it returns the
// session ARN (the user's) and the content of the cache file the AWS CLI
// would write for it (accessToken with lab credentials living d, or the
// lab's TTL when d is 0; refreshToken; clientId; a fresh P-256 dpopKey).
func (l *Lab) MintLoginSession(user string, d time.Duration) (arn string, cache []byte, err error) {
	l.mu.Lock()
	u := l.users[user]
	l.mu.Unlock()
	if u == nil {
		return "", nil, fmt.Errorf("lab: no user %q in the seed", user)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	arn = l.userARN(user)
	g := &loginGrant{arn: arn, user: user, clientID: loginClientID, jkt: jwkID(key.X, key.Y)}
	refresh := l.newLoginGrant(g)
	cr := l.issue(KindLogin, session{arn: arn, userID: u.id, user: user}, d)
	cache, err = json.Marshal(map[string]any{
		"accessToken": map[string]string{
			"accessKeyId": cr.AccessKeyID, "secretAccessKey": cr.SecretAccessKey, "sessionToken": cr.SessionToken,
			"accountId": cr.AccountID, "expiresAt": cr.Expires.UTC().Format(time.RFC3339),
		},
		"tokenType":     "aws_sigv4",
		"refreshToken":  refresh,
		"identityToken": "lab-identity-" + newToken()[:16],
		"clientId":      loginClientID,
		"dpopKey":       string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})),
	})
	return arn, cache, err
}

func (l *Lab) newLoginGrant(g *loginGrant) string {
	tok := ssoRandom("lab-refresh-", 24)
	l.login.mu.Lock()
	if l.login.grants == nil {
		l.login.grants = map[string]*loginGrant{}
	}
	l.login.grants[tok] = g
	l.login.mu.Unlock()
	return tok
}

// jwkID identifies a public key by its coordinates.
func jwkID(x, y *big.Int) string {
	b := make([]byte, 64)
	x.FillBytes(b[:32])
	y.FillBytes(b[32:])
	return b64.EncodeToString(b)
}

func (l *Lab) loginError(w http.ResponseWriter, status int, typ, code, msg string) {
	l.count(typ + ":" + code)
	l.logf("lab: refused: signin %s %s: %s", typ, code, msg)
	w.Header().Set("X-Amzn-ErrorType", typ)
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

// loginToken answers CreateOAuth2Token.
func (l *Lab) loginToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		GrantType    string `json:"grantType"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := readJSONBody(r, &in); err != nil {
		l.loginError(w, 400, "ValidationException", "INVALID_REQUEST", "the body is not a JSON object")
		return
	}
	if in.GrantType != "refresh_token" {
		l.loginError(w, 400, "ValidationException", "OAUTH_UNSUPPORTED_GRANT_TYPE", fmt.Sprintf("grantType %q: the lab refreshes only (refresh_token)", in.GrantType))
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	jkt, err := l.checkDPoP(r.Header.Values("DPoP"), r.Method, scheme+"://"+r.Host+r.URL.Path)
	if err != nil {
		l.loginError(w, 400, "ValidationException", "INVALID_REQUEST", "DPoP proof: "+err.Error())
		return
	}
	l.login.mu.Lock()
	g := l.login.grants[in.RefreshToken]
	switch {
	case g == nil:
	case g.clientID != in.ClientID:
		g = nil
	case g.jkt != jkt:
		l.login.mu.Unlock()
		l.loginError(w, 400, "ValidationException", "INVALID_REQUEST", "DPoP proof: signed with a key that is not the session's")
		return
	default:
		delete(l.login.grants, in.RefreshToken)
	}
	l.login.mu.Unlock()
	if g == nil {
		l.loginError(w, 403, "AccessDeniedException", "TOKEN_EXPIRED", "the refresh token is not valid for this client")
		return
	}
	l.mu.Lock()
	u := l.users[g.user]
	l.mu.Unlock()
	if u == nil {
		l.loginError(w, 403, "AccessDeniedException", "USER_CREDENTIALS_CHANGED", "the session's user no longer exists")
		return
	}
	next := l.newLoginGrant(g)
	cr := l.issue(KindLogin, session{arn: g.arn, userID: u.id, user: g.user}, 0)
	l.login.mu.Lock()
	l.login.refresh++
	l.login.mu.Unlock()
	writeJSON(w, 200, map[string]any{
		"accessToken": map[string]string{
			"accessKeyId": cr.AccessKeyID, "secretAccessKey": cr.SecretAccessKey, "sessionToken": cr.SessionToken,
		},
		"tokenType":    "aws_sigv4",
		"expiresIn":    int64(cr.Expires.Sub(l.now()) / time.Second),
		"refreshToken": next,
		"idToken":      "lab-identity-" + newToken()[:16],
	})
}

// checkDPoP verifies the one DPoP proof of a request to htu and returns
// its key's id.
func (l *Lab) checkDPoP(proofs []string, method, htu string) (string, error) {
	if len(proofs) != 1 {
		return "", fmt.Errorf("the request has %d DPoP headers; it needs one", len(proofs))
	}
	parts := strings.Split(proofs[0], ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT (three dot-separated parts)")
	}
	var h struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		JWK struct {
			Kty, Crv, X, Y string
		} `json:"jwk"`
	}
	var c struct {
		Jti string `json:"jti"`
		Htm string `json:"htm"`
		Htu string `json:"htu"`
		Iat int64  `json:"iat"`
	}
	for i, v := range []any{&h, &c} {
		b, err := b64.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			return "", fmt.Errorf("part %d is not base64url JSON", i+1)
		}
	}
	if h.Typ != "dpop+jwt" || h.Alg != "ES256" {
		return "", fmt.Errorf("typ %q alg %q; want dpop+jwt and ES256", h.Typ, h.Alg)
	}
	if h.JWK.Kty != "EC" || h.JWK.Crv != "P-256" {
		return "", fmt.Errorf("jwk kty %q crv %q; want EC and P-256", h.JWK.Kty, h.JWK.Crv)
	}
	x, errX := b64.DecodeString(h.JWK.X)
	y, errY := b64.DecodeString(h.JWK.Y)
	if errX != nil || errY != nil || len(x) > 32 || len(y) > 32 {
		return "", errors.New("jwk x or y is not a base64url P-256 coordinate")
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	if _, err := pub.ECDH(); err != nil {
		return "", errors.New("jwk is not a point on P-256")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", errors.New("the signature is not 64 bytes of r || s")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errors.New("the signature does not verify with the jwk of its header")
	}
	if c.Htm != method {
		return "", fmt.Errorf("htm %q; the request is %s", c.Htm, method)
	}
	if c.Htu != htu {
		return "", fmt.Errorf("htu %q; the request went to %s", c.Htu, htu)
	}
	now := l.now()
	if iat := time.Unix(c.Iat, 0); iat.Before(now.Add(-5*time.Minute)) || iat.After(now.Add(5*time.Minute)) {
		return "", fmt.Errorf("iat %s is more than 5 minutes from the lab's clock (%s)", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.Jti == "" {
		return "", errors.New("no jti")
	}
	l.login.mu.Lock()
	defer l.login.mu.Unlock()
	if l.login.jtis == nil {
		l.login.jtis = map[string]time.Time{}
	}
	for j, t := range l.login.jtis {
		if now.Sub(t) > 10*time.Minute {
			delete(l.login.jtis, j)
		}
	}
	if _, seen := l.login.jtis[c.Jti]; seen {
		return "", errors.New("jti was used before (a replayed proof)")
	}
	l.login.jtis[c.Jti] = now
	return jwkID(pub.X, pub.Y), nil
}
