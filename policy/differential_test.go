package policy_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/policy"
)

// SeedEnv overrides the differential test's seed; CasesEnv its number of
// cases.
const (
	SeedEnv  = "CREDKIT_POLICY_SEED"
	CasesEnv = "CREDKIT_POLICY_CASES"
)

// simAnswer is what the iam-simulate script answers for a case.
type simAnswer struct {
	ID       string   `json:"id"`
	Decision string   `json:"decision"`
	Error    string   `json:"error"`
	Ignored  []string `json:"ignoredContextKeys"`
}

func label(t *testing.T, sim *testpeer.IAMSim, cases []*caseJSON) []simAnswer {
	t.Helper()
	lines := make([][]byte, len(cases))
	for i, c := range cases {
		lines[i] = c.line()
	}
	raw, err := sim.Label(lines)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]simAnswer, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("iam-simulate answer %s: %v", r, err)
		}
	}
	return out
}

// credkit evaluates a case through the batch format.
func credkit(t *testing.T, c *caseJSON) policy.Answer {
	t.Helper()
	pc, err := policy.ParseCase(c.line())
	if err != nil {
		t.Fatalf("generated case does not parse: %v\n%s", err, c.line())
	}
	return pc.Evaluate()
}

// TestDifferential compares the engine with @cloud-copilot/iam-simulate
// on random cases. Disagreements that AWS's documentation settles against
// iam-simulate are recognised (see classify) and kept as golden
// cases in testdata/golden.jsonl; any other disagreement fails the test
// with the case shrunk to what still disagrees.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test against iam-simulate skipped in -short mode")
	}
	strict := testpeer.IAMSimulate(t, false)
	sim := testpeer.IAMSimulate(t, true)
	seed := uint64(20261205)
	if s := os.Getenv(SeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", SeedEnv, s)
		}
		seed = v
	}
	n := 20000
	if s := os.Getenv(CasesEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("%s=%q: want a positive integer", CasesEnv, s)
		}
		n = v
	}
	t.Logf("seed %d (%s=%d to repeat), %d cases", seed, SeedEnv, seed, n)
	r := rand.New(rand.NewPCG(seed, 0))

	const batch = 2000
	var labelling time.Duration
	outcomes := map[string]int{}
	known := map[string]int{}
	var failures int
	for start := 0; start < n; start += batch {
		var cases []*caseJSON
		for i := start; i < min(n, start+batch); i++ {
			cases = append(cases, newCase(r, i))
		}
		began := time.Now()
		answers := label(t, sim, cases)
		labelling += time.Since(began)
		if start == 0 {
			// The first cases also go through iam-simulate's validation:
			// the generator must only make valid policies and requests,
			// and validating must not change the answers.
			checked := cases[:min(len(cases), 500)]
			for i, a := range label(t, strict, checked) {
				c := checked[i]
				if a.Error != "" {
					t.Fatalf("case %s: iam-simulate finds it invalid: %s\n%s", c.ID, a.Error, c.line())
				}
				if len(a.Ignored) > 0 {
					t.Fatalf("case %s: iam-simulate ignores context keys %v: the generator must only use keys it reads\n%s", c.ID, a.Ignored, c.line())
				}
				if a.Decision != answers[i].Decision {
					t.Fatalf("case %s: iam-simulate answers %s when validating and %s when not\n%s", c.ID, a.Decision, answers[i].Decision, c.line())
				}
			}
		}
		var ds []disagreement
		for i, c := range cases {
			got := credkit(t, c)
			want := answers[i]
			if want.Error != "" || got.Error != "" {
				t.Fatalf("case %s: credkit error %q, iam-simulate error %q\n%s", c.ID, got.Error, want.Error, c.line())
			}
			outcomes[got.Decision]++
			if got.Decision == want.Decision {
				continue
			}
			ds = append(ds, disagreement{c, got.Decision, want.Decision})
		}
		for i, name := range classify(t, sim, ds) {
			if name != "" {
				known[name]++
				continue
			}
			d := ds[i]
			failures++
			if failures <= maxShrunk {
				small := shrink(t, sim, d.c)
				a := credkit(t, small)
				t.Errorf("case %s: credkit %s, iam-simulate %s; shrunk to:\n%s\ncredkit: %s\n%+v",
					d.c.ID, d.credkitSays, d.simSays, small.line(), a.Message, a.Statements)
			}
		}
	}
	t.Logf("iam-simulate took %v; outcomes: %v; known divergences: %v; unexplained: %d", labelling, outcomes, known, failures)
	for _, d := range []string{"Allowed", "ImplicitlyDenied", "ExplicitlyDenied"} {
		if outcomes[d] < n/20 {
			t.Errorf("only %d of %d cases came out %s: the generator no longer reaches it", outcomes[d], n, d)
		}
	}
}

// maxShrunk is how many disagreements are shrunk and shown.
const maxShrunk = 12

// fix gives iam-simulate, in a copy of a case, what AWS's documentation
// says it misses; when it then agrees with credkit, the disagreement is
// the named known one.
type fix struct {
	name  string
	apply func(*caseJSON) bool // false: does not apply to the case
}

