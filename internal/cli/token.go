package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rdsauth"
	"github.com/credkit/credkit/sigv4"
)

func newTokenCmd(a *App) *cobra.Command {
	return newGroupCmd("token", "decode and verify presigned URLs and RDS tokens (token inspect)",
		"Presigned URLs and RDS IAM tokens: who signed them, for what, until when, and whether\n"+
			"the signature holds.",
		newTokenInspectCmd(a))
}

// inspection is what token inspect reports.
type inspection struct {
	Kind        string `json:"kind"`
	Host        string `json:"host"`
	Path        string `json:"path"`
	AccessKeyID string `json:"access_key_id"`
	KeyType     string `json:"key_type"`
	ScopeDate   string `json:"scope_date"`
	Algorithm   string `json:"algorithm"`
	Region      string `json:"region"`
	// RegionSet is where a SigV4a URL is valid (its scope has no region).
	RegionSet     []string `json:"region_set,omitempty"`
	Service       string   `json:"service"`
	SignedAt      string   `json:"signed_at"`
	ExpiresAt     string   `json:"expires_at"`
	Expired       bool     `json:"expired"`
	SecondsLeft   int64    `json:"seconds_left"`
	SessionToken  bool     `json:"session_token"`
	SignedHeaders []string `json:"signed_headers"`
	DBUser        string   `json:"db_user,omitempty"`
	Verified      *bool    `json:"verified,omitempty"`
	VerifyError   string   `json:"verify_error,omitempty"`
	VerifyReason  string   `json:"verify_reason,omitempty"`
}

// tokenInspectFlags are the flags of token inspect.
type tokenInspectFlags struct {
	verify, asJSON bool
	method         string
}

