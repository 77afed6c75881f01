// Package lab is a local emulator of the credential side of AWS: an STS
// Query API that issues credentials living seconds or minutes and checks
// every signature strictly, so that code which holds on to a snapshot of
// credentials fails in minutes instead of hours.
//
// Every request's SigV4 signature is verified with credkit's verifier. An
// unknown access key gets InvalidClientTokenId, a wrong signature
// SignatureDoesNotMatch (the canonical request the lab expected goes to
// its log, never to the client), an expired session ExpiredToken with
// AWS's message, a clock skewed beyond 15 minutes SignatureDoesNotMatch
// ("Signature expired"), as AWS answers.
//
// It serves GetCallerIdentity, GetSessionToken and AssumeRole for a seeded
// account (one IAM user with a key, and roles anyone in the account may
// assume), with the XML shapes and error codes of STS.
package lab

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
)

// DefaultAccount is the account of the built-in seed.
const DefaultAccount = "000000000000"

// User is a seeded IAM user with one access key.
type User struct {
	Name            string
	AccessKeyID     string
	SecretAccessKey string
}

// Options configures a Lab.
type Options struct {
	AccountID string
	// TTL is the lifetime of issued credentials; 0 means 15 minutes. Down
	// to 15 seconds, so that expiry bugs show up quickly.
	TTL time.Duration
	// Users to seed; none means one user "lab-user" with a random key.
	Users []User
	// Roles that may be assumed (names); none means "lab-role".
	Roles []string
	// Now is the lab's clock; nil means time.Now.
	Now func() time.Time
	// Log receives one line per refused request (with the expected
	// canonical request for signature mismatches); nil discards.
	Log io.Writer
}

// MinTTL is the shortest credential lifetime the lab issues.
const MinTTL = 15 * time.Second

// Lab is the emulator. Its Handler serves STS.
type Lab struct {
	opts Options

	mu       sync.Mutex
	sessions map[string]*session // by access key id
	users    map[string]User     // by access key id

	// Counters for the summary.
	Served, Refused, Issued atomic.Int64
	refusals                sync.Map // reason -> *atomic.Int64
}

type session struct {
	secret, token string
	expires       time.Time
	arn, userID   string
}

// New returns a lab seeded from opts.
func New(opts Options) (*Lab, error) {
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccount
	}
	if opts.TTL == 0 {
		opts.TTL = 15 * time.Minute
	}
	if opts.TTL < MinTTL {
		return nil, fmt.Errorf("ttl %s: the shortest lifetime is %s", opts.TTL, MinTTL)
	}
	if len(opts.Users) == 0 {
		id, secret := NewKey("AKIA")
		opts.Users = []User{{Name: "lab-user", AccessKeyID: id, SecretAccessKey: secret}}
	}
	if len(opts.Roles) == 0 {
		opts.Roles = []string{"lab-role"}
	}
	l := &Lab{opts: opts, sessions: map[string]*session{}, users: map[string]User{}}
	for _, u := range opts.Users {
		l.users[u.AccessKeyID] = u
	}
	return l, nil
}

// Users returns the seeded users.
func (l *Lab) Users() []User { return l.opts.Users }

// Roles returns the ARNs of the seeded roles.
func (l *Lab) Roles() []string {
	var arns []string
	for _, r := range l.opts.Roles {
		arns = append(arns, l.roleARN(r))
	}
	return arns
}

// TTL is the lifetime of issued credentials.
func (l *Lab) TTL() time.Duration { return l.opts.TTL }

func (l *Lab) roleARN(name string) string {
	return "arn:aws:iam::" + l.opts.AccountID + ":role/" + name
}

func (l *Lab) now() time.Time {
	if l.opts.Now != nil {
		return l.opts.Now()
	}
	return time.Now()
}

