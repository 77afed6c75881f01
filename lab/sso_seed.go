package lab

import "slices"

// SSOSeed is the Identity Center side of a seed: who may sign in, and
// which account and role each user may get credentials for.
//
//	sso:
//	  user: alice                # who signs in on /authorize and the device page
//	  accounts: [{id: "000000000000", name: lab}]
//	  permission_sets:
//	    - {user: alice, role: lab-role}                    # the seed's account
//	    - {user: alice, account_id: "111122223333", role: ReadOnly}
//
// Without an sso section, DefaultUser (or the first user) may use every
// seeded role in the seed's account.
type SSOSeed struct {
	// User signs in; "" means the user of the first permission set.
	User string
	// Accounts name accounts (ListAccounts' accountName); an account of a
	// permission set without a name here is named after its id.
	Accounts []SSOAccount
	// PermissionSets are the assignments.
	PermissionSets []PermissionSet
}

// SSOAccount is an account the portal lists.
type SSOAccount struct {
	ID, Name, Email string
}

// PermissionSet lets User get credentials of Role in AccountID.
type PermissionSet struct {
	User, AccountID, Role string
}

// ssoSeed reads the sso section of a seed (s holds the parsed users and
// roles).
func (w *walker) ssoSeed(s *Seed, v any) SSOSeed {
	var out SSOSeed
	p := seedPath{}.key("sso")
	m := w.object(p, v, "user", "accounts", "permission_sets")
	if m == nil {
		return out
	}
	out.User = w.str(p.key("user"), m["user"], false)
	if out.User != "" && !nameRE().MatchString(out.User) {
		w.fail(p.key("user"), "%q is not a valid user name (1-64 of letters, digits and +=,.@_-)", out.User)
	}
	for i, a := range w.list(p.key("accounts"), m["accounts"]) {
		ap := p.key("accounts").index(i)
		am := w.object(ap, a, "id", "name", "email")
		if am == nil {
			break
		}
		acc := SSOAccount{ID: w.str(ap.key("id"), am["id"], true), Name: w.str(ap.key("name"), am["name"], false), Email: w.str(ap.key("email"), am["email"], false)}
		if acc.ID != "" && !accountRE().MatchString(acc.ID) {
			w.fail(ap.key("id"), "must be 12 digits, not %q", acc.ID)
		}
		out.Accounts = append(out.Accounts, acc)
	}
	for i, ps := range w.list(p.key("permission_sets"), m["permission_sets"]) {
		pp := p.key("permission_sets").index(i)
		pm := w.object(pp, ps, "user", "account_id", "role")
		if pm == nil {
			break
		}
		set := PermissionSet{User: w.str(pp.key("user"), pm["user"], true), AccountID: w.str(pp.key("account_id"), pm["account_id"], false), Role: w.str(pp.key("role"), pm["role"], true)}
		if set.AccountID == "" {
			set.AccountID = s.AccountID
		} else if !accountRE().MatchString(set.AccountID) {
			w.fail(pp.key("account_id"), "must be 12 digits, not %q", set.AccountID)
		}
		if set.Role != "" && !nameRE().MatchString(set.Role) {
			w.fail(pp.key("role"), "%q is not a valid role name (1-64 of letters, digits and +=,.@_-)", set.Role)
		}
		if set.AccountID == s.AccountID && set.Role != "" && !slices.ContainsFunc(s.Roles, func(r SeedRole) bool { return r.Name == set.Role }) {
			w.fail(pp.key("role"), "role %q is not among $.roles (a permission set in the seed's own account names a seeded role)", set.Role)
		}
		out.PermissionSets = append(out.PermissionSets, set)
	}
	if out.User == "" && len(out.PermissionSets) > 0 {
		out.User = out.PermissionSets[0].User
	}
	return out
}

// ssoSeedOf is the seed's sso section, or the default one.
func (l *Lab) ssoSeedOf() SSOSeed {
	s := l.seed.SSO
	if len(s.PermissionSets) > 0 {
		return s
	}
	user := DefaultUser
	if len(l.seed.Users) > 0 {
		user = l.seed.Users[0].Name
	}
	if s.User != "" {
		user = s.User
	}
	s.User = user
	for _, r := range l.seed.Roles {
		s.PermissionSets = append(s.PermissionSets, PermissionSet{User: user, AccountID: l.seed.AccountID, Role: r.Name})
	}
	return s
}
