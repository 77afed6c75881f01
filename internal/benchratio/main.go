// Command benchratio compares credkit with a baseline (the AWS SDK, the AWS
// CLI, iam-simulate, ...) in `go test -bench` output.
//
// It reads benchmark output on stdin and copies it to stdout unchanged. It
// pairs Benchmark<Op>/credkit with every other sub-benchmark of the same
// Benchmark<Op> in the same package, Benchmark<Op>/<baseline>, takes the
// median ns/op (and allocs/op) over repeated runs (-count), and finally
// prints one line per op and baseline:
//
//	ratio OP credkit_ns=N BASELINE_ns=M ratio=R allocs=A
//
// The SigV4 signing benchmarks against aws-sdk-go-v2 (packages sigv4 and
// rdsauth, baseline sdk) keep their historic name:
//
//	sigv4-ratio OP credkit_ns=N sdk_ns=M ratio=R allocs=A
//
// OP is <Op> in lower case with words joined by '-' (RDSToken: rds-token),
// BASELINE the sub-benchmark's name (iam-simulate), R is credkit/baseline
// with 3 decimals and A the median credkit allocs/op ("na" without
// -benchmem). Ops lacking either side are reported on stderr. benchratio
// exits with status 1 when the input reports a failure or holds no pair at
// all.
//
// Usage:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./sigv4/ | go run ./internal/benchratio
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

// impl is one implementation's samples for an op.
type impl struct {
	ns     []float64
	allocs []float64
}

func (im *impl) add(ns, allocs float64) {
	im.ns = append(im.ns, ns)
	if !math.IsNaN(allocs) {
		im.allocs = append(im.allocs, allocs)
	}
}

// op collects credkit's and the baselines' samples of one benchmarked
// operation.
type op struct {
	pkg       string // import path from the "pkg:" line, "" before any
	name      string // as in the benchmark name, e.g. RDSToken
	credkit   impl
	baselines map[string]*impl
	order     []string // baseline names in the order first seen
}

// sigv4Pkgs are the packages whose credkit/sdk pairs are printed as
// sigv4-ratio lines.
var sigv4Pkgs = []string{"sigv4", "rdsauth"}

// prefix is the first word of the summary line of o against baseline.
func (o *op) prefix(baseline string) string {
	if baseline == "sdk" && slices.Contains(sigv4Pkgs, path.Base(o.pkg)) {
		return "sigv4-ratio"
	}
	return "ratio"
}

// benchLine matches a result line: name, iterations, then value/unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark(\S+)\s+\d+\s+(.*)$`)

// procsSuffix is the -GOMAXPROCS suffix go test appends to names.
var procsSuffix = regexp.MustCompile(`-\d+$`)

func run(in io.Reader, out, errOut io.Writer) error {
	ops := map[[2]string]*op{}
	var order []*op
	failed := false
	pkg := ""

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		// Pass output through as it arrives; benchmarks are slow.
		if err := w.Flush(); err != nil {
			return err
		}
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic:") {
			failed = true
		}
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		name, side, ns, allocs, ok := parseLine(line)
		if !ok {
			continue
		}
		key := [2]string{pkg, name}
		o := ops[key]
		if o == nil {
			o = &op{pkg: pkg, name: name, baselines: map[string]*impl{}}
			ops[key] = o
			order = append(order, o)
		}
		if side == "credkit" {
			o.credkit.add(ns, allocs)
			continue
		}
		im := o.baselines[side]
		if im == nil {
			im = &impl{}
			o.baselines[side] = im
			o.order = append(o.order, side)
		}
		im.add(ns, allocs)
	}
	if err := sc.Err(); err != nil {
		return err
	}

	pairs := 0
	for _, o := range order {
		if len(o.credkit.ns) == 0 || len(o.order) == 0 {
			fmt.Fprintf(errOut, "benchratio: Benchmark%s has no /credkit or no baseline (another sub-benchmark) results; skipped\n", o.name)
			continue
		}
		ck := median(o.credkit.ns)
		allocs := "na"
		if len(o.credkit.allocs) > 0 {
			allocs = num(median(o.credkit.allocs))
		}
		for _, b := range o.order {
			pairs++
			base := median(o.baselines[b].ns)
			ratio := "na"
			if base > 0 {
				ratio = strconv.FormatFloat(ck/base, 'f', 3, 64)
			}
			fmt.Fprintf(w, "%s %s credkit_ns=%s %s_ns=%s ratio=%s allocs=%s\n",
				o.prefix(b), opName(o.name), num(ck), b, num(base), ratio, allocs)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	switch {
	case failed:
		return fmt.Errorf("benchmark run reported a failure")
	case pairs == 0:
		return fmt.Errorf("no Benchmark<Op>/credkit and Benchmark<Op>/<baseline> pairs in the input")
	}
	return nil
}

// parseLine extracts the result of a sub-benchmark Benchmark<Op>/<side>
// (one level deep) from a benchmark line. allocs is NaN when the line has
// no allocs/op.
func parseLine(line string) (name, side string, ns, allocs float64, ok bool) {
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return "", "", 0, 0, false
	}
	name, side, found := strings.Cut(procsSuffix.ReplaceAllString(m[1], ""), "/")
	if !found || side == "" || strings.Contains(side, "/") || name == "" {
		return "", "", 0, 0, false
	}
	fields := strings.Fields(m[2])
	ns, allocs = math.NaN(), math.NaN()
	for i := 0; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			continue
		}
		switch fields[i+1] {
		case "ns/op":
			ns = v
		case "allocs/op":
			allocs = v
		}
	}
	if math.IsNaN(ns) {
		return "", "", 0, 0, false
	}
	return name, side, ns, allocs, true
}

// median returns the median of xs (the mean of the middle two for an even
// count). xs must not be empty.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// num formats v with at most two decimals and no trailing zeros.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// opName turns a CamelCase op into lower-case words joined by '-':
// Sign: sign, RDSToken: rds-token, PresignURL: presign-url, SignV4: sign-v4.
func opName(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if c == '_' || c == '-' {
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
			continue
		}
		if i > 0 && unicode.IsUpper(c) {
			prev := r[i-1]
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				if !strings.HasSuffix(b.String(), "-") {
					b.WriteByte('-')
				}
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return strings.Trim(b.String(), "-")
}
