package sigv4

import "testing"

func TestCheckRegion(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "us-isob-east-1", "ap-southeast-5", "il-central-1", "eu-isoe-west-1"} {
		if err := CheckRegion(r); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	for _, r := range []string{"", "us-east-1a", "US-EAST-1", "us-east", "N. Virginia", "us_east_1", "-us-east-1", "us-east-1-", "us--east-1", "u-east-1", "useast1", "us-east-1 "} {
		if err := CheckRegion(r); err == nil {
			t.Errorf("%q accepted", r)
		}
	}
}
