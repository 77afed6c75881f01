package lab

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const yamlSeed = `# A seed in YAML.
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
  trust_policy: &trust
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
- name: deploy-too
  trust_policy: *trust
instance_role: deploy
`

const jsonSeed = `{
  "account_id": "111122223333",
  "users": [{"name": "alice", "access_keys": [{"access_key_id": "AKIAALICE0000000TEST", "secret_access_key": "it's a secret"}], "mfa_secret": "JBSWY3DPEHPK3PXPJBSWY3DP"}],
  "roles": [{"name": "deploy", "max_session_duration": 7200, "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"],
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": true}, "StringEquals": {"sts:ExternalId": "x#1"}}}]}},
	{"name": "deploy-too", "trust_policy": "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\", \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"}, \"Condition\": {\"Bool\": {\"aws:MultiFactorAuthPresent\": \"true\"}, \"StringEquals\": {\"sts:ExternalId\": \"x#1\"}}}]}"}],
  "instance_role": "deploy"
}`

// A YAML seed (comments, quoting styles, an anchor) and a JSON seed
// (tabs, a trust policy given as a JSON string) say the same.
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
	want := &Seed{
		AccountID: "111122223333",
		Users:     []SeedUser{{Name: "alice", AccessKeys: []AccessKey{{"AKIAALICE0000000TEST", "it's a secret"}}, MFASecret: "JBSWY3DPEHPK3PXPJBSWY3DP"}},
		Roles: []SeedRole{
			{Name: "deploy", MaxSessionDuration: 2 * time.Hour, TrustPolicy: y.Roles[0].TrustPolicy},
			{Name: "deploy-too", TrustPolicy: y.Roles[0].TrustPolicy},
		},
		InstanceRole: "deploy",
	}
	if !reflect.DeepEqual(y, want) {
		t.Errorf("seed %+v, want %+v", y, want)
	}
	st := y.Roles[0].TrustPolicy.Statements
	var conds []string
	for _, c := range st[0].Conditions {
		conds = append(conds, c.Op+" "+c.Key+" "+strings.Join(c.Values, ","))
	}
	wantConds := []string{"Bool aws:MultiFactorAuthPresent true", "StringEquals sts:ExternalId x#1"}
	if len(st) != 1 || st[0].Effect != "Allow" || !reflect.DeepEqual(conds, wantConds) || !reflect.DeepEqual(st[0].Principal.Values, map[string][]string{"AWS": {"arn:aws:iam::111122223333:root"}}) {
		t.Errorf("trust policy %+v", st)
	}
}

