package source

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// API errors of STS and the SSO portal: AWS's code and message, kept from
// the raw answer when the SDK does not expose them.

// APIError is an error answer of an AWS API (STS or the SSO portal): AWS's
// code and message as AWS sent them. It unwraps to the SDK's error, so
// errors.As also finds smithy.APIError.
type APIError struct {
	Service   string // "STS", "SSO"
	Operation string // "AssumeRole", "GetRoleCredentials", ...
	Code      string // e.g. "AccessDenied", "ExpiredToken"
	Message   string // e.g. "User: arn:... is not authorized to perform: sts:AssumeRole on resource: arn:..."
	// StatusCode and RequestID are those of the HTTP answer, when known.
	StatusCode int
	RequestID  string
	Err        error
}

func (e *APIError) Error() string {
	s := e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	var extra []string
	if e.StatusCode != 0 {
		extra = append(extra, "HTTP "+strconv.Itoa(e.StatusCode))
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

func (e *APIError) Unwrap() error { return e.Err }

// toAPIError turns an SDK error into an *APIError when AWS answered with an
// error, and leaves other errors (network, timeouts) as they are. When the
// SDK could not read the code (an answer in another shape than the
// protocol's, as moto gives for its signature and permission checks), the
// code and message are read from the answer kept in keep.
func toAPIError(service, operation string, err error, keep *errorAnswer) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	out := &APIError{Service: service, Operation: operation, Code: ae.ErrorCode(), Message: ae.ErrorMessage(), Err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		out.StatusCode = re.HTTPStatusCode()
		out.RequestID = re.ServiceRequestID()
	}
	if out.Code == "" || out.Code == "UnknownError" {
		if code, msg := keep.codeAndMessage(); code != "" {
			out.Code, out.Message = code, msg
		}
	}
	return out
}

// errorAnswer keeps the last error answer of a call (its first 64 KiB).
type errorAnswer struct {
	mu        sync.Mutex
	errorType string // the X-Amzn-ErrorType header
	body      []byte
}

// addTo adds the middleware that keeps error answers to an SDK client's
// stack. It sits below the operation's deserializer, so it sees the
// answer first.
func (k *errorAnswer) addTo(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("credkitKeepErrorAnswer",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			resp, ok := out.RawResponse.(*smithyhttp.Response)
			if !ok || resp.StatusCode < 300 || resp.Body == nil {
				return out, md, err
			}
			head, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
			if rerr == nil {
				k.mu.Lock()
				k.errorType, k.body = resp.Header.Get("X-Amzn-ErrorType"), head
				k.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

// codeAndMessage reads an error answer: an XML <Code> and <Message> at any
// depth (<ErrorResponse><Error> as in the Query protocol, or
// <ErrorResponse><Errors><Error> as moto writes them), JSON __type or code
// and message, or the X-Amzn-ErrorType header.
func (k *errorAnswer) codeAndMessage() (code, msg string) {
	if k == nil {
		return "", ""
	}
	k.mu.Lock()
	errorType, body := k.errorType, k.body
	k.mu.Unlock()
	trimmed := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		var v map[string]any
		if json.Unmarshal(trimmed, &v) == nil {
			for _, key := range []string{"__type", "code", "Code"} {
				if s, ok := v[key].(string); ok && code == "" {
					code = s
				}
			}
			for _, key := range []string{"message", "Message"} {
				if s, ok := v[key].(string); ok && msg == "" {
					msg = s
				}
			}
		}
	case bytes.HasPrefix(trimmed, []byte("<")):
		dec := xml.NewDecoder(bytes.NewReader(trimmed))
		for code == "" || msg == "" {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			se, ok := tok.(xml.StartElement)
			if !ok || (se.Name.Local != "Code" && se.Name.Local != "Message") {
				continue
			}
			var text string
			if dec.DecodeElement(&text, &se) != nil {
				break
			}
			if se.Name.Local == "Code" && code == "" {
				code = strings.TrimSpace(text)
			} else if se.Name.Local == "Message" && msg == "" {
				msg = strings.TrimSpace(text)
			}
		}
	}
	if code == "" {
		code = errorType
	}
	// "aws.protocoltests#Code:http://..." and "prefix#Code" name Code.
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	return code, msg
}
