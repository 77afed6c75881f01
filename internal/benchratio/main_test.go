package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/credkit/credkit/sigv4
cpu: AMD EPYC 7B13
BenchmarkSign/credkit-8         	  512345	      2000 ns/op	     512 B/op	       7 allocs/op
BenchmarkSign/credkit-8         	  512345	      2100 ns/op	     512 B/op	       7 allocs/op
BenchmarkSign/credkit-8         	  512345	      1900 ns/op	     512 B/op	       8 allocs/op
BenchmarkSign/sdk-8             	  212345	      4000 ns/op	    2048 B/op	      30 allocs/op
BenchmarkSign/sdk-8             	  212345	      4400 ns/op	    2048 B/op	      30 allocs/op
BenchmarkSign/sdk-8             	  212345	      4200 ns/op	    2048 B/op	      30 allocs/op
BenchmarkPresign/credkit-8      	  300000	      3001 ns/op	     900 B/op	      11 allocs/op
BenchmarkPresign/credkit-8      	  300000	      3003 ns/op	     900 B/op	      12 allocs/op
BenchmarkPresign/sdk-8          	  100000	      9000 ns/op	    4000 B/op	      50 allocs/op
BenchmarkPresign/sdk-8          	  100000	      9000 ns/op	    4000 B/op	      50 allocs/op
BenchmarkCanonicalQuery-8       	 1000000	      1000 ns/op	     100 B/op	       2 allocs/op
PASS
ok  	github.com/credkit/credkit/sigv4	12.345s
goos: linux
goarch: amd64
pkg: github.com/credkit/credkit/rdsauth
BenchmarkRDSToken/credkit       	  200000	      5000.5 ns/op	    1000 B/op	      20 allocs/op
BenchmarkRDSToken/sdk           	  100000	     10001 ns/op	    3000 B/op	      60 allocs/op
BenchmarkOnlyOurs/credkit-8     	  100000	     10001 ns/op	    3000 B/op	      60 allocs/op
PASS
ok  	github.com/credkit/credkit/rdsauth	5.000s
`

func TestRun(t *testing.T) {
	var out, errOut strings.Builder
	if err := run(strings.NewReader(sample), &out, &errOut); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := out.String()
	if !strings.HasPrefix(got, sample) {
		t.Errorf("input not passed through unchanged; output:\n%s", got)
	}
	want := `sigv4-ratio sign credkit_ns=2000 sdk_ns=4200 ratio=0.476 allocs=7
sigv4-ratio presign credkit_ns=3002 sdk_ns=9000 ratio=0.334 allocs=11.5
sigv4-ratio rds-token credkit_ns=5000.5 sdk_ns=10001 ratio=0.500 allocs=20
`
	if summary := strings.TrimPrefix(got, sample); summary != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary, want)
	}
	if !strings.Contains(errOut.String(), "BenchmarkOnlyOurs") {
		t.Errorf("unpaired op not reported on stderr: %q", errOut.String())
	}
}

func TestRunNoPairs(t *testing.T) {
	var out, errOut strings.Builder
	in := "BenchmarkFoo-8 \t 100 \t 10 ns/op\nPASS\n"
	if err := run(strings.NewReader(in), &out, &errOut); err == nil {
		t.Error("run succeeded without any pair")
	}
	if out.String() != in {
		t.Errorf("output %q, want the input %q", out.String(), in)
	}
}

func TestRunFailure(t *testing.T) {
	in := "BenchmarkSign/credkit \t 100 \t 10 ns/op\nBenchmarkSign/sdk \t 100 \t 20 ns/op\n--- FAIL: BenchmarkPresign/credkit\nFAIL\n"
	var out, errOut strings.Builder
	if err := run(strings.NewReader(in), &out, &errOut); err == nil {
		t.Error("run succeeded on failing benchmark output")
	}
	if !strings.Contains(out.String(), "sigv4-ratio sign credkit_ns=10 sdk_ns=20 ratio=0.500 allocs=na\n") {
		t.Errorf("summary missing from output:\n%s", out.String())
	}
}

func TestOpName(t *testing.T) {
	for in, want := range map[string]string{
		"Sign":        "sign",
		"Presign":     "presign",
		"RDSToken":    "rds-token",
		"PresignURL":  "presign-url",
		"SignV4":      "sign-v4",
		"SignS3Chunk": "sign-s3-chunk",
		"Sign_Large":  "sign-large",
		"HTTPRequest": "http-request",
	} {
		if got := opName(in); got != want {
			t.Errorf("opName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5, 5, 1, 9, 5, 7}, 5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
