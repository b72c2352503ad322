package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgtext/dgtext/data"
)

// copyBundled copies the bundled model folder to a temporary folder.
func copyBundled(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	os.MkdirAll(dir, 0o755)
	for _, name := range []string{"manifest.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "charlm", "bundled", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	return dir
}

// Issue 11 item 1: sample refuses to write over one of its model's files.
func TestSampleRefusesModelFileAsOut(t *testing.T) {
	model := copyBundled(t)
	weights := filepath.Join(model, "model.safetensors")
	before, _ := os.ReadFile(weights)
	for _, out := range []string{weights, filepath.Join(model, "manifest.json")} {
		err := sampleRun(&sampleOptions{Model: model, N: 4, Batch: 4, Out: out, Seed: 1, compute: computeFlags{Device: "cpu"}}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "is also an input") {
			t.Errorf("--out %s: got %v, want a refusal", out, err)
		}
	}
	if after, _ := os.ReadFile(weights); !bytes.Equal(before, after) {
		t.Fatal("the model's weights changed")
	}
}

// Ctrl-C between batches keeps the finished batches under NAME.partial.EXT and
// never writes the final name.
func TestSampleInterruptedKeepsPartial(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s.parquet")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already interrupted: the first batch finishes, then it stops
	err := sampleRun(&sampleOptions{Ctx: ctx, N: 40, Batch: 8, Out: out, Seed: 1, compute: computeFlags{Device: "cpu"}}, io.Discard)
	partial := data.PartialPath(out)
	if err == nil || !strings.Contains(err.Error(), "interrupted after 8 of 40 samples") || !strings.Contains(err.Error(), partial) {
		t.Fatalf("got %v, want 'interrupted after 8 of 40 samples; partial samples in %s'", err, partial)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the final name exists after an interrupted run: %v", err)
	}
	rows, err := data.ReadSamples(partial)
	if err != nil || len(rows) != 8 {
		t.Fatalf("partial file: %d rows, %v", len(rows), err)
	}
	// A complete run writes the final name and removes the partial file.
	if err := sampleRun(&sampleOptions{N: 16, Batch: 8, Out: out, Seed: 1, compute: computeFlags{Device: "cpu"}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("partial file left after a complete run: %v", err)
	}
}
