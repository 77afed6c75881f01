package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
)

// benchDocs builds n identity policy documents of m statements each, of
// the shapes real policies have: service wildcards, ARNs with variables,
// conditions on tags, regions and source IPs; none allows the benchmark
// request except the last statement of the last policy.
func benchDocs(n, m int) []string {
	services := []string{"ec2", "s3", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "iam", "sts"}
	var out []string
	for i := range n {
		var stmts []string
		for j := range m {
			svc := services[(i+j)%len(services)]
			stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":["%s:Describe*","%s:List*","%s:Get%dThing"],
				"Resource":"arn:aws:%s:eu-west-1:111111111111:thing/${aws:username}/*",
				"Condition":{"StringEquals":{"aws:PrincipalTag/team":["t%d","u%d"]},"IpAddress":{"aws:SourceIp":["10.%d.0.0/16","192.168.0.0/24"]},"StringLikeIfExists":{"aws:RequestedRegion":"eu-*"}}}`,
				j, svc, svc, svc, j, svc, i, j, j))
		}
		if i == n-1 {
			stmts[m-1] = `{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::data-*/${aws:PrincipalTag/team}/*","Condition":{"Bool":{"aws:SecureTransport":"true"},"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}`
		}
		out = append(out, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`)
	}
	return out
}

// benchPolicies parses benchDocs.
func benchPolicies(b *testing.B, n, m int) []Labeled {
	var out []Labeled
	for i, doc := range benchDocs(n, m) {
		p, err := Parse([]byte(doc), Identity)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, Labeled{Label: fmt.Sprintf("policy-%d", i), Policy: p})
	}
	return out
}

// benchRequest is the benchmark's request: allowed by the last statement
// of the last policy only.
var benchRequest = Request{
	Principal: "arn:aws:sts::111111111111:assumed-role/Dev/alice",
	Action:    "s3:GetObject",
	Resource:  "arn:aws:s3:::data-lake/blue/2026/01/part-0001.parquet",
	Context: map[string][]string{
		"aws:username": {"alice"}, "aws:PrincipalTag/team": {"blue"}, "aws:SourceIp": {"10.3.4.5"},
		"aws:RequestedRegion": {"eu-west-1"}, "aws:SecureTransport": {"true"}, "aws:TagKeys": {"env"},
	},
}

func BenchmarkEvaluate(b *testing.B) {
	ps := Policies{Identity: benchPolicies(b, 10, 10)}
	req := benchRequest
	if d := Evaluate(ps, req); d.Outcome != Allowed || len(d.Deciding) != 1 || d.Deciding[0].Sid != "Read" {
		b.Fatalf("benchmark request not allowed by Read: %v %v", d.Outcome, d.Deciding)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(ps, req)
	}
}

// benchCase is benchRequest against benchDocs(10, 10) as a Case line.
func benchCase(b *testing.B) []byte {
	c := Case{ID: "bench", Principal: benchRequest.Principal, Action: benchRequest.Action, Resource: benchRequest.Resource,
		ResourceAccount: "111111111111", Context: benchRequest.Context}
	for _, d := range benchDocs(10, 10) {
		c.IdentityPolicies = append(c.IdentityPolicies, json.RawMessage(d))
	}
	line, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	return line
}

// BenchmarkPolicyCase and BenchmarkPolicyEval put credkit next to
// @cloud-copilot/iam-simulate on the same case: a realistic request
// against 10 identity policies of 10 statements each. The /iam-simulate
// side (the baseline internal/benchratio pairs /credkit with): node times
// its own evaluations in one process after a warm-up, and the benchmark
// reports that as its ns/op, so
//
//	go test -run '^$' -bench 'Policy(Case|Eval)' -benchmem -count 6 ./policy/ | go run ./internal/benchratio
//
// prints the median ratio as "ratio policy-case credkit_ns=N
// iam-simulate_ns=M ratio=R" lines. PolicyCase is the whole job from JSON
// (credkit: Case.Evaluate, parsing the policies; iam-simulate:
// runSimulation, validating and loading them). PolicyEval is the
// evaluation of already parsed policies (credkit: Evaluate;
// iam-simulate: its core authorize function).
func BenchmarkPolicyCase(b *testing.B) { benchVersusIAMSim(b, false) }

func BenchmarkPolicyEval(b *testing.B) { benchVersusIAMSim(b, true) }

func benchVersusIAMSim(b *testing.B, core bool) {
	line := benchCase(b)
	c, err := ParseCase(line)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("credkit", func(b *testing.B) {
		if a := c.Evaluate(); a.Decision != "Allowed" {
			b.Fatalf("credkit: %+v", a)
		}
		b.ReportAllocs()
		if core {
			ps, req, err := c.Build()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				Evaluate(ps, req)
			}
			return
		}
		for b.Loop() {
			c.Evaluate()
		}
	})
	b.Run("iam-simulate", func(b *testing.B) {
		// One node run of a second or more, so the benchmark stops at
		// b.N == 1 and node's own figure is the result.
		const n = 40
		ns, decision := testpeer.IAMSimBench(b, line, n, core)
		if decision != "Allowed" {
			b.Fatalf("iam-simulate decides %q", decision)
		}
		b.ReportMetric(ns, "ns/op")
	})
}
