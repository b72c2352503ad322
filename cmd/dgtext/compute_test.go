package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/dgtext/dgtext/torch"
)

// Issue 11 item 10: --threads -1 is refused and --threads 1000 is clamped to the
// cores with a note, in every command that runs a model.
func TestThreadsFlag(t *testing.T) {
	// libtorch's thread count is per OS thread (OpenMP); dgtext's main goroutine is
	// pinned to one (torch's init), a test goroutine must pin itself.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cores := runtime.NumCPU()
	defer torch.SetThreads(0)
	var warn bytes.Buffer
	f := &computeFlags{Device: "cpu", Threads: -1, warn: &warn}
	if _, err := f.device(); err == nil || !strings.Contains(err.Error(), "--threads -1") {
		t.Fatalf("--threads -1: got %v, want an error naming the flag", err)
	}
	f.Threads = 1000
	if _, err := f.device(); err != nil {
		t.Fatal(err)
	}
	if got := torch.Threads(); got != cores {
		t.Errorf("--threads 1000 on %d cores: libtorch runs %d threads", cores, got)
	}
	if !strings.Contains(warn.String(), fmt.Sprintf("using %d", cores)) {
		t.Errorf("no note about the clamp: %q", warn.String())
	}
	warn.Reset()
	f.Threads = 1
	if _, err := f.device(); err != nil || torch.Threads() != 1 || warn.Len() != 0 {
		t.Errorf("--threads 1: %v, %d threads, note %q", err, torch.Threads(), warn.String())
	}
	// Through the command line, on a command that loads a model.
	cmd := newRootCmd()
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetArgs([]string{"sample", "--threads", "-3", "--n", "1", "--out", t.TempDir() + "/s.txt"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--threads -3") {
		t.Fatalf("sample --threads -3: %v", err)
	}
}
