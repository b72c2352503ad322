package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new", "w.safetensors")
	boom := errors.New("boom")
	if err := WriteFile(path, func(w io.Writer) error { w.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the write's error", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Fatalf("a failed write left %v", entries)
	}
	if err := WriteFile(path, func(w io.Writer) error { _, err := w.Write([]byte("whole")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" {
		t.Fatalf("read back %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestPartialPath(t *testing.T) {
	for in, want := range map[string]string{"out/y.parquet": "out/y.partial.parquet", "a.jsonl": "a.partial.jsonl", "noext": "noext.partial"} {
		if got := PartialPath(in); got != want {
			t.Errorf("PartialPath(%q) = %q, want %q", in, got, want)
		}
	}
}
