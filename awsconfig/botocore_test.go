package awsconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

// botocoreScript reads a JSON list of [config, credentials] path pairs on
// stdin and prints, for each pair, what botocore's session makes of them
// (Session.full_config: configloader.load_config on the config file, then
// raw_config_parse on the credentials file, merged key by key) or the name
// of the exception it raised. Paths and contents never travel in argv.
const botocoreScript = `
import json, sys
import botocore.session

def read(cfg, cred):
    s = botocore.session.Session()
    s.set_config_variable('config_file', cfg)
    s.set_config_variable('credentials_file', cred)
    try:
        c = s.full_config
    except Exception as e:
        return {'error': type(e).__name__}
    return {
        'profiles': c.get('profiles', {}),
        'sso_sessions': c.get('sso_sessions', {}),
        'services': c.get('services', {}),
    }

pairs = json.load(sys.stdin)
json.dump([read(cfg, cred) for cfg, cred in pairs], sys.stdout)
`

// parsed is the common shape of botocore's and credkit's reading of a pair
// of files: section kind -> name -> key -> string or map of strings.
type parsed struct {
	Error       string                    `json:"error,omitempty"`
	Profiles    map[string]map[string]any `json:"profiles,omitempty"`
	SSOSessions map[string]map[string]any `json:"sso_sessions,omitempty"`
	Services    map[string]map[string]any `json:"services,omitempty"`
}

// runBotocore reads every pair with botocore.
func runBotocore(t *testing.T, pairs [][2]string) []parsed {
	t.Helper()
	python := testpeer.Python(t)
	in, err := json.Marshal(pairs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", botocoreScript)
	cmd.Env = testpeer.IsolatedAWSEnv()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v\n%s", err, stderr.String())
	}
	var res []parsed
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("botocore output: %v", err)
	}
	if len(res) != len(pairs) {
		t.Fatalf("botocore answered %d of %d pairs", len(res), len(pairs))
	}
	for i := range res {
		res[i].normalise()
	}
	return res
}

// normalise drops empty maps so that nil and {} compare equal.
func (p *parsed) normalise() {
	for _, m := range []*map[string]map[string]any{&p.Profiles, &p.SSOSessions, &p.Services} {
		if len(*m) == 0 {
			*m = nil
		}
	}
}

// readWithCredkit reads a pair of files with Load.
func readWithCredkit(cfg, cred string) parsed {
	f, err := Load(Options{ConfigFile: cfg, CredentialsFile: cred, Getenv: fakeEnv{}.get, HomeDir: "/nonexistent"})
	if err != nil {
		return parsed{Error: err.Error()}
	}
	sec := func(s *Section) map[string]any {
		m := map[string]any{}
		for _, k := range s.Keys() {
			if n, ok := s.Nested(k); ok {
				mm := map[string]any{}
				for sk, sv := range n {
					mm[sk] = sv
				}
				m[k] = mm
				continue
			}
			m[k], _ = s.Get(k)
		}
		return m
	}
	var p parsed
	for _, n := range f.ProfileNames() {
		pr, _ := f.Profile(n)
		if p.Profiles == nil {
			p.Profiles = map[string]map[string]any{}
		}
		p.Profiles[n] = sec(&pr.Section)
	}
	for _, n := range f.SSOSessionNames() {
		s, _ := f.SSOSession(n)
		if p.SSOSessions == nil {
			p.SSOSessions = map[string]map[string]any{}
		}
		p.SSOSessions[n] = sec(s)
	}
	for _, n := range f.ServicesNames() {
		s, _ := f.Services(n)
		if p.Services == nil {
			p.Services = map[string]map[string]any{}
		}
		p.Services[n] = sec(s)
	}
	return p
}

