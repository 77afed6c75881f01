package sso

import (
	"strings"
	"testing"
)

func TestPopulateKeepsHandWrittenProfilesAndPrunesItsOwn(t *testing.T) {
	s := &Session{Name: "corp", StartURL: "https://d-1.awsapps.com/start", Region: "eu-west-1"}
	config := `# my config
[default]
region = eu-west-1

# my own dev profile
[profile prod-Admin]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin

[sso-session corp]
sso_start_url = https://d-1.awsapps.com/start
sso_region = eu-west-1
`
	roles := []Role{
		{AccountID: "111122223333", AccountName: "prod", RoleName: "Admin"},
		{AccountID: "111122223333", AccountName: "prod", RoleName: "Read Only"},
		{AccountID: "444455556666", AccountName: "dev", RoleName: "Admin"},
		{AccountID: "777788889999", AccountName: "dev", RoleName: "Admin"},
	}
	text, changes := Populate(config, s, roles, PopulateOptions{})
	if !strings.HasPrefix(text, config) {
		t.Fatalf("the hand-written part changed:\n%s", text)
	}
	var names []string
	for _, c := range changes {
		if c.Kept {
			names = append(names, "kept:"+c.Name)
		} else {
			names = append(names, c.Name)
		}
	}
	if got := strings.Join(names, ","); got != "kept:prod-Admin,prod-Read-Only,dev-444455556666-Admin,dev-777788889999-Admin" {
		t.Fatalf("changes %s", got)
	}
	if !strings.Contains(text, PopulateMarker+" (sso-session corp)\n[profile prod-Read-Only]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Read Only\nregion = eu-west-1\n") {
		t.Fatalf("profile text:\n%s", text)
	}
	// Again: nothing changes.
	again, changes := Populate(text, s, roles, PopulateOptions{})
	if again != text || len(changes) != 1 || !changes[0].Kept {
		t.Fatalf("a second run changed %v:\n%s", changes, again)
	}
	// A role gone: kept without --prune, removed with it; nothing else moves.
	fewer := []Role{roles[0], roles[2], roles[3]}
	kept, changes := Populate(text, s, fewer, PopulateOptions{})
	if kept != text || len(changes) != 1 {
		t.Fatalf("without --prune: %v", changes)
	}
	pruned, changes := Populate(text, s, fewer, PopulateOptions{Prune: true})
	if strings.Contains(pruned, "Read-Only") || !strings.Contains(pruned, "[profile dev-777788889999-Admin]") || !strings.HasPrefix(pruned, config) || len(changes) != 2 || changes[1].Name != "prod-Read-Only" || changes[1].New != "" {
		t.Fatalf("pruned %v:\n%s", changes, pruned)
	}
}
