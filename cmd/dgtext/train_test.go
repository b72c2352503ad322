package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/charlm"
)

const sharedBW = "../../../shared/data/billion-words"

// trainArgs builds a tiny, fast training command line on the shared split.
func trainArgs(out string, iters int, extra ...string) []string {
	args := []string{"train", "--preset", "tiny", "--corpus", "billion-words", "--data-dir", sharedBW, "--split", "shared",
		"--iters", itoaInt(iters), "--critic-iters", "1", "--batch", "16", "--log-every", "0", "--checkpoint-every", "5",
		"--keep", "0", "--quiet", "--max-lines", "2000", "--threads", "1"}
	if out != "" {
		args = append(args, "--out", out)
	}
	return append(args, extra...)
}

func itoaInt(i int) string { return strconv.Itoa(i) }

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runCLIContext(context.Background(), t, args...)
}

// TestHelperProcessTrain is not a test: TestKillAndResume runs the test binary again
// with DGTEXT_HELPER_ARGS set, to get a training process it can SIGKILL.
func TestHelperProcessTrain(t *testing.T) {
	args := os.Getenv("DGTEXT_HELPER_ARGS")
	if args == "" {
		return
	}
	_, stderr, err := runCLI(t, strings.Split(args, "\x1f")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestKillAndResume starts training in another process, kills it with SIGKILL while
// it runs, checks that every checkpoint on disk loads, and resumes from the newest.
func TestKillAndResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessTrain$")
	cmd.Env = append(os.Environ(), "DGTEXT_HELPER_ARGS="+strings.Join(trainArgs(dir, 100000), "\x1f"))
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(90 * time.Second)
	for {
		cks, _ := charlm.ListCheckpoints(dir)
		if len(cks) >= 3 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("training process ended before being killed (%v):\n%s", err, childErr.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("training wrote fewer than 3 checkpoints in 90 s:\n%s", childErr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited

	cks, err := charlm.ListCheckpoints(dir)
	if err != nil || len(cks) < 3 {
		t.Fatalf("checkpoints after the kill: %v, %v", cks, err)
	}
	for _, c := range cks {
		if _, _, err := charlm.Load(c, gotch.CPU); err != nil {
			t.Fatalf("checkpoint %s does not load after SIGKILL: %v", c, err)
		}
	}
	last := cks[len(cks)-1]
	man, err := charlm.ReadManifest(last)
	if err != nil {
		t.Fatal(err)
	}
	target := man.Iter + 5
	_, stderr, err := runCLI(t, trainArgs("", target, "--resume", dir)...)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "resuming from "+last) {
		t.Fatalf("resume did not start from the newest checkpoint %s:\n%s", last, stderr)
	}
	after, _ := charlm.ListCheckpoints(dir)
	if got := after[len(after)-1]; !strings.HasSuffix(got, "ckpt-"+padIter(target)) {
		t.Fatalf("newest checkpoint after resume is %s, want iteration %d", got, target)
	}
}

func padIter(i int) string { return fmt.Sprintf("%08d", i) }

func TestTrainRefusesToOverwriteAndBadPreset(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := runCLI(t, trainArgs(dir, 5)...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, _, err := runCLI(t, trainArgs(dir, 5)...)
	if err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("a second run into the same folder: %v", err)
	}
	_, _, err = runCLI(t, append(trainArgs(t.TempDir(), 5), "--preset", "huge")...)
	if err == nil || !strings.Contains(err.Error(), "unknown preset") {
		t.Fatalf("bad preset: %v", err)
	}
	_, _, err = runCLI(t, append(trainArgs(t.TempDir(), 5), "--device", "cuda:7")...)
	if err == nil || !strings.Contains(err.Error(), "devices here: cpu") {
		t.Fatalf("absent device: %v", err)
	}
}
