package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/lab"
)

// The AWS CLI v2 presigns a Multi-Region Access Point URL with SigV4a
// (aws-c-auth, through awscrt). credkit's URL for the same object, time
// and lifetime has the same host, path and query but for the randomized
// signature, and credkit's verifier accepts the CLI's signature: both
// sides build the same canonical request.
func TestPresignMRAPMatchesAWSCLI(t *testing.T) {
	aws := testpeer.AWSCLIv2(t)
	const (
		akid   = "AKIAMRAPEXAMPLE00001"
		secret = "mrap/Secret+EXAMPLE/0123456789abcdefghij"
		arn    = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap"
		object = "s3://" + arn + "/dir/a report+1.pdf"
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, aws, "s3", "presign", object, "--expires-in", "600")
	cmd.Env = testpeer.IsolatedAWSEnv("AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_REGION=eu-west-2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws s3 presign: %v\n%s", err, out)
	}
	theirs, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("aws s3 presign printed %q: %v", out, err)
	}
	date, err := time.Parse("20060102T150405Z", theirs.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("the CLI's URL has no X-Amz-Date: %s", theirs)
	}

	env := map[string]string{"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret}
	r := runAt(t, time.Now, env, "", "presign", "url", object, "--expires", "600", "--signing-time", date.Format(time.RFC3339))
	if r.code != 0 {
		t.Fatalf("credkit presign url: exit %d: %s", r.code, r.stderr)
	}
	ours, err := url.Parse(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if ours.Host != theirs.Host || ours.EscapedPath() != theirs.EscapedPath() {
		t.Errorf("credkit: %s%s\nAWS CLI: %s%s", ours.Host, ours.EscapedPath(), theirs.Host, theirs.EscapedPath())
	}
	oq, tq := ours.Query(), theirs.Query()
	if oq.Get("X-Amz-Signature") == "" || tq.Get("X-Amz-Signature") == "" {
		t.Fatalf("a URL without a signature:\n%s\n%s", ours, theirs)
	}
	oq.Del("X-Amz-Signature")
	tq.Del("X-Amz-Signature")
	if oq.Encode() != tq.Encode() {
		t.Errorf("query differs from the AWS CLI's:\ncredkit: %s\nAWS CLI: %s", oq.Encode(), tq.Encode())
	}

	// credkit verifies the CLI's signature, and refuses it for another path.
	inspect := func(u string) inspection {
		r := runAt(t, time.Now, env, u, "token", "inspect", "--verify", "--json")
		var in inspection
		if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
			t.Fatalf("token inspect: exit %d %q %s", r.code, r.stdout, r.stderr)
		}
		return in
	}
	in := inspect(theirs.String())
	if in.Verified == nil || !*in.Verified || in.Algorithm != "AWS4-ECDSA-P256-SHA256" || strings.Join(in.RegionSet, ",") != "*" {
		t.Errorf("the CLI's URL: verified %v (%s), algorithm %s, region set %q", in.Verified, in.VerifyError, in.Algorithm, in.RegionSet)
	}
	changed := *theirs
	changed.Path += "x"
	if in := inspect(changed.String()); in.Verified == nil || *in.Verified || in.VerifyReason != "signature_mismatch" {
		t.Errorf("the CLI's URL for another object: verified %v, reason %q", in.Verified, in.VerifyReason)
	}
}

// curl --sigv4a calls the lab's STS, which verifies SigV4a as it does
// SigV4: the right key is served, a wrong secret is refused.
func TestCurlSigV4aAgainstLab(t *testing.T) {
	l, err := lab.New(lab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l.Handler())
	defer s.Close()
	u := l.Users()[0]
	args := []string{"curl", "--sigv4a", "--region-set", "us-east-1,eu-west-1", "--service", "sts", "-v",
		"-H", "Content-Type: application/x-www-form-urlencoded", "-d", "Action=GetCallerIdentity&Version=2011-06-15", s.URL + "/"}
	env := map[string]string{"AWS_ACCESS_KEY_ID": u.AccessKeyID, "AWS_SECRET_ACCESS_KEY": u.SecretAccessKey}
	r := runAt(t, time.Now, env, "", args...)
	if r.code != 0 || !strings.Contains(r.stdout, ":user/"+u.Name+"</Arn>") {
		t.Fatalf("right secret: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"> Authorization: AWS4-ECDSA-P256-SHA256 Credential=" + u.AccessKeyID + "/", "> X-Amz-Region-Set: us-east-1,eu-west-1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("-v does not show %q:\n%s", want, r.stderr)
		}
	}
	env["AWS_SECRET_ACCESS_KEY"] = u.SecretAccessKey + "x"
	r = runAt(t, time.Now, env, "", args...)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
