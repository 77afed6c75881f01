package policy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/policy"
)

// golden is one line of testdata/golden.jsonl: a case whose answer AWS's
// documentation gives (doc, quote), and whether iam-simulate agrees.
type golden struct {
	Name        string          `json:"name"`
	Expect      string          `json:"expect"`
	Doc         string          `json:"doc"`
	Quote       string          `json:"quote"`
	IAMSimulate string          `json:"iamSimulate"` // "agrees" or "disagrees"
	Case        json.RawMessage `json:"case"`
}

func readGolden(t *testing.T) []golden {
	t.Helper()
	f, err := os.Open("testdata/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("testdata/golden.jsonl:%d: %v", n, err)
		}
		if g.Name == "" || g.Doc == "" || g.Quote == "" || g.Expect == "" {
			t.Fatalf("testdata/golden.jsonl:%d: name, expect, doc and quote are required", n)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden holds the engine to the answers AWS's documentation gives
// for the cases in testdata/golden.jsonl.
func TestGolden(t *testing.T) {
	for _, g := range readGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			c, err := policy.ParseCase(g.Case)
			if err != nil {
				t.Fatal(err)
			}
			if a := c.Evaluate(); a.Decision != g.Expect {
				t.Errorf("decision %s (%s, %+v), want %s: %s says %q", a.Decision, a.Error+a.Message, a.Statements, g.Expect, g.Doc, g.Quote)
			}
		})
	}
}

// TestGoldenIAMSimulate checks what the golden cases say of iam-simulate,
// so that a case stops being kept as its mistake once it is fixed.
func TestGoldenIAMSimulate(t *testing.T) {
	gs := readGolden(t)
	sim := testpeer.IAMSimulate(t, false)
	lines := make([][]byte, len(gs))
	for i, g := range gs {
		lines[i] = g.Case
	}
	raw, err := sim.Label(lines)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range gs {
		var a simAnswer
		if err := json.Unmarshal(raw[i], &a); err != nil || a.Error != "" {
			t.Errorf("%s: iam-simulate answers %s (%v)", g.Name, raw[i], err)
			continue
		}
		if agrees := a.Decision == g.Expect; agrees != (g.IAMSimulate == "agrees") {
			t.Errorf("%s: iam-simulate answers %s, expected %s; golden.jsonl says iam-simulate %s", g.Name, a.Decision, g.Expect, g.IAMSimulate)
		}
	}
}
