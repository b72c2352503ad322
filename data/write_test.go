package data

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testSamples(z bool) []Sample {
	var out []Sample
	for i := range 50 {
		s := Sample{ID: int64(i), Text: strings.Repeat("ab´", i%7) + "`", Method: []string{"gan", "dgflow"}[i%2],
			Step: i % 26, Seed: 42, Critic: float64(i) - 20.5}
		if z {
			s.Z = []float32{float32(i), -1.5, 3e-8}
		}
		out = append(out, s)
	}
	return out
}

func writeSamples(t *testing.T, path string, opt WriterOptions, samples []Sample) {
	t.Helper()
	w, err := CreateSampleWriter(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSampleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, z := range []bool{false, true} {
		for _, ext := range []string{".parquet", ".jsonl"} {
			path := filepath.Join(dir, "s"+ext)
			samples := testSamples(z)
			writeSamples(t, path, WriterOptions{Latents: z}, samples)
			got, err := ReadSamples(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, samples) {
				t.Fatalf("%s z=%v: got %+v\nwant %+v", ext, z, got[:2], samples[:2])
			}
			// The text column reads as a corpus too.
			lines, _, err := ReadLines([]string{path}, ReadOptions{})
			if err != nil || len(lines) != len(samples) || lines[3] != samples[3].Text {
				t.Fatalf("%s as corpus: %v", ext, err)
			}
		}
	}
	// Text keeps only the text.
	path := filepath.Join(dir, "s.txt")
	writeSamples(t, path, WriterOptions{}, []Sample{{Text: "one"}, {Text: "two\nlines"}})
	got, err := ReadSamples(path)
	if err != nil || len(got) != 2 || got[1].Text != "two lines" || got[1].ID != 1 {
		t.Fatalf("txt samples: %+v %v", got, err)
	}
}

func TestSampleEdgeCases(t *testing.T) {
	dir := t.TempDir()
	// Non-finite critic scores survive JSON Lines as null -> NaN.
	path := filepath.Join(dir, "nan.jsonl")
	writeSamples(t, path, WriterOptions{}, []Sample{{Text: "x", Critic: math.NaN()}, {Text: "y", Critic: math.Inf(1)}})
	got, err := ReadSamples(path)
	if err != nil || !math.IsNaN(got[0].Critic) || !math.IsNaN(got[1].Critic) {
		t.Fatalf("NaN critic: %+v %v", got, err)
	}
	// Latents of different lengths are an error and leave no file.
	for _, ext := range []string{".parquet", ".jsonl"} {
		p := filepath.Join(dir, "z"+ext)
		w, err := CreateSampleWriter(p, WriterOptions{Latents: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(Sample{Text: "a", Z: []float32{1, 2}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(Sample{Text: "b", Z: []float32{1}}); err == nil {
			t.Fatalf("%s: latent length change accepted", ext)
		}
		if err := w.Close(); err == nil {
			t.Fatalf("%s: Close after a failed write succeeded", ext)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: file left after failure", ext)
		}
	}
	if _, err := CreateSampleWriter(filepath.Join(dir, "x.csv"), WriterOptions{}); err == nil || !strings.Contains(err.Error(), ".parquet") {
		t.Fatalf("unknown extension: %v", err)
	}
	if _, err := CreateSampleWriter(filepath.Join(dir, "x.parquet"), WriterOptions{Compression: "lzma"}); err == nil {
		t.Fatal("unknown compression accepted")
	}
	// Missing folders are created (TestWritersCreateParentFolders); a "folder" that
	// is a file cannot be.
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateSampleWriter(filepath.Join(blocker, "x.parquet"), WriterOptions{}); err == nil || !strings.Contains(err.Error(), "a-file") {
		t.Fatalf("output under a file accepted or unnamed: %v", err)
	}
	w, _ := CreateSampleWriter(filepath.Join(dir, "step.parquet"), WriterOptions{})
	if err := w.Write(Sample{Step: math.MaxInt32 + 1}); err == nil {
		t.Fatal("step overflow accepted")
	}
	w.Abort()
	// A corpus Parquet file is not a sample file.
	corpus := filepath.Join(dir, "corpus.parquet")
	writeLines(t, corpus, []string{"a"})
	if _, err := ReadSamples(corpus); err == nil || !strings.Contains(err.Error(), `no column "id"`) {
		t.Fatalf("corpus as samples: %v", err)
	}
	for _, codec := range []string{"zstd", "gzip", "none"} {
		p := filepath.Join(dir, codec+".parquet")
		writeSamples(t, p, WriterOptions{Compression: codec}, testSamples(false))
		if got, err := ReadSamples(p); err != nil || len(got) != 50 {
			t.Fatalf("%s: %v", codec, err)
		}
	}
}

// Abort (or a failed write) leaves nothing under the final name, nor temp files.
func TestAtomicWrites(t *testing.T) {
	for _, ext := range []string{".parquet", ".txt", ".jsonl"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "out"+ext)
		w, err := CreateSampleWriter(path, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range testSamples(false) {
			w.Write(s)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: final file exists before Close", ext)
		}
		if n := len(listDir(t, dir)); n != 1 {
			t.Fatalf("%s: want one temporary file while writing, got %v", ext, listDir(t, dir))
		}
		if err := w.Abort(); err != nil {
			t.Fatal(err)
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Fatalf("%s: files left after Abort: %v", ext, names)
		}
		lw, err := CreateLineWriter(path, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lw.WriteLine("x")
		if err := lw.Close(); err != nil {
			t.Fatal(err)
		}
		if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"out" + ext}) {
			t.Fatalf("%s: after Close: %v", ext, names)
		}
		if info, _ := os.Stat(path); info.Mode().Perm() != 0o644 {
			t.Fatalf("%s: mode %v", ext, info.Mode())
		}
		if lw.Abort() != nil {
			t.Fatal("Abort after Close should be a no-op")
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatal("Abort after Close removed the file")
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	writeFile(t, path, []byte("old"))
	failure := errors.New("disk on fire")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("half written"))
		return failure
	})
	if err != failure {
		t.Fatalf("error %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" || len(listDir(t, dir)) != 1 {
		t.Fatalf("failed write changed the file or left a temp: %q %v", b, listDir(t, dir))
	}
	func() {
		defer func() { recover() }()
		WriteFileAtomic(path, func(w io.Writer) error { panic("crash") })
	}()
	if len(listDir(t, dir)) != 1 {
		t.Fatalf("panic left a temp file: %v", listDir(t, dir))
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
}

func TestProfile(t *testing.T) {
	var p Profile
	for _, l := range []string{"ab", "héllo", strings.Repeat("x", 40)} {
		p.Add(l)
	}
	if p.Lines != 3 || p.Chars != 47 || p.MinLen != 2 || p.MaxLen != 40 || p.OverLen != 1 || p.Vocab() != 7 {
		t.Fatalf("profile %+v vocab %d", p, p.Vocab())
	}
	if p.Hist[0] != 2 || p.Hist[3] != 1 {
		t.Fatalf("hist %v", p.Hist)
	}
	r, c := p.TopChars(1)
	if len(r) != 1 || r[0] != 'x' || c[0] != 40 {
		t.Fatalf("top %q %v", r, c)
	}
}
