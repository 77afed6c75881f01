package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitPageRead(t *testing.T) {
	ctx := context.Background()
	t.Run("launcher exits, then the browser reads", func(t *testing.T) {
		read, done := make(chan struct{}), make(chan error, 1)
		done <- nil
		go func() { time.Sleep(300 * time.Millisecond); close(read) }()
		start := time.Now()
		if err := waitPageRead(ctx, "chromium", read, done, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 300*time.Millisecond+pageGrace || d > 5*time.Second {
			t.Errorf("returned after %v; want the read plus %v", d, pageGrace)
		}
	})
	t.Run("the browser fails", func(t *testing.T) {
		done := make(chan error, 1)
		done <- errors.New("exit status 1")
		err := waitPageRead(ctx, "firefox", make(chan struct{}), done, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "firefox: exit status 1") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("never read", func(t *testing.T) {
		err := waitPageRead(ctx, "open", make(chan struct{}), make(chan error), 200*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "did not open the sign-in page within 200ms") || !strings.Contains(err.Error(), "--print-url") {
			t.Fatalf("err = %v", err)
		}
	})
}
