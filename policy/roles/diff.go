package roles

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/credkit/credkit/policy"
)

// Difference is one way two roles differ.
type Difference struct {
	Field string `json:"field"` // "trust policy", "name", "path", "tags", ...
	A     string `json:"a"`     // the first role's side ("" when absent)
	B     string `json:"b"`
	// ChangesWhoMayAssume is whether this difference can change who may
	// assume the role (and so explain an AccessDenied on sts:AssumeRole).
	ChangesWhoMayAssume bool   `json:"changes_who_may_assume"`
	Why                 string `json:"why"`
}

// DiffOptions tune Diff.
type DiffOptions struct {
	// IDs maps unique ids (AROA…, AIDA…) to ARNs, to read trust
	// policies that name a principal by id.
	IDs map[string]string
	// Now is the time ages are measured at.
	Now time.Time
	// Fresh is the age under which a role may not be visible to STS
	// yet (IAM is eventually consistent); 0 means one minute.
	Fresh time.Duration
}

// Diff compares two roles the way it matters to who may assume them and
// what their sessions may do. What either role's Unknown lists is not
// compared. Trust policies are compared statement by
// statement after normalising them (element order, Sid, unique ids mapped
// back to ARNs); a statement naming an id no principal has any longer
// matches no one, however alike the two documents look.
func Diff(a, b *Role, o DiffOptions) ([]Difference, error) {
	if o.Fresh == 0 {
		o.Fresh = time.Minute
	}
	var out []Difference
	add := func(field, va, vb string, assume bool, why string) {
		out = append(out, Difference{Field: field, A: va, B: vb, ChangesWhoMayAssume: assume, Why: why})
	}
	if a.Name != b.Name {
		why := "callers name the role by its exact name"
		if strings.EqualFold(a.Name, b.Name) {
			why = "the names differ only in case, and sts:AssumeRole matches names case-sensitively: a caller naming one is refused by the other"
		}
		add("name", a.Name, b.Name, true, why)
	}
	if a.Path != b.Path {
		add("path", a.Path, b.Path, true, "the path is part of the role's ARN: a caller or policy naming the ARN with one path does not reach the other")
	}
	aAcct, _, _, _ := SplitARN(a.ARN)
	bAcct, _, _, _ := SplitARN(b.ARN)
	if aAcct != bAcct {
		add("account", aAcct, bAcct, true, "the roles are in different accounts")
	}
	if a.RoleID != "" && b.RoleID != "" && a.RoleID != b.RoleID && a.Name == b.Name && a.Path == b.Path && aAcct == bAcct {
		add("unique id", a.RoleID, b.RoleID, false, "the role was deleted and recreated: policies elsewhere that named the old role now hold its old id and no longer name this one (it can still be assumed as its trust policy allows)")
	}

	ta, err := normaliseTrust(a, o.IDs)
	if err != nil {
		return nil, err
	}
	tb, err := normaliseTrust(b, o.IDs)
	if err != nil {
		return nil, err
	}
	eachOnlyIn(ta.stmts, tb.stmts, func(st string, inA bool) {
		va, vb := sides(st, inA)
		add("trust policy statement", va, vb, true, "only the "+which(inA)+" role's trust policy has this statement")
	})
	if ta.version != tb.version {
		add("trust policy Version", ta.version, tb.version, true, "policy variables are read only in Version 2012-10-17 documents")
	}
	eachOnlyIn(ta.deadIDs, tb.deadIDs, func(id string, inA bool) {
		va, vb := sides(id, inA)
		add("trust policy principal", va, vb, true, "the "+which(inA)+" role's trust policy names the unique id "+id+", not an ARN: IAM shows a deleted principal this way, and it matches no caller (recreating the principal does not restore it)")
	})

	if a.MaxSessionDuration != b.MaxSessionDuration {
		add("max session duration", fmt.Sprint(a.MaxSessionDuration), fmt.Sprint(b.MaxSessionDuration), true,
			"AssumeRole asking for a DurationSeconds above the role's maximum is refused (ValidationError), so a caller asking for a long session succeeds with one role and fails with the other")
	}
	if a.PermissionsBoundary != b.PermissionsBoundary {
		add("permissions boundary", a.PermissionsBoundary, b.PermissionsBoundary, false, "a boundary limits what the role's sessions may do, not who may assume it")
	}
	for _, k := range unionKeys(a.Tags, b.Tags) {
		va, oka := a.Tags[k]
		vb, okb := b.Tags[k]
		if oka == okb && va == vb {
			continue
		}
		assume := tagUsed(k, ta.raw) || tagUsed(k, tb.raw)
		why := "tags change who may assume the role only where a policy tests aws:ResourceTag/" + k + " (the callers' identity policies may; neither trust policy does)"
		if assume {
			why = "a trust policy tests aws:ResourceTag/" + k
		}
		add("tag "+k, tagValue(va, oka), tagValue(vb, okb), assume, why)
	}
	if a.AttachedPolicies != nil && b.AttachedPolicies != nil {
		eachOnlyIn(a.AttachedPolicies, b.AttachedPolicies, func(p string, inA bool) {
			va, vb := sides(p, inA)
			add("attached policy", va, vb, false, "permissions policies decide what the sessions may do, not who may assume the role")
		})
	}
	if a.InlinePolicies != nil && b.InlinePolicies != nil {
		for _, name := range unionKeys(a.InlinePolicies, b.InlinePolicies) {
			da, oka := a.InlinePolicies[name]
			db, okb := b.InlinePolicies[name]
			if oka && okb && equalJSON(da, db) {
				continue
			}
			add("inline policy "+name, present(oka, da), present(okb, db), false, "permissions policies decide what the sessions may do, not who may assume the role")
		}
	}
	if !o.Now.IsZero() && !a.CreateDate.IsZero() && !b.CreateDate.IsZero() && !a.CreateDate.Equal(b.CreateDate) {
		ageA, ageB := o.Now.Sub(a.CreateDate), o.Now.Sub(b.CreateDate)
		fresh := ageA < o.Fresh || ageB < o.Fresh
		why := "both roles are old enough to be visible to STS everywhere"
		if fresh {
			why = "a role created less than " + o.Fresh.String() + " ago may not be visible to STS yet (IAM is eventually consistent): AssumeRole can be refused for a while"
		}
		add("created", a.CreateDate.UTC().Format(time.RFC3339), b.CreateDate.UTC().Format(time.RFC3339), fresh, why)
	}
	return out, nil
}