// botocoreCases are files whose reading depends on the fine print of the
// rules. differs, when set, says why credkit deliberately reads the pair
// differently from botocore.
var botocoreCases = []struct {
	name          string
	config, creds string
	differs       string
}{
	{
		name: "DEFAULT, profile prefixes, quoting, nested blocks",
		config: `[DEFAULT]
output = json
[default]
region = us-east-1 # inline
Aws_Access_Key_Id: AKIDX
[profiles y]
a = 1
[profile "my prof"]
s3 =
  Max_Concurrent = 10 ; x

  # comment
  b=2
multi = a
  b
   c
[profile a b]
x=1
[ profile z ]
k = v
[profile]
k = v
[profile "unterminated]
k = v
[profile 'q \" x']
k = v
[sso-session s]
sso_region = us-east-1
[services svc]
s3 =
  endpoint_url = http://x
[plugins]
p = q
`,
		creds: "[DEFAULT]\nregion = eu-north-1\n[default]\naws_secret_access_key = s1\n[profile c]\nk = 1\n[y]\nb = 2\n",
	},
	{
		name:   "credentials win key by key",
		config: "[profile dev]\nregion = eu-west-1\naws_access_key_id = A1\naws_secret_access_key = S1\ns3 =\n  a = 1\n",
		creds:  "[dev]\naws_access_key_id = A2\ns3 = flat\n[other]\nx = y\n",
	},
	{
		name:   "[default] then [profile default]",
		config: "[default]\nregion = a\nonly_in_first = 1\n[profile default]\nregion = b\n",
		creds:  "",
	},
	{
		name:   "[profile default] then [default]",
		config: "[profile default]\nregion = b\n[default]\nregion = a\n",
		creds:  "",
	},
	{
		name:   "delimiters, comments, quotes and headers",
		config: "; c\n# c\n[profile d]\na:b = c\nd = e:f\ng := h\n  # indented comment\ni = \"j\"\nk = 'l' ; m\n\n\n[profile w] ; trailing\nx = 1\n[profile v]]\ny = 2\n",
		creds:  "[a]\n  [b]\n",
	},
	{
		name:   "continuation lines and indentation",
		config: "  [profile i]\n  a = 1\n  b = 2\n   c\n\td\nc = x\n  [not a header]\n  k = v\n\n\n  tail\n[profile j]\ne =\n\n\n",
		creds:  "",
	},
	{
		name:   "line ends and unusual whitespace",
		config: "[profile n]\r\na = 1\r\nb = 2\rc = 3\x0c\nd = \x1c4\x1d\n\te =\n",
		creds:  "",
	},
	{name: "empty files", config: "", creds: ""},
	{name: "comments only", config: "# nothing\n; here\n", creds: "\n\n"},
	{name: "only DEFAULT", config: "[DEFAULT]\nregion = x\n", creds: "[DEFAULT]\nk = v\n"},
	{name: "unicode names and keys", config: "[profile café]\nRÉGION = ü\n", creds: "[ñ]\nX = 1\n"},
	{name: "unterminated section header", config: "[default]\nregion = x\n[profile x\nregion = y\n", creds: ""},
	{name: "duplicate section", config: "[profile a]\n[profile a]\n", creds: ""},
	{name: "duplicate key", config: "", creds: "[a]\nk = 1\nK = 2\n"},
	{name: "malformed nested block in DEFAULT, no sections", config: "[DEFAULT]\nregion =\n   cont\n", creds: ""},
	{name: "malformed nested block in DEFAULT, one section", config: "[DEFAULT]\nregion =\n   cont\n[x]\n", creds: ""},
	{name: "duplicate key in DEFAULT", config: "[DEFAULT]\nk = 1\n[x]\n[DEFAULT]\nk = 2\n", creds: ""},
	{name: "nested line without =", config: "[profile a]\ns3 =\n  k: v\n", creds: ""},
	{name: "text before the first section", config: "k = v\n[profile a]\n", creds: ""},
	{name: "empty key", config: "[profile a]\n: v\n", creds: ""},
	{name: "empty section name", config: "[]\n", creds: ""},
	{name: "line without delimiter", config: "", creds: "[a]\nnot a key\n"},
	{name: "invalid UTF-8", config: "[profile a]\nk = \xff\n", creds: ""},
	{
		name:    "byte order mark",
		config:  "\ufeff[default]\nregion = x\n",
		creds:   "",
		differs: "botocore cannot parse a file with a byte order mark; credkit skips the mark and warns",
	},
}

func TestBotocoreAgrees(t *testing.T) {
	dir := t.TempDir()
	var pairs [][2]string
	for i, tc := range botocoreCases {
		pairs = append(pairs, writePair(t, dir, fmt.Sprint(i), tc.config, tc.creds))
	}
	want := runBotocore(t, pairs)
	for i, tc := range botocoreCases {
		t.Run(tc.name, func(t *testing.T) {
			got := readWithCredkit(pairs[i][0], pairs[i][1])
			if tc.differs != "" {
				if sameReading(got, want[i]) {
					t.Errorf("credkit now reads this like botocore; drop the note %q", tc.differs)
				}
				return
			}
			if !sameReading(got, want[i]) {
				t.Errorf("credkit and botocore differ\ncredkit:  %s\nbotocore: %s", jsonOf(got), jsonOf(want[i]))
			}
		})
	}
}

