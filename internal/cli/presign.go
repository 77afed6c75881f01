package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/sigv4"
)

func newPresignCmd(a *App) *cobra.Command {
	return newGroupCmd("presign", "presign an S3 URL (presign url) or an S3 POST upload form (presign post)",
		"Presigned S3 requests: a URL anyone holding it can GET or PUT (presign url), or a form a\n"+
			"browser uploads with (presign post).",
		newPresignURLCmd(a), newPresignPostCmd(a))
}

// parseS3URI splits s3://bucket/key, where bucket may be an access point
// ARN (arn:aws:s3::ACCOUNT:accesspoint/NAME), whose own slash it keeps.
func parseS3URI(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", badInput("%q is not an s3://BUCKET/KEY address", s)
	}
	if strings.HasPrefix(rest, "arn:") {
		const ap = ":accesspoint/"
		i := strings.Index(rest, ap)
		if i < 0 {
			return "", "", badInput("%q: an ARN in place of a bucket must be an access point's, like arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap", s)
		}
		name, k, _ := strings.Cut(rest[i+len(ap):], "/")
		if name == "" {
			return "", "", badInput("%q has no access point name after %q", s, ap[1:])
		}
		return rest[:i+len(ap)] + name, k, nil
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", badInput("%q has no bucket", s)
	}
	return bucket, key, nil
}

// s3Target returns scheme, host and path for an object: virtual-hosted
// style on AWS, path style with --endpoint-url.
func s3Target(endpoint, bucket, key, region string) (scheme, host, path string, err error) {
	escKey := "/" + sigv4.EncodePath(key)
	if endpoint == "" {
		if strings.Contains(bucket, ".") {
			// Dots break the TLS wildcard of virtual-hosted style.
			return "https", "s3." + region + ".amazonaws.com", "/" + bucket + escKey, nil
		}
		return "https", bucket + ".s3." + region + ".amazonaws.com", escKey, nil
	}
	u, perr := url.Parse(endpoint)
	if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", "", badInput("--endpoint-url %q is not an http(s) URL like http://127.0.0.1:9000", endpoint)
	}
	base := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme, u.Host, base + "/" + sigv4.EncodePath(bucket) + escKey, nil
}

// mrapHost returns the host of the S3 Multi-Region Access Point an ARN
// names, arn:aws:s3::ACCOUNT:accesspoint/ALIAS (the alias ends in .mrap):
// ALIAS.accesspoint.s3-global.amazonaws.com, as the AWS SDKs build it.
// ok is false when arn is not an ARN at all.
func mrapHost(arn string) (host string, ok bool, err error) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", false, nil
	}
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[2] != "s3" || !strings.HasPrefix(f[5], "accesspoint/") {
		return "", true, badInput("%q is not an S3 access point ARN (like arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap)", arn)
	}
	alias := strings.TrimPrefix(f[5], "accesspoint/")
	switch {
	case f[3] != "" || !strings.HasSuffix(alias, ".mrap"):
		return "", true, badInput("%q is a single-region access point: presign it with its alias as the bucket (s3://ALIAS/KEY); only Multi-Region Access Point ARNs (like arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap, no region) are signed here", arn)
	case f[1] != "aws":
		return "", true, badInput("%q: Multi-Region Access Points exist only in the aws partition, not %q", arn, f[1])
	case len(f[4]) != 12 || strings.Trim(f[4], "0123456789") != "":
		return "", true, badInput("%q: the account %q is not 12 digits", arn, f[4])
	}
	if id := strings.TrimSuffix(alias, ".mrap"); id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		return "", true, badInput("%q: the alias %q is not lower-case letters and digits followed by .mrap", arn, alias)
	}
	return alias + mrapSuffix, true, nil
}

// presignURLFlags are the flags of presign url.
type presignURLFlags struct {
	method, expires, endpoint, contentType string
	asJSON                                 bool
	v4a                                    sigv4aFlags
}

