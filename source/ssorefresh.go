package source

// SSORefreshStore keeps SSO refresh tokens outside the token cache file
// (credkit's vault, for `credkit sso login --store vault`). key is the
// token cache's key: the sso-session name, or a legacy profile's start
// URL. Only credkit reads it: other tools find no refreshToken in the file
// and ask for a new sign-in once the access token expires.
type SSORefreshStore interface {
	// SSORefreshToken returns the stored refresh token; ok is false
	// when there is none.
	SSORefreshToken(key string) (token string, ok bool, err error)
	// PutSSORefreshToken stores token, replacing the one there was.
	PutSSORefreshToken(key, token string) error
}