type trustForm struct {
	version string
	stmts   []string // canonical JSON of each statement, without Sid
	deadIDs []string // unique ids no principal has
	raw     string
}

// normaliseTrust parses a role's trust policy and writes each statement
// in a canonical form: sorted lists, no Sid, unique ids replaced by the
// ARNs they belong to, ids of deleted principals left out (they match no
// one; deadIDs lists them).
func normaliseTrust(r *Role, ids map[string]string) (*trustForm, error) {
	doc, dead := mapUniqueIDs(r.TrustPolicy, ids)
	p, err := policy.Parse(doc, policy.Trust)
	if err != nil {
		return nil, fmt.Errorf("trust policy of %s: %w", r.ARN, err)
	}
	f := &trustForm{version: p.Version, raw: string(r.TrustPolicy), deadIDs: dead}
	for _, s := range p.Statements {
		if !dropDead(&s) {
			continue
		}
		s.Sid = ""
		for _, l := range [][]string{s.Action, s.NotAction, s.Resource, s.NotResource} {
			slices.Sort(l)
		}
		for _, pr := range []*policy.Principal{s.Principal, s.NotPrincipal} {
			if pr == nil {
				continue
			}
			vals := map[string][]string{}
			for typ, vs := range pr.Values {
				nv := slices.Clone(vs)
				slices.Sort(nv)
				vals[typ] = slices.Compact(nv)
			}
			pr.Values = vals
		}
		for i := range s.Conditions {
			slices.Sort(s.Conditions[i].Values)
		}
		b, err := json.Marshal(&policy.Policy{Statements: []policy.Statement{s}})
		if err != nil {
			return nil, err
		}
		var doc struct{ Statement json.RawMessage }
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, err
		}
		f.stmts = append(f.stmts, string(doc.Statement))
	}
	return f, nil
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func tagUsed(key, doc string) bool {
	return strings.Contains(strings.ToLower(doc), strings.ToLower("ResourceTag/"+key))
}

func tagValue(v string, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("%q", v)
}

func present(ok bool, doc json.RawMessage) string {
	if !ok {
		return ""
	}
	return string(compactJSON(doc))
}

func equalJSON(a, b json.RawMessage) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return string(a) == string(b)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}

func compactJSON(doc json.RawMessage) []byte {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return doc
	}
	b, _ := json.Marshal(v)
	return b
}

// dropDead removes the unique ids of deleted principals from a
// statement's Principal. It reports false when nothing is left: the statement names
// no one.
func dropDead(s *policy.Statement) bool {
	if s.Principal == nil || s.Principal.All {
		return true
	}
	left := map[string][]string{}
	for typ, vs := range s.Principal.Values {
		var keep []string
		for _, v := range vs {
			if typ != "AWS" || !policy.IsUniqueID(v) {
				keep = append(keep, v)
			}
		}
		if keep != nil {
			left[typ] = keep
		}
	}
	if len(left) == 0 {
		return false
	}
	s.Principal = &policy.Principal{Values: left}
	return true
}

// eachOnlyIn calls fn with each value of a that b lacks (inA true), then
// each value of b that a lacks.
func eachOnlyIn(a, b []string, fn func(v string, inA bool)) {
	for _, v := range a {
		if !slices.Contains(b, v) {
			fn(v, true)
		}
	}
	for _, v := range b {
		if !slices.Contains(a, v) {
			fn(v, false)
		}
	}
}

// sides puts v on the first or the second role's side.
func sides(v string, inA bool) (a, b string) {
	if inA {
		return v, ""
	}
	return "", v
}

func which(inA bool) string {
	if inA {
		return "first"
	}
	return "second"
}
