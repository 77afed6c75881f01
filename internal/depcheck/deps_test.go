// Package depcheck holds a test of the project's import rules: which
// packages may depend on what. It has no code of its own.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"slices"
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
	"awsconfig": {"creds", "internal/awsenv"},
	"source":    {"creds", "awsconfig", "awssdk", "internal/atomicfile", "internal/awsenv", "internal/awserror", "internal/sessioncache", awsSDK, smithy},
	// Identity Center sign-in: SSO-OIDC and the portal through
	// aws-sdk-go-v2, the token cache as source keeps it.
	"sso": {"creds", "source", "awsconfig", "awssdk", "internal/atomicfile", "internal/awsenv", "internal/awserror", "internal/sessioncache", awsSDK, smithy},
	// The rules for reading the AWS environment that the chain and the
	// session cache share: the standard library only.
	"internal/awsenv": {},
	// The decoder of AWS error answers, shared by source and the CLI:
	// standard library only.
	"internal/awserror": {},
	// The aws.CredentialsProvider adapters, both ways.
	"awssdk": {"creds", awsSDK, smithy},
	// server: the standard library's net/http and creds, nothing else.
	"server": {"creds"},
	// The IAM policy language: standard library only.
	"policy": {},
	// Roles read from IAM and checked with the policy engine.
	"policy/roles": {"policy", "creds", "source", "awsconfig", "awssdk", "internal/atomicfile", "internal/awsenv", "internal/awserror", "internal/sessioncache", awsSDK, smithy},
	// Key rotation: IAM and STS through aws-sdk-go-v2, API errors read
	// as source reads them.
	"rotate": {"creds", "source", "awsconfig", "awssdk", "internal/atomicfile", "internal/awsenv", "internal/awserror", "internal/sessioncache", awsSDK, smithy},
	// Console sign-in URLs: STS through source, the federation endpoint
	// on net/http.
	"console": {"creds", "source", "awsconfig", "awssdk", "internal/atomicfile", "internal/awsenv", "internal/awserror", "internal/sessioncache", awsSDK, smithy},
	"lab":     {"creds", "sigv4", "server", "policy", "internal/sessioncache", "internal/atomicfile", "internal/awsenv", goYAML},
	// Refusals explained: the policy engine, AWS error documents read by
	// awserror, and IAM and STS read-only calls through aws-sdk-go-v2.
	"internal/explain": {"policy", "internal/awserror", awsSDK, smithy},
	// vault: 99designs/keyring and what its backends need (D-Bus for
	// secret-service and kwallet, jose2go for the encrypted file backend,
	// x/sys and x/term for keyctl and passphrase prompts).
	"vault": append([]string{"creds", "internal/atomicfile", "internal/awsenv", "internal/keyring"}, keyring...),
	// The one writer of private files: standard library only, no network
	// code (credkit-process links it through internal/sessioncache).
	"internal/atomicfile": {},
	// credkit-process and what it links: no package outside the module,
	// no AWS SDK, no keyring. execrun gets the full chain from the CLI as
	// a function.
	"internal/sessioncache": {"creds", "internal/atomicfile", "internal/awsenv"},
	"internal/execrun":      {"creds", "server", "internal/atomicfile", "internal/awsenv", "internal/sessioncache"},
	"cmd/credkit-process":   {"creds", "internal/atomicfile", "internal/awsenv", "internal/sessioncache"},
	// The IAM-auth database proxy: tokens from rdsauth, the PostgreSQL
	// wire from pgx's pgproto3, metrics from the Prometheus client.
	"dbproxy": append([]string{"creds", "sigv4", "rdsauth", goYAML, "github.com/jackc/pgx/v5/"}, prometheusClient...),
	// Its MySQL engine: the connection phase by hand, so nothing beyond
	// dbproxy and what dbproxy brings (no MySQL library).
	"dbproxy/mysql": append([]string{"dbproxy", "creds", "sigv4", "rdsauth", goYAML, "github.com/jackc/pgx/v5/"}, prometheusClient...),
}

// prometheusClient is prometheus/client_golang with its own dependencies.
var prometheusClient = []string{
	"github.com/prometheus/", "github.com/beorn7/perks", "github.com/cespare/xxhash/",
	"github.com/munnerz/goautoneg", "google.golang.org/protobuf/", "golang.org/x/sys/",
}

// keyring is 99designs/keyring with its own dependencies.
var keyring = []string{
	"github.com/99designs/", "github.com/danieljoos/wincred", "github.com/dvsekhvalnov/jose2go",
	"github.com/godbus/dbus", "github.com/gsterjov/go-libsecret", "github.com/mtibben/percent",
	"golang.org/x/sys", "golang.org/x/term",
}

// Module prefixes: aws-sdk-go-v2 is used for AWS API clients only.
const (
	awsSDK = "github.com/aws/aws-sdk-go-v2/"
	smithy = "github.com/aws/smithy-go"
	goYAML = "github.com/goccy/go-yaml"
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
				if !inModule || !slices.Contains(ok, rel) {
					t.Errorf("%s depends on %s; allowed outside the standard library: %v", pkg, p.ImportPath, ok)
				}
			}
		})
	}
}

// Only cmd/credkit may import the CLI.
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

// credkit-process starts in a few milliseconds only because it links no
// network code, TLS or user database: net/http and crypto/tls alone cost
// a Go binary more start-up time than a whole warm credential_process
// answer. (The package list above keeps the AWS SDK and the keyring out;
// credkit itself links net/http: exec's endpoint is served by package
// server on net/http.)
func TestProcessLinksNoNetwork(t *testing.T) {
	const cmd = "cmd/credkit-process"
	out, err := exec.Command("go", "list", "-deps", "../../"+cmd).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, module+"/internal/sessioncache") {
		t.Fatalf("go list -deps %s said %q: is this test still looking at the right binary?", cmd, out)
	}
	for _, p := range deps {
		if p == "net" || strings.HasPrefix(p, "net/") || p == "crypto/tls" || p == "os/user" || p == "mime" {
			t.Errorf("%s depends on %s", cmd, p)
		}
	}
}

func allowedPrefix(list []string, path string) bool {
	for _, x := range list {
		if !strings.HasPrefix(x, module) && strings.Contains(x, ".") && strings.HasPrefix(path, x) {
			return true
		}
	}
	return false
}
