// Package rotate replaces the long-term access key of an IAM user, kept in
// a key store (credkit's vault), with a new one, without ever leaving the
// store holding a key that does not work.
//
// A rotation takes four steps, in this order:
//
//  1. IAM CreateAccessKey for the key's user, signed with the current key
//     (or, when IAM wants MFA, with an MFA session of it);
//  2. store the new key (the old one is still active, so a crash here
//     loses nothing);
//  3. wait until STS GetCallerIdentity accepts the new key (IAM is
//     eventually consistent: a new key may take seconds to work);
//  4. IAM DeleteAccessKey of the old key, signed with the new one (which
//     proves the new key works for IAM too) or with the MFA session; a
//     key already gone counts as deleted (an earlier answer was lost).
//
// What happens when a step fails is the point of the package:
//
//   - create fails: nothing changed;
//   - store fails and the store still holds the old key: the new key is
//     deleted again (with a context that is not cancelled, so an
//     interrupt does not leave it behind); if that delete fails too, a
//     *StrayKeyError names the key to delete in IAM;
//   - store reports an error but holds the new key anyway (an fsync
//     refused after the rename): the new key is kept, and an
//     *IncompleteError says the old one is still active;
//   - STS does not accept the new key within Rotator.Wait, the context is
//     cancelled, or deleting the old key fails: the new key is kept
//     (stored and working), and an *IncompleteError says the old one is
//     still active; Rotator.DeleteOld finishes the job later.
//
// The package never prompts and never prints: MFA sessions come from
// Rotator.IAMSigner, progress goes to Rotator.Progress, and the IAM and
// STS calls go through the Clients interface (AWS builds them with
// aws-sdk-go-v2).
package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// DefaultWait bounds each wait of a rotation when Rotator.Wait is zero.
const DefaultWait = 60 * time.Second

// KeyStore holds the long-term key of each profile. *vault.Vault is one.
type KeyStore interface {
	Keys(profile string) (creds.Credentials, error)
	SetKeys(profile string, c creds.Credentials) error
}

// IAM is the part of *iam.Client a rotation uses.
type IAM interface {
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, optFns ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error)
	DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, optFns ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error)
}

// STS is the part of *sts.Client a rotation uses.
type STS interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Clients makes the IAM and STS clients of a rotation, each signing with
// the credentials it is given.
type Clients interface {
	IAM(c creds.Credentials) IAM
	STS(c creds.Credentials) STS
}

// Errors a rotation wraps; see also *TooManyKeysError, *IncompleteError
// and *StrayKeyError.
var (
	// ErrNoStoredKey is wrapped when the store has no usable key for the
	// profile (it was never stored, or cannot be read).
	ErrNoStoredKey = errors.New("no stored key")
	// ErrNotIAMUser is wrapped when the stored key belongs to something
	// else than an IAM user (a root account): only IAM user keys rotate.
	ErrNotIAMUser = errors.New("not an IAM user's key")
	// ErrKeyInUse is wrapped when DeleteOld is asked to delete the key the
	// store holds.
	ErrKeyInUse = errors.New("the key is the one stored")
)

// Rotator rotates the key stored for one profile.
type Rotator struct {
	// Profile names the key in Store.
	Profile string
	// Store holds the key; the new one replaces it there.
	Store KeyStore
	// Clients makes the IAM and STS clients (AWS, for aws-sdk-go-v2).
	Clients Clients
	// IAMSigner, if set, returns the credentials that sign the IAM calls
	// instead of the old key: an MFA session of it, when the user's IAM
	// policy denies IAM calls without MFA. It is called once, after the
	// old key has proved to work, and may prompt.
	IAMSigner func(ctx context.Context, old creds.Credentials) (creds.Credentials, error)
	// Wait bounds each of the two waits: for STS to accept the new key,
	// and for IAM to delete the old key with it. Zero means DefaultWait.
	Wait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, if set, is called after each step.
	Progress func(Event)
}

// Step is a step of a rotation, reported through Rotator.Progress.
type Step int

const (
	// Checked: the stored key works; Event.User is its IAM user.
	Checked Step = iota
	// Created: IAM made the new key (not stored yet).
	Created
	// Stored: the store holds the new key; the old one is still active.
	Stored
	// Retrying: STS did not accept the new key yet, or IAM did not delete
	// the old one yet; Event.Err says why. Another try follows.
	Retrying
	// Accepted: STS accepts the new key.
	Accepted
	// Deleted: the old key is deleted; the rotation is done.
	Deleted
)

