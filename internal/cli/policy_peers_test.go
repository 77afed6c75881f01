package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/policy"
)

// evalCases are requests in the --batch form, one per situation the
// flags of policy eval must carry to the engine. Their decisions are
// iam-simulate's (an independent evaluator), asked in the test.
var evalCases = []string{
	`{"id": "trust names another user", "principal": "arn:aws:iam::111111111111:user/dev", "action": "sts:AssumeRole", "resource": "arn:aws:iam::111111111111:role/ops/deploy",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}}],
	  "trustPolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/ops"}, "Action": "sts:AssumeRole"}}}`,
	`{"id": "trust names the service", "principal": "es.amazonaws.com", "action": "sts:AssumeRole", "resource": "arn:aws:iam::111111111111:role/os-repo-prg-OpenSearchRepositoryRole",
	  "trustPolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"}, "Action": "sts:AssumeRole"}}}`,
	`{"id": "identity allows", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::reports/*"}}]}`,
	`{"id": "identity denies explicitly", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/secret/k",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}},
	                       {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotAction": "s3:List*", "Resource": "arn:aws:s3:::reports/secret/*"}}]}`,
	`{"id": "nothing allows", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:PutObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}]}`,
	`{"id": "second SCP level does not allow", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:ListBucket", "resource": "arn:aws:s3:::reports",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "scps": [[{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}], [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}]]}`,
	`{"id": "every SCP level allows", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "scps": [[{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}], [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}, {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}}]]}`,
	`{"id": "SCP denies outside a region", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "context": {"aws:RequestedRegion": "us-east-1"},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "scps": [[{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}]}]]}`,
	`{"id": "bucket policy names the user", "principal": "arn:aws:iam::111111111111:user/auditor", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv", "resourceAccount": "111111111111",
	  "resourcePolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:user/auditor"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}}}`,
	`{"id": "cross account, both sides allow", "principal": "arn:aws:iam::222222222222:user/partner", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv", "resourceAccount": "111111111111",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}],
	  "resourcePolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}}}`,
	`{"id": "cross account, no identity policy", "principal": "arn:aws:iam::222222222222:user/partner", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv", "resourceAccount": "111111111111",
	  "resourcePolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}}}`,
	`{"id": "service named by the bucket policy", "principal": "logging.s3.amazonaws.com", "action": "s3:PutObject", "resource": "arn:aws:s3:::logs/a", "resourceAccount": "111111111111",
	  "resourcePolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*"}}}`,
	`{"id": "service not named by the bucket policy", "principal": "ec2.amazonaws.com", "action": "s3:PutObject", "resource": "arn:aws:s3:::logs/a", "resourceAccount": "111111111111",
	  "resourcePolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*"}}}`,
	`{"id": "boundary does not allow", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "permissionsBoundary": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}}}`,
	`{"id": "session policy allows", "principal": "arn:aws:sts::111111111111:assumed-role/app/s1", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "sessionPolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}}}`,
	`{"id": "session policy does not allow", "principal": "arn:aws:sts::111111111111:assumed-role/app/s1", "action": "s3:PutObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "sessionPolicy": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}}`,
	`{"id": "RCP denies outside the organization", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "context": {"aws:PrincipalOrgID": "o-other"},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}],
	  "rcps": [[{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-mine"}}}}]]}`,
	`{"id": "source IP in range", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "context": {"aws:SourceIp": "10.1.2.3"},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}]}`,
	`{"id": "source IP missing", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/q4.csv",
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}]}`,
	`{"id": "policy variable", "principal": "arn:aws:iam::111111111111:user/dev", "action": "s3:GetObject", "resource": "arn:aws:s3:::home/dev/notes.txt",
	  "context": {"aws:username": "dev"},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}}]}`,
	`{"id": "multi-valued tag keys, all allowed", "principal": "arn:aws:iam::111111111111:user/dev", "action": "iam:TagRole", "resource": "arn:aws:iam::111111111111:role/app",
	  "context": {"aws:TagKeys": ["env", "team"]},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:TagRole", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team", "owner"]}}}}]}`,
	`{"id": "multi-valued tag keys, one not allowed", "principal": "arn:aws:iam::111111111111:user/dev", "action": "iam:TagRole", "resource": "arn:aws:iam::111111111111:role/app",
	  "context": {"aws:TagKeys": ["env", "cost"]},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:TagRole", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team", "owner"]}}}}]}`,
}

