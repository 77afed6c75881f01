package sigv4

import "fmt"

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
