package policy_test

import (
	"fmt"

	"github.com/credkit/credkit/policy"
)

func Example() {
	id, err := policy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "OwnPrefix",
			"Effect": "Allow",
			"Action": "s3:GetObject",
			"Resource": "arn:aws:s3:::shared/${aws:username}/*"
		}]
	}`), policy.Identity)
	if err != nil {
		fmt.Println(err)
		return
	}
	ps := policy.Policies{Identity: []policy.Labeled{{Label: "own-prefix", Policy: id}}}
	for _, key := range []string{"shared/alice/notes.txt", "shared/bob/notes.txt"} {
		d := policy.Evaluate(ps, policy.Request{
			Principal: "arn:aws:iam::111111111111:user/alice",
			Action:    "s3:GetObject",
			Resource:  "arn:aws:s3:::" + key,
			Context:   map[string][]string{"aws:username": {"alice"}},
		})
		if d.Message == "" {
			fmt.Println(d.Outcome)
		} else {
			fmt.Println(d.Outcome, d.Message)
		}
		for _, r := range d.Deciding {
			fmt.Println(" ", r)
		}
	}
	// Output:
	// Allowed
	//   identity own-prefix statement 0 (OwnPrefix) [Allow]: Action, Resource and Principal match
	// ImplicitlyDenied User: arn:aws:iam::111111111111:user/alice is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::shared/bob/notes.txt because no identity-based policy allows the s3:GetObject action
	//   identity own-prefix statement 0 (OwnPrefix) [Allow]: Resource ["arn:aws:s3:::shared/${aws:username}/*"] does not match arn:aws:s3:::shared/bob/notes.txt
}

func ExampleParse() {
	_, err := policy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [
			{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"},
			{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
			 "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}
		]
	}`), policy.Identity)
	fmt.Println(err)
	// Output:
	// $.Statement[1].Condition.NumericLessThan.s3:max-keys: NumericLessThan needs a number, not "ten"
}
