package data

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCheckNotInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "corpus.parquet")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.parquet")
	hard := filepath.Join(dir, "hard.parquet")
	sub := filepath.Join(dir, "sub")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, sub); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, link, hard, filepath.Join(sub, "corpus.parquet"), filepath.Join(dir, ".", "corpus.parquet")} {
		err := CheckNotInput(out, "", in)
		if err == nil || !strings.Contains(err.Error(), "is also an input") {
			t.Errorf("CheckNotInput(%s, %s) = %v, want a refusal", out, in, err)
		}
	}
	for _, out := range []string{filepath.Join(dir, "other.parquet"), filepath.Join(dir, "new", "corpus.parquet")} {
		if err := CheckNotInput(out, in, link); err != nil {
			t.Errorf("CheckNotInput(%s) = %v, want nil", out, err)
		}
	}
}

func TestCheckDistinct(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.png")
	if err := CheckDistinct(a, "", filepath.Join(dir, "b.png")); err != nil {
		t.Fatal(err)
	}
	if err := CheckDistinct(a, filepath.Join(dir, "x", "..", "a.png")); err == nil {
		t.Fatal("two spellings of one output were accepted")
	}
}

func TestWritersCreateParentFolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not", "yet", "there", "s.parquet")
	writeSamples(t, path, WriterOptions{}, testSamples(false))
	if got, err := ReadSamples(path); err != nil || len(got) != 50 {
		t.Fatalf("read back %d samples: %v", len(got), err)
	}
	png := filepath.Join(filepath.Dir(path), "deeper", "plot.png")
	if err := WriteFileAtomic(png, func(w io.Writer) error { _, err := w.Write([]byte("p")); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestClosePartialNeverUsesTheFinalName(t *testing.T) {
	for _, ext := range []string{".parquet", ".jsonl", ".txt"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "y"+ext)
		if err := os.WriteFile(path, []byte("complete result of an earlier run"), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := CreateSampleWriter(path, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range testSamples(false)[:7] {
			if err := w.Write(s); err != nil {
				t.Fatal(err)
			}
		}
		p, err := w.ClosePartial()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(dir, "y.partial"+ext); p != want {
			t.Fatalf("partial path %s, want %s", p, want)
		}
		if b, _ := os.ReadFile(path); string(b) != "complete result of an earlier run" {
			t.Fatalf("%s: the final name was touched by a partial close", ext)
		}
		if ext != ".txt" {
			if got, err := ReadSamples(p); err != nil || len(got) != 7 {
				t.Fatalf("%s: partial file has %d rows (%v), want 7", ext, len(got), err)
			}
		}
		// A later complete run replaces the final file and removes the stale partial one.
		writeSamples(t, path, WriterOptions{}, testSamples(false))
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s: stale partial file %s survived a complete run", ext, p)
		}
		if names := tempNames(t, dir); len(names) != 0 {
			t.Fatalf("temporary files left: %v", names)
		}
	}
}

func TestStaleTempsOfDeadProcessesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.parquet")
	// A process that has exited: its pid is free (pids are not reused this quickly).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	stale := filepath.Join(dir, ".out.parquet.tmp-"+strconv.Itoa(dead)+"-123")
	live := filepath.Join(dir, ".out.parquet.tmp-"+strconv.Itoa(os.Getpid())+"-456")
	other := filepath.Join(dir, ".other.parquet.tmp-"+strconv.Itoa(dead)+"-789")
	for _, p := range []string{stale, live, other} {
		if err := os.WriteFile(p, make([]byte, 1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeSamples(t, path, WriterOptions{}, testSamples(false))
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("temp file of dead process %d survived the next run", dead)
	}
	for _, p := range []string{live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: it belongs to a live process or another output", p)
		}
	}
}

func tempNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}
