package awserror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// The shapes of the AWS protocols, as AWS documents and sends them.
func TestDecodeShapes(t *testing.T) {
	for _, c := range []struct {
		name       string
		status     int
		header     http.Header
		body       string
		want       Error
		wantString string
	}{
		{"query", 403, nil,
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>4c5b-req</RequestId></ErrorResponse>`,
			Error{403, "ExpiredToken", "The security token included in the request is expired", "4c5b-req"},
			"ExpiredToken: The security token included in the request is expired (HTTP 403, request id 4c5b-req)"},
		{"ec2", 400, nil,
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>`,
			Error{400, "UnauthorizedOperation", "You are not authorized to perform this operation.", "ea966190-f9aa-478e-9ede-example"}, ""},
		{"S3", 404, header("X-Amz-Request-Id", "header-id"),
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message><Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>`,
			Error{404, "NoSuchKey", "The resource you requested does not exist", "4442587FB7D0A2F9"}, ""},
		{"JSON 1.0 with a namespace", 400, header("X-Amzn-RequestId", "ddb-id"),
			`{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`,
			Error{400, "ConditionalCheckFailedException", "The conditional request failed", "ddb-id"},
			"ConditionalCheckFailedException: The conditional request failed (HTTP 400, request id ddb-id)"},
		{"JSON 1.1 with a suffix", 400, nil,
			`{"__type":"ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/","message":"1 validation error detected"}`,
			Error{400, "ValidationException", "1 validation error detected", ""}, "ValidationException: 1 validation error detected (HTTP 400)"},
		{"JSON namespace and suffix", 400, nil,
			`{"__type":"aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/"}`,
			Error{400, "FooError", "", ""}, "FooError (HTTP 400)"},
		{"restJson header wins over the body", 404, header("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/", "X-Amzn-RequestId", "lambda-id"),
			`{"Type":"User","Message":"Function not found: arn:aws:lambda:us-west-2:123456789012:function:nosuch","__type":"SomethingElse"}`,
			Error{404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-west-2:123456789012:function:nosuch", "lambda-id"}, ""},
		{"restJson code in the body", 400, nil,
			`{"code":"BadRequestException","message":"Invalid API identifier specified"}`,
			Error{400, "BadRequestException", "Invalid API identifier specified", ""}, ""},
		{"restJson code over __type", 400, nil,
			`{"code":"FromCode","__type":"FromType"}`,
			Error{400, "FromCode", "", ""}, ""},
		{"header only, HTML body", 503, header("X-Amzn-ErrorType", "ThrottlingException"),
			`<html><body>busy</body></html>`,
			Error{503, "ThrottlingException", "", ""}, "ThrottlingException (HTTP 503)"},
		{"broken JSON, header", 500, header("X-Amzn-ErrorType", "InternalFailure"),
			`{"message": `,
			Error{500, "InternalFailure", "", ""}, ""},
		{"empty body (S3 HEAD)", 404, header("X-Amz-Request-Id", "head-id"), "",
			Error{404, "", "", "head-id"}, "HTTP 404, request id head-id"},
		{"plain text", 500, nil, "Internal Server Error",
			Error{500, "", "", ""}, "HTTP 500"},
		{"nothing known", 0, nil, "",
			Error{}, "AWS error answer without a code"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Decode(c.status, c.header, []byte(c.body))
			if *got != c.want {
				t.Errorf("Decode = %+v\nwant     %+v", *got, c.want)
			}
			if c.wantString != "" && got.Error() != c.wantString {
				t.Errorf("Error() = %q, want %q", got.Error(), c.wantString)
			}
		})
	}
}

// An *Error wrapped in context is found with errors.As.
func TestErrorsAs(t *testing.T) {
	e := Decode(403, nil, []byte(`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
	err := fmt.Errorf("PUT s3://bucket/key: %w", e)
	var got *Error
	if !errors.As(err, &got) || got.Code != "AccessDenied" || got.StatusCode != 403 {
		t.Fatalf("errors.As: %v, %+v", err, got)
	}
	if err.Error() != "PUT s3://bucket/key: AccessDenied: Access Denied (HTTP 403)" {
		t.Errorf("message %q", err)
	}
}
