package vault

import (
	"testing"
	"time"
)

func TestSessionItemNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		item    string
		session bool // a session item of the current format
		known   bool // of a kind credkit keeps
		want    SessionKey
		keys    bool // names long-term keys
	}{
		{"GetSessionToken with MFA", "sts.GetSessionToken,ZGV2,YXJuOmF3czppYW06OjEyMzQ1Njc4OTAxMjptZmEvYWxpY2U,1700000000", true, true,
			SessionKey{KindGetSessionToken, "dev", "arn:aws:iam::123456789012:mfa/alice", time.Unix(1700000000, 0)}, false},
		{"GetSessionToken without MFA", "sts.GetSessionToken,dGVhbS9wcm9k,,1700000000", true, true,
			SessionKey{KindGetSessionToken, "team/prod", "", time.Unix(1700000000, 0)}, false},
		{"AssumeRole", "sts.AssumeRole,YWRtaW4,,1", true, true, SessionKey{KindAssumeRole, "admin", "", time.Unix(1, 0)}, false},
		{"SSO role credentials", "sso.GetRoleCredentials,c3Nv,,1700000000", true, false, SessionKey{}, false},
		{"web identity", "sts.AssumeRoleWithWebIdentity,d2k,,1700000000", true, false, SessionKey{}, false},
		{"aws-vault v5 session", "session,ZGV2,,1700000000", true, false, SessionKey{}, false},
		{"aws-vault v4 session", "dev session (1700000000)", false, false, SessionKey{}, false},
		{"aws-vault v4 colon session", "session:dev::1700000000", false, false, SessionKey{}, false},
		{"SSO token", "oidc:https://example.awsapps.com/start", false, false, SessionKey{}, false},
		{"plain profile", "dev", false, false, SessionKey{}, true},
		{"profile with commas", "a,b", false, false, SessionKey{}, true},
		{"profile base64 not decodable", "sts.GetSessionToken,!!,,1", false, false, SessionKey{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := parseSessionName(tc.item)
			if ok != tc.session || s.known != tc.known {
				t.Fatalf("parseSessionName(%q) = %+v, %v", tc.item, s, ok)
			}
			if tc.known {
				if !sameKey(s.key, tc.want) {
					t.Errorf("key %+v, want %+v", s.key, tc.want)
				}
				if s.key.itemName() != tc.item {
					t.Errorf("itemName() = %q, want %q", s.key.itemName(), tc.item)
				}
			}
			if isKeysName(tc.item) != tc.keys {
				t.Errorf("isKeysName(%q) = %v", tc.item, !tc.keys)
			}
		})
	}
}
