package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/credkit/credkit/internal/awserror"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/credkit/credkit/sigv4"
)

// signOpts are the flags of sign and curl.
type signOpts struct {
	credOpts
	service         string
	unsignedPayload bool
	v4a             sigv4aFlags
}

func (o *signOpts) register(fs *pflag.FlagSet) {
	o.credOpts.register(fs)
	fs.StringVar(&o.service, "service", "", "service to sign for, e.g. sts, s3, execute-api (default: from the host name)")
	fs.BoolVar(&o.unsignedPayload, "unsigned-payload", false, "sign UNSIGNED-PAYLOAD instead of the body's SHA-256")
	o.v4a.register(fs)
}

// sigv4aFlags are --sigv4a and --region-set, of sign, curl and presign url.
type sigv4aFlags struct {
	on        bool
	regionSet string
	set       []string // parsed by check
}

func (f *sigv4aFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "sigv4a", false, "sign with SigV4a (AWS4-ECDSA-P256-SHA256): one signature valid in the regions of --region-set")
	fs.StringVar(&f.regionSet, "region-set", "", "with --sigv4a: the regions the signature is valid in, R1,R2 or * for all (default: the region)")
}

// check parses --region-set: a usage error when it is empty, holds an
// empty or malformed name, mixes * with names, or comes without --sigv4a.
func (f *sigv4aFlags) check(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("region-set") {
		return nil
	}
	if !f.on {
		return usagef(cmd, "--region-set only applies to SigV4a: add --sigv4a")
	}
	if strings.TrimSpace(f.regionSet) == "" {
		return usagef(cmd, "--region-set is empty: name the regions (us-east-1,eu-west-1) or * for all")
	}
	f.set = f.set[:0]
	for _, r := range strings.Split(f.regionSet, ",") {
		r = strings.TrimSpace(r)
		switch {
		case r == "":
			return usagef(cmd, "--region-set %q holds an empty region name: separate names by single commas", f.regionSet)
		case r == "*":
		case sigv4.CheckRegion(r) != nil:
			return usagef(cmd, "--region-set %q: %q is not a region name (like us-east-1) nor *", f.regionSet, r)
		}
		f.set = append(f.set, r)
	}
	if len(f.set) > 1 && slices.Contains(f.set, "*") {
		return usagef(cmd, "--region-set %q: * means every region and stands alone", f.regionSet)
	}
	return nil
}

// apply makes o a SigV4a signature when --sigv4a is on: valid in the
// regions of --region-set, else in def. It warns on w when the service
// is not one known to take SigV4a.
func (f *sigv4aFlags) apply(w io.Writer, o *sigv4.Options, def []string) {
	if !f.on {
		return
	}
	o.Algorithm = sigv4.SigV4a
	o.RegionSet = def
	if len(f.set) > 0 {
		o.RegionSet = f.set
	}
	if !slices.Contains(sigv4aServices, o.Service) {
		fmt.Fprintf(w, "credkit: warning: %s is not known to accept SigV4a (%s do); signing with SigV4a anyway\n", o.Service, strings.Join(sigv4aServices, ", "))
	}
}

// sigv4aServices are the signing names whose models or endpoint rules
// call for SigV4a (aws.auth#sigv4a, or a signingRegionSet), as of
// botocore 1.43: S3 Multi-Region Access Points, EventBridge global
// endpoints, CloudFront KeyValueStore, SES multi-region endpoints, and
// STS and two newer APIs that list it among their schemes.
var sigv4aServices = []string{"s3", "events", "cloudfront-keyvaluestore", "ses", "sts", "sustainability", "partnercentral-channel"}

// signFlags are sign's own flags.
type signFlags struct {
	presign, asJSON bool
	expires, scheme string
}