func (s Step) String() string {
	switch s {
	case Checked:
		return "checked"
	case Created:
		return "created"
	case Stored:
		return "stored"
	case Retrying:
		return "retrying"
	case Accepted:
		return "accepted"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Event is one step of a rotation. It holds key ids, never a secret.
type Event struct {
	Step     Step
	User     string
	OldKeyID string
	NewKeyID string // "" before Created
	Err      error  // for Retrying
}

// Result is what a rotation did.
type Result struct {
	// User is the IAM user the key belongs to.
	User string
	// OldKeyID is the key that was stored when the rotation began.
	OldKeyID string
	// NewKeyID is the key the store holds now; "" when no new key was
	// stored (the store kept OldKeyID).
	NewKeyID string
	// OldDeleted tells whether OldKeyID is deleted in IAM.
	OldDeleted bool
}

// TooManyKeysError refuses a rotation of a user who has two access keys
// already, the most IAM allows: one must be deleted first (DeleteOld).
type TooManyKeysError struct {
	User   string
	Stored string   // the key in the store
	Others []string // the user's other keys
}

func (e *TooManyKeysError) Error() string {
	return fmt.Sprintf("IAM user %s already has two access keys (%s and %s), the most IAM allows; if %s is unused, delete it first",
		e.User, e.Stored, strings.Join(e.Others, ", "), strings.Join(e.Others, ", "))
}

// IncompleteError reports a rotation that stopped after the new key was
// stored: the store holds the new key, which works (or will, once IAM
// has caught up), and the old key is still active in IAM. Deleting the
// old key (Rotator.DeleteOld) finishes the rotation.
type IncompleteError struct {
	Result
	// Err says why the rotation stopped.
	Err error
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("the store has the new key %s; the old key %s of IAM user %s is still active: %v",
		e.NewKeyID, e.OldKeyID, e.User, e.Err)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// StrayKeyError reports a new key that IAM made but that could neither be
// stored nor deleted again: it is active in IAM and nobody holds its
// secret. The store still holds the old key, which works. Delete KeyID in
// IAM.
type StrayKeyError struct {
	User      string
	KeyID     string // the stray key
	Stored    string // the key the store still holds
	StoreErr  error
	DeleteErr error
}

func (e *StrayKeyError) Error() string {
	return fmt.Sprintf("storing the new key %s failed (%v) and deleting it failed too (%v); the store still has %s, which works; delete %s of IAM user %s in IAM",
		e.KeyID, e.StoreErr, e.DeleteErr, e.Stored, e.KeyID, e.User)
}

func (e *StrayKeyError) Unwrap() []error { return []error{e.StoreErr, e.DeleteErr} }

// state is what a rotation knows once the old key is checked.
type state struct {
	old    creds.Credentials
	user   string
	signer creds.Credentials // signs the IAM calls: old, or its MFA session
}

// Rotate rotates the key: see the package documentation for the steps and
// what each failure leaves behind.
func (r *Rotator) Rotate(ctx context.Context) (Result, error) {
	st, err := r.begin(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{User: st.user, OldKeyID: st.old.AccessKeyID}
	list, err := r.Clients.IAM(st.signer).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(st.user)})
	if err != nil {
		return res, fmt.Errorf("IAM ListAccessKeys of user %s: %w", st.user, err)
	}
	if len(list.AccessKeyMetadata) >= 2 {
		e := &TooManyKeysError{User: st.user, Stored: st.old.AccessKeyID}
		for _, k := range list.AccessKeyMetadata {
			if id := aws.ToString(k.AccessKeyId); id != st.old.AccessKeyID {
				e.Others = append(e.Others, id)
			}
		}
		return res, e
	}

	out, err := r.Clients.IAM(st.signer).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(st.user)})
	if err != nil {
		return res, fmt.Errorf("IAM CreateAccessKey for user %s: %w", st.user, err)
	}
	nk := creds.Credentials{
		AccessKeyID:     aws.ToString(out.AccessKey.AccessKeyId),
		SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey),
		Source:          st.old.Source,
	}
	r.report(Event{Step: Created, User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: nk.AccessKeyID})

	if err := r.Store.SetKeys(r.Profile, nk); err != nil {
		return res, r.storeFailed(ctx, st, nk, err)
	}
	res.NewKeyID = nk.AccessKeyID
	r.report(Event{Step: Stored, User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: nk.AccessKeyID})
	incomplete := func(err error) error { return &IncompleteError{Result: res, Err: err} }

	if err := r.retry(ctx, st, nk.AccessKeyID, func() error {
		_, err := r.Clients.STS(nk).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("STS does not accept the new key yet: %w", err)
		}
		return nil
	}); err != nil {
		return res, incomplete(err)
	}
	r.report(Event{Step: Accepted, User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: nk.AccessKeyID})

	// The delete has its own time: IAM may take a while to accept the new
	// key for IAM calls too. Signed with the new key, which proves it
	// works for IAM; with the MFA session when IAM wants MFA (the new key
	// alone would be refused).
	deleter := nk
	if st.signer.SessionToken != "" {
		deleter = st.signer
	}
	if err := r.retry(ctx, st, nk.AccessKeyID, func() error {
		err := r.deleteKey(ctx, r.Clients.IAM(deleter), st.user, st.old.AccessKeyID)
		if errorCode(err) == "NoSuchEntity" {
			return nil // gone already: an earlier attempt's answer was lost
		}
		return err
	}); err != nil {
		return res, incomplete(err)
	}
	res.OldDeleted = true
	r.report(Event{Step: Deleted, User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: nk.AccessKeyID})
	return res, nil
}

