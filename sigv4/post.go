package sigv4

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/credkit/credkit/creds"
)

// PostPolicy describes a browser upload to S3 with a presigned POST.
type PostPolicy struct {
	Bucket string
	// Key is the object key, or its required prefix when KeyStartsWith. A
	// prefix form gets the key field PREFIX${filename}, which S3 replaces
	// with the uploaded file's name.
	Key           string
	KeyStartsWith bool
	// Expires is how long the form may be submitted (1 s to 7 days);
	// zero means one hour.
	Expires time.Duration
	// ContentLengthMin and ContentLengthMax bound the upload size when
	// ContentLengthMax > 0.
	ContentLengthMin, ContentLengthMax int64
	// ContentType is the required Content-Type, or its prefix when
	// ContentTypeStartsWith (for example "image/").
	ContentType           string
	ContentTypeStartsWith bool
	// SuccessActionStatus is "200", "201" or "204" (S3's default).
	SuccessActionStatus string
	// Meta holds x-amz-meta-* fields, by name without the prefix.
	Meta map[string]string

	Region string
	// Endpoint is the S3 endpoint URL, for example http://127.0.0.1:9000
	// for MinIO; empty means https://s3.REGION.amazonaws.com. With an
	// endpoint the form posts to ENDPOINT/BUCKET (path style); without,
	// to https://BUCKET.s3.REGION.amazonaws.com (path style for a bucket
	// name with dots).
	Endpoint string
	// Time is the signing time; zero means now.
	Time time.Time
}

// PostField is one form field.
type PostField struct {
	Name, Value string
}

// PostForm is a signed S3 POST upload: the URL to post to and the fields
// the form must carry before the file field.
type PostForm struct {
	URL        string      `json:"url"`
	Fields     []PostField `json:"-"`
	Policy     string      `json:"-"` // the policy document (JSON)
	Expiration time.Time   `json:"-"`
}

// MarshalJSON gives {"url": ..., "fields": {...}, "expiration": ..., "policy": {...}}.
func (f *PostForm) MarshalJSON() ([]byte, error) {
	fields := make(map[string]string, len(f.Fields))
	for _, x := range f.Fields {
		fields[x.Name] = x.Value
	}
	return json.Marshal(struct {
		URL        string            `json:"url"`
		Fields     map[string]string `json:"fields"`
		Expiration string            `json:"expiration"`
		Policy     json.RawMessage   `json:"policy"`
	}{f.URL, fields, f.Expiration.UTC().Format(time.RFC3339), json.RawMessage(f.Policy)})
}

// Field returns the value of a form field.
func (f *PostForm) Field(name string) (string, bool) {
	for _, x := range f.Fields {
		if x.Name == name {
			return x.Value, true
		}
	}
	return "", false
}

// HTML returns a complete page with an upload form: the signed fields as
// hidden inputs, then the file input that S3 requires to come last.
func (f *PostForm) HTML() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>Upload to S3</title></head>\n<body>\n")
	fmt.Fprintf(&b, "<!-- valid until %s -->\n", f.Expiration.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "<form action=\"%s\" method=\"post\" enctype=\"multipart/form-data\">\n", html.EscapeString(f.URL))
	for _, x := range f.Fields {
		fmt.Fprintf(&b, "  <input type=\"hidden\" name=\"%s\" value=\"%s\">\n", html.EscapeString(x.Name), html.EscapeString(x.Value))
	}
	b.WriteString("  <input type=\"file\" name=\"file\">\n  <input type=\"submit\" value=\"Upload\">\n</form>\n</body>\n</html>\n")
	return b.String()
}

