package rotate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/rotate"
	"github.com/credkit/credkit/source"
)

// memStore is a KeyStore in memory whose SetKeys can be made to fail,
// before or after the write.
type memStore struct {
	mu   sync.Mutex
	keys map[string]creds.Credentials
	// failSet, when set, is SetKeys's error; written tells whether the
	// write lands anyway.
	failSet error
	written bool
}

func (s *memStore) Keys(profile string) (creds.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.keys[profile]
	if !ok {
		return c, fmt.Errorf("profile %s: not stored", profile)
	}
	return c, nil
}

func (s *memStore) SetKeys(profile string, c creds.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSet == nil || s.written {
		s.keys[profile] = c
	}
	return s.failSet
}

// fixture is a moto IAM user whose key is stored for profile "work".
type fixture struct {
	m       *testpeer.MotoServer
	user    string
	oldID   string
	oldKey  creds.Credentials
	store   *memStore
	admin   *iam.Client
	events  []rotate.Event
	rotator *rotate.Rotator
}

func newFixture(t *testing.T, m *testpeer.MotoServer, user string) *fixture {
	t.Helper()
	id, secret := m.NewUserKeys(t, user)
	f := &fixture{
		m: m, user: user, oldID: id,
		oldKey: creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "test store"},
		admin: iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint),
			Credentials: awscreds.NewStaticCredentialsProvider(m.AdminAccessKeyID, m.AdminSecretAccessKey, "")}),
	}
	f.store = &memStore{keys: map[string]creds.Credentials{"work": f.oldKey}}
	f.rotator = &rotate.Rotator{
		Profile:  "work",
		Store:    f.store,
		Clients:  rotate.AWS{IAMEndpoint: m.Endpoint, STSEndpoint: m.Endpoint, STSRegion: m.Region},
		Wait:     3 * time.Second,
		Progress: func(e rotate.Event) { f.events = append(f.events, e) },
	}
	return f
}

// iamKeys lists the user's access keys, as the admin sees them.
func (f *fixture) iamKeys(t *testing.T) []string {
	t.Helper()
	out, err := f.admin.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(f.user)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range out.AccessKeyMetadata {
		ids = append(ids, aws.ToString(k.AccessKeyId))
	}
	slices.Sort(ids)
	return ids
}

// steps are the steps reported, Retrying left out.
func (f *fixture) steps() []rotate.Step {
	var s []rotate.Step
	for _, e := range f.events {
		if e.Step != rotate.Retrying {
			s = append(s, e.Step)
		}
	}
	return s
}

// denyDelete adds an explicit deny of iam:DeleteAccessKey to the user.
func (f *fixture) denyDelete(t *testing.T) {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteAccessKey","Resource":"*"}]}`
	if _, err := f.admin.PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{
		UserName: aws.String(f.user), PolicyName: aws.String("deny-delete"), PolicyDocument: aws.String(doc),
	}); err != nil {
		t.Fatal(err)
	}
}

