// Package lab is a local emulator of the credential side of AWS, on
// 127.0.0.1, that issues credentials living seconds or minutes and checks
// every signature strictly, so that code which holds on to a snapshot of
// credentials, or signs wrongly, fails in minutes instead of hours.
//
// # What it serves
//
// One HTTP handler (Lab.Handler) serves, on one address:
//
//   - the STS Query API: GetCallerIdentity, GetSessionToken (with MFA),
//     AssumeRole (trust policies, sts:ExternalId, aws:MultiFactorAuthPresent,
//     the one-hour limit of role chaining, MaxSessionDuration) and
//     AssumeRoleWithWebIdentity (unsigned, an RS256 JWT of the lab's own
//     issuer), with the XML shapes, error codes and messages of STS;
//   - a minimal IAM Query API for requests signed for service "iam":
//     CreateAccessKey (two keys per user at most), DeleteAccessKey,
//     ListAccessKeys, GetUser, GetRole, ListRoles (paged, PathPrefix) and
//     SimulatePrincipalPolicy (the engine's decision for a seeded user or
//     role). A new key signs at once; a deleted one gets
//     InvalidClientTokenId. A user seeded with require_mfa has the usual
//     "no IAM without MFA" policy: AccessDenied (explicit deny) unless the
//     call is signed with a session made with MFA;
//   - instance metadata under /latest/ (IMDSv2, and IMDSv1 unless
//     Options.DisableIMDSv1) and a container credentials endpoint at
//     /_lab/ecs/credentials (Authorization: Lab.ECSToken), both serving
//     rotating credentials of the seed's instance role;
//   - /_lab/jwks.json and /.well-known/openid-configuration: the public key
//     of the web identity tokens (Lab.MintWebIdentityToken makes them);
//   - POST /_lab/verify: checks the SigV4 or SigV4a signature of any
//     request, for any service and region (or region set), signed with a
//     key the lab knows (see Lab.Handler);
//   - POST /_lab/explain: the engine's explanation of a refused request,
//     by its request id (see Policies);
//   - GET /_lab/summary: the Summary as JSON;
//   - STS GetFederationToken, the console federation endpoint
//     (/federation: getSigninToken and login), /oauth logout and a console
//     page at /console/ that shows the identity behind its cookie (see
//     federation.go);
//   - IAM Identity Center (see sso.go): the SSO-OIDC API (RegisterClient,
//     StartDeviceAuthorization, CreateToken), its /authorize page, and the
//     portal (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout),
//     with permission sets from the seed and the faults of SSOOptions;
//   - the sign-in token endpoint (see login.go): POST /v1/token refreshes
//     `aws login` sessions that Lab.MintLoginSession started, checking
//     their DPoP proofs.
//
// Every API request's signature, SigV4 or SigV4a (AWS4-ECDSA-P256-SHA256,
// valid in the regions of its X-Amz-Region-Set), is verified with
// credkit's verifier. An unknown or deleted access key gets
// InvalidClientTokenId, a wrong signature SignatureDoesNotMatch (the
// canonical request the lab expected goes to its log, never to the
// client), an expired session ExpiredToken
// ("The security token included in the request is expired"), a signing
// time more than 15 minutes from the lab's clock SignatureDoesNotMatch
// ("Signature expired"), as AWS answers.
//
// # Policies
//
// Every IAM and STS call that needs a permission is decided by credkit's
// policy engine (package policy) with the caller's identity-based
// policies and permissions boundary, the account's SCPs and, for
// AssumeRole, the role's trust policy, which must allow the caller
// itself; a session made with a session policy (AssumeRole's Policy) is
// held to it as well. A refusal is AccessDenied with AWS's sentence ("User: ARN is
// not authorized to perform: iam:CreateAccessKey on resource: ARN because
// no identity-based policy allows the iam:CreateAccessKey action"). A
// role is found only by its exact ARN, path and case included: a name
// that differs in case is AccessDenied, as STS answers, not NoSuchEntity.
// Each refusal carries its request id (x-amzn-RequestId);
// POST /_lab/explain with that id answers the engine's explanation
// (Explanation). GetCallerIdentity and GetSessionToken need no
// permission, as in AWS.
//
// # Faults
//
// Options make the failures that take hours in real life happen now: TTL
// (credentials living down to 15 seconds), ClockSkew (the lab's clock runs
// ahead or behind; its Date header says so, as AWS's does), IMDSOutages
// (windows during which instance metadata drops connections or answers
// 503), STSThrottle (400 Throttling "Rate exceeded" beyond a request rate)
// and Latency (added to every response).
//
// # Seeds
//
// The account (users, keys, MFA devices, roles and their trust policies)
// comes from a Seed: DefaultSeed, or a file read by LoadSeed, in YAML or
// JSON (a JSON document is YAML too):
//
//	account_id: "111122223333"
//	users:
//	  - name: alice
//	    access_keys: [{access_key_id: AKIA..., secret_access_key: ...}]
//	    mfa_secret: JBSWY3DPEHPK3PXPJBSWY3DP
//	    policies:                # identity-based policies; none: nothing allowed
//	      - Statement: {Effect: Allow, Action: ["sts:AssumeRole", "iam:Get*"], Resource: "*"}
//	    permissions_boundary:    # optional
//	      Statement: {Effect: Allow, Action: ["sts:*", "iam:*"], Resource: "*"}
//	roles:
//	  - name: deploy
//	    path: /ci/               # ARN arn:aws:iam::111122223333:role/ci/deploy
//	    max_session_duration: 7200
//	    policies: [...]          # of its sessions; permissions_boundary too
//	    trust_policy:            # an IAM policy document, or one as a JSON string
//	      Version: "2012-10-17"
//	      Statement:
//	        - Effect: Allow
//	          Action: sts:AssumeRole
//	          Principal: {AWS: "arn:aws:iam::111122223333:root"}
//	          Condition: {StringEquals: {"sts:ExternalId": x}}
//	oidc: {issuer: "https://oidc.lab.invalid", client_ids: [sts.amazonaws.com]}
//	instance_role: deploy
//	scps:                        # levels from the organization root down to the account
//	  - [{Statement: {Effect: Allow, Action: "*", Resource: "*"}}]
//
// The built-in seed (DefaultSeed) gives its user and roles DefaultPolicy:
// every STS and IAM action.
//
// The file is parsed by github.com/goccy/go-yaml, a maintained YAML 1.2
// library (anchors, flow and block styles; a key given twice is an
// error). The seed reader then checks every value against what IAM
// accepts, and refuses fields it does not know, so that a misspelt
// field fails instead of being ignored. Every error names the file, the
// line and, for a wrong value, its path:
//
//	seed.yaml:12: $.roles[0].trust_policy.Statement[0].Effect: must be "Allow" or "Deny", not "allow"
//
// # AWS config
//
// WriteConfig writes an AWS config and credentials pair whose profiles
// point at a running lab: one per user, one per role, and ServedProfile.
package lab

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/policy"
	"github.com/credkit/credkit/server"
	"github.com/credkit/credkit/sigv4"
)