func newSignCmd(a *App) *cobra.Command {
	var o signOpts
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign [flags] [FILE|-]",
		Short: "sign a raw HTTP request from a file or stdin and print it",
		Long: "Signs a raw HTTP request (request line, headers, blank line, body) read from FILE or\n" +
			"stdin and prints it signed. With --presign, prints a presigned URL instead. With --sigv4a,\n" +
			"signs with SigV4a, valid in every region of --region-set (default: the region); a\n" +
			"Multi-Region Access Point's host (ALIAS.mrap.accesspoint.s3-global.amazonaws.com) always\n" +
			"gets SigV4a, for every region unless --region-set says otherwise.\n" +
			"Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], or --profile.\n\n" +
			"--json prints one object instead: method, url, headers (name to a list of values:\n" +
			"every header of the signed request, Host and Authorization included; with --presign,\n" +
			"the signed headers other than Host that must go with the URL), algorithm\n" +
			"(AWS4-HMAC-SHA256 or AWS4-ECDSA-P256-SHA256), access_key_id, credential_scope\n" +
			"(DATE/REGION/SERVICE/aws4_request, for SigV4a DATE/SERVICE/aws4_request), region or\n" +
			"region_set, service, signed_headers, signed_at and, with --presign, expires_at (times\n" +
			"in RFC 3339). The body is the input's, unchanged. The secret key is never printed; a\n" +
			"session token is, as X-Amz-Security-Token, since the request carries it.",
		Example: examples(
			"printf 'GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\\nHost: sts.us-east-1.amazonaws.com\\n\\n' | credkit sign",
			"credkit sign --service execute-api --region eu-west-1 request.http",
			"credkit sign --presign --expires 5m request.http",
			"credkit sign --signing-time 2026-01-02T15:04:05Z request.http   # reproducible output",
			"credkit sign --sigv4a --region-set '*' --service events put-events.http",
			"credkit sign --json request.http | jq -r '.headers.Authorization[0]'"),
		Args: maxArgs(1, "one request file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.v4a.check(cmd); err != nil {
				return err
			}
			return a.sign(cmd.Context(), &o, f, args)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().BoolVar(&f.presign, "presign", false, "print a presigned URL instead of a request with an Authorization header")
	cmd.Flags().StringVar(&f.expires, "expires", "15m", "lifetime of a presigned URL: a duration (5m, 12h) or seconds, 1s to 7 days")
	cmd.Flags().StringVar(&f.scheme, "scheme", "https", "scheme of the request (for presigned URLs and default ports)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the signed request (or presigned URL) and its signature's scope as one JSON object")
	return cmd
}

func (a *App) sign(ctx context.Context, o *signOpts, f signFlags, pos []string) error {
	presign, expires, scheme := f.presign, f.expires, f.scheme
	name := "-"
	if len(pos) == 1 {
		name = pos[0]
	}
	raw, err := a.readInput(name)
	if err != nil {
		return err
	}
	req, body, err := parseRawRequest(raw, scheme)
	if err != nil {
		return badInput("request %s: %v", displayName(name), err)
	}
	opts, err := a.signOptions(o, req, body)
	if err != nil {
		return err
	}
	c, _, err := a.credentials(ctx, &o.credOpts)
	if err != nil {
		return err
	}
	var s sigv4.Signer
	if presign {
		if opts.Expires, err = expiresFlag(expires); err != nil {
			return err
		}
		if opts.Service == "s3" {
			// S3 checks presigned URLs against UNSIGNED-PAYLOAD.
			opts.PayloadHash = sigv4.UnsignedPayload
		}
		u, err := s.Presign(req, c, opts)
		if err != nil {
			return asBadInput(err)
		}
		if f.asJSON {
			return a.writeSignedJSON(req, u)
		}
		fmt.Fprintln(a.Stdout, u)
		if extra := signedHeaderNames(req); len(extra) > 0 {
			fmt.Fprintf(a.Stderr, "credkit: the URL also signs these headers, which the client must send: %s\n", strings.Join(extra, ", "))
		}
		return nil
	}
	if err := s.Sign(req, c, opts); err != nil {
		return asBadInput(err)
	}
	if f.asJSON {
		return a.writeSignedJSON(req, "")
	}
	return writeRawRequest(a.Stdout, req, body)
}