var anyFixes = []fix{
	// Date conditions take epoch seconds as well as ISO 8601.
	{"date-condition-epoch-seconds", func(x *caseJSON) bool {
		return editConditions(x, func(op, key string, vals []any) []any {
			if !strings.Contains(op, "Date") {
				return vals
			}
			for i, v := range vals {
				if n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64); err == nil {
					vals[i] = time.Unix(n, 0).UTC().Format(time.RFC3339)
				}
			}
			return vals
		})
	}},
	// Without a Version (2008-10-17) "${aws:username}" is a literal
	// string: written as 2012-10-17 with "$" escaped, the same policy.
	{"no-version-variables-are-literal", func(x *caseJSON) bool {
		changed := false
		for _, p := range x.policies() {
			if _, ok := p["Version"]; ok {
				continue
			}
			b, _ := json.Marshal(p["Statement"])
			if !strings.Contains(string(b), "${") {
				continue
			}
			var st any
			json.Unmarshal([]byte(strings.ReplaceAll(string(b), "${", "${$}{")), &st)
			p["Statement"], p["Version"] = st, "2012-10-17"
			changed = true
		}
		return changed
	}},
	// IfExists makes a condition on a missing key hold, with a set
	// prefix too.
	{"ifexists-missing-key-with-set-prefix", func(x *caseJSON) bool {
		return editConditions(x, func(op, key string, vals []any) []any {
			if _, present := x.Context[key]; present || !strings.HasPrefix(op, "ForAnyValue:") || !strings.HasSuffix(op, "IfExists") {
				return vals
			}
			return nil
		})
	}},
}

// allowFixes apply where credkit allows (and iam-simulate does not).
var allowFixes = []fix{
	// The account root user has full access without any
	// identity-based policy.
	{"root-user-implicit-access", func(x *caseJSON) bool {
		if !strings.HasSuffix(x.Principal, ":root") {
			return false
		}
		x.IdentityPolicies = append(x.IdentityPolicies, obj{"Version": "2012-10-17", "Statement": obj{"Effect": "Allow", "Action": "*", "Resource": "*"}})
		return true
	}},
	// A same-account resource policy naming the session's ARN is
	// not limited by the session policy.
	{"session-arn-grant-not-limited-by-session-policy", func(x *caseJSON) bool {
		if x.SessionPolicy == nil || !strings.Contains(x.Principal, ":assumed-role/") {
			return false
		}
		x.SessionPolicy = nil
		return true
	}},
}

// disagreement is a case credkit and iam-simulate decide differently.
type disagreement struct {
	c                    *caseJSON
	credkitSays, simSays string
}

// classify names each disagreement that AWS's documentation decides
// against iam-simulate ("" for the others), trying every fix that
// applies in one batch. The named cases are in testdata/golden.jsonl.
func classify(t *testing.T, sim *testpeer.IAMSim, ds []disagreement) []string {
	t.Helper()
	type variant struct {
		i    int
		name string
	}
	var vs []variant
	var xs []*caseJSON
	for i, d := range ds {
		fixes := anyFixes
		if d.credkitSays == "Allowed" {
			fixes = append(append([]fix{}, anyFixes...), allowFixes...)
		}
		// Each fix alone, then all that apply together (a case can show
		// two known mistakes at once).
		all, names := d.c.clone(), []string{}
		for _, f := range fixes {
			x := d.c.clone()
			if f.apply(x) {
				vs = append(vs, variant{i, f.name})
				xs = append(xs, x)
				f.apply(all)
				names = append(names, f.name)
			}
		}
		if len(names) > 1 {
			vs = append(vs, variant{i, strings.Join(names, "+")})
			xs = append(xs, all)
		}
	}
	names := make([]string, len(ds))
	if len(xs) == 0 {
		return names
	}
	for j, a := range label(t, sim, xs) {
		v := vs[j]
		if names[v.i] == "" && a.Decision == ds[v.i].credkitSays {
			names[v.i] = v.name
		}
	}
	return names
}

// editConditions applies edit to the values of every condition of every
// policy in x (by operator and key); nil removes the key from the
// condition. It reports whether anything changed.
func editConditions(x *caseJSON, edit func(op, key string, vals []any) []any) bool {
	changed := false
	each := func(p obj) {
		var stmts []any
		switch st := p["Statement"].(type) {
		case []any:
			stmts = st
		case map[string]any:
			stmts = []any{st}
		}
		for _, s := range stmts {
			s, _ := s.(map[string]any)
			cond, _ := s["Condition"].(map[string]any)
			for op, block := range cond {
				block := block.(map[string]any)
				for k, v := range block {
					vals, ok := v.([]any)
					if !ok {
						vals = []any{v}
					}
					before := fmt.Sprint(vals)
					out := edit(op, k, append([]any(nil), vals...))
					if out == nil {
						delete(block, k)
						changed = true
						continue
					}
					if fmt.Sprint(out) != before {
						block[k] = out
						changed = true
					}
				}
				if len(block) == 0 {
					delete(cond, op)
				}
			}
			if cond != nil && len(cond) == 0 {
				delete(s, "Condition")
			}
		}
	}
	for _, p := range x.policies() {
		each(p)
	}
	return changed
}

