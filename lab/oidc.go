package lab

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The lab is the OIDC identity provider of its web identity tokens: it
// signs RS256 JWTs with a key pair made at start and publishes the public
// key as a JWKS, with a discovery document, as an EKS cluster or GitHub
// Actions does.

// MintWebIdentityToken returns an RS256 JWT from the lab's issuer for
// subject sub and audience aud (one value, or none for the first accepted
// client id), valid for ttl: what AWS_WEB_IDENTITY_TOKEN_FILE holds.
func (l *Lab) MintWebIdentityToken(sub, aud string, ttl time.Duration) (string, error) {
	if sub == "" {
		return "", errors.New("mint web identity token: empty subject")
	}
	if aud == "" {
		aud = l.clientIDs()[0]
	}
	now := l.now()
	return l.signJWT(map[string]any{
		"iss": l.issuer(), "sub": sub, "aud": aud,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
}

func (l *Lab) issuer() string {
	if l.seed.OIDC.Issuer != "" {
		return l.seed.OIDC.Issuer
	}
	return DefaultIssuer
}

func (l *Lab) clientIDs() []string {
	if len(l.seed.OIDC.ClientIDs) > 0 {
		return l.seed.OIDC.ClientIDs
	}
	return []string{"sts.amazonaws.com"}
}

// providerARN is the IAM OIDC provider's ARN for the issuer, as trust
// policies name it in Principal.Federated.
func (l *Lab) providerARN() string {
	return "arn:aws:iam::" + l.seed.AccountID + ":oidc-provider/" + strings.TrimPrefix(l.issuer(), "https://")
}

var b64 = base64.RawURLEncoding

func (l *Lab) signJWT(claims map[string]any) (string, error) {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": l.kid})
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, l.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64.EncodeToString(sig), nil
}

// tokenError is a refused web identity token, with STS's code.
type tokenError struct {
	code, msg string
}

func (e *tokenError) Error() string { return e.code + ": " + e.msg }

func invalidToken(format string, args ...any) *tokenError {
	return &tokenError{"InvalidIdentityToken", fmt.Sprintf(format, args...)}
}

// claims are the parts of a web identity token STS looks at.
type claims struct {
	Iss string
	Sub string
	Aud []string
	Exp time.Time
}

// verifyJWT checks a web identity token as STS does: signature against
// the issuer's JWKS, issuer registered, audience a client id, not expired.
func (l *Lab) verifyJWT(tok string) (*claims, *tokenError) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, invalidToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	var hdr struct{ Alg, Kid string }
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil {
		return nil, invalidToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(string(cb)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, invalidToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	c := &claims{}
	c.Iss, _ = raw["iss"].(string)
	c.Sub, _ = raw["sub"].(string)
	switch a := raw["aud"].(type) {
	case string:
		c.Aud = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				c.Aud = append(c.Aud, s)
			}
		}
	}
	if c.Iss != l.issuer() {
		return nil, invalidToken("No OpenIDConnect provider found in your account for %s", c.Iss)
	}
	if hdr.Alg != "RS256" || hdr.Kid != l.kid {
		return nil, invalidToken("Couldn't verify the signature of the token: unknown key or algorithm (alg %q, kid %q)", hdr.Alg, hdr.Kid)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&l.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, invalidToken("Couldn't verify the signature of the token")
	}
	ok := false
	for _, a := range c.Aud {
		ok = ok || slices.Contains(l.clientIDs(), a)
	}
	if !ok {
		return nil, invalidToken("Incorrect token audience")
	}
	if c.Sub == "" {
		return nil, invalidToken("The token has no sub claim")
	}
	exp, isNum := raw["exp"].(json.Number)
	n, err := exp.Int64()
	if !isNum || err != nil {
		return nil, invalidToken("The token has no exp claim")
	}
	c.Exp = time.Unix(n, 0)
	if now := l.now(); !now.Before(c.Exp) {
		return nil, &tokenError{"ExpiredTokenException", fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), n)}
	}
	return c, nil
}

// jwks is the public key set.
func (l *Lab) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := l.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": l.kid,
		"n": b64.EncodeToString(pub.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// discovery is the OpenID Connect discovery document. Its jwks_uri is the
// lab's own address, whatever the issuer name.
func (l *Lab) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                l.issuer(),
		"jwks_uri":                              "http://" + r.Host + "/_lab/jwks.json",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