// DefaultAccount is the account of the built-in seed.
const DefaultAccount = "000000000000"

// Region is the region the lab's metadata endpoints report.
const Region = "us-east-1"

// MinTTL is the shortest credential lifetime the lab issues.
const MinTTL = 15 * time.Second

// Options configures a Lab.
type Options struct {
	// Seed is the account; nil means DefaultSeed().
	Seed *Seed
	// TTL caps the lifetime of issued credentials; 0 means 15 minutes. Down
	// to MinTTL, so that expiry bugs show up quickly.
	TTL time.Duration
	// ClockSkew is added to the lab's clock: signatures, expiries and the
	// Date header follow the skewed clock.
	ClockSkew time.Duration
	// IMDSOutages are windows, counted from New, during which instance
	// metadata fails.
	IMDSOutages []Outage
	// STSThrottle, when positive, is the rate (requests per second, burst
	// of one second's worth) beyond which STS answers Throttling.
	STSThrottle float64
	// Latency is added to every response.
	Latency time.Duration
	// DisableIMDSv1 makes instance metadata refuse requests without an
	// IMDSv2 session token (401), as an instance with HttpTokens=required.
	DisableIMDSv1 bool
	// Now is the lab's clock before ClockSkew; nil means time.Now.
	Now func() time.Time
	// SSO are the Identity Center's faults and timings.
	SSO SSOOptions
	// Log receives one line per refused request (with the expected
	// canonical request for signature mismatches); nil discards.
	Log io.Writer
}

// Outage is a window of instance metadata failure.
type Outage struct {
	Start, Duration time.Duration
	// Status is the HTTP status answered during the outage (e.g. 503); 0
	// drops connections without an answer.
	Status int
}

