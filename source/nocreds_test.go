package source

import (
	"context"
	"errors"
	"testing"

	"github.com/credkit/credkit/creds"
)

// Every way source finds no credentials is creds.ErrNoCredentials to
// errors.Is, so that one check in a caller covers them all.
func TestNoCredentialsIsCredsErrNoCredentials(t *testing.T) {
	files := loadFiles(t, "[profile empty]\nregion = eu-west-1\n"+
		"[profile fromenv]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n", absent)
	noEnv := fakeEnv{"AWS_EC2_METADATA_DISABLED": "true"}
	origins := map[string]func() error{
		"Profile of a profile without keys": func() error {
			_, err := Profile(files, "empty")
			return err
		},
		"Find with nothing anywhere": func() error {
			_, err := Find(noEnv.get, files, "")
			return err
		},
		"FromProfile of a profile without keys": func() error {
			_, err := FromProfile(files, "empty", ProfileOptions{Getenv: noEnv.get})
			return err
		},
		"credential_source Environment with the variables unset": func() error {
			pc, err := FromProfile(files, "fromenv", ProfileOptions{Getenv: noEnv.get})
			if err != nil {
				return err
			}
			_, err = pc.Root.Retrieve(context.Background())
			return err
		},
		"the default chain with no source configured": func() error {
			_, _, err := DefaultChain(ChainOptions{Getenv: noEnv.get, Files: files, Profile: ""}).Resolve(context.Background())
			return err
		},
	}
	for name, origin := range origins {
		t.Run(name, func(t *testing.T) {
			err := origin()
			if !errors.Is(err, creds.ErrNoCredentials) {
				t.Fatalf("err = %v; want one wrapping creds.ErrNoCredentials", err)
			}
		})
	}
}
