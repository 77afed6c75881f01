package policy_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file generates random policy cases for the differential test: the
// requests and policies a real account has, drawn so that every branch
// of the evaluation logic and every condition operator is reached often.

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

// obj is a JSON object under construction.
type obj = map[string]any

// caseJSON is a case as the generator builds it: plain maps, so that the
// shrinker can take parts away before it is marshalled.
type caseJSON struct {
	ID                  string              `json:"id"`
	Principal           string              `json:"principal"`
	Action              string              `json:"action"`
	Resource            string              `json:"resource"`
	ResourceAccount     string              `json:"resourceAccount,omitempty"`
	Context             map[string][]string `json:"context,omitempty"`
	IdentityPolicies    []obj               `json:"identityPolicies,omitempty"`
	ResourcePolicy      obj                 `json:"resourcePolicy,omitempty"`
	TrustPolicy         obj                 `json:"trustPolicy,omitempty"`
	PermissionsBoundary obj                 `json:"permissionsBoundary,omitempty"`
	SessionPolicy       obj                 `json:"sessionPolicy,omitempty"`
	SCPs                [][]obj             `json:"scps,omitempty"`
	RCPs                [][]obj             `json:"rcps,omitempty"`
}

func (c *caseJSON) line() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

// clone is a deep copy through JSON.
func (c *caseJSON) clone() *caseJSON {
	var out caseJSON
	if err := json.Unmarshal(c.line(), &out); err != nil {
		panic(err)
	}
	return &out
}

// caller is a principal that makes requests.
type caller struct {
	arn, account, kind string // kind: user, session, root
	role               string // the role ARN behind a session
	user               string // aws:username of a user
}

func callers(acct string) []caller {
	return []caller{
		{arn: "arn:aws:iam::" + acct + ":user/alice", account: acct, kind: "user", user: "alice"},
		{arn: "arn:aws:iam::" + acct + ":user/dev/bob", account: acct, kind: "user", user: "bob"},
		{arn: "arn:aws:sts::" + acct + ":assumed-role/Admin/s1", account: acct, kind: "session", role: "arn:aws:iam::" + acct + ":role/Admin"},
		{arn: "arn:aws:sts::" + acct + ":assumed-role/Reader/carol", account: acct, kind: "session", role: "arn:aws:iam::" + acct + ":role/team/Reader"},
		{arn: "arn:aws:iam::" + acct + ":root", account: acct, kind: "root"},
	}
}

// target is an action with a resource of the type it takes.
type target struct {
	action   string
	resource func(acct string) string
	// matching and non-matching patterns for Action and Resource.
	actions []string
	others  []string
	res     func(acct string) []string
	// trust is set for sts:AssumeRole on a role: the case has a trust
	// policy rather than a resource policy.
	trust bool
}

