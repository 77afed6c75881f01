package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/credkit/credkit/internal/atomicfile"
)

// BenchmarkClientOptionFile times making and dropping the option file of
// db connect for a session-credential token (~2 KB): credkit's sealed
// memfd next to the private temporary directory and fsynced 0600 file it
// replaces (tempfile), which a killed credkit left on disk. Run
// `go test -run '^$' -bench ClientOptionFile -count 6 ./internal/cli | go run ./internal/benchratio`.
func BenchmarkClientOptionFile(b *testing.B) {
	_, _, session := fakeSession(5)
	data := mysqlOptionFile(flavourMariaDB, "db.example.com", 3306, "app",
		"db.example.com:3306/?Action=connect&DBUser=app&X-Amz-Security-Token="+session, "/etc/ssl/certs/ca-certificates.crt")
	b.Run("credkit", func(b *testing.B) {
		home := b.TempDir()
		getenv := func(v string) string { return map[string]string{"HOME": home}[v] }
		for b.Loop() {
			f, err := newClientOptionFile(getenv, data)
			if err != nil || f.files == nil {
				b.Fatalf("%v (in memory: %v)", err, f != nil && f.files != nil)
			}
			f.remove()
		}
	})
	b.Run("tempfile", func(b *testing.B) {
		tmp := b.TempDir()
		for b.Loop() {
			dir, err := os.MkdirTemp(tmp, "credkit-db-")
			if err != nil {
				b.Fatal(err)
			}
			if err := atomicfile.Write(filepath.Join(dir, "client.cnf"), data); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(dir)
		}
	})
}