// NewKey returns a random access key id with the prefix (AKIA or ASIA) and
// a secret.
func NewKey(prefix string) (id, secret string) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	rand.Read(b)
	var sb strings.Builder
	sb.WriteString(prefix)
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	s := make([]byte, 30)
	rand.Read(s)
	return sb.String(), base64.StdEncoding.EncodeToString(s)
}

func newToken() string {
	b := make([]byte, 96)
	rand.Read(b)
	return "IQoJlab" + base64.StdEncoding.EncodeToString(b)
}

// errExpiredKey marks a session key whose credentials have expired.
var errExpiredKey = errors.New("expired session")

func (l *Lab) lookup(_ context.Context, id string) (sigv4.Secret, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.users[id]; ok {
		return sigv4.Secret{SecretAccessKey: u.SecretAccessKey}, nil
	}
	if s, ok := l.sessions[id]; ok {
		if !l.now().Before(s.expires) {
			return sigv4.Secret{}, errExpiredKey
		}
		return sigv4.Secret{SecretAccessKey: s.secret, SessionToken: s.token}, nil
	}
	return sigv4.Secret{}, sigv4.ErrUnknownKey
}

// caller is who signed a request.
type caller struct {
	arn, userID, accessKey string
	session                bool
}

func (l *Lab) callerOf(id string) caller {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.users[id]; ok {
		return caller{arn: "arn:aws:iam::" + l.opts.AccountID + ":user/" + u.Name, userID: "AIDA" + strings.TrimPrefix(id, "AKIA")[:12], accessKey: id}
	}
	s := l.sessions[id]
	return caller{arn: s.arn, userID: s.userID, accessKey: id, session: true}
}

// awsError is an STS error answer.
type awsError struct {
	status  int
	code    string
	message string
}

func (l *Lab) refuse(w http.ResponseWriter, e awsError, logLine string) {
	l.Refused.Add(1)
	n, _ := l.refusals.LoadOrStore(e.code, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	if l.opts.Log != nil && logLine != "" {
		fmt.Fprintln(l.opts.Log, logLine)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		e.code, xmlEscape(e.message), requestID())
}

// Refusals counts refused requests by error code.
func (l *Lab) Refusals() map[string]int64 {
	out := map[string]int64{}
	l.refusals.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Handler serves the STS Query API.
func (l *Lab) Handler() http.Handler {
	v := &sigv4.Verifier{Lookup: l.lookup, Now: l.now, Service: "sts"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed, err := v.Verify(r.Context(), r)
		if err != nil {
			l.refuseVerify(w, signed, err)
			return
		}
		if err := r.ParseForm(); err != nil {
			l.refuse(w, awsError{400, "MalformedQueryString", err.Error()}, "")
			return
		}
		form := r.Form
		c := l.callerOf(signed.AccessKeyID)
		switch form.Get("Action") {
		case "GetCallerIdentity":
			l.Served.Add(1)
			writeXML(w, "GetCallerIdentity", fmt.Sprintf("<Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account>", c.arn, c.userID, l.opts.AccountID))
		case "AssumeRole":
			l.assumeRole(w, c, form)
		case "GetSessionToken":
			if c.session {
				l.refuse(w, awsError{403, "AccessDenied", "Cannot call GetSessionToken with session credentials"}, "")
				return
			}
			cr := l.issue(c.arn, c.userID, durationParam(form))
			l.Served.Add(1)
			writeXML(w, "GetSessionToken", credentialsXML(cr))
		case "":
			l.refuse(w, awsError{400, "MissingAction", "Missing Action"}, "")
		default:
			l.refuse(w, awsError{400, "InvalidAction", "Could not find operation " + form.Get("Action") + " for version 2011-06-15"}, "")
		}
	})
}

func (l *Lab) refuseVerify(w http.ResponseWriter, s *sigv4.Signed, err error) {
	if s == nil {
		s = &sigv4.Signed{}
	}
	var ve *sigv4.VerifyError
	errors.As(err, &ve)
	switch {
	case errors.Is(err, errExpiredKey):
		l.refuse(w, awsError{403, "ExpiredToken", "The security token included in the request is expired"}, "ExpiredToken: "+s.AccessKeyID)
	case errors.Is(err, sigv4.ErrUnknownKey):
		l.refuse(w, awsError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}, "InvalidClientTokenId: "+s.AccessKeyID)
	case errors.Is(err, sigv4.ErrMissingSessionToken), errors.Is(err, sigv4.ErrInvalidSessionToken):
		l.refuse(w, awsError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}, err.Error())
	case errors.Is(err, sigv4.ErrClockSkew), errors.Is(err, sigv4.ErrNotYetValid), errors.Is(err, sigv4.ErrExpired):
		l.refuse(w, awsError{403, "SignatureDoesNotMatch", "Signature expired: " + err.Error()}, err.Error())
	case errors.Is(err, sigv4.ErrSignatureMismatch):
		line := "SignatureDoesNotMatch for " + s.AccessKeyID
		if ve != nil {
			line += "; expected canonical request:\n" + ve.CanonicalRequest + "\nstring to sign:\n" + ve.StringToSign
		}
		l.refuse(w, awsError{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}, line)
	case errors.Is(err, sigv4.ErrMalformed), errors.Is(err, sigv4.ErrWrongScope):
		l.refuse(w, awsError{403, "IncompleteSignature", err.Error()}, err.Error())
	default:
		l.refuse(w, awsError{400, "InvalidRequest", err.Error()}, err.Error())
	}
}