// Every error names the file and the line, and for a wrong value its
// path; unknown fields are refused.
func TestSeedErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"s.json", `{"account_id": "12"}`, `s.json:1: $.account_id: must be 12 digits, not "12"`},
		{"s.json", "{\n  \"users\": [\n    {\"name\": \"a\",\n     \"acces_keys\": []}]}", `s.json:4: $.users[0].acces_keys: unknown field (known: name, access_keys, mfa_secret, require_mfa, policies, permissions_boundary)`},
		{"s.yaml", "users:\n  - name: a\n    require_mfa: yes\n", `s.yaml:3: $.users[0].require_mfa: must be true or false, not yes`},
		{"s.yaml", "users:\n  - name: a\n    require_mfa: true\n", `s.yaml:3: $.users[0].require_mfa: user "a" has no MFA device (mfa_secret) to satisfy it`},
		{"s.yaml", "users:\n- name: a\n  access_keys:\n  - access_key_id: ASIAXXXXXXXXXXXXXXXX\n    secret_access_key: s\n", `s.yaml:4: $.users[0].access_keys[0].access_key_id: "ASIAXXXXXXXXXXXXXXXX" is not a long-term access key id`},
		{"s.yaml", "users:\n- name: a\n  mfa_secret: \"0189\"\n", `s.yaml:3: $.users[0].mfa_secret: must be a base32 TOTP secret`},
		{"s.yaml", "roles:\n- name: r\n  trust_policy:\n    Statement:\n    - Effect: allow\n      Action: sts:AssumeRole\n      Principal: '*'\n", `s.yaml:5: $.roles[0].trust_policy.Statement[0].Effect: must be "Allow" or "Deny", not "allow"`},
		{"s.yaml", "roles:\n- name: r\n  trust_policy:\n    Statement:\n    - Effect: Allow\n      Action: sts:AssumeRole\n      Principal: {AWS: '*'}\n      Condition:\n        IpAdress: {}\n", `s.yaml:9: $.roles[0].trust_policy.Statement[0].Condition.IpAdress: unknown condition operator`},
		{"s.yaml", "roles:\n- name: r\n  max_session_duration: 60\n  trust_policy: {Statement: []}\n", `s.yaml:3: $.roles[0].max_session_duration: 60 seconds is outside IAM's range 3600 to 43200`},
		{"s.yaml", "roles:\n- name: r\n  max_session_duration: 3600.5\n  trust_policy: {Statement: []}\n", `s.yaml:3: $.roles[0].max_session_duration: must be a whole number, not 3600.5`},
		{"s.yaml", "users: []\nroles:\n- name: r\n", `s.yaml:3: $.roles[0].trust_policy: is required`},
		{"s.yaml", "roles:\n- name: r\n  trust_policy:\n    Statement:\n      Effect: Allow\n      Action: 3\n      Principal: '*'\n", `s.yaml:6: $.roles[0].trust_policy.Statement.Action: must be a string or a list of strings, not a number`},
		{"s.yaml", "roles:\n- name: r\n  trust_policy: '{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\", \"Principal\": \"me\"}}'\n", `s.yaml:3: $.roles[0].trust_policy.Statement.Principal: must be "*" or an object`},
		{"s.yaml", "roles:\n- name: r\n  trust_policy: '{\"Statement\": '\n", `s.yaml:3: $.roles[0].trust_policy: is a string but not a JSON policy document`},
		{"s.yaml", "account_id: 000000000000\n", "s.yaml:1: $.account_id: must be a string, not a number"},
		{"s.yaml", "instance_role: ghost\n", `s.yaml:1: $.instance_role: role "ghost" is not among $.roles`},
		{"s.yaml", "- a\n- b\n", `s.yaml:1: $: must be an object, not a list`},
		{"s.yaml", "account_id: \"111122223333\"\nusers: []\naccount_id: \"111122223334\"\n", `s.yaml:3: mapping key "account_id" already defined at [1:1]`},
		{"s.yaml", "users:\n  - name: a\n   access_keys: []\n", `s.yaml:3: value is not allowed in this context`},
		{"s.yaml", "account_id: 'open\n", "s.yaml:1: could not find end character of single-quoted text"},
		{"s.yaml", "account_id: \"111122223333\"\n---\nusers: []\n", "s.yaml:3: a second YAML document: a seed is one document"},
		{"s.yaml", "# nothing\n", "s.yaml:1: the seed is empty"},
		{"s.yaml", "users: *nowhere\n", `s.yaml:1: could not find alias "nowhere"`},
		{"s.json", "{\n  \"account_id\": \"000000000000\",\n  \"users\": [,]\n}", `s.json:3: expected sequence element, but found ','`},
		{"s.json", "{\"users\": [", `s.json:1: sequence end token ']' not found`},
	} {
		_, err := ParseSeed(c.name, []byte(c.doc))
		var se *SeedError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.doc, err, c.want)
		}
	}
}

// LoadSeed names the file by its base name, and says when it cannot be
// read.
func TestLoadSeedFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "account.yml")
	os.WriteFile(f, []byte("account_id: \"111122223333\"\nroles:\n- name: r\n  trust_policy:\n    Statement:\n    - Effect: Allow\n      Action: sts:AssumeRole\n      Principal: '*'\n      Sid: 1\n"), 0o600)
	_, err := LoadSeed(f)
	if err == nil || err.Error() != "account.yml:9: $.roles[0].trust_policy.Statement[0].Sid: must be a string, not a number" {
		t.Errorf("got %v", err)
	}
	if _, err := LoadSeed(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// Whatever the file holds, ParseSeed does not panic, and an error is a
// SeedError naming the file and a line.
func FuzzParseSeed(f *testing.F) {
	f.Add([]byte(yamlSeed))
	f.Add([]byte(jsonSeed))
	f.Add([]byte("users:\n  - name: a\n   access_keys: []\n"))
	f.Add([]byte("roles:\n- name: r\n  trust_policy: '{\"Statement\": '\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n...\n---\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, err := ParseSeed("f.yaml", doc)
		if err == nil {
			return
		}
		var se *SeedError
		if !errors.As(err, &se) || se.File != "f.yaml" || se.Line < 1 || !strings.HasPrefix(err.Error(), "f.yaml:") {
			t.Fatalf("%q: error without file and line: %v", doc, err)
		}
	})
}