func newPresignURLCmd(a *App) *cobra.Command {
	var o credOpts
	var f presignURLFlags
	cmd := &cobra.Command{
		Use:   "url s3://BUCKET/KEY [flags]",
		Short: "a presigned GET or PUT URL",
		Long: "Prints a presigned URL for an S3 object. Anyone holding the URL can GET (or PUT) the\n" +
			"object until it expires; with temporary credentials the URL also stops working when\n" +
			"the session does.\n\n" +
			"A Multi-Region Access Point, named by its ARN in place of the bucket, is signed with\n" +
			"SigV4a for every region (--region-set *), as the AWS SDKs sign it: S3 routes the request\n" +
			"to whichever region's bucket is nearest, and a region set naming fewer regions would be\n" +
			"refused there. --sigv4a signs a regional bucket's URL with SigV4a for its region.",
		Example: examples(
			"credkit presign url s3://my-bucket/report.pdf --expires 1h",
			"credkit presign url s3://my-bucket/upload.bin --method PUT --expires 10m",
			"curl -T file.bin \"$(credkit presign url s3://b/k --method PUT --endpoint-url http://127.0.0.1:9000)\"",
			"credkit presign url --sigv4a s3://arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/report.pdf"),
		Args: exactArgs(1, "one s3://BUCKET/KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.HasPrefix(args[0], "s3://arn:") {
				f.v4a.on = true // an access point ARN: only MRAPs are signed, with SigV4a
			}
			if err := f.v4a.check(cmd); err != nil {
				return err
			}
			return a.presignURL(cmd.Context(), &o, f, args[0])
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&f.method, "method", "GET", "GET or PUT")
	cmd.RegisterFlagCompletionFunc("method", fixedValues("GET", "PUT"))
	fs.StringVar(&f.expires, "expires", "15m", "lifetime: a duration (15m, 12h, 168h) or seconds, 1s to 7 days")
	fs.StringVar(&f.endpoint, "endpoint-url", "", "S3 endpoint (path-style URLs), e.g. http://127.0.0.1:9000 for MinIO")
	fs.StringVar(&f.contentType, "content-type", "", "for PUT: sign this Content-Type; the upload must send the same")
	fs.BoolVar(&f.asJSON, "json", false, "print {\"url\", \"method\", \"expires_at\"} as JSON")
	f.v4a.register(fs)
	return cmd
}

func (a *App) presignURL(ctx context.Context, o *credOpts, f presignURLFlags, target string) error {
	method, expires, endpoint, contentType, asJSON := f.method, f.expires, f.endpoint, f.contentType, f.asJSON
	bucket, key, err := parseS3URI(target)
	if err != nil {
		return err
	}
	if key == "" {
		return badInput("%q has no object key", target)
	}
	method = strings.ToUpper(method)
	if method != "GET" && method != "PUT" {
		return badInput("--method %q: only GET and PUT can be presigned here", method)
	}
	d, err := expiresFlag(expires)
	if err != nil {
		return err
	}
	t, err := a.when(o)
	if err != nil {
		return err
	}
	c, files, err := a.credentials(ctx, o)
	if err != nil {
		return err
	}
	opts := sigv4.Options{Service: "s3", Time: t, Expires: d}
	var scheme, host, path string
	mrap, isARN, err := mrapHost(bucket)
	switch {
	case err != nil:
		return err
	case isARN && endpoint != "":
		return badInput("--endpoint-url cannot stand in for a Multi-Region Access Point: its host is %s", mrap)
	case isARN:
		// The ARN alone says where to go: a region is needed by nothing.
		scheme, host, path = "https", mrap, "/"+sigv4.EncodePath(key)
		f.v4a.on = true
		f.v4a.apply(a.Stderr, &opts, []string{"*"})
	default:
		if opts.Region, err = a.regionFor(o, files, ""); err != nil {
			return err
		}
		if scheme, host, path, err = s3Target(endpoint, bucket, key, opts.Region); err != nil {
			return err
		}
		f.v4a.apply(a.Stderr, &opts, []string{opts.Region})
	}
	var h http.Header
	if contentType != "" {
		h = http.Header{"Content-Type": {contentType}}
	}
	var s sigv4.Signer
	u, err := s.PresignTarget(sigv4.Target{Method: method, Scheme: scheme, Host: host, Path: path, Header: h}, c, opts)
	if err != nil {
		return asBadInput(err)
	}
	until := t.Add(d)
	if c.CanExpire() && c.Expires.Before(until) {
		until = c.Expires
		fmt.Fprintf(a.Stderr, "credkit: warning: the URL is signed for %s, but the session credentials signing it expire at %s; it stops working then\n", d, c.Expires.UTC().Format(time.RFC3339))
	}
	if asJSON {
		out := map[string]string{"url": u, "method": method, "expires_at": until.UTC().Format(time.RFC3339)}
		if opts.Algorithm == sigv4.SigV4a {
			out["region_set"] = strings.Join(opts.RegionSet, ",")
		}
		return writeJSON(a.Stdout, out)
	}
	fmt.Fprintln(a.Stdout, u)
	return nil
}

// presignPostFlags are the flags of presign post.
type presignPostFlags struct {
	expires, endpoint, contentType, lengthRange, status, format string
	startsWith, exact, ctStarts                                 bool
	meta                                                        []string
}

