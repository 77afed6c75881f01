package console

import (
	"encoding/binary"
	"os"
	"syscall"
)

// WatchRead reports, by closing read, the first time a process that
// opened the file at path for reading closes it again: on Linux, the
// browser has read the redirect page (inotify IN_CLOSE_NOWRITE). ok is
// false where that cannot be watched; stop ends the watch.
func WatchRead(path string) (read <-chan struct{}, stop func(), ok bool) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, nil, false
	}
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_CLOSE_NOWRITE); err != nil {
		syscall.Close(fd)
		return nil, nil, false
	}
	// A non-blocking descriptor goes to the runtime's poller, so Close
	// ends a pending Read.
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				// struct inotify_event: wd, mask, cookie, len, name.
				mask := binary.NativeEndian.Uint32(buf[off+4:])
				if mask&syscall.IN_CLOSE_NOWRITE != 0 {
					close(ch)
					return
				}
				off += syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
			}
		}
	}()
	return ch, func() { f.Close() }, true
}
