package vault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/credkit/credkit/creds"
)

// Items are named and encoded the way aws-vault v7 names and encodes its
// own, so that one parser reads both stores:
//
//	long-term keys   PROFILE                                  aws.Credentials JSON
//	sessions         TYPE,B64(PROFILE),B64(MFA SERIAL),UNIX   sts types.Credentials JSON
//	SSO tokens       oidc:START_URL                            (aws-vault only; never imported)
//	SSO refresh      sso-refresh:B64(SESSION OR START URL)     the refresh token (credkit only)
//
// B64 is unpadded base64url. TYPE is "sts.GetSessionToken" or
// "sts.AssumeRole" for the sessions credkit keeps; aws-vault also writes
// "sts.AssumeRoleWithWebIdentity", "sso.GetRoleCredentials" and
// "credential_process". UNIX is the expiry in Unix seconds, so sessions are
// listed, matched and expired from their names alone, without decrypting.

// Session kinds, as in SessionKey.Kind.
const (
	KindGetSessionToken = "GetSessionToken"
	KindAssumeRole      = "AssumeRole"
)

// itemTypes maps credkit's session kinds to aws-vault's item type names.
var itemTypes = map[string]string{
	KindGetSessionToken: "sts.GetSessionToken",
	KindAssumeRole:      "sts.AssumeRole",
}

// kindOfItemType is the reverse of itemTypes.
func kindOfItemType(t string) (string, bool) {
	for k, v := range itemTypes {
		if v == t {
			return k, true
		}
	}
	return "", false
}

var b64 = base64.URLEncoding.WithPadding(base64.NoPadding)

