package lab

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/credkit/credkit/policy"
)

// document reads a policy document of the given kind at path: an object,
// or the document as a JSON string (as IAM's APIs take it). Problems are
// reported at their path inside the document, with the engine's words.
func (w *walker) document(path seedPath, v any, pk policy.Kind) *policy.Policy {
	if doc, ok := v.(string); ok {
		var parsed any
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&parsed); err != nil {
			w.fail(path, "is a string but not a JSON policy document: %v", err)
			return nil
		}
		v = parsed
	}
	if v == nil {
		w.fail(path, "is required")
		return nil
	}
	if _, ok := v.(map[string]any); !ok {
		w.fail(path, "must be a policy document (an object), not %s", kind(v))
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.fail(path, "cannot be read as JSON: %v", err)
		return nil
	}
	p, err := policy.Parse(b, pk)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			w.fail(append(path[:len(path):len(path)], policyPath(pe.Path)...), "%s", pe.Msg)
		} else {
			w.fail(path, "%v", err)
		}
		return nil
	}
	return p
}

// documents reads a list of policy documents.
func (w *walker) documents(path seedPath, v any, pk policy.Kind) []*policy.Policy {
	var out []*policy.Policy
	for i, d := range w.list(path, v) {
		if p := w.document(path.index(i), d, pk); p != nil {
			out = append(out, p)
		}
	}
	return out
}

var policyPathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.([^.\[]+)|\[(\d+)\]`) })

// policyPath turns the engine's JSON path ($.Statement[0].Effect) into
// seed path segments.
func policyPath(p string) seedPath {
	var out seedPath
	for _, m := range policyPathRE().FindAllStringSubmatch(strings.TrimPrefix(p, "$"), -1) {
		if m[1] != "" {
			out = append(out, m[1])
		} else if n, err := strconv.Atoi(m[2]); err == nil {
			out = append(out, n)
		}
	}
	return out
}

var rolePathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/([\x21-\x7e]*/)?$`) })

// mustPolicy parses a built-in document; it panics on a bad one, which
// is a bug in the lab.
func mustPolicy(doc string, kind policy.Kind) *policy.Policy {
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		panic("lab: built-in policy: " + err.Error())
	}
	return p
}

// identity reads the policies and permissions_boundary fields of a user
// or a role.
func (w *walker) identity(p seedPath, m map[string]any) ([]*policy.Policy, *policy.Policy) {
	pols := w.documents(p.key("policies"), m["policies"], policy.Identity)
	var boundary *policy.Policy
	if b := m["permissions_boundary"]; b != nil {
		boundary = w.document(p.key("permissions_boundary"), b, policy.Boundary)
	}
	return pols, boundary
}
