package data

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot finds the module root (the folder holding go.mod) above the test's folder.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test folder")
		}
		dir = parent
	}
}

// sharedBillionWords is ../shared/data/billion-words relative to the repository root.
func sharedBillionWords(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "data", "billion-words")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared data missing: %v (tests read the project's shared data at ../shared/data)", err)
	}
	return dir
}

// heldoutShards returns the four shared held-out shards, 00010 to 00013.
func heldoutShards(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(sharedBillionWords(t), BillionWordsRelease, "heldout-monolingual.tokenized.shuffled")
	var out []string
	for _, n := range []string{"00010", "00011", "00012", "00013"} {
		out = append(out, filepath.Join(dir, "news.en.heldout-"+n+"-of-00050"))
	}
	return out
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeLines writes lines to a corpus file of the format given by its extension.
func writeLines(t testing.TB, path string, lines []string) {
	t.Helper()
	w, err := CreateLineWriter(path, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if err := w.WriteLine(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// listDir returns the names in dir.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
