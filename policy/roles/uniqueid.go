package roles

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
)

// uniqueID matches IAM unique ids: AROA (roles), AIDA (users), ...
var uniqueID = regexp.MustCompile(`^A[A-Z]{3}[A-Z0-9]{12,}$`)

// deletedPrefix stands in an ARN for a unique id that names no principal
// now. IAM shows a deleted principal in a trust policy by its unique id;
// policy.Parse takes only ARNs, account ids and "*", and an ARN under
// this made-up account matches no caller, as the id does.
const deletedPrefix = "arn:aws:iam::000000000000:deleted-principal/"

// mapUniqueIDs rewrites the AWS principals of a policy document that are
// unique ids: to the ARN ids maps them to, else to deletedPrefix+id. It
// returns the document and the ids it could not map.
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
		if !uniqueID.MatchString(s) {
			return s
		}
		if !slices.Contains(dead, s) {
			dead = append(dead, s)
		}
		return deletedPrefix + s
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
	if dead == nil && len(ids) == 0 {
		return doc, nil
	}
	out, err := json.Marshal(v)
	if err != nil {
		return doc, nil
	}
	return out, dead
}

// showIDs turns the stand-in ARNs back into the ids IAM showed.
func showIDs(s string) string { return strings.ReplaceAll(s, deletedPrefix, "") }
