package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credkit/credkit/sigv4"
)

func (a *App) presign(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "url":
			return a.presignURL(ctx, args[1:])
		case "post":
			return a.presignPost(ctx, args[1:])
		case "-h", "--help", "help":
			a.presignUsage(a.Stdout)
			return nil
		}
	}
	a.presignUsage(a.Stderr)
	return badInput("presign needs a subcommand: url or post")
}

func (a *App) presignUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage:\n  credkit presign url s3://BUCKET/KEY [flags]    a presigned GET or PUT URL\n  credkit presign post s3://BUCKET/PREFIX [flags]  a presigned POST form for browser uploads\n\nRun \"credkit presign url --help\" or \"credkit presign post --help\" for flags.")
}

// parseS3URI splits s3://bucket/key.
func parseS3URI(s string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", badInput("%q is not an s3://BUCKET/KEY address", s)
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

func (a *App) presignURL(ctx context.Context, args []string) error {
	var o credOpts
	var method, expires, endpoint, contentType string
	var asJSON bool
	fs := a.flagSet("presign url", "presign url s3://BUCKET/KEY [flags]",
		"Prints a presigned URL for an S3 object. Anyone holding the URL can GET (or PUT) the\n"+
			"object until it expires; with temporary credentials the URL also stops working when\n"+
			"the session does.",
		"credkit presign url s3://my-bucket/report.pdf --expires 1h",
		"credkit presign url s3://my-bucket/upload.bin --method PUT --expires 10m",
		"curl -T file.bin \"$(credkit presign url s3://b/k --method PUT --endpoint-url http://127.0.0.1:9000)\"")
	o.register(fs)
	fs.StringVar(&method, "method", "GET", "GET or PUT")
	fs.StringVar(&expires, "expires", "15m", "lifetime: a duration (15m, 12h, 168h) or seconds, 1s to 7 days")
	fs.StringVar(&endpoint, "endpoint-url", "", "S3 endpoint (path-style URLs), e.g. http://127.0.0.1:9000 for MinIO")
	fs.StringVar(&contentType, "content-type", "", "for PUT: sign this Content-Type; the upload must send the same")
	fs.BoolVar(&asJSON, "json", false, "print {\"url\", \"method\", \"expires_at\"} as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("presign url takes one s3://BUCKET/KEY")
	}
	bucket, key, err := parseS3URI(pos[0])
	if err != nil {
		return err
	}
	if key == "" {
		return badInput("%q has no object key", pos[0])
	}
	method = strings.ToUpper(method)
	if method != "GET" && method != "PUT" {
		return badInput("--method %q: only GET and PUT can be presigned here", method)
	}
	d, err := expiresFlag(expires)
	if err != nil {
		return err
	}
	t, err := a.when(&o)
	if err != nil {
		return err
	}
	c, files, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	region, err := a.regionFor(&o, files, "")
	if err != nil {
		return err
	}
	scheme, host, path, err := s3Target(endpoint, bucket, key, region)
	if err != nil {
		return err
	}
	var h http.Header
	if contentType != "" {
		h = http.Header{"Content-Type": {contentType}}
	}
	var s sigv4.Signer
	u, err := s.PresignTarget(sigv4.Target{Method: method, Scheme: scheme, Host: host, Path: path, Header: h},
		c, sigv4.Options{Service: "s3", Region: region, Time: t, Expires: d})
	if err != nil {
		return asBadInput(err)
	}
	until := t.Add(d)
	if c.CanExpire() && c.Expires.Before(until) {
		until = c.Expires
		fmt.Fprintf(a.Stderr, "credkit: warning: the URL is signed for %s, but the session credentials signing it expire at %s; it stops working then\n", d, c.Expires.UTC().Format(time.RFC3339))
	}
	if asJSON {
		return writeJSON(a.Stdout, map[string]string{"url": u, "method": method, "expires_at": until.UTC().Format(time.RFC3339)})
	}
	fmt.Fprintln(a.Stdout, u)
	return nil
}

func (a *App) presignPost(ctx context.Context, args []string) error {
	var o credOpts
	var expires, endpoint, contentType, lengthRange, status, format string
	var startsWith, exact bool
	var meta multiFlag
	fs := a.flagSet("presign post", "presign post s3://BUCKET/PREFIX [flags]",
		"Prints a presigned S3 POST policy for browser uploads: the URL and the form fields,\n"+
			"as JSON or as a ready HTML form. A key ending in \"/\" is a prefix (the browser's file\n"+
			"name is appended); otherwise the key is exact. With temporary credentials the session\n"+
			"token is added both as a form field and as a policy condition, as S3 requires.",
		"credkit presign post s3://uploads/incoming/ --content-length-range 1:10485760 --format html > upload.html",
		"credkit presign post s3://uploads/avatar.png --content-type image/png --success-action-status 201",
		"credkit presign post s3://uploads/docs/ --content-type image/ --content-type-starts-with --meta owner=alice")
	o.register(fs)
	fs.StringVar(&expires, "expires", "1h", "how long the form can be submitted: a duration or seconds, 1s to 7 days")
	fs.StringVar(&endpoint, "endpoint-url", "", "S3 endpoint (path style), e.g. http://127.0.0.1:9000 for MinIO")
	fs.BoolVar(&startsWith, "starts-with", false, "treat the key as a prefix even without a trailing /")
	fs.BoolVar(&exact, "exact-key", false, "treat a key ending in / as an exact key")
	fs.StringVar(&contentType, "content-type", "", "required Content-Type of the upload")
	var ctStarts bool
	fs.BoolVar(&ctStarts, "content-type-starts-with", false, "--content-type is a prefix (e.g. image/)")
	fs.StringVar(&lengthRange, "content-length-range", "", "allowed size in bytes, MIN:MAX (e.g. 1:10485760)")
	fs.StringVar(&status, "success-action-status", "", "status S3 answers a successful upload with: 200, 201 or 204")
	fs.Var(&meta, "meta", "x-amz-meta-NAME=VALUE metadata, as NAME=VALUE (repeatable)")
	fs.StringVar(&format, "format", "json", "json or html")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("presign post takes one s3://BUCKET/PREFIX")
	}
	bucket, key, err := parseS3URI(pos[0])
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
	if p.Time, err = a.when(&o); err != nil {
		return err
	}
	c, files, err := a.credentials(ctx, &o)
	if err != nil {
		return err
	}
	if p.Region, err = a.regionFor(&o, files, ""); err != nil {
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