// signOptions fills service, region, time and payload hash for a request.
func (a *App) signOptions(o *signOpts, req *http.Request, body []byte) (sigv4.Options, error) {
	t, err := a.when(&o.credOpts)
	if err != nil {
		return sigv4.Options{}, err
	}
	service, hostRegion := inferScope(req.Host)
	if o.service != "" {
		service = o.service
	}
	if service == "" {
		return sigv4.Options{}, badInput("cannot tell the service from host %q: pass --service (e.g. --service execute-api)", req.Host)
	}
	files, _ := a.loadFiles() // errors surface when credentials are read
	region := o.region
	if region == "" {
		region = hostRegion
	}
	ro := o.credOpts
	ro.region = region
	region, err = a.regionFor(&ro, files, "")
	if err != nil && !(o.v4a.on && len(o.v4a.set) > 0) {
		return sigv4.Options{}, err // SigV4a with --region-set needs no region
	}
	opts := sigv4.Options{Service: service, Region: region, Time: t}
	if isMRAPHost(req.Host) {
		// A Multi-Region Access Point takes SigV4a for every region only,
		// as presign url signs it.
		o.v4a.on = true
		o.v4a.apply(a.Stderr, &opts, []string{"*"})
	} else {
		o.v4a.apply(a.Stderr, &opts, []string{region})
	}
	switch {
	case o.unsignedPayload:
		opts.PayloadHash = sigv4.UnsignedPayload
	default:
		opts.PayloadHash = sigv4.PayloadHash(body)
	}
	return opts, nil
}

// inferScope reads service and region from an AWS host name:
// SERVICE.REGION.amazonaws.com, BUCKET.s3.REGION.amazonaws.com,
// s3.dualstack.REGION.amazonaws.com, SERVICE-fips.REGION.amazonaws.com,
// s3-REGION.amazonaws.com, SERVICE.amazonaws.com (global: us-east-1).
// Hosts that are not AWS endpoints give "" (RDS database hosts, which are
// not API endpoints, give only the region).
func inferScope(host string) (service, region string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var rest string
	for _, suffix := range []string{".amazonaws.com.cn", ".amazonaws.com", ".api.aws"} {
		if strings.HasSuffix(host, suffix) {
			rest = strings.TrimSuffix(host, suffix)
			break
		}
	}
	if rest == "" {
		return "", ""
	}
	labels := strings.Split(rest, ".")
	n := len(labels)
	for r := n - 1; r >= 1; r-- {
		if sigv4.CheckRegion(labels[r]) != nil {
			continue
		}
		region = labels[r]
		if r < n-1 {
			return "", region // NAME.ID.REGION.rds...: a database host, not an API
		}
		// The service label is the one before the region, past modifiers.
		i := r - 1
		for i > 0 && (labels[i] == "dualstack" || labels[i] == "fips" || labels[i] == "vpce") {
			i--
		}
		return normalizeService(strings.TrimSuffix(labels[i], "-fips")), region
	}
	last := labels[len(labels)-1]
	if strings.HasPrefix(last, "s3-") && sigv4.CheckRegion(last[3:]) == nil {
		return "s3", last[3:] // legacy s3-REGION form
	}
	if last == "s3" || last == "s3-external-1" {
		return "s3", "us-east-1"
	}
	return normalizeService(strings.TrimSuffix(last, "-fips")), "us-east-1"
}

// isMRAPHost reports whether host is an S3 Multi-Region Access Point's,
// ALIAS.mrap.accesspoint.s3-global.amazonaws.com.
func isMRAPHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".mrap"+mrapSuffix)
}

// mrapSuffix ends the host of every Multi-Region Access Point.
const mrapSuffix = ".accesspoint.s3-global.amazonaws.com"

func normalizeService(label string) string {
	switch {
	case label == "s3-object-lambda":
		return label
	case label == "s3" || strings.HasPrefix(label, "s3-"):
		return "s3"
	case label == "email":
		return "ses"
	}
	return label
}