func newPresignPostCmd(a *App) *cobra.Command {
	var o credOpts
	var f presignPostFlags
	cmd := &cobra.Command{
		Use:   "post s3://BUCKET/PREFIX [flags]",
		Short: "a presigned POST form for browser uploads",
		Long: "Prints a presigned S3 POST policy for browser uploads: the URL and the form fields,\n" +
			"as JSON or as a ready HTML form. A key ending in \"/\" is a prefix (the browser's file\n" +
			"name is appended); otherwise the key is exact. With temporary credentials the session\n" +
			"token is added both as a form field and as a policy condition, as S3 requires.",
		Example: examples(
			"credkit presign post s3://uploads/incoming/ --content-length-range 1:10485760 --format html > upload.html",
			"credkit presign post s3://uploads/avatar.png --content-type image/png --success-action-status 201",
			"credkit presign post s3://uploads/docs/ --content-type image/ --content-type-starts-with --meta owner=alice"),
		Args: exactArgs(1, "one s3://BUCKET/PREFIX"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.presignPost(cmd.Context(), &o, f, args[0])
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&f.expires, "expires", "1h", "how long the form can be submitted: a duration or seconds, 1s to 7 days")
	fs.StringVar(&f.endpoint, "endpoint-url", "", "S3 endpoint (path style), e.g. http://127.0.0.1:9000 for MinIO")
	fs.BoolVar(&f.startsWith, "starts-with", false, "treat the key as a prefix even without a trailing /")
	fs.BoolVar(&f.exact, "exact-key", false, "treat a key ending in / as an exact key")
	fs.StringVar(&f.contentType, "content-type", "", "required Content-Type of the upload")
	fs.BoolVar(&f.ctStarts, "content-type-starts-with", false, "--content-type is a prefix (e.g. image/)")
	fs.StringVar(&f.lengthRange, "content-length-range", "", "allowed size in bytes, MIN:MAX (e.g. 1:10485760)")
	fs.StringVar(&f.status, "success-action-status", "", "status S3 answers a successful upload with: 200, 201 or 204")
	cmd.RegisterFlagCompletionFunc("success-action-status", fixedValues("200", "201", "204"))
	fs.StringArrayVar(&f.meta, "meta", nil, "x-amz-meta-NAME=VALUE metadata, as NAME=VALUE (repeatable)")
	fs.StringVar(&f.format, "format", "json", "json or html")
	cmd.RegisterFlagCompletionFunc("format", fixedValues("json", "html"))
	return cmd
}

func (a *App) presignPost(ctx context.Context, o *credOpts, f presignPostFlags, target string) error {
	expires, endpoint, contentType, lengthRange, status, format := f.expires, f.endpoint, f.contentType, f.lengthRange, f.status, f.format
	startsWith, exact, ctStarts, meta := f.startsWith, f.exact, f.ctStarts, f.meta
	bucket, key, err := parseS3URI(target)
	if err != nil {
		return err
	}
	if format != "json" && format != "html" {
		return badInput("--format %q: json or html", format)
	}
	p := sigv4.PostPolicy{Bucket: bucket, Key: key, KeyStartsWith: startsWith || (strings.HasSuffix(key, "/") || key == "") && !exact,
		ContentType: contentType, ContentTypeStartsWith: ctStarts, SuccessActionStatus: status, Endpoint: endpoint}
	if p.Expires, err = expiresFlag(expires); err != nil {
		return err
	}
	if lengthRange != "" {
		lo, hi, ok := strings.Cut(lengthRange, ":")
		min, err1 := strconv.ParseInt(lo, 10, 64)
		max, err2 := strconv.ParseInt(hi, 10, 64)
		if !ok || err1 != nil || err2 != nil || min < 0 || max < min || max == 0 {
			return badInput("--content-length-range %q is not MIN:MAX bytes with 0 <= MIN <= MAX, MAX > 0", lengthRange)
		}
		p.ContentLengthMin, p.ContentLengthMax = min, max
	}
	for _, m := range meta {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			return badInput("--meta %q is not NAME=VALUE", m)
		}
		if p.Meta == nil {
			p.Meta = map[string]string{}
		}
		p.Meta[strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-")] = v
	}
	if p.Time, err = a.when(o); err != nil {
		return err
	}
	c, files, err := a.credentials(ctx, o)
	if err != nil {
		return err
	}
	if p.Region, err = a.regionFor(o, files, ""); err != nil {
		return err
	}
	var s sigv4.Signer
	form, err := s.PresignPost(p, c)
	if err != nil {
		return asBadInput(err)
	}
	if format == "html" {
		_, err := fmt.Fprint(a.Stdout, form.HTML())
		return err
	}
	return writeJSON(a.Stdout, form)
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