// Lab is the emulator.
type Lab struct {
	opts  Options
	seed  *Seed
	start time.Time
	key   *rsa.PrivateKey
	kid   string

	mu       sync.Mutex
	users    map[string]*user     // by name
	keys     map[string]*userKey  // long-term keys by id
	sessions map[string]*session  // by access key id
	roles    map[string]*SeedRole // by name
	issued   map[string]int64     // by kind
	logMu    sync.Mutex

	explained explanations // of AccessDenied refusals, by request id

	throttle *bucket
	imds     *server.IMDS
	ecs      *server.ECS
	ecsToken string
	sso      ssoState
	login    loginState
	fed      federation

	// Counters for the summary.
	Served, Refused, Issued atomic.Int64
	refusals                sync.Map // reason -> *atomic.Int64
}

type user struct {
	name, id  string
	created   time.Time
	mfaSecret string
	// usedCodes are the MFA codes accepted lately, with the 30 s step
	// they were accepted in: AWS accepts each code once.
	usedCodes map[string]int64
	// requireMFA: IAM calls need an MFA session (SeedUser.RequireMFA).
	requireMFA bool
	keys       []*userKey
}

type userKey struct {
	id, secret string
	user       *user
	created    time.Time
}

type session struct {
	secret, token string
	expires       time.Time
	arn, userID   string
	user          string // IAM user name for GetSessionToken sessions
	role          string // role name for role sessions
	mfa           bool
	policy        *policy.Policy // the session policy AssumeRole was given
}

// User is a seeded IAM user with its first access key.
type User struct {
	Name            string
	AccessKeyID     string
	SecretAccessKey string
	// MFASerial and MFASecret describe the user's virtual MFA device
	// (empty without one); codes come from TOTP(MFASecret, now).
	MFASerial, MFASecret string
}

// New returns a lab seeded from opts.
func New(opts Options) (*Lab, error) {
	if opts.TTL == 0 {
		opts.TTL = 15 * time.Minute
	}
	if opts.TTL < MinTTL {
		return nil, fmt.Errorf("ttl %s: the shortest lifetime is %s", opts.TTL, MinTTL)
	}
	if opts.STSThrottle < 0 {
		return nil, fmt.Errorf("sts throttle %g: must be positive", opts.STSThrottle)
	}
	for _, o := range opts.IMDSOutages {
		if o.Start < 0 || o.Duration <= 0 {
			return nil, fmt.Errorf("imds outage %s+%s: the start must not be negative and the duration must be positive", o.Start, o.Duration)
		}
	}
	seed := opts.Seed
	if seed == nil {
		seed = DefaultSeed()
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 8)
	randRead(kid)
	l := &Lab{
		opts: opts, seed: seed, key: key, kid: hex.EncodeToString(kid),
		users: map[string]*user{}, keys: map[string]*userKey{}, sessions: map[string]*session{},
		roles: map[string]*SeedRole{}, issued: map[string]int64{},
	}
	l.start = l.now()
	for _, su := range seed.Users {
		u := &user{name: su.Name, id: userIDFor(su.Name), created: l.start, mfaSecret: su.MFASecret, requireMFA: su.RequireMFA}
		for _, k := range su.AccessKeys {
			uk := &userKey{id: k.AccessKeyID, secret: k.SecretAccessKey, user: u, created: l.start}
			u.keys = append(u.keys, uk)
			l.keys[uk.id] = uk
		}
		l.users[u.name] = u
	}
	for i := range seed.Roles {
		l.roles[seed.Roles[i].Name] = &seed.Roles[i]
	}
	if opts.STSThrottle > 0 {
		l.throttle = &bucket{rate: opts.STSThrottle}
	}
	l.setupMetadata()
	return l, nil
}

// userIDFor makes a stable unique id (AIDA...) for a user name.
func userIDFor(name string) string {
	return "AIDA" + strings.ToUpper(hex.EncodeToString([]byte(name + "lab-user-id")))[:17]
}

func roleIDFor(name string) string {
	return "AROA" + strings.ToUpper(hex.EncodeToString([]byte(name + "lab-role-id")))[:17]
}

// Seed returns the lab's account.
func (l *Lab) Seed() *Seed { return l.seed }

// AccountID is the seed's account id.
func (l *Lab) AccountID() string { return l.seed.AccountID }

// Users returns the seeded users with their first key (keys made and
// deleted through IAM are not reflected).
func (l *Lab) Users() []User {
	var out []User
	for _, su := range l.seed.Users {
		u := User{Name: su.Name, MFASecret: su.MFASecret}
		if len(su.AccessKeys) > 0 {
			u.AccessKeyID, u.SecretAccessKey = su.AccessKeys[0].AccessKeyID, su.AccessKeys[0].SecretAccessKey
		}
		if su.MFASecret != "" {
			u.MFASerial = l.mfaSerial(su.Name)
		}
		out = append(out, u)
	}
	return out
}

