package charlm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/data"
)

// exportUntrained writes a tiny untrained model whose charmap is built from lines.
func exportUntrained(t *testing.T, dir string, lines []string) {
	t.Helper()
	c := Presets["tiny"]
	m, err := NewModel(c, data.BuildCharmap(lines, c.SeqLen, c.VocabCap), gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Export(dir, false, Manifest{}); err != nil {
		t.Fatal(err)
	}
}

// Issue 11 item 10: --model given a file says so with the path; given a training
// run folder it names the newest checkpoint; mismatched weights say what differs
// without the old "e.g. model vocab 1 vs charmap" hint.
func TestLoadModelExplainsWrongPaths(t *testing.T) {
	root := t.TempDir()
	model := filepath.Join(root, "model")
	exportUntrained(t, model, []string{"abc def", "ghi"})
	if _, _, err := LoadModel(model, gotch.CPU); err != nil {
		t.Fatalf("a fresh export does not load: %v", err)
	}

	manifest := filepath.Join(model, "manifest.json")
	_, _, err := LoadModel(manifest, gotch.CPU)
	if err == nil || !strings.Contains(err.Error(), manifest) || !strings.Contains(err.Error(), "--model "+model) {
		t.Errorf("--model FILE/manifest.json: %v; want the path and the folder to pass", err)
	}
	other := filepath.Join(root, "notes.txt")
	os.WriteFile(other, []byte("x"), 0o644)
	_, _, err = LoadModel(other, gotch.CPU)
	if err == nil || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("--model a text file: %v; want the path and 'is a file'", err)
	}

	run := filepath.Join(root, "run")
	for _, ck := range []string{"ckpt-00000100", "ckpt-00002000", "ckpt-00000300"} {
		exportUntrained(t, filepath.Join(run, ck), []string{"abc"})
	}
	_, _, err = LoadModel(run, gotch.CPU)
	if want := "--model " + filepath.Join(run, "ckpt-00002000"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("--model RUN-FOLDER: %v; want a suggestion %q", err, want)
	}

	// Weights of a model with another vocabulary under this manifest.
	mixed := filepath.Join(root, "mixed")
	exportUntrained(t, mixed, []string{"abc def", "ghi"})
	bigger := filepath.Join(root, "bigger")
	exportUntrained(t, bigger, []string{"abc def", "ghi", "xyz XYZ 0123456789"})
	b, _ := os.ReadFile(filepath.Join(bigger, "model.safetensors"))
	os.WriteFile(filepath.Join(mixed, "model.safetensors"), b, 0o644)
	_, _, err = LoadModel(mixed, gotch.CPU)
	if err == nil || !strings.Contains(err.Error(), "has shape") || strings.Contains(err.Error(), "e.g. model vocab") {
		t.Errorf("mismatched weights: %v", err)
	}
}
