//go:build !linux

package cli

import "errors"

// memOptionFile: only Linux has anonymous memory files a child can open
// by name; elsewhere the option file is a private file (clientOptionFile).
func memOptionFile(data []byte) (*clientOptionFile, error) {
	return nil, errors.New("no memfd on this system")
}
