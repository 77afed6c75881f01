package source

import "github.com/aws/smithy-go/middleware"

// APIErrorKeeper gives callers outside this package the API errors this
// package makes of its own STS and SSO calls: AWS's code and message even
// when the SDK cannot read them (moto answers its signature and
// permission checks in a shape the SDK reads as "UnknownError"). Add
// AddTo to an SDK client's APIOptions, then pass the client's errors
// through Err. One keeper serves one client whose calls do not overlap.
type APIErrorKeeper struct{ keep errorAnswer }

// AddTo adds the middleware that keeps the client's error answers.
func (k *APIErrorKeeper) AddTo(stack *middleware.Stack) error { return k.keep.addTo(stack) }

// Err turns err, an error of the client's operation of service, into an
// *APIError when AWS answered with an error; other errors (nil, network,
// timeouts) are returned as they are.
func (k *APIErrorKeeper) Err(service, operation string, err error) error {
	return toAPIError(service, operation, err, &k.keep)
}
