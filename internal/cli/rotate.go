package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rotate"
	"github.com/credkit/credkit/source"
	"github.com/credkit/credkit/vault"
)

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
	region, _ := source.Region(a.Getenv, files, profile)
	if region == "" {
		region = "us-east-1"
	}
	r := &rotate.Rotator{
		Profile: profile,
		Store:   v,
		Clients: rotate.AWS{
			HTTPClient:  a.HTTP,
			IAMEndpoint: source.ServiceEndpoint(a.Getenv, files, profile, "iam"),
			STSEndpoint: source.ServiceEndpoint(a.Getenv, files, profile, "sts"),
			STSRegion:   region,
		},
		Now: a.Now,
		Progress: func(e rotate.Event) {
			if e.Step == rotate.Stored {
				fmt.Fprintf(a.Stderr, "credkit: created key %s for IAM user %s and stored it for profile %s; waiting for IAM to accept it\n", e.NewKeyID, e.User, profile)
			}
		},
	}
	// IAM policies often deny IAM calls without MFA: with mfa_serial, an
	// MFA session of the stored key signs them.
	if serial := mfaSerialOf(files, profile); serial != "" {
		r.IAMSigner = func(ctx context.Context, old creds.Credentials) (creds.Credentials, error) {
			mfaOpts.profile = profile
			s, err := a.mfaSessionOfStoredKey(ctx, files, v, &mfaOpts)
			if err != nil {
				return s, fmt.Errorf("profile %s has mfa_serial %s, so IAM calls are signed with an MFA session of key %s, and getting one failed: %w", profile, serial, old.AccessKeyID, err)
			}
			return s, nil
		}
	}

	if deleteOld != "" {
		res, err := r.DeleteOld(ctx, deleteOld)
		if errors.Is(err, rotate.ErrKeyInUse) {
			return badInput("rotate --delete-old %s: that is the key stored for profile %s; refusing to delete the key in use", deleteOld, profile)
		}
		if err != nil {
			return rotateError(profile, err)
		}
		fmt.Fprintf(a.Stdout, "Deleted key %s of IAM user %s; profile %s uses %s.\n", deleteOld, res.User, profile, res.NewKeyID)
		return nil
	}
	res, err := r.Rotate(ctx)
	if err != nil {
		return rotateError(profile, err)
	}
	n, err := v.ClearSessions(profile)
	if err != nil {
		fmt.Fprintf(a.Stderr, "credkit: warning: the sessions of the old key were not dropped (%v): run credkit clear %s\n", err, profile)
	}
	fmt.Fprintf(a.Stdout, "Rotated profile %s (IAM user %s): new key %s stored, old key %s deleted, %d cached session(s) dropped.\n",
		profile, res.User, res.NewKeyID, res.OldKeyID, n)
	return nil
}

// rotateError adds to a rotation's error the command that gets past it.
func rotateError(profile string, err error) error {
	var many *rotate.TooManyKeysError
	var incomplete *rotate.IncompleteError
	switch {
	case errors.Is(err, rotate.ErrNoStoredKey):
		return fmt.Errorf("rotate: %w (credkit rotate works on keys stored with credkit add)", err)
	case errors.As(err, &many):
		return fmt.Errorf("rotate: %w: credkit rotate %s --delete-old %s", err, profile, strings.Join(many.Others, ","))
	case errors.As(err, &incomplete):
		return fmt.Errorf("rotate: %w; once the new key works, run credkit rotate %s --delete-old %s", err, profile, incomplete.OldKeyID)
	}
	return fmt.Errorf("rotate: %w", err)
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