// DeleteOld deletes keyID, another key of the stored key's IAM user (one
// left active by an interrupted rotation), signed with the stored key or
// its IAMSigner session. It refuses to delete the stored key itself.
func (r *Rotator) DeleteOld(ctx context.Context, keyID string) (Result, error) {
	st, err := r.begin(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{User: st.user, OldKeyID: keyID, NewKeyID: st.old.AccessKeyID}
	if keyID == st.old.AccessKeyID {
		return res, fmt.Errorf("delete %s: %w for profile %s; refusing to delete the key in use", keyID, ErrKeyInUse, r.Profile)
	}
	if err := r.deleteKey(ctx, r.Clients.IAM(st.signer), st.user, keyID); err != nil {
		return res, err
	}
	res.OldDeleted = true
	r.report(Event{Step: Deleted, User: st.user, OldKeyID: keyID, NewKeyID: st.old.AccessKeyID})
	return res, nil
}

// begin reads the stored key, proves it works, finds its IAM user and the
// credentials that sign the IAM calls.
func (r *Rotator) begin(ctx context.Context) (state, error) {
	var st state
	old, err := r.Store.Keys(r.Profile)
	if err != nil {
		return st, fmt.Errorf("%w for profile %s: %w", ErrNoStoredKey, r.Profile, err)
	}
	id, err := r.Clients.STS(old).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return st, fmt.Errorf("the stored key %s of profile %s does not work: STS GetCallerIdentity: %w", old.AccessKeyID, r.Profile, err)
	}
	arn := aws.ToString(id.Arn)
	user, ok := strings.CutPrefix(arnResource(arn), "user/")
	if !ok {
		return st, fmt.Errorf("key %s belongs to %s: %w; only IAM user keys can be rotated", old.AccessKeyID, arn, ErrNotIAMUser)
	}
	if i := strings.LastIndex(user, "/"); i >= 0 { // a user with a path
		user = user[i+1:]
	}
	st = state{old: old, user: user, signer: old}
	r.report(Event{Step: Checked, User: user, OldKeyID: old.AccessKeyID})
	if r.IAMSigner != nil {
		if st.signer, err = r.IAMSigner(ctx, old); err != nil {
			return st, fmt.Errorf("signing the IAM calls: %w", err)
		}
	}
	return st, nil
}

// storeFailed handles a store error after IAM made the new key nk.
func (r *Rotator) storeFailed(ctx context.Context, st state, nk creds.Credentials, err error) error {
	// The write may have landed although it reported an error (an fsync
	// refused after the rename): only when the store still holds the old
	// key is the new one lost with this process.
	if cur, rerr := r.Store.Keys(r.Profile); rerr == nil && cur.AccessKeyID == nk.AccessKeyID {
		res := Result{User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: nk.AccessKeyID}
		return &IncompleteError{Result: res, Err: fmt.Errorf("the store reported an error, yet holds the new key: %w", err)}
	}
	// The new key is lost with this process: delete it, keep the old. An
	// interrupt must not leave it behind.
	derr := r.deleteKey(context.WithoutCancel(ctx), r.Clients.IAM(st.signer), st.user, nk.AccessKeyID)
	if derr != nil {
		return &StrayKeyError{User: st.user, KeyID: nk.AccessKeyID, Stored: st.old.AccessKeyID, StoreErr: err, DeleteErr: derr}
	}
	return fmt.Errorf("storing the new key %s failed, so it was deleted again; the store still has %s, which works: %w", nk.AccessKeyID, st.old.AccessKeyID, err)
}

// deleteKey deletes keyID of user.
func (r *Rotator) deleteKey(ctx context.Context, c IAM, user, keyID string) error {
	_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(keyID), UserName: aws.String(user)})
	if err == nil {
		return nil
	}
	return fmt.Errorf("IAM DeleteAccessKey %s of user %s: %w", keyID, user, err)
}

// retry calls try until it succeeds, Wait has passed, or ctx is done,
// waiting 0.5 s, 1 s, 2 s, ... (at most 5 s) between tries.
func (r *Rotator) retry(ctx context.Context, st state, newKeyID string, try func() error) error {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	limit := r.Wait
	if limit <= 0 {
		limit = DefaultWait
	}
	deadline := now().Add(limit)
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		err := try()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (%w): %w", context.Cause(ctx), err)
		}
		if !now().Add(wait).Before(deadline) {
			return fmt.Errorf("gave up after %v: %w", limit, err)
		}
		r.report(Event{Step: Retrying, User: st.user, OldKeyID: st.old.AccessKeyID, NewKeyID: newKeyID, Err: err})
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("interrupted (%w): %w", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

func (r *Rotator) report(e Event) {
	if r.Progress != nil {
		r.Progress(e)
	}
}

// arnResource is the part of an ARN after the account: "user/alice".
func arnResource(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[5]
}

// errorCode is the AWS error code of err ("" if none): *source.APIError's
// (read from the answer when the SDK could not), else the SDK's.
func errorCode(err error) string {
	var se *source.APIError
	if errors.As(err, &se) {
		return se.Code
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