var targets = []target{
	{
		action:   "sts:AssumeRole",
		resource: func(a string) string { return "arn:aws:iam::" + a + ":role/app/Deploy" },
		actions:  []string{"sts:AssumeRole", "sts:Assume*", "sts:*", "*", "STS:assumerole", "sts:AssumeRol?"},
		others:   []string{"sts:AssumeRoleWithSAML", "sts:TagSession", "iam:PassRole"},
		res: func(a string) []string {
			return []string{"arn:aws:iam::" + a + ":role/app/Deploy", "arn:aws:iam::*:role/app/*", "arn:aws:iam::" + a + ":role/Deploy",
				"arn:aws:iam::" + a + ":role/app/deploy", "arn:aws:iam::" + acctA + ":role/*", "*"}
		},
		trust: true,
	},
	{
		action:   "s3:GetObject",
		resource: func(string) string { return "arn:aws:s3:::data-bucket/home/alice/notes.txt" },
		actions:  []string{"s3:GetObject", "s3:Get*", "s3:*", "*", "S3:getobject", "s3:Get?bject", "s3:*Object"},
		others:   []string{"s3:PutObject", "s3:List*", "sqs:*", "s3:GetObjectAcl", "s3:Get?"},
		res: func(string) []string {
			return []string{"arn:aws:s3:::data-bucket/*", "arn:aws:s3:::data-bucket/home/alice/notes.txt", "arn:aws:s3:::data-*/home/*",
				"arn:aws:s3:::data-bucket/home/${aws:username}/*", "arn:aws:s3:::data-bucket/home/${aws:PrincipalTag/team}/*",
				"arn:aws:s3:::Data-Bucket/*", "arn:aws:s3:::data-bucket", "arn:aws:s3:::other/*", "arn:aws:s3:::data-bucket/home/?lice/*", "*"}
		},
	},
	{
		action:   "s3:ListBucket",
		resource: func(string) string { return "arn:aws:s3:::data-bucket" },
		actions:  []string{"s3:ListBucket", "s3:List*", "s3:*", "*", "s3:listbucket"},
		others:   []string{"s3:ListBuckets", "s3:GetObject", "s3:ListBucketVersions"},
		res: func(string) []string {
			return []string{"arn:aws:s3:::data-bucket", "arn:aws:s3:::data-*", "arn:aws:s3:::data-bucket/*", "arn:aws:s3:::*", "*", "arn:aws:s3:::data-bucke?"}
		},
	},
	{
		action:   "sqs:SendMessage",
		resource: func(a string) string { return "arn:aws:sqs:us-east-1:" + a + ":orders" },
		actions:  []string{"sqs:SendMessage", "sqs:Send*", "sqs:*", "*", "SQS:SENDMESSAGE"},
		others:   []string{"sqs:ReceiveMessage", "sqs:SendMessageBatch", "sns:*"},
		res: func(a string) []string {
			return []string{"arn:aws:sqs:us-east-1:" + a + ":orders", "arn:aws:sqs:*:" + a + ":*", "arn:aws:sqs:us-east-1:*:orders",
				"arn:aws:sqs:eu-west-1:" + a + ":orders", "arn:aws:sqs:us-east-1:" + a + ":Orders", "arn:aws:sqs:*:*:ord*", "*",
				"arn:aws:sqs:us-east-1:" + acctA + ":orders", "arn:aws:sqs:us-east-1:" + acctB + ":orders"}
		},
	},
	{
		action:   "dynamodb:GetItem",
		resource: func(a string) string { return "arn:aws:dynamodb:us-east-1:" + a + ":table/Orders" },
		actions:  []string{"dynamodb:GetItem", "dynamodb:Get*", "dynamodb:*", "*"},
		others:   []string{"dynamodb:PutItem", "dynamodb:BatchGetItem", "s3:*"},
		res: func(a string) []string {
			return []string{"arn:aws:dynamodb:us-east-1:" + a + ":table/Orders", "arn:aws:dynamodb:*:*:table/*", "arn:aws:dynamodb:us-east-1:" + a + ":table/Orders/*",
				"arn:aws:dynamodb:us-east-1:" + a + ":table/orders", "*"}
		},
	},
	{
		action:   "sns:Publish",
		resource: func(a string) string { return "arn:aws:sns:us-east-1:" + a + ":alerts" },
		actions:  []string{"sns:Publish", "sns:*", "*", "sns:Pub*"},
		others:   []string{"sns:Subscribe", "sqs:*"},
		res: func(a string) []string {
			return []string{"arn:aws:sns:us-east-1:" + a + ":alerts", "arn:aws:sns:*:" + a + ":*", "arn:aws:sns:us-east-1:" + a + ":alert?", "*"}
		},
	},
	{
		action:   "secretsmanager:GetSecretValue",
		resource: func(a string) string { return "arn:aws:secretsmanager:us-east-1:" + a + ":secret:db-AbCdEf" },
		actions:  []string{"secretsmanager:GetSecretValue", "secretsmanager:*", "*", "secretsmanager:Get*"},
		others:   []string{"secretsmanager:PutSecretValue", "secretsmanager:List*"},
		res: func(a string) []string {
			return []string{"arn:aws:secretsmanager:us-east-1:" + a + ":secret:db-*", "arn:aws:secretsmanager:us-east-1:" + a + ":secret:db-AbCdEf", "*",
				"arn:aws:secretsmanager:*:*:secret:other-*"}
		},
	},
}