// sessionNamePattern is aws-vault v7's session item name
// (vault/sessionkeyring.go, sessionKeyPattern).
var sessionNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^,]+),([^,]+),([^,]*),([0-9]{1,})$`) })

// oldSessionNamePatterns are the names aws-vault used before v6
// (vault/sessionkeyring.go, oldSessionKeyPatterns).
// They are compiled on first use: most runs never look.
var oldSessionNamePatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		regexp.MustCompile(`^session,(?P<profile>[^,]+),(?P<mfaSerial>[^,]*),(?P<expiration>[0-9]{2,})$`),
		regexp.MustCompile(`^session:(?P<profile>[^ ]+):(?P<mfaSerial>[^ ]*):(?P<expiration>[^:]+)$`),
		regexp.MustCompile(`^(.+?) session \((\d+)\)$`),
	}
})

// oidcPrefix starts aws-vault's SSO token items (vault/oidctokenkeyring.go).
const oidcPrefix = "oidc:"

// SessionKey names a cached STS session. Its fields are not secret.
type SessionKey struct {
	// Kind is KindGetSessionToken or KindAssumeRole.
	Kind string
	// Profile is the profile the session belongs to: the profile with the
	// long-term keys for GetSessionToken, the role's profile for AssumeRole.
	Profile string
	// MFASerial is the MFA device the session was made with; "" for none.
	MFASerial string
	// Expires is when the session ends (to the second).
	Expires time.Time
}

// itemName is the item name of k, in aws-vault's format.
func (k SessionKey) itemName() string {
	return fmt.Sprintf("%s,%s,%s,%d", itemTypes[k.Kind], b64.EncodeToString([]byte(k.Profile)),
		b64.EncodeToString([]byte(k.MFASerial)), k.Expires.Unix())
}

// sessionName is a parsed session item name.
type sessionName struct {
	itemType string // aws-vault's type, e.g. "sts.GetSessionToken"
	key      SessionKey
	known    bool // itemType is one of credkit's kinds; key.Kind is set
}

// parseSessionName parses a session item name in aws-vault v7's format.
func parseSessionName(s string) (sessionName, bool) {
	m := sessionNamePattern().FindStringSubmatch(s)
	if m == nil {
		return sessionName{}, false
	}
	profile, err1 := b64.DecodeString(m[2])
	serial, err2 := b64.DecodeString(m[3])
	unix, err3 := strconv.ParseInt(m[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(profile) == 0 {
		return sessionName{}, false
	}
	n := sessionName{itemType: m[1], key: SessionKey{
		Profile: string(profile), MFASerial: string(serial), Expires: time.Unix(unix, 0),
	}}
	n.key.Kind, n.known = kindOfItemType(m[1])
	return n, true
}

// isOldSessionName reports whether s is a session item name of aws-vault
// before v6.
func isOldSessionName(s string) bool {
	for _, p := range oldSessionNamePatterns() {
		if p.MatchString(s) {
			return true
		}
	}
	return false
}

// isKeysName reports whether item name s holds long-term keys: it is not
// a session (of any format) or an SSO token.
func isKeysName(s string) bool {
	if _, ok := parseSessionName(s); ok {
		return false
	}
	return !isOldSessionName(s) && !strings.HasPrefix(s, oidcPrefix) && !strings.HasPrefix(s, ssoRefreshPrefix)
}

// checkProfile refuses profile names that cannot name a keys item.
func checkProfile(profile string) error {
	switch {
	case profile == "":
		return errors.New("the profile name is empty")
	case profile == "." || profile == "..":
		return fmt.Errorf("%q cannot be a profile name in the vault", profile)
	case strings.HasPrefix(profile, internalPrefix):
		return fmt.Errorf("profile name %q starts with %q, which the vault keeps for its own files; rename the profile", profile, internalPrefix)
	case strings.IndexFunc(profile, unicode.IsControl) >= 0:
		return fmt.Errorf("profile name %q has a control character; rename the profile", profile)
	case !isKeysName(profile):
		return fmt.Errorf("profile name %q looks like the name of a session or SSO token item; rename the profile", profile)
	}
	return nil
}

// keysJSON is aws-sdk-go-v2's aws.Credentials as encoding/json writes it:
// the data of aws-vault's long-term key items, and of credkit's.
type keysJSON struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Source          string
	CanExpire       bool
	Expires         time.Time
	// AccountID is written by newer SDKs (and credkit) when known.
	AccountID string `json:",omitempty"`
}

// sessionJSON is aws-sdk-go-v2's sts types.Credentials as encoding/json
// writes it: the data of aws-vault's session items, and of credkit's.
type sessionJSON struct {
	AccessKeyId     *string
	Expiration      *time.Time
	SecretAccessKey *string
	SessionToken    *string
	// AccountID and Source are credkit's additions; aws-vault ignores
	// them. Source says what made the session (e.g. the role assumed).
	AccountID string `json:",omitempty"`
	Source    string `json:",omitempty"`
}

func encodeKeys(c creds.Credentials) ([]byte, error) {
	return json.Marshal(keysJSON{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, AccountID: c.AccountID})
}

// decodeKeys reads a long-term keys item. Its errors never quote the data.
func decodeKeys(data []byte) (creds.Credentials, error) {
	var k keysJSON
	if err := json.Unmarshal(data, &k); err != nil {
		return creds.Credentials{}, errors.New("its data is not the JSON of a set of credentials")
	}
	c := creds.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken, AccountID: k.AccountID}
	if !c.HasKeys() {
		return creds.Credentials{}, errors.New("it has no access key id or no secret access key")
	}
	return c, nil
}

func encodeSession(c creds.Credentials) ([]byte, error) {
	exp := c.Expires.UTC()
	return json.Marshal(sessionJSON{
		AccessKeyId: &c.AccessKeyID, SecretAccessKey: &c.SecretAccessKey, SessionToken: &c.SessionToken,
		Expiration: &exp, AccountID: c.AccountID, Source: c.Source,
	})
}

// decodeSession reads a session item; expires (from the item name) is used
// when the data has no expiry. Its errors never quote the data.
func decodeSession(data []byte, expires time.Time) (creds.Credentials, error) {
	var s sessionJSON
	if err := json.Unmarshal(data, &s); err != nil {
		return creds.Credentials{}, errors.New("its data is not the JSON of STS credentials")
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	c := creds.Credentials{
		AccessKeyID: deref(s.AccessKeyId), SecretAccessKey: deref(s.SecretAccessKey), SessionToken: deref(s.SessionToken),
		Expires: expires, AccountID: s.AccountID, Source: s.Source,
	}
	if s.Expiration != nil && !s.Expiration.IsZero() {
		c.Expires = *s.Expiration
	}
	if !c.HasKeys() || c.SessionToken == "" {
		return creds.Credentials{}, errors.New("it lacks an access key id, secret access key or session token")
	}
	return c, nil
}
