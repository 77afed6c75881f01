package sigv4

import (
	"fmt"
	"slices"
)

// CheckRegion reports whether region looks like an AWS region name in any
// partition (us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1,
// us-isob-east-1): lower-case letters, then hyphen-separated lower-case
// words, ending in a number. It catches the usual slips (an availability
// zone such as us-east-1a, a display name, upper case) before they become a
// signature error.
func CheckRegion(region string) error {
	if region == "" {
		return ErrNoRegion
	}
	if !validRegion(region) {
		return fmt.Errorf("region %q is not an AWS region name (like us-east-1 or eu-west-2)", region)
	}
	return nil
}

func validRegion(r string) bool {
	// First word: two or more letters.
	i := 0
	for i < len(r) && 'a' <= r[i] && r[i] <= 'z' {
		i++
	}
	if i < 2 || i == len(r) {
		return false
	}
	// Then "-word" groups of [a-z0-9]+, the last all digits.
	lastDigits := false
	for i < len(r) {
		if r[i] != '-' {
			return false
		}
		i++
		start, digits := i, true
		for i < len(r) && (('a' <= r[i] && r[i] <= 'z') || ('0' <= r[i] && r[i] <= '9')) {
			digits = digits && '0' <= r[i] && r[i] <= '9'
			i++
		}
		if i == start {
			return false
		}
		lastDigits = digits
	}
	return lastDigits
}

// regions are the AWS regions credkit knows by name, in every partition
// (as of the aws-sdk-go-v2 partition metadata of 2026). CheckRegion does not
// consult it: a region launched later is signed for all the same.
var regions = []string{
	"af-south-1",
	"ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1",
	"cn-north-1", "cn-northwest-1",
	"eu-central-1", "eu-central-2", "eu-isoe-west-1", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "eusc-de-east-1",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
	"us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1",
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1",
	"us-isof-east-1", "us-isof-south-1", "us-west-1", "us-west-2",
}

// Regions returns the names of the AWS regions credkit knows, sorted, for
// completion and suggestions. The caller may modify the slice.
func Regions() []string { return slices.Clone(regions) }
