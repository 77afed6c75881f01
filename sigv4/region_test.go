package sigv4

import (
	"slices"
	"testing"
)

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

func TestRegionsAreWellFormedAndSorted(t *testing.T) {
	rs := Regions()
	if len(rs) < 30 || !slices.IsSorted(rs) || len(slices.Compact(slices.Clone(rs))) != len(rs) {
		t.Fatalf("Regions() is not a sorted list of distinct names: %v", rs)
	}
	for _, r := range rs {
		if err := CheckRegion(r); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	rs[0] = "changed"
	if Regions()[0] == "changed" {
		t.Error("Regions returns the package's own slice")
	}
}
