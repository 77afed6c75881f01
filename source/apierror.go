package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/credkit/credkit/internal/awserror"
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

// Error reads "Code: Message (HTTP 403, request id ...)", as
// awserror.Error does.
func (e *APIError) Error() string {
	return (&awserror.Error{StatusCode: e.StatusCode, Code: e.Code, Message: e.Message, RequestID: e.RequestID}).Error()
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
		if d := keep.decode(); d != nil && d.Code != "" {
			out.Code, out.Message = d.Code, d.Message
			if out.RequestID == "" {
				out.RequestID = d.RequestID
			}
		}
	}
	return out
}

// errorAnswer keeps the last error answer of a call (its first 64 KiB).
type errorAnswer struct {
	mu     sync.Mutex
	status int
	header http.Header
	body   []byte
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
				k.status, k.header, k.body = resp.StatusCode, resp.Header.Clone(), head
				k.mu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

// decode reads the kept answer (see awserror.Decode); nil when none was
// kept.
func (k *errorAnswer) decode() *awserror.Error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.status == 0 {
		return nil
	}
	return awserror.Decode(k.status, k.header, k.body)
}
