package roles

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/credkit/credkit/policy"
)

// mapUniqueIDs rewrites the AWS principals of a policy document that are
// unique ids to the ARNs ids maps them to. IAM shows a deleted principal
// in a trust policy by its unique id; an id left as it is names no
// caller. It returns the document and the ids it could not map.
func mapUniqueIDs(doc json.RawMessage, ids map[string]string) (json.RawMessage, []string) {
	if len(ids) == 0 && !bytes.Contains(doc, []byte(`"A`)) {
		return doc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if dec.Decode(&v) != nil {
		return doc, nil // Parse reports what is wrong with it
	}
	var dead []string
	mapOne := func(s string) string {
		if arn, ok := ids[s]; ok {
			return arn
		}
		if policy.IsUniqueID(s) && !slices.Contains(dead, s) {
			dead = append(dead, s)
		}
		return s
	}
	stmts, _ := v["Statement"].([]any)
	if st, ok := v["Statement"].(map[string]any); ok {
		stmts = []any{st}
	}
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		for _, key := range []string{"Principal", "NotPrincipal"} {
			pr, _ := st[key].(map[string]any)
			switch aws := pr["AWS"].(type) {
			case string:
				pr["AWS"] = mapOne(aws)
			case []any:
				for i, a := range aws {
					if s, ok := a.(string); ok {
						aws[i] = mapOne(s)
					}
				}
			}
		}
	}
	if len(ids) == 0 {
		return doc, dead
	}
	out, err := json.Marshal(v)
	if err != nil {
		return doc, nil
	}
	return out, dead
}