// PresignPost signs an S3 POST policy. With temporary credentials the
// session token is both a form field and a policy condition: S3 refuses
// the upload when either is missing, which is why a form that works with
// an IAM user's keys fails with instance-profile keys if the token is left
// out.
func (s *Signer) PresignPost(p PostPolicy, c creds.Credentials) (*PostForm, error) {
	if err := checkKeys(&c); err != nil {
		return nil, err
	}
	if err := CheckRegion(p.Region); err != nil {
		return nil, err
	}
	if p.Bucket == "" {
		return nil, errors.New("no bucket")
	}
	if p.Key == "" && !p.KeyStartsWith {
		return nil, errors.New("no key: give the object key, or a prefix with starts-with")
	}
	if p.Expires == 0 {
		p.Expires = time.Hour
	}
	if err := CheckExpires(p.Expires); err != nil {
		return nil, err
	}
	if p.ContentLengthMax > 0 && (p.ContentLengthMin < 0 || p.ContentLengthMin > p.ContentLengthMax) {
		return nil, fmt.Errorf("content-length-range %d..%d is empty", p.ContentLengthMin, p.ContentLengthMax)
	}
	switch p.SuccessActionStatus {
	case "", "200", "201", "204":
	default:
		return nil, fmt.Errorf("success_action_status %q: S3 accepts 200, 201 or 204", p.SuccessActionStatus)
	}
	now := p.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	var date [16]byte
	appendDate(&date, now)
	amzDate := string(date[:])
	credential := c.AccessKeyID + "/" + string(appendScope(nil, date[:], p.Region, "s3"))

	u, err := postURL(p)
	if err != nil {
		return nil, err
	}
	form := &PostForm{URL: u, Expiration: now.Add(p.Expires)}
	var conds []any
	add := func(name, value string, cond any) {
		form.Fields = append(form.Fields, PostField{name, value})
		if cond != nil {
			conds = append(conds, cond)
		}
	}
	conds = append(conds, map[string]string{"bucket": p.Bucket})
	if p.KeyStartsWith {
		add("key", p.Key+"${filename}", []string{"starts-with", "$key", p.Key})
	} else {
		add("key", p.Key, map[string]string{"key": p.Key})
	}
	if p.ContentType != "" {
		if p.ContentTypeStartsWith {
			add("Content-Type", p.ContentType, []string{"starts-with", "$Content-Type", p.ContentType})
		} else {
			add("Content-Type", p.ContentType, map[string]string{"Content-Type": p.ContentType})
		}
	}
	if p.SuccessActionStatus != "" {
		add("success_action_status", p.SuccessActionStatus, map[string]string{"success_action_status": p.SuccessActionStatus})
	}
	metaNames := make([]string, 0, len(p.Meta))
	for k := range p.Meta {
		metaNames = append(metaNames, k)
	}
	sort.Strings(metaNames)
	for _, k := range metaNames {
		name := "x-amz-meta-" + strings.ToLower(k)
		add(name, p.Meta[k], map[string]string{name: p.Meta[k]})
	}
	if p.ContentLengthMax > 0 {
		conds = append(conds, []any{"content-length-range", p.ContentLengthMin, p.ContentLengthMax})
	}
	add("x-amz-algorithm", Algorithm, map[string]string{"x-amz-algorithm": Algorithm})
	add("x-amz-credential", credential, map[string]string{"x-amz-credential": credential})
	add("x-amz-date", amzDate, map[string]string{"x-amz-date": amzDate})
	if c.SessionToken != "" {
		add("x-amz-security-token", c.SessionToken, map[string]string{"x-amz-security-token": c.SessionToken})
	}
	policy, err := json.Marshal(struct {
		Expiration string `json:"expiration"`
		Conditions []any  `json:"conditions"`
	}{form.Expiration.Format("2006-01-02T15:04:05.000Z"), conds})
	if err != nil {
		return nil, err
	}
	form.Policy = string(policy)
	encoded := base64.StdEncoding.EncodeToString(policy)

	var id keyID
	id.accessKey, id.region, id.service = c.AccessKeyID, p.Region, "s3"
	copy(id.date[:], date[:8])
	ks := s.keys().get(id, c.SecretAccessKey)
	var mac [32]byte
	ks.sum(&mac, []byte(encoded))
	add("policy", encoded, nil)
	add("x-amz-signature", hex.EncodeToString(mac[:]), nil)
	return form, nil
}

func postURL(p PostPolicy) (string, error) {
	if p.Endpoint == "" {
		if strings.Contains(p.Bucket, ".") {
			// Dots would break the TLS wildcard of virtual-hosted style.
			return "https://s3." + p.Region + ".amazonaws.com/" + url.PathEscape(p.Bucket), nil
		}
		return "https://" + p.Bucket + ".s3." + p.Region + ".amazonaws.com/", nil
	}
	u, err := url.Parse(p.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("endpoint %q is not an http(s) URL", p.Endpoint)
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + url.PathEscape(p.Bucket), nil
}