// works tells whether STS accepts the key.
func (f *fixture) works(t *testing.T, c creds.Credentials) bool {
	t.Helper()
	_, err := rotate.AWS{STSEndpoint: f.m.Endpoint}.STS(c).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var ae *source.APIError
	if err != nil && (!errors.As(err, &ae) || ae.Code != "InvalidClientTokenId") {
		t.Fatalf("GetCallerIdentity with %s: unexpected error %v", c.AccessKeyID, err)
	}
	return err == nil
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// The rotation state machine against moto's IAM and STS, which check
// every signature and the users' policies.
func TestRotateWithMoto(t *testing.T) {
	m := testpeer.Moto(t)
	ctx := context.Background()

	t.Run("rotates: new key stored and working, old key deleted", func(t *testing.T) {
		f := newFixture(t, m, "alice")
		res, err := f.rotator.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := f.store.Keys("work")
		want := rotate.Result{User: "alice", OldKeyID: f.oldID, NewKeyID: stored.AccessKeyID, OldDeleted: true}
		if res != want || stored.AccessKeyID == f.oldID {
			t.Fatalf("result %+v, stored %s; want %+v", res, stored.AccessKeyID, want)
		}
		if got := f.iamKeys(t); !slices.Equal(got, []string{stored.AccessKeyID}) {
			t.Errorf("IAM keys after the rotation: %v, want only the new %s", got, stored.AccessKeyID)
		}
		if !f.works(t, stored) || f.works(t, f.oldKey) {
			t.Errorf("after the rotation the new key works: %v, the old one: %v", f.works(t, stored), f.works(t, f.oldKey))
		}
		if stored.Source != f.oldKey.Source {
			t.Errorf("new key's Source %q, want the old key's %q", stored.Source, f.oldKey.Source)
		}
		if got, want := f.steps(), []rotate.Step{rotate.Checked, rotate.Created, rotate.Stored, rotate.Accepted, rotate.Deleted}; !slices.Equal(got, want) {
			t.Errorf("steps %v, want %v", got, want)
		}
		for _, e := range f.events {
			if e.User != "alice" || e.OldKeyID != f.oldID || (e.Step != rotate.Checked && e.NewKeyID != stored.AccessKeyID) {
				t.Errorf("event %+v", e)
			}
		}
	})

	t.Run("a user with two keys is refused; DeleteOld deletes the other, never the stored one", func(t *testing.T) {
		f := newFixture(t, m, "bob")
		extra, err := f.admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
		if err != nil {
			t.Fatal(err)
		}
		extraID := aws.ToString(extra.AccessKey.AccessKeyId)
		_, err = f.rotator.Rotate(ctx)
		var many *rotate.TooManyKeysError
		if !errors.As(err, &many) || many.User != "bob" || many.Stored != f.oldID || !slices.Equal(many.Others, []string{extraID}) {
			t.Fatalf("Rotate of a user with two keys: %v (%+v)", err, many)
		}
		if got := f.iamKeys(t); !slices.Equal(got, sorted(f.oldID, extraID)) {
			t.Errorf("IAM keys after a refused rotation: %v", got)
		}
		if _, err := f.rotator.DeleteOld(ctx, f.oldID); !errors.Is(err, rotate.ErrKeyInUse) {
			t.Errorf("DeleteOld of the stored key: %v, want ErrKeyInUse", err)
		}
		if _, err := f.rotator.DeleteOld(ctx, "AKIANOSUCHKEY0000000"); err == nil || !strings.Contains(err.Error(), "NoSuchEntity") {
			t.Errorf("DeleteOld of a key the user does not have: %v, want IAM's NoSuchEntity", err)
		}
		res, err := f.rotator.DeleteOld(ctx, extraID)
		if err != nil || !res.OldDeleted || res.OldKeyID != extraID || res.NewKeyID != f.oldID {
			t.Fatalf("DeleteOld: %+v %v", res, err)
		}
		if got := f.iamKeys(t); !slices.Equal(got, []string{f.oldID}) {
			t.Errorf("IAM keys after DeleteOld: %v, want only %s", got, f.oldID)
		}
	})

	t.Run("store fails: the new key is deleted again, the old one kept", func(t *testing.T) {
		f := newFixture(t, m, "carol")
		storeErr := errors.New("keyring locked")
		f.store.failSet = storeErr
		res, err := f.rotator.Rotate(ctx)
		if !errors.Is(err, storeErr) || res.NewKeyID != "" {
			t.Fatalf("Rotate with a failing store: %+v %v", res, err)
		}
		var created string
		for _, e := range f.events {
			if e.Step == rotate.Created {
				created = e.NewKeyID
			}
		}
		if created == "" || !strings.Contains(err.Error(), created+" failed, so it was deleted again") {
			t.Errorf("error does not say the new key %q was deleted: %v", created, err)
		}
		if got := f.iamKeys(t); !slices.Equal(got, []string{f.oldID}) {
			t.Errorf("IAM keys: %v, want only the old %s", got, f.oldID)
		}
		if stored, _ := f.store.Keys("work"); stored != f.oldKey || !f.works(t, stored) {
			t.Errorf("store holds %s, want the old key, working", stored.AccessKeyID)
		}
	})

	t.Run("store reports an error after the write: the new key is kept and reported", func(t *testing.T) {
		f := newFixture(t, m, "dave")
		storeErr := errors.New("fsync: input/output error")
		f.store.failSet, f.store.written = storeErr, true
		_, err := f.rotator.Rotate(ctx)
		var inc *rotate.IncompleteError
		if !errors.As(err, &inc) || !errors.Is(err, storeErr) {
			t.Fatalf("Rotate: %v, want an IncompleteError wrapping the store's error", err)
		}
		stored, _ := f.store.Keys("work")
		if inc.NewKeyID != stored.AccessKeyID || inc.OldKeyID != f.oldID || inc.OldDeleted || stored.AccessKeyID == f.oldID {
			t.Errorf("IncompleteError %+v; store holds %s", inc.Result, stored.AccessKeyID)
		}
		if !strings.Contains(err.Error(), "new key "+stored.AccessKeyID) || !strings.Contains(err.Error(), "old key "+f.oldID+" of IAM user dave is still active") {
			t.Errorf("message does not name both keys: %v", err)
		}
		if got := f.iamKeys(t); !slices.Equal(got, sorted(f.oldID, stored.AccessKeyID)) {
			t.Errorf("IAM keys: %v, want both", got)
		}
	})

	t.Run("store and the delete of the new key fail: a StrayKeyError names it", func(t *testing.T) {
		f := newFixture(t, m, "erin")
		f.denyDelete(t)
		storeErr := errors.New("keyring locked")
		f.store.failSet = storeErr
		_, err := f.rotator.Rotate(ctx)
		var stray *rotate.StrayKeyError
		if !errors.As(err, &stray) || !errors.Is(err, storeErr) || stray.Stored != f.oldID || stray.User != "erin" {
			t.Fatalf("Rotate: %v (%+v), want a StrayKeyError", err, stray)
		}
		if !strings.Contains(stray.DeleteErr.Error(), "AccessDenied") {
			t.Errorf("DeleteErr %v, want IAM's AccessDenied", stray.DeleteErr)
		}
		if got := f.iamKeys(t); !slices.Equal(got, sorted(f.oldID, stray.KeyID)) {
			t.Errorf("IAM keys: %v, want the old and the stray %s", got, stray.KeyID)
		}
		if stored, _ := f.store.Keys("work"); stored != f.oldKey {
			t.Errorf("store holds %s, want the old key", stored.AccessKeyID)
		}
	})

	t.Run("delete of the old key fails: retried, then the new key is kept", func(t *testing.T) {
		f := newFixture(t, m, "frank")
		f.denyDelete(t)
		f.rotator.Wait = 1500 * time.Millisecond
		_, err := f.rotator.Rotate(ctx)
		var inc *rotate.IncompleteError
		if !errors.As(err, &inc) || !strings.Contains(err.Error(), "DeleteAccessKey "+f.oldID) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("Rotate: %v, want an IncompleteError of the delete", err)
		}
		stored, _ := f.store.Keys("work")
		if inc.NewKeyID != stored.AccessKeyID || stored.AccessKeyID == f.oldID || !f.works(t, stored) || !f.works(t, f.oldKey) {
			t.Errorf("IncompleteError %+v; store holds %s; want the new key stored and both working", inc.Result, stored.AccessKeyID)
		}
		retries := 0
		for _, e := range f.events {
			if e.Step == rotate.Retrying {
				retries++
				if !strings.Contains(e.Err.Error(), "AccessDenied") {
					t.Errorf("Retrying event's error: %v", e.Err)
				}
			}
		}
		if retries == 0 {
			t.Error("the delete was not retried")
		}
		if got, want := f.steps(), []rotate.Step{rotate.Checked, rotate.Created, rotate.Stored, rotate.Accepted}; !slices.Equal(got, want) {
			t.Errorf("steps %v, want %v", got, want)
		}
	})

	t.Run("cancelled after the store: the new key is kept, the old one stays active", func(t *testing.T) {
		f := newFixture(t, m, "grace")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		progress := f.rotator.Progress
		f.rotator.Progress = func(e rotate.Event) {
			progress(e)
			if e.Step == rotate.Stored {
				cancel()
			}
		}
		start := time.Now()
		_, err := f.rotator.Rotate(ctx)
		var inc *rotate.IncompleteError
		if !errors.As(err, &inc) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Rotate: %v, want an IncompleteError wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the cancelled rotation took %v", d)
		}
		stored, _ := f.store.Keys("work")
		if inc.NewKeyID != stored.AccessKeyID || stored.AccessKeyID == f.oldID {
			t.Errorf("IncompleteError %+v; store holds %s", inc.Result, stored.AccessKeyID)
		}
		if got := f.iamKeys(t); !slices.Equal(got, sorted(f.oldID, stored.AccessKeyID)) {
			t.Errorf("IAM keys: %v, want both", got)
		}
		// DeleteOld finishes the rotation.
		if _, err := f.rotator.DeleteOld(context.Background(), f.oldID); err != nil {
			t.Fatal(err)
		}
		if got := f.iamKeys(t); !slices.Equal(got, []string{stored.AccessKeyID}) {
			t.Errorf("IAM keys after DeleteOld: %v", got)
		}
	})

	t.Run("a stored key STS refuses is not rotated", func(t *testing.T) {
		f := newFixture(t, m, "heidi")
		bad := f.oldKey
		bad.SecretAccessKey += "x"
		f.store.keys["work"] = bad
		_, err := f.rotator.Rotate(ctx)
		if err == nil || !strings.Contains(err.Error(), "stored key "+f.oldID+" of profile work does not work") || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
			t.Fatalf("Rotate with a bad secret: %v", err)
		}
		if strings.Contains(err.Error(), bad.SecretAccessKey) {
			t.Error("the error holds the secret")
		}
		if got := f.iamKeys(t); !slices.Equal(got, []string{f.oldID}) {
			t.Errorf("IAM keys: %v", got)
		}
	})

	t.Run("no stored key", func(t *testing.T) {
		f := newFixture(t, m, "ivan")
		f.rotator.Profile = "nosuch"
		if _, err := f.rotator.Rotate(ctx); !errors.Is(err, rotate.ErrNoStoredKey) {
			t.Fatalf("Rotate of a profile without a key: %v", err)
		}
	})

	t.Run("IAMSigner signs the IAM calls, and its error stops the rotation", func(t *testing.T) {
		f := newFixture(t, m, "judy")
		sentinel := errors.New("no MFA code")
		var got creds.Credentials
		f.rotator.IAMSigner = func(_ context.Context, old creds.Credentials) (creds.Credentials, error) {
			got = old
			return creds.Credentials{}, sentinel
		}
		if _, err := f.rotator.Rotate(ctx); !errors.Is(err, sentinel) {
			t.Fatalf("Rotate: %v", err)
		}
		if got != f.oldKey {
			t.Errorf("IAMSigner got %s, want the stored key", got.AccessKeyID)
		}
		if keys := f.iamKeys(t); !slices.Equal(keys, []string{f.oldID}) {
			t.Errorf("IAM keys: %v", keys)
		}
	})
}
