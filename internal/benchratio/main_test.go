package main

import (
	"math"
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

// A benchmark names its baseline: iam-simulate for the policy engine,
// several for one op, sdk outside the signing packages. Only sigv4 and
// rdsauth against sdk keep the sigv4-ratio name; ops of the same name in
// two packages stay apart.
func TestRunNamedBaselines(t *testing.T) {
	in := `pkg: github.com/credkit/credkit/policy
BenchmarkPolicyEval/credkit-2         	  100000	      1000 ns/op	     100 B/op	       3 allocs/op
BenchmarkPolicyEval/iam-simulate-2    	       1	      8000 ns/op
BenchmarkPolicyEval/credkit-2         	  100000	      1200 ns/op	     100 B/op	       3 allocs/op
BenchmarkPolicyEval/iam-simulate-2    	       1	      9000 ns/op
PASS
pkg: github.com/credkit/credkit/awsconfig
BenchmarkLargeConfig/credkit-2        	     100	    500000 ns/op	  1000 B/op	      10 allocs/op
BenchmarkLargeConfig/sdk-2            	      50	   2000000 ns/op	  9000 B/op	     100 allocs/op
pkg: github.com/credkit/credkit/internal/cli
BenchmarkCredentialProcess/credkit-2  	      40	   3000000 ns/op
BenchmarkCredentialProcess/aws-cli-2  	      40	 300000000 ns/op
BenchmarkCredentialProcess/aws-vault-2	      40	  30000000 ns/op
BenchmarkCredentialProcess/credkit/warm-2	  40	   1 ns/op
BenchmarkSign/credkit-2               	      40	      10 ns/op
BenchmarkSign/sdk-2                   	      40	      40 ns/op
pkg: github.com/credkit/credkit/sigv4
BenchmarkSign/credkit-2               	  500000	      2000 ns/op	     512 B/op	       7 allocs/op
BenchmarkSign/sdk-2                   	  200000	      4000 ns/op	    2048 B/op	      30 allocs/op
BenchmarkSignV4a/credkit-2            	   10000	     50000 ns/op	    2000 B/op	      20 allocs/op
BenchmarkSignV4a/aws-cli-2            	     100	   1000000 ns/op
PASS
`
	var out, errOut strings.Builder
	if err := run(strings.NewReader(in), &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	want := `ratio policy-eval credkit_ns=1100 iam-simulate_ns=8500 ratio=0.129 allocs=3
ratio large-config credkit_ns=500000 sdk_ns=2000000 ratio=0.250 allocs=10
ratio credential-process credkit_ns=3000000 aws-cli_ns=300000000 ratio=0.010 allocs=na
ratio credential-process credkit_ns=3000000 aws-vault_ns=30000000 ratio=0.100 allocs=na
ratio sign credkit_ns=10 sdk_ns=40 ratio=0.250 allocs=na
sigv4-ratio sign credkit_ns=2000 sdk_ns=4000 ratio=0.500 allocs=7
ratio sign-v4a credkit_ns=50000 aws-cli_ns=1000000 ratio=0.050 allocs=20
`
	if summary := strings.TrimPrefix(out.String(), in); summary != want {
		t.Errorf("summary:\n%s\nwant:\n%s", summary, want)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %q", errOut.String())
	}
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line, name, side string
		ns, allocs       float64
		ok               bool
	}{
		{"BenchmarkSign/credkit-8 \t 100 \t 2000 ns/op \t 512 B/op \t 7 allocs/op", "Sign", "credkit", 2000, 7, true},
		{"BenchmarkPolicyCase/iam-simulate-2 \t 1 \t 8123.5 ns/op", "PolicyCase", "iam-simulate", 8123.5, -1, true},
		{"BenchmarkRDSToken/sdk \t 100 \t 10 ns/op \t 3 allocs/op", "RDSToken", "sdk", 10, 3, true},
		{"BenchmarkCanonicalQuery-8 \t 100 \t 10 ns/op", "", "", 0, 0, false},
		{"BenchmarkSign/credkit/large-8 \t 100 \t 10 ns/op", "", "", 0, 0, false},
		{"BenchmarkSign/credkit-8 \t 100 \t 512 B/op", "", "", 0, 0, false},
		{"BenchmarkSign/credkit-8 \t --- FAIL", "", "", 0, 0, false},
		{"ok  \tgithub.com/credkit/credkit/sigv4\t1.2s", "", "", 0, 0, false},
	} {
		name, side, ns, allocs, ok := parseLine(tc.line)
		if ok != tc.ok || name != tc.name || side != tc.side || (ok && ns != tc.ns) {
			t.Errorf("parseLine(%q) = %q %q %v %v, want %q %q %v %v", tc.line, name, side, ns, ok, tc.name, tc.side, tc.ns, tc.ok)
		}
		if ok && tc.allocs >= 0 && allocs != tc.allocs || ok && tc.allocs < 0 && !math.IsNaN(allocs) {
			t.Errorf("parseLine(%q) allocs = %v, want %v (-1: none)", tc.line, allocs, tc.allocs)
		}
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
	if !strings.Contains(out.String(), "ratio sign credkit_ns=10 sdk_ns=20 ratio=0.500 allocs=na\n") {
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