// Roles returns the ARNs of the seeded roles, in seed order.
func (l *Lab) Roles() []string {
	var arns []string
	for _, r := range l.seed.Roles {
		arns = append(arns, l.roleARN(r.Name))
	}
	return arns
}

// RoleARN is the ARN of a role of the seed.
func (l *Lab) RoleARN(name string) string { return l.roleARN(name) }

// TTL is the lifetime cap of issued credentials.
func (l *Lab) TTL() time.Duration { return l.opts.TTL }

// roleARN is the ARN of a role, with its path.
func (l *Lab) roleARN(name string) string {
	path := "/"
	if r := l.roles[name]; r != nil && r.Path != "" {
		path = r.Path
	}
	return "arn:aws:iam::" + l.seed.AccountID + ":role" + path + name
}

func (l *Lab) mfaSerial(userName string) string {
	return "arn:aws:iam::" + l.seed.AccountID + ":mfa/" + userName
}

// now is the lab's clock, skewed.
func (l *Lab) now() time.Time {
	t := time.Now()
	if l.opts.Now != nil {
		t = l.opts.Now()
	}
	return t.Add(l.opts.ClockSkew)
}

// Now is the lab's clock (with ClockSkew).
func (l *Lab) Now() time.Time { return l.now() }

func randRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
}

// NewKey returns a random access key id with the prefix (AKIA or ASIA) and
// a secret.
func NewKey(prefix string) (id, secret string) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16)
	randRead(b)
	var sb strings.Builder
	sb.WriteString(prefix)
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	s := make([]byte, 30)
	randRead(s)
	return sb.String(), base64.StdEncoding.EncodeToString(s)
}

func newToken() string {
	b := make([]byte, 96)
	randRead(b)
	return "IQoJlab" + base64.StdEncoding.EncodeToString(b)
}

// errExpiredKey marks a session key whose credentials have expired.
var errExpiredKey = errors.New("expired session")

// lookup finds the secret of a key; expired sessions are refused.
func (l *Lab) lookup(ctx context.Context, id string) (sigv4.Secret, error) {
	sec, exp, err := l.secretOf(id)
	if err == nil && !exp.IsZero() && !l.now().Before(exp) {
		return sigv4.Secret{}, errExpiredKey
	}
	return sec, err
}

// secretOf finds the secret of a key and, for a session, its expiry.
func (l *Lab) secretOf(id string) (sigv4.Secret, time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.keys[id]; ok {
		return sigv4.Secret{SecretAccessKey: k.secret}, time.Time{}, nil
	}
	if s, ok := l.sessions[id]; ok {
		return sigv4.Secret{SecretAccessKey: s.secret, SessionToken: s.token}, s.expires, nil
	}
	return sigv4.Secret{}, time.Time{}, sigv4.ErrUnknownKey
}

// caller is who signed a request.
type caller struct {
	arn, userID, accessKey string
	user                   string // IAM user (long-term key or GetSessionToken session)
	role                   string // role name for a role session
	session                bool
	mfa                    bool
	sessionPolicy          *policy.Policy
}

func (l *Lab) callerOf(id string) caller {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.keys[id]; ok {
		return caller{arn: l.userARN(k.user.name), userID: k.user.id, accessKey: id, user: k.user.name}
	}
	s := l.sessions[id]
	return caller{arn: s.arn, userID: s.userID, accessKey: id, session: true, user: s.user, role: s.role, mfa: s.mfa, sessionPolicy: s.policy}
}

func (l *Lab) userARN(name string) string {
	return "arn:aws:iam::" + l.seed.AccountID + ":user/" + name
}

// awsError is an error answer of STS or IAM.
type awsError struct {
	status  int
	code    string
	message string
}

// Namespaces of the two Query APIs.
const (
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// refuse answers an error in the service's XML and counts and logs it;
// detail (for the log only) says more than the client is told.
func (l *Lab) refuse(w http.ResponseWriter, ns string, e awsError, detail string) {
	l.refuseExplained(w, ns, e, detail, nil)
}

// refuseExplained is refuse keeping x, when not nil, for /_lab/explain
// under the answer's request id.
func (l *Lab) refuseExplained(w http.ResponseWriter, ns string, e awsError, detail string, x *Explanation) {
	id := requestID()
	if x != nil {
		x.RequestID, x.Code, x.Message = id, e.code, e.message
		l.explained.put(x)
	}
	l.count(e.code)
	line := "lab: refused: " + e.code + ": " + e.message
	if detail != "" {
		line += "\n  " + strings.ReplaceAll(detail, "\n", "\n  ")
	}
	l.logf("%s", line)
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		ns, typ, e.code, xmlEscape(e.message), id)
}

