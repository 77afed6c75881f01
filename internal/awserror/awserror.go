// Package awserror decodes the error answers of AWS APIs, in every shape
// the AWS protocols give them, into one error value with AWS's code,
// message and request id and the HTTP status.
//
// The shapes, and where the code is read:
//
//   - Query (STS, IAM, SNS, ...): <ErrorResponse><Error><Code>, with
//     <RequestId> beside <Error>.
//   - EC2: <Response><Errors><Error><Code>, with <RequestID>. moto answers
//     other Query services in this shape too.
//   - REST-XML (S3, CloudFront, Route 53): <Error><Code>, S3 with
//     <RequestId> inside <Error>.
//   - JSON 1.0 and 1.1 (DynamoDB, KMS, ...): {"__type": ...}, where the
//     type may carry a namespace ("com.amazonaws.dynamodb.v20120810#...")
//     or a suffix ("...:http://internal.amazon.com/coral/...").
//   - REST-JSON (Lambda, API Gateway, SSO): the X-Amzn-ErrorType header,
//     else "code" or "__type" in the body, message in "message" (any case).
//
// A JSON answer's code is taken from the header first, as the AWS SDKs do;
// an XML answer's from its body. The request id comes from the body, else
// from the x-amzn-RequestId or x-amz-request-id header.
//
// The package is standard library only and sends nothing: its callers
// (the STS and SSO providers of package source, the CLI's sign and curl
// commands) hand it an answer they already read.
package awserror

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
)

// Error is an error answer of an AWS API. Find it in an error chain with
// errors.As(err, new(*awserror.Error)).
type Error struct {
	// StatusCode is the HTTP status of the answer; 0 when unknown.
	StatusCode int
	// Code is AWS's error code without namespace or suffix, e.g.
	// "AccessDenied", "NoSuchBucket", "ResourceNotFoundException"; ""
	// when the answer names none (an HTML page, an empty body).
	Code string
	// Message is AWS's message, as sent.
	Message string
	// RequestID identifies the request to AWS support; "" when unknown.
	RequestID string
}

// Error reads "Code: Message (HTTP 403, request id ...)", leaving out
// what is unknown.
func (e *Error) Error() string {
	s := e.Code
	if e.Message != "" {
		if s != "" {
			s += ": "
		}
		s += e.Message
	}
	var extra []string
	if e.StatusCode != 0 {
		extra = append(extra, "HTTP "+strconv.Itoa(e.StatusCode))
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	switch {
	case len(extra) == 0 && s == "":
		return "AWS error answer without a code"
	case len(extra) == 0:
		return s
	case s == "":
		return strings.Join(extra, ", ")
	}
	return s + " (" + strings.Join(extra, ", ") + ")"
}

// Header is what Decode reads of an answer's headers; http.Header has it.
type Header interface {
	Get(key string) string
}

// Decode reads an error answer: its HTTP status (0 if unknown), headers
// (nil if unknown) and body (or its first part). It always returns an
// Error; Code is "" when neither the body nor the headers name one.
func Decode(status int, header Header, body []byte) *Error {
	e := &Error{StatusCode: status}
	errorType := ""
	if header != nil {
		errorType = header.Get("X-Amzn-ErrorType")
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(trimmed, []byte("<")):
		e.Code, e.Message, e.RequestID = decodeXML(trimmed)
		if e.Code == "" {
			e.Code = sanitizeCode(errorType)
		}
	case bytes.HasPrefix(trimmed, []byte("{")):
		var j struct {
			Type    string `json:"__type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(trimmed, &j) // a broken body still leaves the header
		e.Message = j.Message
		e.Code = sanitizeCode(cmp.Or(errorType, j.Code, j.Type))
	default:
		e.Code = sanitizeCode(errorType)
	}
	if e.RequestID == "" && header != nil {
		e.RequestID = cmp.Or(header.Get("X-Amzn-RequestId"), header.Get("X-Amz-Request-Id"))
	}
	return e
}

// decodeXML reads the first Code, Message and RequestId (or RequestID)
// elements at any depth: every XML shape of the AWS protocols has one of
// each at most, at different depths.
func decodeXML(body []byte) (code, message, requestID string) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return code, message, requestID
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var field *string
		switch se.Name.Local {
		case "Code":
			field = &code
		case "Message":
			field = &message
		case "RequestId", "RequestID":
			field = &requestID
		default:
			continue
		}
		var text string
		if dec.DecodeElement(&text, &se) != nil {
			return code, message, requestID
		}
		if *field == "" {
			*field = strings.TrimSpace(text)
		}
	}
}

// sanitizeCode drops a namespace ("aws.protocoltests#Code") and a suffix
// ("Code:http://internal.amazon.com/coral/..."), as the AWS SDKs do.
func sanitizeCode(code string) string {
	code, _, _ = strings.Cut(strings.TrimSpace(code), ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	return code
}
