// Package console makes AWS Management Console sign-in URLs from any
// credentials, as the AWS federation endpoint documents it
// ("Enable custom identity broker access to the AWS console"):
//
//  1. the credentials must be temporary and of a kind the endpoint
//     accepts: a role session (AssumeRole, IAM Identity Center, web
//     identity) as it is, or GetFederationToken credentials. An IAM user's
//     long-term keys first go through STS GetFederationToken with an
//     allow-all inline policy (the user's own policies still apply: the
//     session gets the intersection) and the user's name cut to 32
//     characters, as aws-vault does; a root user's federation session is
//     capped at one hour. GetSessionToken sessions are refused by the
//     endpoint, and cannot call GetFederationToken either: the error says
//     to use the long-term keys or a role instead;
//  2. Action=getSigninToken with the session as JSON answers a sign-in
//     token (SessionDuration, 900 to 43,200 s, is sent only for role
//     sessions: the endpoint refuses it for GetFederationToken
//     credentials, whose console session lasts as long as they do);
//  3. Action=login with Issuer, Destination and SigninToken is the URL a
//     browser opens.
//
// Hosts follow the partition of the region: signin.aws.amazon.com and
// console.aws.amazon.com (aws), signin.amazonaws.cn and console.amazonaws.cn
// (aws-cn), signin.amazonaws-us-gov.com and console.amazonaws-us-gov.com
// (aws-us-gov). A destination is a console URL of that partition or a
// service name (s3, ec2, ...); anything else is refused with
// ErrDestination, so the sign-in token is never sent to another site.
//
// The sign-in URL is a bearer secret for 15 minutes: whoever opens it is
// signed in. Nothing in this package logs it, and its errors never quote
// it, the session or the token.
//
// # Browsers
//
// BrowserCommand builds the argv that opens a page in a browser with a
// profile of its own per AWS profile, so two accounts stay signed in side
// by side: Chromium and Chrome with --user-data-dir, Firefox with -P. The
// page handed to the browser is a local file (WritePage, mode 0600 in a
// 0700 directory) that redirects to the sign-in URL, so the URL never
// appears in a process's argv, which other users of the machine can read.
package console

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Partition is an AWS partition's sign-in and console hosts.
type Partition struct {
	ID          string // aws, aws-cn, aws-us-gov
	SigninHost  string // signin.aws.amazon.com
	ConsoleHost string // console.aws.amazon.com
}

var partitions = []Partition{
	{"aws", "signin.aws.amazon.com", "console.aws.amazon.com"},
	{"aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn"},
	{"aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"},
}

// ErrNoConsolePartition marks a region of a partition without a public
// console sign-in (the isolated and sovereign partitions).
var ErrNoConsolePartition = errors.New("no console sign-in through a public federation endpoint")

// PartitionOfRegion is the partition of a region: cn-* is aws-cn,
// us-gov-* aws-us-gov, anything else (and "") aws. Regions of the
// isolated and sovereign partitions (us-iso*, eu-isoe-*, eusc-*) are
// ErrNoConsolePartition.
func PartitionOfRegion(region string) (Partition, error) {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return partitions[1], nil
	case strings.HasPrefix(region, "us-gov-"):
		return partitions[2], nil
	case strings.HasPrefix(region, "us-iso"), strings.HasPrefix(region, "eu-isoe-"), strings.HasPrefix(region, "eusc-"):
		return Partition{}, fmt.Errorf("region %s: %w (only aws, aws-cn and aws-us-gov have one)", region, ErrNoConsolePartition)
	}
	return partitions[0], nil
}

// PartitionByID finds a partition by its id (the second field of an ARN).
func PartitionByID(id string) (Partition, bool) {
	for _, p := range partitions {
		if p.ID == id {
			return p, true
		}
	}
	return Partition{}, false
}

// FederationURL is the partition's federation endpoint.
func (p Partition) FederationURL() string { return "https://" + p.SigninHost + "/federation" }

// ErrDestination marks a destination that is neither a console URL of
// the partition nor a service name.
var ErrDestination = errors.New("not an AWS console URL or service name")

// Destination turns the --destination argument into a console URL of p:
// "" is the console home, a service name (s3, ec2, cloudwatch) its page in
// region, an https URL is kept when its host is p's console host or one
// of its subdomains (eu-west-1.console.aws.amazon.com).
func Destination(p Partition, arg, region string) (string, error) {
	home := "https://" + p.ConsoleHost
	if region != "" {
		home = "https://" + region + "." + p.ConsoleHost
	}
	if arg == "" {
		if region == "" {
			return home + "/console/home", nil
		}
		return home + "/console/home?region=" + url.QueryEscape(region), nil
	}
	if isServiceName(arg) {
		if region == "" {
			return "https://" + p.ConsoleHost + "/" + arg + "/home", nil
		}
		return home + "/" + arg + "/home?region=" + url.QueryEscape(region), nil
	}
	u, err := url.Parse(arg)
	if err != nil || !strings.Contains(arg, "://") {
		return "", fmt.Errorf("destination %q: %w: give a service name such as s3 or ec2, or an https://%s/ URL", arg, ErrDestination, p.ConsoleHost)
	}
	if err := p.checkConsoleURL(u); err != nil {
		return "", fmt.Errorf("destination %q: %w", arg, err)
	}
	return u.String(), nil
}