// evalArgs turns a case into the command line of policy eval, writing
// its policies as files in dir.
func evalArgs(t *testing.T, dir string, c policy.Case) []string {
	t.Helper()
	n := 0
	file := func(doc json.RawMessage) string {
		n++
		name := filepath.Join(dir, fmt.Sprintf("p%d.json", n))
		if err := os.WriteFile(name, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	args := []string{"policy", "eval", "--principal", c.Principal, "--action", c.Action, "--resource", c.Resource, "--json"}
	if c.ResourceAccount != "" {
		args = append(args, "--resource-account", c.ResourceAccount)
	}
	keys := make([]string, 0, len(c.Context))
	for k := range c.Context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range c.Context[k] {
			args = append(args, "--context", k+"="+v)
		}
	}
	for _, p := range c.IdentityPolicies {
		args = append(args, "--identity", file(p))
	}
	if c.ResourcePolicy != nil {
		args = append(args, "--resource-policy", file(c.ResourcePolicy))
	}
	if c.TrustPolicy != nil {
		args = append(args, "--trust-policy", file(c.TrustPolicy))
	}
	if c.PermissionsBoundary != nil {
		args = append(args, "--boundary", file(c.PermissionsBoundary))
	}
	if c.SessionPolicy != nil {
		args = append(args, "--session-policy", file(c.SessionPolicy))
	}
	for i, level := range c.SCPs {
		if i > 0 {
			args = append(args, "--scp-level")
		}
		for _, p := range level {
			args = append(args, "--scp", file(p))
		}
	}
	for _, level := range c.RCPs {
		for _, p := range level {
			args = append(args, "--rcp", file(p))
		}
	}
	return args
}

// policy eval with flags, policy eval --batch, and iam-simulate agree on
// every case.
func TestPolicyEvalAgreesWithIAMSimulate(t *testing.T) {
	sim := testpeer.IAMSimulate(t, false)
	var lines [][]byte
	for _, c := range evalCases {
		var v any
		if err := json.Unmarshal([]byte(c), &v); err != nil {
			t.Fatalf("case %.60s: %v", c, err)
		}
		line, _ := json.Marshal(v)
		lines = append(lines, line)
	}
	want, err := sim.Label(lines)
	if err != nil {
		t.Fatal(err)
	}
	batch := run(t, nil, string(bytes.Join(lines, []byte("\n")))+"\n", "policy", "eval", "--batch", "-")
	if batch.code != 0 || batch.stderr != "" {
		t.Fatalf("--batch: exit %d\n%s", batch.code, batch.stderr)
	}
	answers := strings.Split(strings.TrimSuffix(batch.stdout, "\n"), "\n")
	if len(answers) != len(lines) {
		t.Fatalf("--batch answered %d lines for %d cases", len(answers), len(lines))
	}
	decisions := map[string]int{}
	for i, line := range lines {
		c, err := policy.ParseCase(line)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.ID, func(t *testing.T) {
			var ref struct{ ID, Decision, Error string }
			if err := json.Unmarshal(want[i], &ref); err != nil || ref.Error != "" || ref.ID != c.ID {
				t.Fatalf("iam-simulate: %s", want[i])
			}
			var fromBatch policy.Answer
			if err := json.Unmarshal([]byte(answers[i]), &fromBatch); err != nil || fromBatch.ID != c.ID {
				t.Fatalf("--batch line %d: %s", i+1, answers[i])
			}
			r := run(t, nil, "", evalArgs(t, t.TempDir(), c)...)
			var single policy.Answer
			if err := json.Unmarshal([]byte(r.stdout), &single); err != nil {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			wantCode := ExitFailure
			if single.Decision == "Allowed" {
				wantCode = 0
			}
			if r.code != wantCode {
				t.Errorf("decision %s, exit %d", single.Decision, r.code)
			}
			if single.Decision != ref.Decision || fromBatch.Decision != ref.Decision {
				t.Errorf("flags: %s, --batch: %s, iam-simulate: %s\n%s", single.Decision, fromBatch.Decision, ref.Decision, r.stdout)
			}
			if single.Message != fromBatch.Message || len(single.Statements) != len(fromBatch.Statements) {
				t.Errorf("flags and --batch explain differently:\n%s\n%s", r.stdout, answers[i])
			}
			decisions[ref.Decision]++
		})
	}
	// The cases reach every outcome.
	if len(decisions) != 3 {
		t.Errorf("outcomes covered: %v", decisions)
	}
}
