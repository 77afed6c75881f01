// Package sigv4 signs AWS requests with Signature Version 4 and its
// multi-region variant SigV4a, and checks such signatures. It depends on
// the standard library and creds only.
//
// # What it does
//
//   - Signer.Sign adds X-Amz-Date, Authorization and, for temporary
//     credentials, X-Amz-Security-Token to a request (and
//     X-Amz-Content-Sha256 for S3, whose path and payload rules it
//     follows). The signing time comes from Options.Time, so a signature
//     can be reproduced.
//   - Signer.Presign and Signer.PresignTarget make presigned URLs, valid
//     for 1 second to 7 days; rdsauth builds RDS IAM tokens on
//     PresignTarget.
//   - Verifier.Verify checks a signed request or presigned URL against a
//     KeyLookup and says precisely why it refuses one: a *VerifyError
//     wrapping one reason (ErrSignatureMismatch, ErrExpired,
//     ErrClockSkew, ErrWrongScope, ErrMissingSessionToken,
//     ErrPayloadHashMismatch, ...; test with errors.Is), a Detail in
//     words, and for a mismatch the canonical request and string to sign
//     the verifier computed, to set beside the client's. The lab verifies
//     every request with it.
//   - Signer.PresignPost signs an S3 POST policy and returns the form: the
//     URL, the fields in order, the policy document and an HTML page.
//     With temporary credentials the session token is both a field and a
//     policy condition; S3 refuses the upload when either is missing.
//   - KeyCache keeps derived signing keys per access key, day, region
//     and service (SigV4a keys per access key), bounded; a Signer's and a Verifier's default is one
//     shared cache, so a process signing for a few identities derives
//     each key once a day.
//   - CheckRegion catches an availability zone, a display name or upper
//     case given as a region before it becomes a signature error; Parse
//     and ParseURL read what a signed request or presigned URL (or an RDS
//     token) says about itself without checking it.
//
// # SigV4a
//
// SigV4a (AWS4-ECDSA-P256-SHA256) signs one request for a set of regions:
// S3 Multi-Region Access Points, EventBridge global endpoints, CloudFront
// KeyValueStore. Set Options.Algorithm to SigV4a and Options.RegionSet to
// the regions, or "*" for all (empty means Options.Region alone):
//
//	o := sigv4.Options{Service: "s3", Algorithm: sigv4.SigV4a, RegionSet: []string{"*"}}
//	err := signer.Sign(req, c, o)
//
// It differs from SigV4 in four places, the canonical request being the
// same:
//
//   - The key is an ECDSA P-256 key derived from the key pair alone (not
//     the date, region or service), by the NIST SP 800-108 counter-mode
//     KDF of aws-c-auth and aws-sdk-go-v2 (SigningKeyV4a). KeyCache keeps
//     derived keys per access key and secret, so a process derives each
//     once.
//   - The credential scope names no region: KEYID/DATE/SERVICE/aws4_request.
//     The regions travel, signed, as X-Amz-Region-Set (a header, or a
//     query parameter of a presigned URL).
//   - The signature is the hex ASN.1 DER ECDSA signature of the SHA-256 of
//     the string to sign. ECDSA signatures are randomized: two signatures
//     of one request differ, and both verify.
//   - The Verifier cannot recompute the signature: it derives the public
//     key from the secret its KeyLookup returns and verifies the signature
//     with it, with the same refusal reasons as for SigV4, and
//     ErrWrongScope when Verifier.Region is not in the region set.
//
// The 40 SigV4a cases of AWS's test suite pin the derived public keys, the
// canonical requests and strings to sign; the suite's signatures verify
// with the Verifier, and credkit's verify with the suite's public keys by
// crypto/ecdsa alone. botocore's SigV4a signer (aws-c-auth, through
// awscrt, as bundled with the AWS CLI v2) is a second signer whose
// signatures the Verifier must accept.
//
// A SigV4a signature costs an ECDSA signature, some 35 times a SigV4 one
// (BenchmarkSignV4a, BenchmarkVerifyV4a and BenchmarkSigningKeyV4a;
// medians of 6 runs, go1.26 on 2 cores of an AMD EPYC, load average 2):
//
//	Sign (key cached)       30.7 µs/op, 61 allocs (all in crypto/ecdsa)
//	Presign (key cached)    30.2 µs/op, 62 allocs
//	Verify                  76.7 µs/op, 24 allocs
//	SigningKeyV4a           16.0 µs/op, 24 allocs
//	Sign, SigV4 (the same)   0.9 µs/op, 1 alloc
//
// Without the cache every signature would cost half as much again.
//
// BenchmarkSignV4aMRAP signs the request aws-sdk-go-v2's S3 client builds
// for a Multi-Region Access Point, with the Signer and with the client's
// own signing middleware (its internal v4a signer, key cached too). Both
// cost one crypto/ecdsa signature, and measure the same within the noise:
// medians of 10 interleaved runs 149 µs and 147 µs (ratio 1.02, 60
// allocations against 111) on 2 cores at load average 15.
//
// The signer is checked against AWS's own test suite (testdata/sigv4),
// against MinIO, which checks signatures strictly (presigned URLs and
// POST uploads with session tokens), and by fuzzing: whatever a request
// holds, what the Signer signs the Verifier accepts, and a change to any
// signed part makes it refuse.
//
// # Why by hand, and not aws-sdk-go-v2's signer
//
// aws-sdk-go-v2 has a SigV4 signer (aws/signer/v4), and credkit uses the
// SDK for its API clients. This package exists beside it for three
// reasons:
//
//  1. A verifier. The SDK signs and never verifies. credkit's lab must
//     check every request the way AWS does, and credkit must explain a
//     refused signature (clock skew, wrong scope, a missing session token,
//     a body that does not match its hash) rather than say only that it
//     does not match.
//  2. POST policies. The SDK's signer has none. aws-sdk-go-v2's S3 module
//     has since gained PresignPostObject, but only through an S3 client and
//     its middleware stack, signing at the SDK's own clock; credkit's
//     form needs no S3 module, takes a signing time (so the form can be
//     reproduced and tested), and turns the usual conditions (key prefix,
//     size range, content type, metadata, success status) into fields and
//     policy conditions in one step.
//  3. Speed. Sign and Presign reuse pooled buffers, skip sorting for the
//     common request, and allocate once per signature: about 8 and 9
//     times faster than the SDK's signer (figures below).
//
// # Speed
//
// Measured side by side with aws-sdk-go-v2 v1.47.7's signer on the same
// request (BenchmarkSign and BenchmarkPresign in bench_test.go; medians
// of 6 runs, go1.26 on 2 cores of an AMD EPYC; ratio is credkit/SDK):
//
//	         credkit                aws-sdk-go-v2           ratio
//	Sign      787 ns/op, 1 alloc     6533 ns/op, 46 allocs  0.120
//	Presign  1182 ns/op, 1 alloc    10946 ns/op, 63 allocs  0.108
//
// The machine was shared (load average 4): absolute figures move with
// load, ratios less so; a second run at load average 8 gave 0.111 for Sign
// and 0.054 for Presign. To measure again:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./sigv4/ | go run ./internal/benchratio
//
// A hand-written signer is a liability only if it is wrong; the test suite,
// MinIO and the fuzzer are what keep it right.
package sigv4
