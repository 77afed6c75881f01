package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// memOptionFile is data in a sealed 0600 memfd the client opens as
// /dev/fd/3 (see clientOptionFile).
func memOptionFile(data []byte) (*clientOptionFile, error) {
	if _, err := os.Stat("/dev/fd/0"); err != nil {
		return nil, err // no /proc: the client could not open it
	}
	fd, err := unix.MemfdCreate("credkit-client.cnf", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "credkit-client.cnf")
	if err := fillSealed(f, data); err != nil {
		f.Close()
		return nil, err
	}
	// The child gets it as descriptor 3, without close-on-exec.
	return &clientOptionFile{path: "/dev/fd/3", files: []*os.File{f}, remove: func() { f.Close() }}, nil
}

// fillSealed makes f 0600 before anything is in it, writes data, and
// seals it: neither credkit nor the client can change it from then on.
func fillSealed(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	return err
}