func signedHeaderNames(req *http.Request) []string {
	var names []string
	for k := range req.Header {
		switch strings.ToLower(k) {
		case "user-agent", "authorization", "x-amzn-trace-id", "expect", "transfer-encoding", "connection", "x-amz-date", "x-amz-security-token":
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func displayName(name string) string {
	if name == "-" {
		return "from stdin"
	}
	return name
}

func (a *App) readInput(name string) ([]byte, error) {
	if name == "-" {
		const limit = 64 << 20
		b, err := io.ReadAll(io.LimitReader(a.Stdin, limit+1))
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		if len(b) > limit {
			return nil, badInput("stdin holds more than %d MiB; pass a file instead", limit>>20)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, badInput("read %s: %v", name, errors.Unwrap(err))
	}
	return b, nil
}

// parseRawRequest reads "METHOD TARGET HTTP/1.1", headers, a blank line
// and a body. Without Content-Length the body is the rest of the input,
// less one trailing newline.
func parseRawRequest(raw []byte, scheme string) (*http.Request, []byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, errors.New("empty: expected a request line like \"GET /path HTTP/1.1\", headers, a blank line and a body")
	}
	// The headers end at the first blank line, whichever line ending it
	// uses; a body may contain either.
	head, body := raw, []byte(nil)
	crlf, lf := bytes.Index(raw, []byte("\r\n\r\n")), bytes.Index(raw, []byte("\n\n"))
	switch {
	case crlf >= 0 && (lf < 0 || crlf < lf):
		head, body = raw[:crlf], raw[crlf+4:]
	case lf >= 0:
		head, body = raw[:lf], raw[lf+2:]
	}
	first, _, _ := bytes.Cut(head, []byte("\n"))
	if f := strings.Fields(string(first)); len(f) != 3 || !strings.HasPrefix(f[2], "HTTP/") {
		return nil, nil, fmt.Errorf("line 1: %q is not a request line like \"GET /path HTTP/1.1\"", strings.TrimSpace(string(first)))
	}
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n\r\n"))))
	if err != nil {
		return nil, nil, err
	}
	if req.Host == "" {
		return nil, nil, errors.New("no Host header (and no absolute URL on the request line)")
	}
	if cl := req.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("Content-Length %q is not a number", cl)
		}
		if n > len(body) {
			return nil, nil, fmt.Errorf("Content-Length says %d bytes but the body has %d", n, len(body))
		}
		if len(bytes.TrimRight(body[n:], "\r\n")) > 0 {
			return nil, nil, fmt.Errorf("Content-Length says %d bytes but the body has %d", n, len(body))
		}
		body = body[:n]
	} else {
		body = bytes.TrimSuffix(body, []byte("\n"))
		body = bytes.TrimSuffix(body, []byte("\r"))
	}
	req.Header.Del("Content-Length")
	req.ContentLength = int64(len(body))
	req.RequestURI = ""
	req.URL.Scheme = scheme
	req.URL.Host = req.Host
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return req, body, nil
}

// writeRawRequest prints a request as it goes on the wire: request line,
// Host, the other headers sorted, a blank line, the body.
func writeRawRequest(w io.Writer, req *http.Request, body []byte) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.Host)
	if req.ContentLength > 0 {
		fmt.Fprintf(bw, "Content-Length: %d\r\n", req.ContentLength)
	}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		for _, v := range req.Header[k] {
			fmt.Fprintf(bw, "%s: %s\r\n", k, v)
		}
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	return bw.Flush()
}

// curlFlags are curl's own flags, named as curl names them.
type curlFlags struct {
	method, data, dataBinary string
	headers                  []string
	verbose, include         bool
}