func newTokenInspectCmd(a *App) *cobra.Command {
	var o credOpts
	var f tokenInspectFlags
	cmd := &cobra.Command{
		Use:   "inspect [TOKEN_OR_URL|-] [flags]",
		Short: "decode a presigned URL or RDS token, and verify its signature",
		Long: "Decodes a presigned URL or an RDS IAM token: who signed it (access key id, whether a\n" +
			"session token is inside), for which region (the region set of a SigV4a URL) and\n" +
			"service, when, and until when.\n" +
			"With --verify, checks the signature against the current credentials and says exactly\n" +
			"why it fails. Read the token from stdin (no argument, or -) to keep it out of ps.",
		Example: examples(
			"credkit db token --host db.example.com --port 5432 --user app | credkit token inspect",
			"printf '%s' \"$URL\" | credkit token inspect --verify",
			"credkit token inspect --json - < token.txt",
			"credkit presign url --sigv4a s3://arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/k | credkit token inspect"),
		Args: maxArgs(1, "one token or URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.tokenInspect(cmd.Context(), &o, f, args)
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVar(&f.verify, "verify", false, "check the signature with the current credentials (environment or --profile)")
	fs.StringVar(&f.method, "method", "GET", "HTTP method the URL was presigned for (PUT for upload URLs)")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *App) tokenInspect(ctx context.Context, o *credOpts, f tokenInspectFlags, pos []string) error {
	verify, asJSON, method := f.verify, f.asJSON, f.method
	var raw string
	if len(pos) == 0 || pos[0] == "-" {
		b, err := a.readInput("-")
		if err != nil {
			return err
		}
		raw = strings.TrimSpace(string(b))
	} else {
		raw = pos[0]
	}
	signed, u, err := sigv4.ParseURL(raw)
	if err != nil {
		return badInput("not a presigned URL or RDS token: %v", err)
	}
	now := a.Now()
	in := inspection{
		Kind: "presigned URL", Host: signed.Host, Path: u.EscapedPath(), AccessKeyID: signed.AccessKeyID,
		KeyType: keyType(signed.AccessKeyID), ScopeDate: signed.ScopeDate, Algorithm: signed.Algorithm.String(),
		Region: signed.Region, RegionSet: signed.RegionSet, Service: signed.Service,
		SignedAt: signed.SigningTime.UTC().Format(time.RFC3339), SessionToken: signed.SessionToken != "",
		SignedHeaders: signed.SignedHeaders,
	}
	if signed.Service == rdsauth.Service && u.Query().Get("Action") == "connect" {
		in.Kind = "RDS IAM auth token"
		in.DBUser = u.Query().Get("DBUser")
	}
	exp := signed.Expiry()
	if signed.Expires > 0 {
		in.ExpiresAt = exp.UTC().Format(time.RFC3339)
		in.SecondsLeft = int64(exp.Sub(now) / time.Second)
		in.Expired = !now.Before(exp)
	}
	var verr error
	if verify {
		verr = a.verifyToken(ctx, o, signed, raw, method, now)
		var cv cannotVerify
		if errors.As(verr, &cv) {
			return verr
		}
		ok := verr == nil
		in.Verified = &ok
		if verr != nil {
			in.VerifyError = verr.Error()
			var ve *sigv4.VerifyError
			if errors.As(verr, &ve) {
				in.VerifyReason = reasonName(ve.Reason)
			}
		}
	}
	if asJSON {
		if err := writeJSON(a.Stdout, in); err != nil {
			return err
		}
	} else {
		a.printInspection(&in, signed, exp, now)
	}
	if verr != nil {
		var ve *sigv4.VerifyError
		if !asJSON && errors.As(verr, &ve) && ve.CanonicalRequest != "" {
			cr := ve.CanonicalRequest
			if signed.SessionToken != "" {
				cr = strings.ReplaceAll(cr, sigv4.EncodeQueryComponent(signed.SessionToken), "(session-token-redacted)")
			}
			fmt.Fprintf(a.Stderr, "credkit: canonical request expected by the verifier (session token redacted):\n%s\ncredkit: string to sign:\n%s\n", cr, ve.StringToSign)
		}
		if asJSON {
			return silentError{ExitFailure}
		}
		return fmt.Errorf("not valid: %w", verr)
	}
	return nil
}

func (a *App) printInspection(in *inspection, s *sigv4.Signed, exp, now time.Time) {
	w := a.Stdout
	row := func(k, v string) { fmt.Fprintf(w, "%-15s %s\n", k+":", v) }
	row("kind", in.Kind)
	row("host", in.Host)
	if in.DBUser != "" {
		row("db user", in.DBUser)
	} else {
		row("path", in.Path)
	}
	row("access key id", in.AccessKeyID+" ("+in.KeyType+")")
	if s.Algorithm == sigv4.SigV4a {
		row("algorithm", in.Algorithm+" (SigV4a)")
		row("scope", fmt.Sprintf("%s / %s (SigV4a: no region in the scope)", in.ScopeDate, in.Service))
		row("region set", regionSetText(in.RegionSet))
	} else {
		row("algorithm", in.Algorithm)
		row("scope", fmt.Sprintf("%s / %s / %s", in.ScopeDate, in.Region, in.Service))
	}
	row("signed at", fmt.Sprintf("%s (%s)", in.SignedAt, ago(now.Sub(s.SigningTime))))
	if s.Expires > 0 {
		left := exp.Sub(now)
		state := "valid for " + left.Round(time.Second).String() + " more"
		if left <= 0 {
			state = "EXPIRED " + (-left).Round(time.Second).String() + " ago"
		}
		row("expires", fmt.Sprintf("%s (lifetime %s; %s)", in.ExpiresAt, s.Expires, state))
	}
	if in.SessionToken {
		row("session token", "present: signed with temporary credentials, so it also stops working when that session ends")
	} else {
		row("session token", "absent: signed with long-term keys")
	}
	row("signed headers", strings.Join(in.SignedHeaders, ";"))
	if in.Verified != nil {
		if *in.Verified {
			row("signature", "valid for the current credentials")
		} else {
			row("signature", "NOT VALID: "+in.VerifyError)
		}
	}
}

// regionSetText says where a SigV4a signature is valid.
func regionSetText(set []string) string {
	if len(set) == 1 && set[0] == "*" {
		return "* (valid in every region)"
	}
	return strings.Join(set, ",")
}

func ago(d time.Duration) string {
	if d < 0 {
		return "in the future by " + (-d).Round(time.Second).String()
	}
	return d.Round(time.Second).String() + " ago"
}

// keyType names the kind of access key by its prefix.
func keyType(id string) string {
	switch {
	case strings.HasPrefix(id, "AKIA"):
		return "long-term key of an IAM user"
	case strings.HasPrefix(id, "ASIA"):
		return "temporary key of an STS session"
	case strings.HasPrefix(id, "AROA"), strings.HasPrefix(id, "AIDA"):
		return "not an access key: a role or user id"
	}
	return "unrecognised prefix"
}

func reasonName(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{sigv4.ErrMalformed, "malformed"}, {sigv4.ErrUnknownKey, "unknown_key"},
		{sigv4.ErrSignatureMismatch, "signature_mismatch"}, {sigv4.ErrExpired, "expired"},
		{sigv4.ErrNotYetValid, "not_yet_valid"}, {sigv4.ErrClockSkew, "clock_skew"},
		{sigv4.ErrWrongScope, "wrong_scope"}, {sigv4.ErrMissingSessionToken, "missing_session_token"},
		{sigv4.ErrInvalidSessionToken, "invalid_session_token"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// cannotVerify says verification could not be attempted, as opposed to
// a signature found invalid.
type cannotVerify struct{ err error }

func (e cannotVerify) Error() string { return "cannot verify: " + e.err.Error() }
func (e cannotVerify) Unwrap() error { return e.err }

// verifyToken checks a presigned URL against the current credentials.
func (a *App) verifyToken(ctx context.Context, o *credOpts, s *sigv4.Signed, raw, method string, now time.Time) error {
	c, _, err := a.credentials(ctx, o)
	if err != nil {
		return cannotVerify{fmt.Errorf("no credentials to verify with: %w", err)}
	}
	for _, h := range s.SignedHeaders {
		if h != "host" {
			return cannotVerify{fmt.Errorf("the URL also signs the %q header, whose value is not part of the URL", h)}
		}
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), raw, nil)
	if err != nil {
		return err
	}
	v := sigv4.Verifier{
		Now: func() time.Time { return now },
		Lookup: func(_ context.Context, id string) (sigv4.Secret, error) {
			if id != c.AccessKeyID {
				return sigv4.Secret{}, fmt.Errorf("%w: signed with %s, but the current credentials (%s) are %s", sigv4.ErrUnknownKey, id, sourceOf(c), c.AccessKeyID)
			}
			return sigv4.Secret{SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		},
	}
	_, err = v.Verify(ctx, req)
	var ve *sigv4.VerifyError
	if errors.As(err, &ve) && errors.Is(err, sigv4.ErrUnknownKey) {
		return &sigv4.VerifyError{Reason: sigv4.ErrUnknownKey, Detail: fmt.Sprintf("signed with %s, but the current credentials (%s) are %s", s.AccessKeyID, sourceOf(c), c.AccessKeyID)}
	}
	return err
}

func sourceOf(c creds.Credentials) string {
	if c.Source == "" {
		return "unknown source"
	}
	return "from " + c.Source
}
