package cli

import (
	"encoding/json"
	"encoding/xml"
	"strings"
)

// awsError extracts the error code and message of an AWS error response:
// Query/REST XML (<Error><Code>...) or JSON ({"__type": ..., "message": ...}).
func awsError(body []byte) (code, message string) {
	var x struct {
		Code     string `xml:"Error>Code"`
		Message  string `xml:"Error>Message"`
		Code2    string `xml:"Errors>Error>Code"`
		Message2 string `xml:"Errors>Error>Message"`
	}
	if xml.Unmarshal(body, &x) == nil && x.Code != "" {
		return x.Code, x.Message
	}
	if x.Code2 != "" {
		return x.Code2, x.Message2
	}
	var s3 struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &s3) == nil && s3.Code != "" {
		return s3.Code, s3.Message
	}
	var j map[string]any
	if json.Unmarshal(body, &j) == nil {
		for _, k := range []string{"__type", "code", "Code"} {
			if v, ok := j[k].(string); ok && v != "" {
				code = v[strings.LastIndex(v, "#")+1:]
				break
			}
		}
		for _, k := range []string{"message", "Message"} {
			if v, ok := j[k].(string); ok {
				message = v
			}
		}
	}
	return code, message
}
