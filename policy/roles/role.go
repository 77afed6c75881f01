// Package roles reads IAM roles and answers questions about who may assume
// them: the role a name or ARN really refers to (role names are
// case-sensitive when assumed, and ARNs carry the path), what differs
// between two roles that look the same, and whether a role's trust policy
// lets a principal in.
//
// A Role comes from IAM (Resolve, Fetch) or from a JSON file (Decode):
// credkit's own form (what `credkit role resolve --json` prints), the
// output of `aws iam get-role`, or one element of RoleDetailList from
// `aws iam get-account-authorization-details`.
//
// Trust checks are decided by package policy. The package never prints
// and never exits.
package roles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Role is an IAM role with what decides who may assume it and what its
// sessions may do.
type Role struct {
	ARN                string    `json:"arn"`
	Name               string    `json:"name"`
	Path               string    `json:"path"`
	RoleID             string    `json:"role_id,omitempty"`
	CreateDate         time.Time `json:"create_date,omitzero"`
	Description        string    `json:"description,omitempty"`
	MaxSessionDuration int       `json:"max_session_duration,omitempty"` // seconds
	// PermissionsBoundary is the ARN of the boundary policy, "" for none.
	PermissionsBoundary string            `json:"permissions_boundary,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
	// TrustPolicy is the role's trust policy document as JSON.
	TrustPolicy json.RawMessage `json:"trust_policy"`
	// AttachedPolicies are the ARNs of the managed policies attached.
	AttachedPolicies []string `json:"attached_policies"`
	// InlinePolicies are the inline policies by name.
	InlinePolicies map[string]json.RawMessage `json:"inline_policies"`
	// Unknown lists what could not be read (a listing IAM refused), so
	// that a diff does not take it for "none".
	Unknown []string `json:"unknown,omitempty"`
}

// awsRole is a role as the AWS CLI prints it (get-role's Role, or an
// element of get-account-authorization-details' RoleDetailList).
type awsRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	Description              string
	MaxSessionDuration       int
	AssumeRolePolicyDocument json.RawMessage
	PermissionsBoundary      *struct{ PermissionsBoundaryArn string }
	Tags                     []struct{ Key, Value string }
	AttachedManagedPolicies  []struct{ PolicyName, PolicyArn string }
	RolePolicyList           []struct {
		PolicyName     string
		PolicyDocument json.RawMessage
	}
}

// Decode reads a role from JSON in one of the forms the package doc
// lists. Errors name what was wrong and where.
func Decode(data []byte) (*Role, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if raw, ok := probe["Role"]; ok {
		// aws iam get-role: {"Role": {...}}
		return decodeAWS(raw, "$.Role")
	}
	if _, ok := probe["RoleName"]; ok {
		return decodeAWS(data, "$")
	}
	if _, ok := probe["arn"]; !ok {
		return nil, errors.New("$: neither a credkit role (with \"arn\"), nor aws iam get-role output (with \"Role\"), nor a RoleDetailList element (with \"RoleName\")")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Role
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("$: %v", err)
	}
	if err := r.check("$"); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeAWS(data []byte, path string) (*Role, error) {
	var a awsRole
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	r := &Role{
		ARN: a.Arn, Name: a.RoleName, Path: a.Path, RoleID: a.RoleId, Description: a.Description,
		MaxSessionDuration: a.MaxSessionDuration,
	}
	if a.CreateDate != "" {
		t, err := time.Parse(time.RFC3339, a.CreateDate)
		if err != nil {
			return nil, fmt.Errorf("%s.CreateDate: %q is not an RFC 3339 time", path, a.CreateDate)
		}
		r.CreateDate = t
	}
	if a.PermissionsBoundary != nil {
		r.PermissionsBoundary = a.PermissionsBoundary.PermissionsBoundaryArn
	}
	for _, t := range a.Tags {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[t.Key] = t.Value
	}
	doc, err := documentJSON(a.AssumeRolePolicyDocument)
	if err != nil {
		return nil, fmt.Errorf("%s.AssumeRolePolicyDocument: %v", path, err)
	}
	r.TrustPolicy = doc
	// get-role does not list policies: only a RoleDetailList element
	// says what is attached.
	if a.AttachedManagedPolicies != nil || a.RolePolicyList != nil {
		r.AttachedPolicies = []string{}
		r.InlinePolicies = map[string]json.RawMessage{}
		for _, p := range a.AttachedManagedPolicies {
			r.AttachedPolicies = append(r.AttachedPolicies, p.PolicyArn)
		}
		for i, p := range a.RolePolicyList {
			doc, err := documentJSON(p.PolicyDocument)
			if err != nil {
				return nil, fmt.Errorf("%s.RolePolicyList[%d].PolicyDocument: %v", path, i, err)
			}
			r.InlinePolicies[p.PolicyName] = doc
		}
	} else {
		r.Unknown = append(r.Unknown, "attached and inline policies (get-role output does not list them)")
	}
	if err := r.check(path); err != nil {
		return nil, err
	}
	return r, nil
}

// check wants what every role has.
func (r *Role) check(path string) error {
	switch {
	case r.ARN == "":
		return fmt.Errorf("%s: the role has no ARN", path)
	case len(r.TrustPolicy) == 0 || string(r.TrustPolicy) == "null":
		return fmt.Errorf("%s: the role %s has no trust policy", path, r.ARN)
	}
	_, p, name, ok := SplitARN(r.ARN)
	if !ok {
		return fmt.Errorf("%s: %q is not a role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME)", path, r.ARN)
	}
	if r.Name == "" {
		r.Name = name
	}
	if r.Path == "" {
		r.Path = p
	}
	slices.Sort(r.AttachedPolicies)
	return nil
}

// documentJSON returns a policy document as JSON: IAM's API sends it
// URL-encoded in a string, the AWS CLI decodes it into an object.
func documentJSON(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '{' {
		return raw, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("a policy document must be an object or a string")
	}
	return DecodeDocument(s)
}

// DecodeDocument reads a policy document as IAM's API returns it: JSON,
// URL-encoded unless it already starts with "{".
func DecodeDocument(s string) (json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		d, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("policy document is neither JSON nor URL-encoded JSON: %v", err)
		}
		s = d
	}
	if !json.Valid([]byte(s)) {
		return nil, errors.New("policy document is not valid JSON")
	}
	return json.RawMessage(s), nil
}

// SplitARN splits a role ARN into its account, path ("/" or "/a/b/") and
// name.
func SplitARN(arn string) (account, path, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", "", false
	}
	res := strings.TrimPrefix(parts[5], "role")
	i := strings.LastIndex(res, "/")
	path, name = res[:i+1], res[i+1:]
	if name == "" {
		return "", "", "", false
	}
	return parts[4], path, name, true
}