func newCurlCmd(a *App) *cobra.Command {
	var o signOpts
	var f curlFlags
	cmd := &cobra.Command{
		Use:   "curl [flags] URL",
		Short: "sign and send a request, like curl",
		Long: "Signs a request with SigV4 (SigV4a with --sigv4a) and sends it, like curl. The\n" +
			"response body goes to stdout; exit code 1 when the server answers 4xx/5xx (an AWS error\n" +
			"is summarized on stderr).",
		Example: examples(
			"credkit curl 'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15'",
			"credkit curl -X POST -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' https://dynamodb.eu-west-1.amazonaws.com/",
			"credkit curl --service execute-api -v https://abc123.execute-api.us-east-1.amazonaws.com/prod/items",
			"credkit curl --region us-east-1 --service sts 'http://127.0.0.1:5000/?Action=GetCallerIdentity&Version=2011-06-15'",
			"credkit curl --sigv4a --region-set '*' -H 'X-Amz-Target: AWSEvents.PutEvents' -H 'Content-Type: application/x-amz-json-1.1' -d @entries.json https://abcde.xyz.endpoint.events.amazonaws.com/"),
		Args: exactArgs(1, "one URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.v4a.check(cmd); err != nil {
				return err
			}
			return a.curl(cmd.Context(), &o, f, args[0])
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVarP(&f.method, "request", "X", "", "request method (default GET, or POST with -d)")
	fs.StringArrayVarP(&f.headers, "header", "H", nil, "request header \"Name: value\" (repeatable)")
	fs.StringVarP(&f.data, "data", "d", "", "request body; @FILE reads it from a file, @- from stdin")
	fs.StringVar(&f.dataBinary, "data-binary", "", "same as -d")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print the signed request and the response headers to stderr (session token redacted)")
	fs.BoolVarP(&f.include, "include", "i", false, "print the response status and headers before the body")
	return cmd
}

func (a *App) curl(ctx context.Context, o *signOpts, f curlFlags, rawURL string) error {
	method, data, dataBinary, headers, verbose, include := f.method, f.data, f.dataBinary, f.headers, f.verbose, f.include
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badInput("%q is not an http(s) URL", rawURL)
	}
	if dataBinary != "" {
		data = dataBinary
	}
	var body []byte
	if strings.HasPrefix(data, "@") {
		if body, err = a.readInput(strings.TrimPrefix(data, "@")); err != nil {
			return err
		}
	} else {
		body = []byte(data)
	}
	if method == "" {
		method = "GET"
		if data != "" {
			method = "POST"
		}
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return badInput("%v", err)
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return badInput("-H %q is not \"Name: value\"", h)
		}
		if strings.EqualFold(strings.TrimSpace(k), "host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	opts, err := a.signOptions(o, req, body)
	if err != nil {
		return err
	}
	c, _, err := a.credentials(ctx, &o.credOpts)
	if err != nil {
		return err
	}
	var s sigv4.Signer
	if err := s.Sign(req, c, opts); err != nil {
		return asBadInput(err)
	}
	if verbose {
		fmt.Fprintf(a.Stderr, "> %s %s HTTP/1.1\n> Host: %s\n", req.Method, req.URL.RequestURI(), req.Host)
		for _, k := range slices.Sorted(maps.Keys(req.Header)) {
			for _, v := range req.Header[k] {
				if k == "X-Amz-Security-Token" {
					v = "(redacted)"
				}
				fmt.Fprintf(a.Stderr, "> %s: %s\n", k, v)
			}
		}
		fmt.Fprintln(a.Stderr, ">")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("send %s %s: %w", req.Method, u.Redacted(), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if verbose || include {
		w := a.Stderr
		if include {
			w = a.Stdout
		}
		prefix := "< "
		if include {
			prefix = ""
		}
		fmt.Fprintf(w, "%s%s %s\n", prefix, resp.Proto, resp.Status)
		for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(w, "%s%s: %s\n", prefix, k, v)
			}
		}
		fmt.Fprintln(w, strings.TrimSpace(prefix))
	}
	respBody, err := io.ReadAll(resp.Body)
	a.Stdout.Write(respBody)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %w", u.Host, awserror.Decode(resp.StatusCode, resp.Header, respBody))
	}
	return nil
}
