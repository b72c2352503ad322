package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// readWithin runs ForEachLineContext and fails the test if it has not returned
// within limit of ctx being cancelled.
func readWithin(t *testing.T, ctx context.Context, limit time.Duration, paths []string) (Stats, error) {
	t.Helper()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := ForEachLineContext(ctx, paths, ReadOptions{}, func(string) error { return nil })
		done <- result{st, err}
	}()
	<-ctx.Done()
	select {
	case r := <-done:
		return r.st, r.err
	case <-time.After(limit):
		t.Fatalf("still reading %v after the context was cancelled", limit)
		return Stats{}, nil
	}
}

// Issue 11 item 5: a read waiting on a slow input (a FIFO here) stops when the
// context is cancelled, instead of waiting for the writer.
func TestForEachLineContextStopsOnSlowInput(t *testing.T) {
	dir := t.TempDir()
	t.Run("writer connected but silent", func(t *testing.T) {
		fifo := filepath.Join(dir, "silent")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		opened := make(chan *os.File, 1)
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				opened <- nil
				return
			}
			w.WriteString("first line\nsecond line\n")
			opened <- w // keep it open: the reader waits for more
		}()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		st, err := readWithin(t, ctx, 2*time.Second, []string{fifo})
		if w := <-opened; w != nil {
			w.Close()
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want an error wrapping context.Canceled, got %v", err)
		}
		if st.Lines > 2 {
			t.Fatalf("%d lines from a FIFO that got 2", st.Lines)
		}
	})
	t.Run("no writer yet", func(t *testing.T) {
		fifo := filepath.Join(dir, "nobody")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		_, err := readWithin(t, ctx, 2*time.Second, []string{fifo})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want an error wrapping context.Canceled, got %v", err)
		}
		// Unblock the abandoned open so its goroutine closes the file.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	t.Run("regular files and Parquet", func(t *testing.T) {
		for _, name := range []string{"c.txt", "c.parquet"} {
			p := filepath.Join(dir, name)
			writeLines(t, p, []string{"one", "two", "three"})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := ForEachLineContext(ctx, []string{p}, ReadOptions{}, func(string) error { return nil }); !errors.Is(err, context.Canceled) {
				t.Errorf("%s: want context.Canceled, got %v", name, err)
			}
			ctx, cancel = context.WithCancel(context.Background())
			var n int
			_, err := ForEachLineContext(ctx, []string{p}, ReadOptions{}, func(string) error {
				n++
				return nil
			})
			cancel()
			if err != nil || n != 3 {
				t.Errorf("%s: live context: %d lines, %v", name, n, err)
			}
		}
	})
}