// checkConsoleURL accepts https URLs on the console host of p, without
// user info or a port.
func (p Partition) checkConsoleURL(u *url.URL) error {
	host := strings.ToLower(u.Host)
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%w: the scheme must be https, not %q", ErrDestination, u.Scheme)
	case u.User != nil || u.Port() != "":
		return fmt.Errorf("%w: a console URL has no user name or port", ErrDestination)
	case host != p.ConsoleHost && !strings.HasSuffix(host, "."+p.ConsoleHost):
		return fmt.Errorf("%w: the host must be %s or end in .%s (partition %s), not %s", ErrDestination, p.ConsoleHost, p.ConsoleHost, p.ID, u.Hostname())
	}
	return nil
}

func isServiceName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Kind is what kind of identity credentials belong to, as far as the
// federation endpoint cares.
type Kind int

const (
	// KindRole is a role session: AssumeRole, IAM Identity Center,
	// web identity (an assumed-role ARN). Used as it is.
	KindRole Kind = iota + 1
	// KindFederated is a GetFederationToken session (a federated-user
	// ARN). Used as it is, without SessionDuration.
	KindFederated
	// KindUser is an IAM user's long-term keys: GetFederationToken first.
	KindUser
	// KindRoot is the account root user's keys: GetFederationToken, at
	// most one hour.
	KindRoot
	// KindUserSession is a GetSessionToken session of an IAM user: the
	// endpoint refuses it.
	KindUserSession
)

func (k Kind) String() string {
	switch k {
	case KindRole:
		return "role session"
	case KindFederated:
		return "federated user session"
	case KindUser:
		return "IAM user's long-term keys"
	case KindRoot:
		return "root user's keys"
	case KindUserSession:
		return "GetSessionToken session"
	}
	return "unknown"
}

// ErrSessionToken marks GetSessionToken credentials, which neither the
// federation endpoint nor GetFederationToken accepts.
var ErrSessionToken = errors.New("the federation endpoint does not accept GetSessionToken sessions, and they cannot call GetFederationToken")

// Classify says what the caller ARN of GetCallerIdentity (and whether the
// credentials carry a session token) means for sign-in, with the name a
// GetFederationToken call would use.
func Classify(arn string, temporary bool) (kind Kind, name string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return 0, "", fmt.Errorf("caller %q is not an ARN", arn)
	}
	res := parts[5]
	switch {
	case strings.HasPrefix(res, "assumed-role/"):
		return KindRole, "", nil
	case strings.HasPrefix(res, "federated-user/"):
		return KindFederated, "", nil
	case res == "root":
		if temporary {
			return KindUserSession, "", fmt.Errorf("%s: %w; sign in with the long-term keys or a role", arn, ErrSessionToken)
		}
		return KindRoot, "root", nil
	case strings.HasPrefix(res, "user/"):
		if temporary {
			return KindUserSession, "", fmt.Errorf("%s: %w; use the user's long-term keys (a profile without a session) or a role", arn, ErrSessionToken)
		}
		n := res[strings.LastIndex(res, "/")+1:]
		return KindUser, FederationName(n), nil
	}
	return 0, "", fmt.Errorf("caller %s is neither a user, a role session nor a federated user", arn)
}

// FederationName makes a GetFederationToken Name from a user name: cut
// to 32 characters, and characters outside [\w+=,.@-] replaced by '-', as
// STS wants. Names shorter than 2 characters are padded with '-'.
func FederationName(user string) string {
	b := []byte(user)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			b[i] = '-'
		}
	}
	if len(b) > 32 {
		b = b[:32]
	}
	for len(b) < 2 {
		b = append(b, '-')
	}
	return string(b)
}

// Limits of the durations involved.
const (
	MinSessionDuration    = 900 * time.Second   // SessionDuration and GetFederationToken
	MaxSessionDuration    = 43200 * time.Second // SessionDuration of getSigninToken
	MaxFederationDuration = 129600 * time.Second
	MaxRootFederation     = time.Hour
	DefaultDuration       = time.Hour
)

// Plan is how a requested console duration is honoured.
type Plan struct {
	// SessionDuration is sent to getSigninToken; 0 means not sent.
	SessionDuration time.Duration
	// FederationDuration is GetFederationToken's DurationSeconds; 0 when
	// no GetFederationToken call is made.
	FederationDuration time.Duration
	// Note explains, when not empty, why the console session will not
	// last exactly what was asked.
	Note string
}

// PlanDuration decides, for credentials of kind, what to send for a
// requested console session of d (0 means DefaultDuration).
func PlanDuration(kind Kind, d time.Duration) Plan {
	asked := d
	if d == 0 {
		d = DefaultDuration
	}
	switch kind {
	case KindRole:
		p := Plan{SessionDuration: clamp(d, MinSessionDuration, MaxSessionDuration)}
		if p.SessionDuration != d {
			p.Note = fmt.Sprintf("the federation endpoint takes a SessionDuration of 15m to 12h: %s became %s", d, p.SessionDuration)
		}
		return p
	case KindFederated:
		p := Plan{}
		if asked != 0 {
			p.Note = fmt.Sprintf("a federated user's console session lasts as long as its credentials; the federation endpoint refuses SessionDuration for them, so %s is not sent", d)
		}
		return p
	case KindUser, KindRoot:
		hi, who := MaxFederationDuration, "GetFederationToken sessions last"
		if kind == KindRoot {
			hi, who = MaxRootFederation, "a root user's GetFederationToken session lasts"
		}
		p := Plan{FederationDuration: clamp(d, MinSessionDuration, hi)}
		if p.FederationDuration != d {
			p.Note = fmt.Sprintf("%s 15m to %s: %s became %s", who, shortDuration(hi), d, p.FederationDuration)
		}
		return p
	}
	return Plan{}
}

// shortDuration prints whole hours as "36h", not "36h0m0s".
func shortDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func clamp(d, lo, hi time.Duration) time.Duration {
	d = d.Truncate(time.Second)
	return max(lo, min(hi, d))
}
