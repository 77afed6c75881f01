package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
)

// BenchmarkPolicyBatch answers the evalCases (20 cases) as one batch:
// `credkit policy eval --batch` in-process (credkit), next to
// iam-simulate answering the same lines in its node process, validation
// included, as it runs by default (iam-simulate), after a warm-up. An op is the whole batch, from
// the lines in to the answers out. Summarise with benchratio:
//
//	go test -run '^$' -bench PolicyBatch -count 6 ./internal/cli/ | go run ./internal/benchratio
func BenchmarkPolicyBatch(b *testing.B) {
	var lines [][]byte
	for _, c := range evalCases {
		var v any
		if err := json.Unmarshal([]byte(c), &v); err != nil {
			b.Fatal(err)
		}
		line, _ := json.Marshal(v)
		lines = append(lines, line)
	}
	input := append(bytes.Join(lines, []byte("\n")), '\n')
	b.Run("credkit", func(b *testing.B) {
		a := &App{Stderr: io.Discard}
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			a.Stdin, a.Stdout = bytes.NewReader(input), &out
			if err := a.policyBatch("-"); err != nil {
				b.Fatal(err)
			}
		}
		if n := bytes.Count(out.Bytes(), []byte("\n")); n != len(lines) {
			b.Fatalf("%d answers for %d cases", n, len(lines))
		}
	})
	b.Run("iam-simulate", func(b *testing.B) {
		sim := testpeer.IAMSimulate(b, false)
		// Node loads iam-simulate's data and compiles on first use.
		for range 3 {
			if _, err := sim.Label(lines); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			if _, err := sim.Label(lines); err != nil {
				b.Fatal(err)
			}
		}
	})
}