// policies lists every policy of the case.
func (c *caseJSON) policies() []obj {
	out := append([]obj{}, c.IdentityPolicies...)
	for _, p := range []obj{c.ResourcePolicy, c.TrustPolicy, c.PermissionsBoundary, c.SessionPolicy} {
		if p != nil {
			out = append(out, p)
		}
	}
	for _, l := range append(append([][]obj{}, c.SCPs...), c.RCPs...) {
		out = append(out, l...)
	}
	return out
}

// shrink takes parts of a disagreeing case away while credkit and
// iam-simulate still disagree on it.
func shrink(t *testing.T, sim *testpeer.IAMSim, c *caseJSON) *caseJSON {
	t.Helper()
	a0 := credkit(t, c)
	s0 := label(t, sim, []*caseJSON{c})[0]
	disagrees := func(x *caseJSON) bool {
		a := credkit(t, x)
		s := label(t, sim, []*caseJSON{x})[0]
		return a.Error == "" && s.Error == "" && a.Decision == a0.Decision && s.Decision == s0.Decision &&
			classify(t, sim, []disagreement{{x, a.Decision, s.Decision}})[0] == ""
	}
	for changed := true; changed; {
		changed = false
		for _, cand := range smaller(c) {
			if disagrees(cand) {
				c, changed = cand, true
				break
			}
		}
	}
	return c
}

// smaller lists the cases with one part of c taken away.
func smaller(c *caseJSON) []*caseJSON {
	var out []*caseJSON
	try := func(f func(x *caseJSON)) {
		x := c.clone()
		f(x)
		out = append(out, x)
	}
	for i := range c.IdentityPolicies {
		try(func(x *caseJSON) { x.IdentityPolicies = append(x.IdentityPolicies[:i], x.IdentityPolicies[i+1:]...) })
	}
	if c.ResourcePolicy != nil {
		try(func(x *caseJSON) { x.ResourcePolicy = nil })
	}
	if c.PermissionsBoundary != nil {
		try(func(x *caseJSON) { x.PermissionsBoundary = nil })
	}
	if c.SessionPolicy != nil {
		try(func(x *caseJSON) { x.SessionPolicy = nil })
	}
	for i := range c.SCPs {
		try(func(x *caseJSON) { x.SCPs = append(x.SCPs[:i], x.SCPs[i+1:]...) })
		for j := range c.SCPs[i] {
			if len(c.SCPs[i]) > 1 {
				try(func(x *caseJSON) { x.SCPs[i] = append(x.SCPs[i][:j], x.SCPs[i][j+1:]...) })
			}
		}
	}
	for i := range c.RCPs {
		try(func(x *caseJSON) { x.RCPs = append(x.RCPs[:i], x.RCPs[i+1:]...) })
	}
	for k := range c.Context {
		try(func(x *caseJSON) { delete(x.Context, k) })
	}
	// Statements and their conditions, in every policy.
	each := func(f func(get func(x *caseJSON) obj)) {
		for i := range c.IdentityPolicies {
			f(func(x *caseJSON) obj { return x.IdentityPolicies[i] })
		}
		f(func(x *caseJSON) obj { return x.ResourcePolicy })
		f(func(x *caseJSON) obj { return x.TrustPolicy })
		f(func(x *caseJSON) obj { return x.PermissionsBoundary })
		f(func(x *caseJSON) obj { return x.SessionPolicy })
		for i := range c.SCPs {
			for j := range c.SCPs[i] {
				f(func(x *caseJSON) obj { return x.SCPs[i][j] })
			}
		}
		for i := range c.RCPs {
			for j := range c.RCPs[i] {
				f(func(x *caseJSON) obj { return x.RCPs[i][j] })
			}
		}
	}
	each(func(get func(x *caseJSON) obj) {
		p := get(c)
		if p == nil {
			return
		}
		stmts, _ := p["Statement"].([]any)
		for i := range stmts {
			if len(stmts) > 1 {
				try(func(x *caseJSON) {
					q := get(x)
					l := q["Statement"].([]any)
					q["Statement"] = append(l[:i], l[i+1:]...)
				})
			}
			s, _ := stmts[i].(map[string]any)
			cond, _ := s["Condition"].(map[string]any)
			for op, block := range cond {
				for k := range block.(map[string]any) {
					try(func(x *caseJSON) {
						q := get(x)
						xs := q["Statement"].([]any)[i].(map[string]any)
						xc := xs["Condition"].(map[string]any)
						delete(xc[op].(map[string]any), k)
						if len(xc[op].(map[string]any)) == 0 {
							delete(xc, op)
						}
						if len(xc) == 0 {
							delete(xs, "Condition")
						}
					})
				}
			}
		}
	})
	return out
}
