package execrun

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A command that is missing and one that cannot be executed are told
// apart, whether LookPath or the start of the child finds out.
func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want error
	}{
		{"credkit-no-such-command", ErrNotFound},
		{filepath.Join(dir, "missing"), ErrNotFound},
		{plain, ErrNotExecutable},
		{dir, ErrNotExecutable},
	} {
		if _, err := LookPath(tc.name); !errors.Is(err, tc.want) {
			t.Errorf("LookPath(%s): %v, want %v", tc.name, err, tc.want)
		}
		if err := RunChild(tc.name, []string{tc.name}, nil, nil, nil, nil); !errors.Is(err, tc.want) {
			t.Errorf("RunChild(%s): %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := LookPath("sh"); err != nil {
		t.Errorf("LookPath(sh): %v", err)
	}
}
