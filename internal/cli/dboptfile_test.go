package cli

import (
	"testing"
	"time"
)

func TestDBOptionFilesDir(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u"}, "/run/user/1000/credkit/db"},
		{map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/home/u"}, "/c/credkit/db"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.cache/credkit/db"},
		{map[string]string{"XDG_RUNTIME_DIR": "relative", "HOME": "/home/u"}, "/home/u/.cache/credkit/db"},
	} {
		k := dbOptionFiles(func(v string) string { return tc.env[v] })
		if k.Dir != tc.want || k.MaxAge != 15*time.Minute {
			t.Errorf("%v: option files in %s (stale after %v), want %s after 15m", tc.env, k.Dir, k.MaxAge, tc.want)
		}
	}
}
