package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the signal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFirstSignalCancelsSecondExits(t *testing.T) {
	exited := make(chan int, 1)
	exitNow = func(code int) { exited <- code }
	defer func() { exitNow = defaultExit }()
	var stderr syncBuffer
	ctx, stop := signalContext(context.Background(), &stderr)
	defer stop()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after one signal; want to keep running and clean up", code)
	case <-time.After(100 * time.Millisecond):
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 130 {
			t.Fatalf("second signal (SIGINT) exited with %d, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second signal did not exit")
	}
	if out := stderr.String(); !strings.Contains(out, "press Ctrl-C again") || !strings.Contains(out, "quitting now") {
		t.Fatalf("messages missing: %q", out)
	}
}