func durationParam(form url.Values) time.Duration {
	n, err := strconv.Atoi(form.Get("DurationSeconds"))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// issue makes session credentials living min(TTL, requested).
func (l *Lab) issue(arn, userID string, requested time.Duration) creds.Credentials {
	ttl := l.opts.TTL
	if requested > 0 && requested < ttl {
		ttl = requested
	}
	id, secret := NewKey("ASIA")
	tok := newToken()
	exp := l.now().Add(ttl).Truncate(time.Second)
	l.mu.Lock()
	for k, s := range l.sessions { // forget sessions long expired
		if l.now().Sub(s.expires) > time.Hour {
			delete(l.sessions, k)
		}
	}
	l.sessions[id] = &session{secret: secret, token: tok, expires: exp, arn: arn, userID: userID}
	l.mu.Unlock()
	l.Issued.Add(1)
	return creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: tok, Expires: exp}
}

func (l *Lab) assumeRole(w http.ResponseWriter, c caller, form url.Values) {
	arn := form.Get("RoleArn")
	name := form.Get("RoleSessionName")
	if arn == "" || name == "" {
		l.refuse(w, awsError{400, "ValidationError", "RoleArn and RoleSessionName are required"}, "")
		return
	}
	var role string
	for _, r := range l.opts.Roles {
		if l.roleARN(r) == arn {
			role = r
		}
	}
	if role == "" {
		l.refuse(w, awsError{403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn, arn)}, "")
		return
	}
	d := durationParam(form)
	if c.session && (d == 0 || d > time.Hour) {
		d = time.Hour // role chaining is limited to one hour, as on AWS
	}
	roleID := "AROA" + strings.ToUpper(strings.ReplaceAll(role, "-", ""))
	if len(roleID) > 21 {
		roleID = roleID[:21]
	}
	cr := l.issue("arn:aws:sts::"+l.opts.AccountID+":assumed-role/"+role+"/"+name, roleID+":"+name, d)
	l.Served.Add(1)
	writeXML(w, "AssumeRole", credentialsXML(cr)+fmt.Sprintf("<AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn></AssumedRoleUser>", roleID, name, l.opts.AccountID, role, name))
}

func credentialsXML(c creds.Credentials) string {
	return fmt.Sprintf("<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>",
		c.AccessKeyID, xmlEscape(c.SecretAccessKey), xmlEscape(c.SessionToken), c.Expires.UTC().Format(time.RFC3339))
}

func writeXML(w http.ResponseWriter, action, result string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, action, result, action, requestID(), action)
}
