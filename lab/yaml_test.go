package lab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const yamlSeed = `# A seed in the YAML subset.
---
account_id: "111122223333"
users:
  - name: alice   # the admin
    access_keys:
      - access_key_id: AKIAALICE0000000TEST
        secret_access_key: 'it''s a secret'
    mfa_secret: JBSWY3DPEHPK3PXPJBSWY3DP
roles:
- name: deploy
  max_session_duration: 7200
  trust_policy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Action:
          - sts:AssumeRole
        Principal:
          AWS: arn:aws:iam::111122223333:root
        Condition:
          Bool:
            aws:MultiFactorAuthPresent: true
          StringEquals:
            "sts:ExternalId": "x#1"
`

const jsonSeed = `{
  "account_id": "111122223333",
  "users": [{"name": "alice", "access_keys": [{"access_key_id": "AKIAALICE0000000TEST", "secret_access_key": "it's a secret"}], "mfa_secret": "JBSWY3DPEHPK3PXPJBSWY3DP"}],
  "roles": [{"name": "deploy", "max_session_duration": 7200, "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"],
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": true}, "StringEquals": {"sts:ExternalId": "x#1"}}}]}}]
}`

func TestYAMLSeedMatchesJSON(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seed.yaml"), []byte(yamlSeed), 0o600)
	y, err := LoadSeed(filepath.Join(dir, "seed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseSeed("seed.json", []byte(jsonSeed))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		yb, _ := json.Marshal(y)
		jb, _ := json.Marshal(j)
		t.Errorf("YAML and JSON seeds differ:\n%s\n%s", yb, jb)
	}
}

func TestYAMLErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"users: [a, b]\n", "s.yaml:1:1: flow collections ([...) are not supported"},
		{"a: 1\nb: |\n  text\n", "s.yaml:2:1: block scalars (|) are not supported"},
		{"a: &x 1\n", "s.yaml:1:1: anchors and aliases (&) are not supported"},
		{"a: !!str 1\n", "s.yaml:1:1: tags (!) are not supported"},
		{"a: 1\n\tb: 2\n", "s.yaml:2:1: a tab in indentation"},
		{"a: 1\na: 2\n", `s.yaml:2:1: key "a" appears twice`},
		{"a:\n  b: 1\n    c: 2\n", "s.yaml:3:1: unexpected indentation (4 spaces, the mapping is at 2)"},
		{"a: 1\n---\nb: 2\n", "s.yaml:2:1: multiple YAML documents are not supported"},
		{"a: 'open\n", "s.yaml:1:1: unterminated '-quoted string"},
		{"a: b: c\n", "s.yaml:1:1: a mapping is not allowed here"},
		{"just text\n", `s.yaml:1:1: expected "key: value", found "just text"`},
		{"account_id: 000000000000\n", "s.yaml: $.account_id: must be a string, not a number"},
		{"# nothing\n", "s.yaml:1:1: the document is empty"},
	} {
		f := filepath.Join(t.TempDir(), "s.yaml")
		os.WriteFile(f, []byte(c.doc), 0o600)
		_, err := LoadSeed(f)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.doc, err, c.want)
		}
	}
}
