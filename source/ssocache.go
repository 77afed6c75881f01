package source

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/credkit/credkit/internal/sessioncache"
)

// The SSO token cache, as botocore (and so the AWS CLI) keeps it: one
// home for the file names, the fields and the JSON form, so that a file
// credkit writes is the file the AWS CLI would have written, byte for
// byte, and the other way round.

// SSOTimeFormat is the form of the cache's times (botocore's
// _serialize_utc_timestamp).
const SSOTimeFormat = "2006-01-02T15:04:05Z"

// SSOCacheDir is dir, or ~/.aws/sso/cache when dir is "".
func SSOCacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate the SSO token cache: %w", err)
	}
	return filepath.Join(home, ".aws", "sso", "cache"), nil
}

// SSOCacheDirOf is the cache of the home that getenv names ($HOME on
// unix, as os.UserHomeDir reads it), or "" for the default.
func SSOCacheDirOf(getenv func(string) string) string {
	if runtime.GOOS == "windows" || getenv == nil || getenv("HOME") == "" {
		return ""
	}
	return filepath.Join(getenv("HOME"), ".aws", "sso", "cache")
}

// SSOTokenCacheFile is the token file of key (the sso-session name, or
// the start URL of a legacy profile) in dir ("" for the default):
// DIR/hex(sha1(key)).json.
func SSOTokenCacheFile(dir, key string) (string, error) {
	dir, err := SSOCacheDir(dir)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json"), nil
}

// SSORegistrationCacheFile is the client registration file botocore's
// SSOTokenFetcher keeps for a start URL, region, registration scopes
// (nil when not configured) and session name ("" for a legacy profile):
// the SHA-1 of json.dumps({tool, startUrl, region, scopes, session_name},
// sort_keys=True).
func SSORegistrationCacheFile(dir, startURL, region string, scopes []string, session string) (string, error) {
	dir, err := SSOCacheDir(dir)
	if err != nil {
		return "", err
	}
	var sc, sess any
	if scopes != nil {
		sc = scopes
	}
	if session != "" {
		sess = session
	}
	key := pyJSON([]pyField{{"region", region}, {"scopes", sc}, {"session_name", sess}, {"startUrl", startURL}, {"tool", "botocore"}})
	sum := sha1.Sum([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json"), nil
}

// SSOToken is a token cache file's content. Times are kept as written
// (SSOTimeFormat when credkit writes them).
type SSOToken struct {
	StartURL              string `json:"startUrl,omitempty"`
	Region                string `json:"region,omitempty"`
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	ClientID              string `json:"clientId,omitempty"`
	ClientSecret          string `json:"clientSecret,omitempty"`
	RegistrationExpiresAt string `json:"registrationExpiresAt,omitempty"`
	RefreshToken          string `json:"refreshToken,omitempty"`
}

// SSORegistration is a client registration cache file's content.
type SSORegistration struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	ExpiresAt    string   `json:"expiresAt"`
	Scopes       []string `json:"scopes,omitempty"`
}

// tokenFieldOrder is the order botocore writes a token's fields in.
var tokenFieldOrder = []string{"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt", "refreshToken"}

// WriteSSOToken writes t to path as botocore does (its field order,
// json.dumps' separators and escapes), 0600 and atomically. extra holds
// fields of an earlier file that credkit does not know; they follow, in
// name order.
func WriteSSOToken(path string, t SSOToken, extra map[string]any) error {
	vals := map[string]string{"startUrl": t.StartURL, "region": t.Region, "accessToken": t.AccessToken, "expiresAt": t.ExpiresAt,
		"clientId": t.ClientID, "clientSecret": t.ClientSecret, "registrationExpiresAt": t.RegistrationExpiresAt, "refreshToken": t.RefreshToken}
	var fields []pyField
	for _, k := range tokenFieldOrder {
		if vals[k] != "" || k == "accessToken" || k == "expiresAt" {
			fields = append(fields, pyField{k, vals[k]})
		}
	}
	var rest []string
	for k := range extra {
		if _, known := vals[k]; !known {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		fields = append(fields, pyField{k, extra[k]})
	}
	return writeSSOFile(path, pyJSON(fields))
}

// WriteSSORegistration writes a client registration file as botocore does.
func WriteSSORegistration(path string, r SSORegistration) error {
	fields := []pyField{{"clientId", r.ClientID}, {"clientSecret", r.ClientSecret}, {"expiresAt", r.ExpiresAt}}
	if len(r.Scopes) > 0 {
		fields = append(fields, pyField{"scopes", r.Scopes})
	}
	return writeSSOFile(path, pyJSON(fields))
}

// ReadSSOToken reads a token file; extra holds all its fields (to keep
// the unknown ones on rewrite). Errors never quote the content.
func ReadSSOToken(path string) (SSOToken, map[string]any, error) {
	var t SSOToken
	data, err := os.ReadFile(path)
	if err != nil {
		return t, nil, err
	}
	var all map[string]any
	if json.Unmarshal(data, &t) != nil || json.Unmarshal(data, &all) != nil {
		return t, nil, fmt.Errorf("%s is not a JSON SSO token file", path)
	}
	return t, all, nil
}

// ReadSSORegistration reads a client registration file.
func ReadSSORegistration(path string) (SSORegistration, error) {
	var r SSORegistration
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if json.Unmarshal(data, &r) != nil {
		return r, fmt.Errorf("%s is not a JSON client registration file", path)
	}
	return r, nil
}

// ParseSSOTime reads a cache time: RFC 3339 or botocore's older
// "2006-01-02T15:04:05UTC".
func ParseSSOTime(s string) (time.Time, error) { return parseSSOTime(s) }

// FormatSSOTime writes a cache time.
func FormatSSOTime(t time.Time) string { return t.UTC().Format(SSOTimeFormat) }

func writeSSOFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomicBytes(path, []byte(content))
}

// pyField is a key and value of a JSON object written as Python's
// json.dumps writes it.
type pyField struct {
	key string
	val any
}

// pyJSON is json.dumps(obj) of Python with its defaults: ", " and ": "
// separators, ensure_ascii escapes, keys in the given order. Values are
// strings, nil, []string, bool, float64 or nested []any / map[string]any
// (read back from an earlier file; maps in key order).
func pyJSON(fields []pyField) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		pyString(&b, f.key)
		b.WriteString(": ")
		pyValue(&b, f.val)
	}
	b.WriteByte('}')
	return b.String()
}

func pyValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		pyString(b, x)
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var fs []pyField
		for _, k := range keys {
			fs = append(fs, pyField{k, x[k]})
		}
		b.WriteString(pyJSON(fs))
	default: // numbers
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}

func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			if r == 0x7f {
				b.WriteRune(r)
				continue
			}
			fmt.Fprintf(b, `\u%04x`, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// LockSSOToken takes the lock of a token file (PATH.lock), so that one
// process refreshes or logs in while the others wait and then read the
// token it wrote (see sessioncache.Lock).
func LockSSOToken(ctx context.Context, tokenFile string) (unlock func(), err error) {
	return sessioncache.Lock(ctx, tokenFile+".lock", nil)
}
