package console

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// WatchRead reports, by closing read, the first time a process that
// opened the file at path for reading closes it again: on Linux, the
// browser has read the redirect page (inotify IN_CLOSE_NOWRITE). ok is
// false where that cannot be watched; stop ends the watch.
func WatchRead(path string) (read <-chan struct{}, stop func(), ok bool) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil, false
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_CLOSE_NOWRITE); err != nil {
		unix.Close(fd)
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
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				// struct inotify_event: wd, mask, cookie, len, name.
				mask := binary.NativeEndian.Uint32(buf[off+4:])
				if mask&unix.IN_CLOSE_NOWRITE != 0 {
					close(ch)
					return
				}
				off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
			}
		}
	}()
	return ch, func() { f.Close() }, true
}
