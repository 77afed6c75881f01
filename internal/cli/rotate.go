package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
	"github.com/credkit/credkit/vault"
)

// rotateWait bounds how long rotate waits for IAM to accept a new key
// (IAM is eventually consistent: a new key may take seconds to work).
var rotateWait = 60 * time.Second

func newRotateCmd(a *App) *cobra.Command {
	var (
		vf        vaultFlags
		deleteOld string
		mfaOpts   credOpts
	)
	cmd := &cobra.Command{
		Use:   "rotate PROFILE [--backend NAME] [--delete-old KEYID]",
		Short: "replace a stored key with a new one (IAM), and delete the old one",
		Long: "Replace the long-term key of PROFILE, stored in the vault, with a new one:\n" +
			"  1. IAM CreateAccessKey for the key's user (signed with the current key);\n" +
			"  2. store the new key in the vault (the old one is still active);\n" +
			"  3. wait until STS GetCallerIdentity accepts the new key;\n" +
			"  4. IAM DeleteAccessKey of the old key, signed with the new one.\n" +
			"When the profile has mfa_serial (IAM policies often deny IAM calls without MFA), the IAM\n" +
			"calls are signed with an MFA session of the old key instead: the one cached in the vault,\n" +
			"or a new one (code from --mfa-token, the profile's mfa_process, or the terminal).\n" +
			"If it is interrupted, the key in the vault works and the message says how to finish\n" +
			"(--delete-old KEYID deletes a key left active by an interrupted rotation). Cached\n" +
			"sessions of the profile are dropped. IAM and STS endpoints follow AWS_ENDPOINT_URL_IAM,\n" +
			"AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL and the profile's endpoint_url.",
		Example: examples(
			"credkit rotate work",
			"credkit rotate work --delete-old AKIAOLDKEYEXAMPLE1"),
		Args: exactArgs(1, "one profile name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rotate(cmd.Context(), args[0], vf, deleteOld, mfaOpts)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	fs := cmd.Flags()
	vf.register(fs)
	fs.StringVar(&mfaOpts.mfaToken, "mfa-token", "", "MFA code for a profile with mfa_serial (default: mfa_process, else asked on the terminal)")
	fs.StringVar(&deleteOld, "delete-old", "", "only delete this old key of the user (after an interrupted rotation), signed with the stored key")
	return cmd
}

func (a *App) rotate(ctx context.Context, profile string, vf vaultFlags, deleteOld string, mfaOpts credOpts) error {
	files, err := a.loadFiles()
	if err != nil {
		return err
	}
	v, err := a.openVault(&vf)
	if err != nil {
		return err
	}
	old, err := v.Keys(profile)
	if err != nil {
		return fmt.Errorf("rotate: %w (credkit rotate works on keys stored with credkit add)", err)
	}
	region, _ := source.Region(a.Getenv, files, profile)
	if region == "" {
		region = "us-east-1"
	}
	stsEndpoint := a.stsEndpoint(files, profile, region)
	iamClient := func(c creds.Credentials) *iam.Client {
		o := iam.Options{
			Region:      "us-east-1", // IAM is global; its SigV4 region is us-east-1
			Credentials: awscreds.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
			HTTPClient:  a.HTTP,
		}
		if e := source.ServiceEndpoint(a.Getenv, files, profile, "iam"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
		return iam.New(o)
	}

	id, err := a.callerIdentity(ctx, old, stsEndpoint, region)
	if err != nil {
		return fmt.Errorf("rotate: the stored key %s does not work: %w", old.AccessKeyID, err)
	}
	user, ok := strings.CutPrefix(arnResource(id.ARN), "user/")
	if !ok {
		return fmt.Errorf("rotate: key %s belongs to %s, not an IAM user; only IAM user keys can be rotated", old.AccessKeyID, id.ARN)
	}
	if i := strings.LastIndex(user, "/"); i >= 0 { // a user with a path
		user = user[i+1:]
	}

	// signer signs the IAM calls: the key itself, or its MFA session.
	signer := old
	if serial := mfaSerialOf(files, profile); serial != "" {
		mfaOpts.profile = profile
		if signer, err = a.mfaSessionOfStoredKey(ctx, files, v, &mfaOpts); err != nil {
			return fmt.Errorf("rotate: profile %s has mfa_serial %s, so IAM calls are signed with an MFA session of key %s, and getting one failed: %w", profile, serial, old.AccessKeyID, err)
		}
	}

	if deleteOld != "" {
		if deleteOld == old.AccessKeyID {
			return badInput("rotate --delete-old %s: that is the key stored for profile %s; refusing to delete the key in use", deleteOld, profile)
		}
		if _, err := iamClient(signer).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(deleteOld), UserName: aws.String(user)}); err != nil {
			return fmt.Errorf("rotate: IAM DeleteAccessKey %s of user %s: %w", deleteOld, user, iamError(err))
		}
		fmt.Fprintf(a.Stdout, "Deleted key %s of IAM user %s; profile %s uses %s.\n", deleteOld, user, profile, old.AccessKeyID)
		return nil
	}

	list, err := iamClient(signer).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	if err != nil {
		return fmt.Errorf("rotate: IAM ListAccessKeys of user %s: %w", user, iamError(err))
	}
	if len(list.AccessKeyMetadata) >= 2 {
		var others []string
		for _, k := range list.AccessKeyMetadata {
			if aws.ToString(k.AccessKeyId) != old.AccessKeyID {
				others = append(others, aws.ToString(k.AccessKeyId))
			}
		}
		return fmt.Errorf("rotate: IAM user %s already has two access keys (%s and %s), the most IAM allows; "+
			"if %s is unused, delete it first: credkit rotate %s --delete-old %s",
			user, old.AccessKeyID, strings.Join(others, ", "), strings.Join(others, ", "), profile, strings.Join(others, ","))
	}

	out, err := iamClient(signer).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		return fmt.Errorf("rotate: IAM CreateAccessKey for user %s: %w", user, iamError(err))
	}
	nk := creds.Credentials{
		AccessKeyID:     aws.ToString(out.AccessKey.AccessKeyId),
		SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey),
		Source:          old.Source,
	}
	if err := v.SetKeys(profile, nk); err != nil {
		// The write may have landed although it reported an error (an
		// fsync refused after the rename): only when the vault still
		// holds the old key is the new one lost with this process.
		if cur, rerr := v.Keys(profile); rerr == nil && cur.AccessKeyID == nk.AccessKeyID {
			return fmt.Errorf("rotate: the vault reported an error (%v) but holds the new key %s; the old key %s is still active: once the new key works, run credkit rotate %s --delete-old %s",
				err, nk.AccessKeyID, old.AccessKeyID, profile, old.AccessKeyID)
		}
		// The new key is lost with this process: delete it, keep the old.
		_, derr := iamClient(signer).DeleteAccessKey(context.WithoutCancel(ctx), &iam.DeleteAccessKeyInput{AccessKeyId: out.AccessKey.AccessKeyId, UserName: aws.String(user)})
		if derr != nil {
			return fmt.Errorf("rotate: storing the new key %s failed (%v) and deleting it failed too (%v); the vault still has %s, which works; delete %s in IAM",
				nk.AccessKeyID, err, iamError(derr), old.AccessKeyID, nk.AccessKeyID)
		}
		return fmt.Errorf("rotate: storing the new key failed, so it was deleted again; the vault still has %s, which works: %w", old.AccessKeyID, err)
	}
	fmt.Fprintf(a.Stderr, "credkit: created key %s for IAM user %s and stored it for profile %s; waiting for IAM to accept it\n", nk.AccessKeyID, user, profile)

	finish := fmt.Sprintf("the vault has the new key %s; the old key %s is still active: once the new key works, run credkit rotate %s --delete-old %s",
		nk.AccessKeyID, old.AccessKeyID, profile, old.AccessKeyID)
	deadline := a.Now().Add(rotateWait)
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		_, err := a.callerIdentity(ctx, nk, stsEndpoint, region)
		if err == nil {
			break
		}
		if ctx.Err() != nil || !a.Now().Add(wait).Before(deadline) {
			return fmt.Errorf("rotate: STS does not accept the new key yet (%v); %s", err, finish)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rotate: interrupted; %s", finish)
		case <-time.After(wait):
		}
	}
	// The delete has its own time: IAM may take a while to accept the
	// new key for IAM calls too. Signed with the new key, which proves it
	// works for IAM; with the MFA session when IAM wants MFA (the new key
	// alone would be refused).
	deleter := nk
	if signer.SessionToken != "" {
		deleter = signer
	}
	var derr error
	deadline = a.Now().Add(rotateWait)
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		_, derr = iamClient(deleter).DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(old.AccessKeyID), UserName: aws.String(user)})
		var ae smithy.APIError
		if errors.As(derr, &ae) && ae.ErrorCode() == "NoSuchEntity" {
			derr = nil // gone already: an earlier attempt's answer was lost
		}
		if derr == nil || ctx.Err() != nil || !a.Now().Add(wait).Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if derr != nil {
		return fmt.Errorf("rotate: IAM DeleteAccessKey %s: %v; %s", old.AccessKeyID, iamError(derr), finish)
	}
	n, err := v.ClearSessions(profile)
	if err != nil {
		fmt.Fprintf(a.Stderr, "credkit: warning: the sessions of the old key were not dropped (%v): run credkit clear %s\n", err, profile)
	}
	fmt.Fprintf(a.Stdout, "Rotated profile %s (IAM user %s): new key %s stored, old key %s deleted, %d cached session(s) dropped.\n",
		profile, user, nk.AccessKeyID, old.AccessKeyID, n)
	return nil
}

