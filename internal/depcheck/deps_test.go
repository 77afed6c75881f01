// Package depcheck holds a test of the project's import rules: which
// packages may depend on what. It has no code of its own.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/credkit/credkit"

// allowed lists, per package, the non-standard-library packages it may
// depend on (directly or not). Every library package is listed: a new one
// must state its rule here.
var allowed = map[string][]string{
	"creds":     {},
	"sigv4":     {"creds"},
	"rdsauth":   {"creds", "sigv4"},
	"awsconfig": {},
	"source":    {"creds", "awsconfig", awsSDK, smithy},
	"server":    {"creds"},
	"lab":       {"creds", "sigv4", "server"},
}

// Module prefixes: aws-sdk-go-v2 is used for AWS API clients only.
const (
	awsSDK = "github.com/aws/aws-sdk-go-v2/"
	smithy = "github.com/aws/smithy-go"
)

func TestImportRules(t *testing.T) {
	for pkg, ok := range allowed {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard", "../../"+pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			dec := json.NewDecoder(strings.NewReader(string(out)))
			for dec.More() {
				var p struct {
					ImportPath string
					Standard   bool
				}
				if err := dec.Decode(&p); err != nil {
					t.Fatal(err)
				}
				if p.Standard || p.ImportPath == module+"/"+pkg {
					continue
				}
				rel, inModule := strings.CutPrefix(p.ImportPath, module+"/")
				if !inModule && allowedPrefix(ok, p.ImportPath) {
					continue
				}
				if !inModule || !contains(ok, rel) {
					t.Errorf("%s depends on %s; allowed outside the standard library: %v", pkg, p.ImportPath, ok)
				}
			}
		})
	}
}

// Only cmd/credkit may import the CLI, and no library package imports
// anything under internal/ except test helpers in tests.
func TestNothingImportsTheCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == module+"/internal/cli" && f[0] != module+"/cmd/credkit" {
				t.Errorf("%s imports internal/cli; only cmd/credkit may", f[0])
			}
		}
	}
}

func allowedPrefix(list []string, path string) bool {
	for _, x := range list {
		if (x == awsSDK || x == smithy) && strings.HasPrefix(path, x) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