// key is a global condition key with values of its type.
type key struct {
	name   string
	multi  bool     // a multi-valued key (ForAllValues/ForAnyValue make sense)
	values []string // values requests carry
	ops    []string // operators that take it
	pats   []string // values policies compare with
}

func keys(c caller) []key {
	return []key{
		{name: "aws:SourceIp", values: []string{"10.1.2.3", "192.168.1.5", "203.0.113.9", "2001:db8::1"},
			ops: []string{"IpAddress", "NotIpAddress"}, pats: []string{"10.0.0.0/8", "192.168.1.0/24", "203.0.113.9/32", "2001:db8::/32", "172.16.0.0/12"}},
		{name: "aws:CurrentTime", values: []string{"2026-01-15T12:00:00Z", "2025-06-01T00:00:00Z"},
			ops:  []string{"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"},
			pats: []string{"2026-01-15T12:00:00Z", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", "1768478400", "2030-01-01"}},
		{name: "aws:EpochTime", values: []string{"1768478400", "1700000000"},
			ops:  []string{"NumericEquals", "NumericLessThan", "NumericGreaterThanEquals", "DateLessThan", "DateGreaterThan", "DateEquals"},
			pats: []string{"1768478400", "1750000000", "1700000000", "1768478401"}},
		{name: "aws:SecureTransport", values: []string{"true", "false"}, ops: []string{"Bool"}, pats: []string{"true", "false"}},
		{name: "aws:MultiFactorAuthAge", values: []string{"0", "300", "3600", "86400"},
			ops:  []string{"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"},
			pats: []string{"300", "3600", "0", "86400", "299"}},
		{name: "aws:TagKeys", multi: true, values: []string{"env", "team", "Owner", "cost-center"},
			ops:  []string{"StringEquals", "StringLike", "StringNotEquals", "StringNotLike", "StringEqualsIgnoreCase"},
			pats: []string{"env", "team", "owner", "cost-*", "t?am", "*"}},
		{name: "aws:PrincipalTag/team", values: []string{"blue", "red", "Blue"},
			ops:  []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"},
			pats: []string{"blue", "red", "b*", "BLUE", "${aws:username}", "gr??n"}},
		{name: "aws:RequestTag/env", values: []string{"prod", "dev"},
			ops:  []string{"StringEquals", "StringNotEquals", "StringLike"},
			pats: []string{"prod", "dev", "pr*", "${aws:PrincipalTag/team}"}},
		{name: "aws:username", values: []string{"alice", "bob"},
			ops:  []string{"StringEquals", "StringNotEquals", "StringLike"},
			pats: []string{"alice", "bob", "a*", "${aws:PrincipalTag/team}"}},
		{name: "aws:PrincipalOrgID", values: []string{"o-abc123", "o-other"},
			ops:  []string{"StringEquals", "StringNotEquals"},
			pats: []string{"o-abc123", "o-*"}},
		{name: "aws:PrincipalArn", values: []string{principalArn(c), "arn:aws:iam::" + acctB + ":role/Other"},
			ops:  []string{"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringEquals", "StringLike"},
			pats: []string{principalArn(c), "arn:aws:iam::" + acctA + ":*", "arn:aws:iam::*:role/*", "arn:aws:iam::" + acctA + ":user/*", "arn:aws:iam::" + acctB + ":role/Other"}},
		{name: "aws:SourceArn", values: []string{"arn:aws:sns:us-east-1:" + acctA + ":alerts", "arn:aws:s3:::data-bucket"},
			ops:  []string{"ArnEquals", "ArnLike", "ArnNotLike"},
			pats: []string{"arn:aws:sns:us-east-1:" + acctA + ":*", "arn:aws:sns:*:*:alerts", "arn:aws:s3:::data-*", "arn:aws:s3:::data-bucket"}},
		{name: "aws:PrincipalServiceNamesList", multi: true, values: []string{"ec2.amazonaws.com", "lambda.amazonaws.com"},
			ops:  []string{"StringEquals", "StringLike"},
			pats: []string{"ec2.amazonaws.com", "*.amazonaws.com", "lambda.*"}},
	}
}

// principalArn is the value of aws:PrincipalArn for a caller: the role's
// ARN for a session.
func principalArn(c caller) string {
	switch c.kind {
	case "session":
		return c.role
	case "service":
		return "arn:aws:iam::" + acctB + ":role/Other"
	}
	return c.arn
}

type gen struct {
	r      *rand.Rand
	caller caller
	tgt    target
	racct  string // the resource's account
	keys   []key
	sids   int
}

func (g *gen) pick(l []string) string { return l[g.r.IntN(len(l))] }
func (g *gen) chance(p float64) bool  { return g.r.Float64() < p }

// some returns 1 to n elements of l (or a lone string).
func (g *gen) some(l []string, n int) any {
	k := 1 + g.r.IntN(n)
	out := make([]string, 0, k)
	for range k {
		out = append(out, g.pick(l))
	}
	if k == 1 && g.chance(0.5) {
		return out[0]
	}
	return out
}

// newCase draws one case.
func newCase(r *rand.Rand, id int) *caseJSON {
	g := &gen{r: r}
	cs := callers(acctA)
	if g.chance(0.1) {
		cs = callers(acctB)
	}
	g.caller = cs[r.IntN(len(cs))]
	if g.chance(0.06) {
		svc := g.pick([]string{"sns.amazonaws.com", "events.amazonaws.com"})
		g.caller = caller{arn: svc, kind: "service"}
	}
	g.tgt = targets[r.IntN(len(targets))]
	g.racct = acctA
	if g.chance(0.3) {
		g.racct = acctB
	}
	g.keys = keys(g.caller)
	c := &caseJSON{
		ID:              fmt.Sprint(id),
		Principal:       g.caller.arn,
		Action:          g.tgt.action,
		Resource:        g.tgt.resource(g.racct),
		ResourceAccount: g.racct,
		Context:         map[string][]string{},
	}
	for _, k := range g.keys {
		if !g.chance(0.5) {
			continue
		}
		if k.multi {
			n := r.IntN(3)
			vals := []string{}
			for range n {
				vals = append(vals, g.pick(k.values))
			}
			c.Context[k.name] = vals
		} else {
			c.Context[k.name] = []string{g.pick(k.values)}
		}
	}
	if g.caller.kind == "user" && g.chance(0.7) {
		c.Context["aws:username"] = []string{g.caller.user}
	}
	if len(c.Context) == 0 {
		c.Context = nil
	}
	service := g.caller.kind == "service" // has no identity side and no SCPs
	if !service && (g.caller.kind != "root" || g.chance(0.3)) {
		for range r.IntN(4) {
			c.IdentityPolicies = append(c.IdentityPolicies, g.policy("identity", 1+r.IntN(4)))
		}
	}
	switch {
	case g.tgt.trust:
		// A role always has a trust policy.
		c.TrustPolicy = g.policy("trust", 1+r.IntN(3))
	case g.chance(0.5) || service && g.chance(0.6):
		c.ResourcePolicy = g.policy("resource", 1+r.IntN(3))
	}
	if !service && g.caller.kind != "root" && g.chance(0.25) {
		c.PermissionsBoundary = g.policy("boundary", 1+r.IntN(3))
	}
	if g.caller.kind == "session" && g.chance(0.3) {
		c.SessionPolicy = g.policy("session", 1+r.IntN(3))
	}
	if !service && g.chance(0.35) {
		for range 1 + r.IntN(3) {
			var level []obj
			for range 1 + r.IntN(2) {
				level = append(level, g.policy("scp", 1+r.IntN(3)))
			}
			c.SCPs = append(c.SCPs, level)
		}
	}
	if g.chance(0.25) {
		for range 1 + r.IntN(2) {
			c.RCPs = append(c.RCPs, []obj{g.policy("rcp", 1+r.IntN(2))})
		}
	}
	return c
}

// policy draws a policy of kind (identity, resource, boundary, session,
// scp, rcp) with n statements.
func (g *gen) policy(kind string, n int) obj {
	var stmts []any
	for range n {
		stmts = append(stmts, g.statement(kind))
	}
	p := obj{"Version": "2012-10-17", "Statement": stmts}
	if len(stmts) == 1 && g.chance(0.3) {
		p["Statement"] = stmts[0]
	}
	if kind != "rcp" && kind != "scp" && g.chance(0.05) {
		// Without Version, 2008-10-17: policy variables are literal.
		delete(p, "Version")
	}
	return p
}

func (g *gen) statement(kind string) obj {
	s := obj{}
	deny := g.chance(0.25)
	switch kind {
	case "rcp":
		deny = true // RCPFullAWSAccess is the allow; RCPs only deny
	case "scp":
		deny = g.chance(0.3)
		if !deny && g.chance(0.5) {
			s["Effect"] = "Allow"
			s["Action"] = "*"
			s["Resource"] = "*"
			return s
		}
	}
	if deny {
		s["Effect"] = "Deny"
	} else {
		s["Effect"] = "Allow"
	}
	if g.chance(0.2) {
		g.sids++ // unique: resource policies and SCPs refuse duplicates
		s["Sid"] = fmt.Sprintf("S%d", g.sids)
	}
	// Action or NotAction: usually matching.
	pool := g.tgt.actions
	if g.chance(0.3) {
		pool = g.tgt.others
	}
	if kind != "rcp" && g.chance(0.12) {
		s["NotAction"] = g.some(append(append([]string{}, g.tgt.others...), g.tgt.actions[:1]...), 2)
	} else {
		if kind == "rcp" {
			pool = withoutStar(pool) // an RCP's Action may not be "*"
		}
		s["Action"] = g.some(pool, 2)
	}
	// Resource or NotResource; a trust policy has neither.
	res := g.tgt.res(g.racct)
	switch {
	case kind == "trust":
	case g.chance(0.1):
		s["NotResource"] = g.some(res, 2)
	case kind == "scp" && g.chance(0.5):
		s["Resource"] = "*"
	default:
		s["Resource"] = g.some(res, 2)
	}
	switch kind {
	case "resource", "trust":
		if deny && g.chance(0.2) {
			s["NotPrincipal"] = g.principal()
		} else {
			s["Principal"] = g.principal()
		}
	case "rcp":
		s["Principal"] = "*"
	}
	if g.chance(0.45) {
		s["Condition"] = g.condition()
	}
	return s
}

// principal draws a Principal element: the caller in each of the ways a
// policy names it, others, "*", services.
func (g *gen) principal() any {
	c := g.caller
	var pool []string
	if c.kind != "service" {
		pool = append(pool, c.arn, c.account, "arn:aws:iam::"+c.account+":root")
	}
	pool = append(pool, "*", "arn:aws:iam::"+acctB+":user/mallory", "arn:aws:iam::"+acctA+":user/alice", acctB,
		"arn:aws:iam::"+acctA+":role/team/Reader", "arn:aws:sts::"+acctA+":assumed-role/Admin/s1")
	if c.role != "" {
		pool = append(pool, c.role, c.role, "arn:aws:sts::"+c.account+":assumed-role/"+c.role[strings.LastIndexByte(c.role, '/')+1:]+"/other")
	}
	switch {
	case g.chance(0.1):
		return "*"
	case g.chance(0.05) || c.kind == "service" && g.chance(0.5):
		return obj{"Service": g.some([]string{"sqs.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com"}, 2)}
	}
	return obj{"AWS": g.some(pool, 2)}
}

var setPrefixes = []string{"ForAllValues:", "ForAnyValue:"}

func (g *gen) condition() obj {
	cond := obj{}
	for range 1 + g.r.IntN(2) {
		k := g.keys[g.r.IntN(len(g.keys))]
		var op string
		var vals any
		if g.chance(0.1) {
			op = "Null"
			vals = g.pick([]string{"true", "false"})
		} else {
			op = g.pick(k.ops)
			if g.chance(0.2) {
				op += "IfExists"
			}
			if k.multi || g.chance(0.08) {
				op = g.pick(setPrefixes) + op
			}
			vals = g.some(k.pats, 3)
		}
		block, _ := cond[op].(obj)
		if block == nil {
			block = obj{}
			cond[op] = block
		}
		block[k.name] = vals
	}
	return cond
}

func withoutStar(l []string) []string {
	var out []string
	for _, s := range l {
		if s != "*" {
			out = append(out, s)
		}
	}
	return out
}