// mfaSerialOf is the mfa_serial of profile in the files ("" if none).
func mfaSerialOf(files *awsconfig.Files, profile string) string {
	p, err := files.Profile(profile)
	if err != nil {
		return ""
	}
	v, _ := p.Get("mfa_serial")
	return v
}

// mfaSessionOfStoredKey returns a GetSessionToken session with MFA made
// from the key stored for o.profile in v: the one cached in the vault if
// it still has a while to live, else a new one (cached too).
func (a *App) mfaSessionOfStoredKey(ctx context.Context, files *awsconfig.Files, v *vault.Vault, o *credOpts) (creds.Credentials, error) {
	vs := a.storeOf(v)
	chain, err := source.FromProfile(files, o.profile, source.ProfileOptions{
		Getenv: a.Getenv, STS: source.STSOptions{HTTPClient: a.HTTP, Now: a.Now, MFA: a.mfaPrompt(o)},
		Keys: vs, Sessions: vs, OnSessionStoreError: a.warnSessionNotCached, MFAProcessStderr: a.Stderr,
	})
	if err != nil {
		return creds.Credentials{}, err
	}
	c, err := chain.Root.Retrieve(ctx)
	if err != nil {
		return c, err
	}
	if c.SessionToken == "" {
		return c, fmt.Errorf("profile %s resolves to %s, not to a session made from the key in the vault", o.profile, c.Source)
	}
	return c, nil
}

// arnResource is the part of an ARN after the account: "user/alice".
func arnResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[5]
}

// iamError shortens an SDK error to "Code: message".
func iamError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}