func (l *Lab) count(code string) {
	l.Refused.Add(1)
	n, _ := l.refusals.LoadOrStore(code, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (l *Lab) logf(format string, args ...any) {
	if l.opts.Log == nil {
		return
	}
	l.logMu.Lock()
	defer l.logMu.Unlock()
	fmt.Fprintf(l.opts.Log, format+"\n", args...)
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
	randRead(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Handler serves everything the lab emulates (see the package
// documentation for the paths).
//
// POST /_lab/verify takes, as its body, the request to check in raw
// HTTP/1.1 form (request line, headers, blank line, body: what
// `credkit sign` prints, or Go's httputil.DumpRequestOut) and answers JSON
// (VerifyResult). The request is not executed.
func (l *Lab) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_lab/jwks.json", l.jwks)
	mux.HandleFunc("/.well-known/openid-configuration", l.discovery)
	mux.HandleFunc("/_lab/verify", l.verifyEndpoint)
	l.federationRoutes(mux)
	mux.HandleFunc("/_lab/explain", l.explainEndpoint)
	mux.HandleFunc("/_lab/summary", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, l.Summary()) })
	mux.Handle(ecsPath, l.ecs)
	mux.Handle("/latest/", l.imdsHandler())
	l.routeSSO(mux)
	mux.HandleFunc("POST /v1/token", l.loginToken)
	mux.HandleFunc("/", l.api)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.opts.Latency > 0 {
			t := time.NewTimer(l.opts.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		// The Date header follows the lab's (skewed) clock, as AWS's
		// follows its own: SDKs correct their signing time from it.
		w.Header().Set("Date", l.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

// signed reports whether a request carries a SigV4 signature at all.
func signed(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("X-Amz-Credential")
}

// api serves the STS and IAM Query APIs.
func (l *Lab) api(w http.ResponseWriter, r *http.Request) {
	if !signed(r) {
		if err := r.ParseForm(); err == nil && r.Form.Get("Action") == "AssumeRoleWithWebIdentity" {
			if l.throttled(w) {
				return
			}
			l.assumeRoleWithWebIdentity(w, r.Form)
			return
		}
		l.refuse(w, stsNS, awsError{403, "MissingAuthenticationToken", "Request is missing Authentication Token"}, r.Method+" "+r.URL.Path+" without a signature")
		return
	}
	v := &sigv4.Verifier{Lookup: l.lookup, Now: l.now}
	s, err := v.Verify(r.Context(), r)
	ns := stsNS
	if s != nil && s.Service == "iam" {
		ns = iamNS
	}
	if err != nil {
		l.refuseVerify(w, ns, s, err)
		return
	}
	if s.Service != "sts" && s.Service != "iam" {
		l.refuse(w, stsNS, awsError{400, "InvalidRequest", "This endpoint serves sts and iam; the request is signed for " + s.Service + "."}, "to check a signature for another service, POST the request to /_lab/verify")
		return
	}
	if err := r.ParseForm(); err != nil {
		l.refuse(w, ns, awsError{400, "MalformedQueryString", err.Error()}, "")
		return
	}
	c := l.callerOf(s.AccessKeyID)
	if s.Service == "iam" {
		l.iam(w, c, r.Form)
		return
	}
	if l.throttled(w) {
		return
	}
	form := r.Form
	switch form.Get("Action") {
	case "GetCallerIdentity":
		l.Served.Add(1)
		writeXML(w, stsNS, "GetCallerIdentity", fmt.Sprintf("<Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account>", c.arn, c.userID, l.seed.AccountID))
	case "AssumeRole":
		l.assumeRole(w, c, form)
	case "AssumeRoleWithWebIdentity":
		l.assumeRoleWithWebIdentity(w, form)
	case "GetSessionToken":
		l.getSessionToken(w, c, form)
	case "GetFederationToken":
		l.getFederationToken(w, c, form)
	case "":
		l.refuse(w, stsNS, awsError{400, "MissingAction", "Missing Action"}, "")
	default:
		l.refuse(w, stsNS, awsError{400, "InvalidAction", "Could not find operation " + form.Get("Action") + " for version 2011-06-15"}, "")
	}
}

func (l *Lab) refuseVerify(w http.ResponseWriter, ns string, s *sigv4.Signed, err error) {
	if s == nil {
		s = &sigv4.Signed{}
	}
	var ve *sigv4.VerifyError
	errors.As(err, &ve)
	invalidToken := awsError{403, "InvalidClientTokenId", "The security token included in the request is invalid."}
	switch {
	case errors.Is(err, errExpiredKey):
		l.refuse(w, ns, awsError{403, "ExpiredToken", "The security token included in the request is expired"}, "access key "+s.AccessKeyID+": the session has expired")
	case errors.Is(err, sigv4.ErrUnknownKey):
		l.refuse(w, ns, invalidToken, "access key "+s.AccessKeyID+" is not known (never issued, or deleted)")
	case errors.Is(err, sigv4.ErrMissingSessionToken), errors.Is(err, sigv4.ErrInvalidSessionToken):
		l.refuse(w, ns, invalidToken, err.Error())
	case errors.Is(err, sigv4.ErrClockSkew), errors.Is(err, sigv4.ErrNotYetValid), errors.Is(err, sigv4.ErrExpired):
		now := l.now().UTC()
		msg := fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)", s.SigningTime.UTC().Format("20060102T150405Z"), now.Add(-sigv4.DefaultMaxSkew).Format("20060102T150405Z"), now.Format("20060102T150405Z"))
		if s.SigningTime.After(now) {
			msg = fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)", s.SigningTime.UTC().Format("20060102T150405Z"), now.Add(sigv4.DefaultMaxSkew).Format("20060102T150405Z"), now.Format("20060102T150405Z"))
		}
		l.refuse(w, ns, awsError{403, "SignatureDoesNotMatch", msg}, err.Error())
	case errors.Is(err, sigv4.ErrSignatureMismatch):
		detail := "access key " + s.AccessKeyID + ": the signature does not match"
		if ve != nil && ve.CanonicalRequest != "" {
			detail += "; the lab expected the canonical request\n" + ve.CanonicalRequest + "\nand the string to sign\n" + ve.StringToSign
		}
		l.refuse(w, ns, awsError{403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}, detail)
	case errors.Is(err, sigv4.ErrMalformed), errors.Is(err, sigv4.ErrWrongScope):
		l.refuse(w, ns, awsError{400, "IncompleteSignature", err.Error()}, "")
	default:
		l.refuse(w, ns, awsError{400, "InvalidRequest", err.Error()}, "")
	}
}

// Issue kinds, as counted in the Summary.
const (
	KindSessionToken = "GetSessionToken"
	KindAssumeRole   = "AssumeRole"
	KindWebIdentity  = "AssumeRoleWithWebIdentity"
	KindMetadata     = "instance metadata / container endpoint"
	KindAccessKey    = "CreateAccessKey"
)

// issue makes session credentials living min(TTL, d).
func (l *Lab) issue(kind string, s session, d time.Duration) creds.Credentials {
	if d <= 0 || d > l.opts.TTL {
		d = l.opts.TTL
	}
	id, secret := NewKey("ASIA")
	now := l.now()
	s.secret, s.token, s.expires = secret, newToken(), now.Add(d).Truncate(time.Second)
	l.mu.Lock()
	for k, old := range l.sessions { // forget sessions long expired
		if now.Sub(old.expires) > time.Hour {
			delete(l.sessions, k)
		}
	}
	l.sessions[id] = &s
	l.issued[kind]++
	l.mu.Unlock()
	l.Issued.Add(1)
	return creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: s.token, Expires: s.expires, AccountID: l.seed.AccountID}
}

// durationParam reads DurationSeconds: def when absent, within [min,max]
// as STS's API constraint says.
func durationParam(form url.Values, def, min, max time.Duration) (time.Duration, *awsError) {
	v := form.Get("DurationSeconds")
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &awsError{400, "ValidationError", fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", v)}
	}
	d := time.Duration(n) * time.Second
	if d < min {
		return 0, &awsError{400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, int(min/time.Second))}
	}
	if d > max {
		return 0, &awsError{400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, int(max/time.Second))}
	}
	return d, nil
}

var (
	errMFAInvalid = awsError{403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. "}
	errMFAUnknown = awsError{403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."}
)

// checkMFA validates SerialNumber and TokenCode against the caller's
// device: ok=false with no error when neither is given.
func (l *Lab) checkMFA(c caller, form url.Values) (ok bool, refusal *awsError, detail string) {
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	if serial == "" && code == "" {
		return false, nil, ""
	}
	if serial == "" || code == "" {
		return false, &awsError{400, "ValidationError", "SerialNumber and TokenCode must be given together"}, ""
	}
	l.mu.Lock()
	u := l.users[c.user]
	l.mu.Unlock()
	if u == nil || u.mfaSecret == "" || serial != l.mfaSerial(u.name) {
		return false, &errMFAUnknown, fmt.Sprintf("%s has no MFA device %s", c.arn, serial)
	}
	if !checkTOTP(u.mfaSecret, code, l.now()) {
		return false, &errMFAInvalid, fmt.Sprintf("code %s is not the code of %s within one 30 s step of %s", code, serial, l.now().UTC().Format(time.RFC3339))
	}
	// A code is accepted once: a second use within the steps it is valid
	// in is refused as AWS does, with the invalid-code error.
	step := l.now().Unix() / 30
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, at := range u.usedCodes {
		if at < step-3 {
			delete(u.usedCodes, c)
		}
	}
	if at, used := u.usedCodes[code]; used {
		return false, &errMFAInvalid, fmt.Sprintf("code %s of %s was already used %d s ago; each code is accepted once", code, serial, (step-at)*30)
	}
	if u.usedCodes == nil {
		u.usedCodes = map[string]int64{}
	}
	u.usedCodes[code] = step
	return true, nil, ""
}

func (l *Lab) getSessionToken(w http.ResponseWriter, c caller, form url.Values) {
	if c.session {
		l.refuse(w, stsNS, awsError{403, "AccessDenied", "Cannot call GetSessionToken with session credentials"}, c.arn)
		return
	}
	d, e := durationParam(form, 12*time.Hour, 15*time.Minute, 36*time.Hour)
	if e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	mfa, e, detail := l.checkMFA(c, form)
	if e != nil {
		l.refuse(w, stsNS, *e, detail)
		return
	}
	cr := l.issue(KindSessionToken, session{arn: c.arn, userID: c.userID, user: c.user, mfa: mfa}, d)
	l.Served.Add(1)
	writeXML(w, stsNS, "GetSessionToken", credentialsXML(cr))
}

// roleFor finds the role an ARN names: exactly, path and case included,
// as STS does.
func (l *Lab) roleFor(arn string) *SeedRole {
	name := arn[strings.LastIndex(arn, "/")+1:]
	if r := l.roles[name]; r != nil && l.roleARN(name) == arn {
		return r
	}
	return nil
}

func maxSession(r *SeedRole) time.Duration {
	if r.MaxSessionDuration == 0 {
		return time.Hour
	}
	return r.MaxSessionDuration
}

// sessionNameError checks a RoleSessionName as STS does.
func sessionNameError(s string) *awsError {
	pre := "1 validation error detected: Value '" + s + "' at 'roleSessionName' failed to satisfy constraint: "
	if len(s) < 2 {
		return &awsError{400, "ValidationError", pre + "Member must have length greater than or equal to 2"}
	}
	if len(s) > 64 {
		return &awsError{400, "ValidationError", pre + "Member must have length less than or equal to 64"}
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+=,.@-", c)) {
			return &awsError{400, "ValidationError", pre + "Member must satisfy regular expression pattern: [\\w+=,.@-]*"}
		}
	}
	return nil
}

func (l *Lab) assumeRole(w http.ResponseWriter, c caller, form url.Values) {
	arn, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	if arn == "" || name == "" {
		l.refuse(w, stsNS, awsError{400, "ValidationError", "2 validation errors detected: RoleArn and RoleSessionName must not be null"}, "")
		return
	}
	if e := sessionNameError(name); e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	role := l.roleFor(arn)
	if role == nil {
		l.authorize(w, stsNS, c, check{action: "sts:AssumeRole", resource: arn, noRole: true}, l.roleMiss(arn))
		return
	}
	d, e := durationParam(form, time.Hour, 15*time.Minute, 12*time.Hour)
	if e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	chained := c.role != ""
	if d > maxSession(role) {
		l.refuse(w, stsNS, awsError{400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}, fmt.Sprintf("role %s: MaxSessionDuration %s, requested %s", role.Name, maxSession(role), d))
		return
	}
	if chained && d > time.Hour {
		l.refuse(w, stsNS, awsError{400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."}, fmt.Sprintf("%s assumes %s with a role session (role chaining): at most 1h, requested %s", c.arn, arn, d))
		return
	}
	mfa, e, detail := l.checkMFA(c, form)
	if e != nil {
		l.refuse(w, stsNS, *e, detail)
		return
	}
	mfa = mfa || c.mfa
	ctx := map[string][]string{"sts:RoleSessionName": {name}}
	if mfa {
		ctx["aws:MultiFactorAuthPresent"] = []string{"true"}
	}
	if x := form.Get("ExternalId"); x != "" {
		ctx["sts:ExternalId"] = []string{x}
	}
	if !l.authorize(w, stsNS, c, check{action: "sts:AssumeRole", resource: arn, context: ctx, trust: role}, "") {
		return
	}
	sessionPolicy, e := sessionPolicyParam(form)
	if e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	roleID := roleIDFor(role.Name)
	sessARN := "arn:aws:sts::" + l.seed.AccountID + ":assumed-role/" + role.Name + "/" + name
	cr := l.issue(KindAssumeRole, session{arn: sessARN, userID: roleID + ":" + name, role: role.Name, mfa: mfa, policy: sessionPolicy}, d)
	l.Served.Add(1)
	writeXML(w, stsNS, "AssumeRole", credentialsXML(cr)+fmt.Sprintf("<AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser>", roleID, xmlEscape(name), xmlEscape(sessARN)))
}

func (l *Lab) assumeRoleWithWebIdentity(w http.ResponseWriter, form url.Values) {
	arn, name, tok := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("WebIdentityToken")
	if arn == "" || name == "" || tok == "" {
		l.refuse(w, stsNS, awsError{400, "ValidationError", "RoleArn, RoleSessionName and WebIdentityToken must not be null"}, "")
		return
	}
	if e := sessionNameError(name); e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	cl, te := l.verifyJWT(tok)
	if te != nil {
		l.refuse(w, stsNS, awsError{400, te.code, te.msg}, "web identity token for "+arn)
		return
	}
	denied := awsError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	role := l.roleFor(arn)
	if role == nil {
		l.refuse(w, stsNS, denied, "no role "+arn+" in the seed")
		return
	}
	d, e := durationParam(form, time.Hour, 15*time.Minute, 12*time.Hour)
	if e != nil {
		l.refuse(w, stsNS, *e, "")
		return
	}
	if d > maxSession(role) {
		l.refuse(w, stsNS, awsError{400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}, "")
		return
	}
	host := strings.TrimPrefix(cl.Iss, "https://")
	aud := cl.Aud[0]
	for _, a := range cl.Aud {
		if slices.Contains(l.clientIDs(), a) {
			aud = a
		}
	}
	req := policy.Request{Principal: l.providerARN(), Action: "sts:AssumeRoleWithWebIdentity", Resource: arn,
		Context: map[string][]string{host + ":sub": {cl.Sub}, host + ":aud": {aud}, "sts:RoleSessionName": {name}}}
	if d := policy.Evaluate(policy.Policies{Trust: &policy.Labeled{Label: trustLabel(role), Policy: role.TrustPolicy}}, req); d.Outcome != policy.Allowed {
		why := "trust policy of " + role.Name + " for sub " + cl.Sub + ":"
		for _, s := range d.Deciding {
			why += "\n" + s.String()
		}
		l.refuseExplained(w, stsNS, awsError{403, "AccessDenied", d.Message}, why, newExplanation(d, req, ""))
		return
	}
	roleID := roleIDFor(role.Name)
	sessARN := "arn:aws:sts::" + l.seed.AccountID + ":assumed-role/" + role.Name + "/" + name
	cr := l.issue(KindWebIdentity, session{arn: sessARN, userID: roleID + ":" + name, role: role.Name}, d)
	l.Served.Add(1)
	writeXML(w, stsNS, "AssumeRoleWithWebIdentity", credentialsXML(cr)+fmt.Sprintf(
		"<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken><AssumedRoleUser><AssumedRoleId>%s:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser><Provider>%s</Provider><Audience>%s</Audience>",
		xmlEscape(cl.Sub), roleID, xmlEscape(name), xmlEscape(sessARN), xmlEscape(host), xmlEscape(aud)))
}

func credentialsXML(c creds.Credentials) string {
	return fmt.Sprintf("<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>",
		c.AccessKeyID, xmlEscape(c.SecretAccessKey), xmlEscape(c.SessionToken), c.Expires.UTC().Format(time.RFC3339))
}

func writeXML(w http.ResponseWriter, ns, action, result string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, ns, action, result, action, requestID(), action)
}
