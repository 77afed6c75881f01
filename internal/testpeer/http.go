package testpeer

import (
	"io"
	"net/http"
	"testing"
)

// Do sends req with the default client and returns the status code and
// the body; a request that gets no answer fails t.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
