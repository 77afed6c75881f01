package source

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/credkit/credkit/creds"
)

// Identity is what STS GetCallerIdentity says about credentials, and
// where and when it said it.
type Identity struct {
	Account string
	ARN     string
	UserID  string
	// Endpoint is the STS endpoint the call went to: scheme, host and
	// path, without a trailing slash ("https://sts.us-east-1.amazonaws.com").
	Endpoint string
	// ServerTime is the Date header of STS's answer, zero when it sent
	// none. Compared with the local clock it gives the clock skew, which
	// AWS refuses beyond 5 minutes (a signature "expired" or "not yet
	// current").
	ServerTime time.Time
}

// CallerIdentity calls STS GetCallerIdentity signed with c, through
// aws-sdk-go-v2's STS client configured by opts (region, endpoint, HTTP
// client, attempts).
//
// The SDK's clock skew correction is off for this call: a signature made
// with this machine's clock is accepted or refused as any other program's
// would be, which is what a check of credentials wants to know.
//
// Even when the call fails, the Identity carries the endpoint and, when
// STS answered, its ServerTime: a signature refused for clock skew is when
// the skew matters most. An error answer of STS is an *APIError with AWS's
// code and message; the error names the endpoint and the access key id
// (never the secret).
func CallerIdentity(ctx context.Context, c creds.Credentials, opts STSOptions) (Identity, error) {
	if !c.HasKeys() {
		return Identity{Endpoint: opts.Endpoint}, fmt.Errorf("STS GetCallerIdentity: credentials %s lack the access key id or the secret: %w", describeSource(c), creds.ErrNoCredentials)
	}
	seen := &answerSeen{}
	keep := &errorAnswer{}
	client := opts.client(&c, keep, func(o *sts.Options) {
		o.DisableClockSkewCorrection = true
		o.APIOptions = append(o.APIOptions, seen.addTo)
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	id := Identity{Endpoint: opts.Endpoint}
	seen.fill(&id)
	where := id.Endpoint
	if where == "" {
		where = "the STS endpoint of " + opts.region()
	}
	if err != nil {
		return id, fmt.Errorf("STS GetCallerIdentity at %s with %s: %w", where, describeSource(c), toAPIError("STS", "GetCallerIdentity", err, keep))
	}
	id.Account, id.ARN, id.UserID = aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)
	if id.ARN == "" {
		return id, fmt.Errorf("STS GetCallerIdentity at %s with %s: the answer names no ARN", where, describeSource(c))
	}
	return id, nil
}

// answerSeen records the URL and the Date header of the last answer of a
// call. It sits in the deserialize step, below the retries, so it sees
// every attempt's answer, error answers included.
type answerSeen struct {
	mu       sync.Mutex
	endpoint string
	date     time.Time
}

func (a *answerSeen) addTo(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("credkitAnswerSeen",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			req, _ := in.Request.(*smithyhttp.Request)
			resp, _ := out.RawResponse.(*smithyhttp.Response)
			a.mu.Lock()
			defer a.mu.Unlock()
			if req != nil && req.URL != nil {
				a.endpoint = req.URL.Scheme + "://" + req.URL.Host + strings.TrimSuffix(req.URL.Path, "/")
			}
			if resp != nil {
				if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
					a.date = d
				}
			}
			return out, md, err
		}), middleware.After)
}

// fill sets what was seen in id.
func (a *answerSeen) fill(id *Identity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.endpoint != "" {
		id.Endpoint = a.endpoint
	}
	id.ServerTime = a.date
}
