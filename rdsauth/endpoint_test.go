package rdsauth

import "testing"

// Endpoint returns a plain host:port as it is without the full checks: they
// must accept it unchanged.
func FuzzPlainHostPort(f *testing.F) {
	for _, e := range []string{"db.example.com:5432", "db:0", "db:65535", "db:65536", "db:05432", "db:123456",
		":5432", "db:", "a_b-c.d:1", "[::1]:5432", "db:+1", "u@db:1", " db:1", "db:1/", "db.example.com"} {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, e string) {
		if !plainHostPort(e) {
			return
		}
		if got, err := checkEndpoint(e); got != e || err != nil {
			t.Fatalf("plain endpoint %q: checkEndpoint gives %q, %v", e, got, err)
		}
	})
}
