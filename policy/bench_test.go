package policy

import (
	"fmt"
	"strings"
	"testing"
)

// benchPolicies builds n identity policies of m statements each, of the
// shapes real policies have: service wildcards, ARNs with variables,
// conditions on tags, regions and source IPs; none allows the benchmark
// request except the last statement of the last policy.
func benchPolicies(b *testing.B, n, m int) []Labeled {
	services := []string{"ec2", "s3", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "iam", "sts"}
	var out []Labeled
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
		doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
		p, err := Parse([]byte(doc), Identity)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, Labeled{Label: fmt.Sprintf("policy-%d", i), Policy: p})
	}
	return out
}

func BenchmarkEvaluate(b *testing.B) {
	ps := Policies{Identity: benchPolicies(b, 10, 10)}
	req := Request{
		Principal: "arn:aws:sts::111111111111:assumed-role/Dev/alice",
		Action:    "s3:GetObject",
		Resource:  "arn:aws:s3:::data-lake/blue/2026/01/part-0001.parquet",
		Context: map[string][]string{
			"aws:username": {"alice"}, "aws:PrincipalTag/team": {"blue"}, "aws:SourceIp": {"10.3.4.5"},
			"aws:RequestedRegion": {"eu-west-1"}, "aws:SecureTransport": {"true"}, "aws:TagKeys": {"env"},
		},
	}
	if d := Evaluate(ps, req); d.Outcome != Allowed || len(d.Deciding) != 1 || d.Deciding[0].Sid != "Read" {
		b.Fatalf("benchmark request not allowed by Read: %v %v", d.Outcome, d.Deciding)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(ps, req)
	}
}