// TestBotocoreAgreesRandom builds files from fragments that exercise the
// rules' corners and checks that credkit and botocore read each the same.
func TestBotocoreAgreesRandom(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 50
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var pairs [][2]string
	var contents [][2]string
	for i := range n {
		c, k := randomINI(rng, true), randomINI(rng, false)
		contents = append(contents, [2]string{c, k})
		pairs = append(pairs, writePair(t, dir, fmt.Sprint(i), c, k))
	}
	want := runBotocore(t, pairs)
	errs, diffs := 0, 0
	for i := range pairs {
		got := readWithCredkit(pairs[i][0], pairs[i][1])
		if got.Error != "" {
			errs++
		}
		if !sameReading(got, want[i]) {
			t.Errorf("file pair %d: credkit and botocore differ\nconfig:\n%s\ncredentials:\n%s\ncredkit:  %s\nbotocore: %s",
				i, contents[i][0], contents[i][1], jsonOf(got), jsonOf(want[i]))
			if diffs++; diffs == 5 {
				t.Fatal("stopping after 5 differences")
			}
		}
	}
	// The fragments should give both good and malformed files.
	if errs == 0 || errs == n {
		t.Errorf("%d of %d random pairs were malformed; the generator needs a better mix", errs, n)
	}
}

var (
	randomHeaders = []string{
		"[default]", "[profile default]", "[profile dev]", "[profile  dev]", `[profile "dev"]`, "[profiles dev]",
		"[profile a b]", "[ profile x ]", "[dev]", "[DEFAULT]", "[sso-session s]", "[services v]",
		"[profile dev] ; c", "  [profile ind]", "[Profile up]", "[profile 'q r']",
	}
	randomKeys   = []string{"region", "Region", "aws_access_key_id", "s3", "role_arn", "k", "a:b", "x y"}
	randomDelims = []string{" = ", "=", ": ", ":", " := ", " =: "}
	randomValues = []string{"us-east-1", "", "v # c", "v ; c", `"q"`, "arn:aws:iam::1:role/r", "a=b", " spaced ", "\t", "ü"}
	randomLines  = []string{
		"", "# comment", "; comment", "  # indented comment", "   cont", "  sub = 1", "\tsub2=2", "   ",
	}
	// randomBad are malformed lines, used now and then.
	randomBad = []string{"[profile x", "[]", "no delimiter", "  bad sub", "  sub: 3", "= v", "\xff"}
	randomEOL = []string{"\n", "\n", "\n", "\r\n", "\r"}
)

// randomINI makes a small file from the fragments above. Sections and keys
// repeat only now and then, so that most files are well formed.
func randomINI(rng *rand.Rand, config bool) string {
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var b strings.Builder
	eol := pick(randomEOL)
	headers := rng.Perm(len(randomHeaders))
	for i := range rng.IntN(4) {
		h := randomHeaders[headers[i]]
		if rng.IntN(40) == 0 {
			h = randomHeaders[headers[0]] // a duplicate section
		}
		if !config && rng.IntN(3) == 0 {
			h = fmt.Sprintf("[ci%d]", i)
		}
		b.WriteString(h + eol)
		keys := rng.Perm(len(randomKeys))
		for j := range rng.IntN(5) {
			switch rng.IntN(30) {
			case 0:
				b.WriteString(pick(randomBad) + eol)
			case 1, 2, 3, 4, 5, 6, 7, 8, 9:
				b.WriteString(pick(randomLines) + eol)
			default:
				indent := ""
				if rng.IntN(6) == 0 {
					indent = "  "
				}
				k := randomKeys[keys[j]]
				if rng.IntN(40) == 0 {
					k = strings.ToUpper(randomKeys[keys[0]]) // maybe a duplicate key
				}
				b.WriteString(indent + k + pick(randomDelims) + pick(randomValues) + eol)
			}
		}
	}
	return b.String()
}

func writePair(t *testing.T, dir, name, config, creds string) [2]string {
	t.Helper()
	c := filepath.Join(dir, name+".config")
	k := filepath.Join(dir, name+".credentials")
	if err := os.WriteFile(c, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	return [2]string{c, k}
}

// sameReading compares two readings: both failed, or both read the same
// sections and values. Error messages are not compared.
func sameReading(a, b parsed) bool {
	if (a.Error != "") || (b.Error != "") {
		return (a.Error != "") == (b.Error != "")
	}
	a.normalise()
	b.normalise()
	return reflect.DeepEqual(roundTrip(a), roundTrip(b))
}

// roundTrip gives both readings the same Go types (what encoding/json
// decodes).
func roundTrip(p parsed) any {
	var v any
	if err := json.Unmarshal([]byte(jsonOf(p)), &v); err != nil {
		panic(err)
	}
	return v
}

func jsonOf(p parsed) string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}
