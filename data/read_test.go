package data

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func TestPadRunes(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc``"},
		{"abcdef", 3, "abc"},
		{"héllo wörld", 7, "héllo w"},
		{"", 2, "``"},
		{"日本語", 4, "日本語`"},
		{"a\xffb", 4, "a\uFFFDb`"},
		{"abc", 0, ""},
	}
	for _, c := range cases {
		got := string(PadRunes(c.in, c.n))
		if got != c.want {
			t.Errorf("PadRunes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if c.n > 0 && len(PadRunes(c.in, c.n)) != c.n {
			t.Errorf("PadRunes(%q, %d) has %d runes", c.in, c.n, len(PadRunes(c.in, c.n)))
		}
	}
	if TrimPad("ab``") != "ab" || TrimPad("``") != "" {
		t.Error("TrimPad")
	}
}

// Text with CRLF endings, empty lines, invalid UTF-8 and no final newline.
func TestReadTextRules(t *testing.T) {
	dir := t.TempDir()
	raw := "first line\r\n\nsecond \xff\xfe line\n\r\n   \nlast without newline"
	path := filepath.Join(dir, "a.txt")
	writeFile(t, path, []byte(raw))
	lines, st, err := ReadLines([]string{path}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first line", "second \uFFFD\uFFFD line", "   ", "last without newline"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %q, want %q", lines, want)
	}
	if st.Lines != 4 || st.Empty != 2 || st.InvalidUTF8 != 1 || st.InvalidBytes != 2 || st.Files != 1 {
		t.Fatalf("stats %+v", st)
	}
	var chars int64
	for _, l := range want {
		chars += int64(len([]rune(l)))
	}
	if st.Chars != chars {
		t.Fatalf("chars %d, want %d", st.Chars, chars)
	}

	// The same content gzipped, with and without the .gz name.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(raw))
	zw.Close()
	for _, name := range []string{"a.txt.gz", "a-noext"} {
		p := filepath.Join(dir, "gz", name)
		writeFile(t, p, buf.Bytes())
		got, st, err := ReadLines([]string{p}, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || st.PerFile[0].Format != formatGzip {
			t.Fatalf("%s: %q (%+v)", name, got, st.PerFile)
		}
	}
}

func TestReadLongLine(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 300<<10) // longer than the reader's buffer
	path := filepath.Join(dir, "long.txt")
	writeFile(t, path, []byte("a\n"+long+"\nb"))
	lines, _, err := ReadLines([]string{path}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[1] != long || lines[2] != "b" {
		t.Fatalf("got %d lines", len(lines))
	}
}

// All formats give the same lines; JSON and Parquet nulls count as empty.
func TestReadFormatsAgree(t *testing.T) {
	dir := t.TempDir()
	want := []string{"alpha", "béta ’quoted’", "gamma\twith tab", "日本"}
	for _, name := range []string{"c.parquet", "c.jsonl", "c.txt"} {
		p := filepath.Join(dir, name)
		writeLines(t, p, want)
		got, st, err := ReadLines([]string{p}, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %q, want %q", name, got, want)
		}
		if st.Lines != 4 {
			t.Fatalf("%s: %+v", name, st)
		}
	}
	// Parquet with an optional column holding nulls and empty strings, and a
	// custom column name.
	type row struct {
		ID   int64   `parquet:"id"`
		Body *string `parquet:"body,optional"`
	}
	s := func(v string) *string { return &v }
	rows := []row{{1, s("x")}, {2, nil}, {3, s("")}, {4, s("y\xffz")}}
	p := filepath.Join(dir, "opt.parquet")
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	got, st, err := ReadLines([]string{p}, ReadOptions{Column: "body"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"x", "y\uFFFDz"}) || st.Empty != 2 || st.InvalidUTF8 != 1 {
		t.Fatalf("optional column: %q %+v", got, st)
	}
	// A nested column, named with dots; a non-string column is refused.
	type meta struct {
		Text string `parquet:"text"`
	}
	type nested struct {
		Meta meta  `parquet:"meta"`
		N    int64 `parquet:"n"`
	}
	p = filepath.Join(dir, "nested.parquet")
	if err := parquet.WriteFile(p, []nested{{meta{"deep"}, 1}, {meta{"er"}, 2}}); err != nil {
		t.Fatal(err)
	}
	got, _, err = ReadLines([]string{p}, ReadOptions{Column: "meta.text"})
	if err != nil || !reflect.DeepEqual(got, []string{"deep", "er"}) {
		t.Fatalf("nested column: %q %v", got, err)
	}
	if _, _, err = ReadLines([]string{p}, ReadOptions{Column: "n"}); err == nil || !strings.Contains(err.Error(), "not a string") || !strings.Contains(err.Error(), "meta.text, n") {
		t.Fatalf("int column: %v", err)
	}
	// JSONL with a custom field and a null.
	p = filepath.Join(dir, "d.jsonl")
	writeFile(t, p, []byte(`{"body":"one","n":1}`+"\n"+`{"body":null}`+"\n\n"+`{"body":"two"}`+"\n"))
	got, st, err = ReadLines([]string{p}, ReadOptions{Column: "body"})
	if err != nil || !reflect.DeepEqual(got, []string{"one", "two"}) || st.Empty != 2 {
		t.Fatalf("jsonl: %q %+v %v", got, st, err)
	}
}

func TestForEachLineFoldersAndGlobs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.txt"), []byte("b1\nb2\n"))
	writeFile(t, filepath.Join(dir, "sub", "a.txt"), []byte("a1\n"))
	writeFile(t, filepath.Join(dir, "README.md"), []byte("docs\n"))
	writeFile(t, filepath.Join(dir, ".hidden"), []byte("hidden\n"))
	writeFile(t, filepath.Join(dir, "image.bin"), []byte{0x89, 'P', 'N', 'G', 0, 0, 0, 1, 2, 3})
	lines, st, err := ReadLines([]string{dir}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lines, []string{"b1", "b2", "a1"}) {
		t.Fatalf("folder lines %q", lines)
	}
	if len(st.Skipped) != 1 || !strings.Contains(st.Skipped[0], "image.bin") || st.Files != 2 {
		t.Fatalf("folder stats %+v", st)
	}
	// The same file twice (folder and glob) is read once.
	lines, _, err = ReadLines([]string{filepath.Join(dir, "*.txt"), filepath.Join(dir, "b.txt")}, ReadOptions{})
	if err != nil || len(lines) != 2 {
		t.Fatalf("glob: %q %v", lines, err)
	}
	// ErrStop ends early without error.
	n := 0
	st, err = ForEachLine([]string{dir}, ReadOptions{}, func(string) error {
		n++
		if n == 2 {
			return ErrStop
		}
		return nil
	})
	if err != nil || n != 2 || st.Lines != 2 {
		t.Fatalf("ErrStop: n=%d %+v %v", n, st, err)
	}
	// Other callback errors come back unchanged.
	boom := errors.New("boom")
	_, err = ForEachLine([]string{dir}, ReadOptions{}, func(string) error { return boom })
	if err != boom {
		t.Fatalf("callback error: %v", err)
	}
}

// Bad inputs: each gives an error that names the file, and no panic.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeLines(t, good, []string{"one line", "another line", "third"})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rnd := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	withMagic := append(append([]byte("PAR1"), rnd...), []byte("PAR1")...)
	corruptFooter := bytes.Clone(data)
	for i := len(corruptFooter) - 40; i < len(corruptFooter)-8; i++ {
		corruptFooter[i] ^= 0x5a
	}

	cases := []struct {
		name, file string
		data       []byte
		opt        ReadOptions
		want       []string // substrings of the error
	}{
		{"truncated parquet", "trunc.parquet", data[:len(data)/2], ReadOptions{}, []string{"truncated or corrupt Parquet"}},
		{"truncated parquet, no extension", "trunc", data[:len(data)-3], ReadOptions{}, []string{"truncated or corrupt Parquet"}},
		{"missing column", "good.parquet", nil, ReadOptions{Column: "body"}, []string{`no column "body"`, "columns: text"}},
		{"random bytes named parquet", "rnd.parquet", rnd, ReadOptions{}, []string{"not a Parquet file"}},
		{"random bytes between magics", "magic.parquet", withMagic, ReadOptions{}, []string{"corrupt"}},
		{"corrupt footer", "footer.parquet", corruptFooter, ReadOptions{}, []string{"corrupt"}},
		{"random bytes", "rnd.bin", rnd, ReadOptions{}, []string{"looks binary"}},
		{"random bytes named txt", "rnd.txt", rnd, ReadOptions{}, []string{"looks binary"}},
		{"random bytes named gz", "rnd.txt.gz", rnd, ReadOptions{}, []string{"not a valid gzip file"}},
		{"truncated gzip", "trunc.gz", gzipped(t, numberedLines(5000))[:2000], ReadOptions{}, []string{"truncated"}},
		{"empty lines only", "empty.txt", []byte("\n\n\r\n"), ReadOptions{}, []string{"no non-empty lines", "3 empty lines"}},
		{"empty file", "zero.txt", []byte{}, ReadOptions{}, []string{"no non-empty lines"}},
		{"jsonl missing field", "x.jsonl", []byte(`{"body":"a","id":1}` + "\n"), ReadOptions{}, []string{`no field "text"`, "body, id"}},
		{"jsonl not json", "y.jsonl", []byte("plain text\n"), ReadOptions{}, []string{"not a JSON object"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			if c.data != nil {
				writeFile(t, p, c.data)
			}
			_, err := ForEachLine([]string{p}, c.opt, func(string) error { return nil })
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name the file %s: %v", p, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
		})
	}

	t.Run("folder with no text files", func(t *testing.T) {
		empty := filepath.Join(dir, "emptydir")
		writeFile(t, filepath.Join(empty, "README.md"), []byte("about\n"))
		_, err := ForEachLine([]string{empty}, ReadOptions{}, func(string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "no text") {
			t.Fatalf("want an error naming the folder: %v", err)
		}
		bin := filepath.Join(dir, "bindir")
		writeFile(t, filepath.Join(bin, "x.dat"), rnd)
		_, err = ForEachLine([]string{bin}, ReadOptions{}, func(string) error { return nil })
		if err == nil || !errors.Is(err, ErrEmptyCorpus) || !strings.Contains(err.Error(), "x.dat (binary)") {
			t.Fatalf("folder of binary files: %v", err)
		}
	})
	t.Run("no such file", func(t *testing.T) {
		p := filepath.Join(dir, "missing.txt")
		_, err := ForEachLine([]string{p}, ReadOptions{}, func(string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("missing file: %v", err)
		}
		_, err = ForEachLine([]string{filepath.Join(dir, "*.nothing")}, ReadOptions{}, func(string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "no files match") {
			t.Fatalf("unmatched glob: %v", err)
		}
	})
}

// Flipping bytes anywhere in a valid Parquet file never panics.
func TestParquetCorruptionNeverPanics(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	var lines []string
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf("line %d of the corpus", i))
	}
	writeLines(t, good, lines)
	data, _ := os.ReadFile(good)
	r := rand.New(rand.NewPCG(3, 4))
	p := filepath.Join(dir, "bad.parquet")
	errs := 0
	for i := 0; i < 300; i++ {
		bad := bytes.Clone(data)
		for k := 0; k < 1+i%4; k++ {
			bad[4+r.IntN(len(bad)-8)] ^= byte(1 + r.IntN(255))
		}
		writeFile(t, p, bad)
		if _, err := ForEachLine([]string{p}, ReadOptions{}, func(string) error { return nil }); err != nil {
			errs++
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
	}
	t.Logf("%d of 300 corrupted files gave an error (the rest flipped bytes that do not matter, e.g. in text or statistics)", errs)
}

func numberedLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line %d: %x\n", i, i*i*7919)
	}
	return b.String()
}

func gzipped(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

// The four shared shards through Parquet and back give the same bytes.
func TestRoundTripShards(t *testing.T) {
	shards := heldoutShards(t)
	var orig bytes.Buffer
	for _, s := range shards {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		orig.Write(b)
	}
	dir := t.TempDir()
	for _, ext := range []string{".parquet", ".jsonl"} {
		mid := filepath.Join(dir, "shards"+ext)
		w, err := CreateLineWriter(mid, WriterOptions{RowGroupBytes: 256 << 10}) // several row groups
		if err != nil {
			t.Fatal(err)
		}
		st, err := ForEachLine(shards, ReadOptions{}, w.WriteLine)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if st.Lines != 6111+6105+5986+6119 {
			t.Fatalf("read %d lines", st.Lines)
		}
		back := filepath.Join(dir, "back"+ext+".txt")
		w, err = CreateLineWriter(back, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st2, err := ForEachLine([]string{mid}, ReadOptions{}, w.WriteLine)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(back)
		if st2.Lines != st.Lines || !bytes.Equal(got, orig.Bytes()) {
			t.Fatalf("%s round trip differs: %d lines back, %d bytes vs %d", ext, st2.Lines, len(got), orig.Len())
		}
		if ext == ".parquet" {
			f, err := os.Open(mid)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := f.Stat()
			pf, err := parquet.OpenFile(f, info.Size())
			if err != nil {
				t.Fatal(err)
			}
			if len(pf.RowGroups()) < 2 {
				t.Errorf("want several row groups with a 256 KiB limit, got %d", len(pf.RowGroups()))
			}
			if v, _ := pf.Lookup("dgtext.schema"); v != "corpus/v1" {
				t.Errorf("schema metadata %q", v)
			}
			f.Close()
		}
	}
}

// Page headers claiming absurd sizes are rejected before parquet-go allocates them.
func TestCheckChunkPages(t *testing.T) {
	page := func(h format.PageHeader) []byte {
		b, err := thrift.Marshal(new(thrift.CompactProtocol), &h)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dp := thrift.New(format.DataPageHeader{NumValues: 10})
	good := append(page(format.PageHeader{Type: format.DataPage, UncompressedPageSize: 8, CompressedPageSize: 8, DataPageHeader: dp}), make([]byte, 8)...)
	cases := map[string]struct {
		h    format.PageHeader
		want string
	}{
		"huge uncompressed": {format.PageHeader{Type: format.DataPage, UncompressedPageSize: 1 << 30, CompressedPageSize: 8, DataPageHeader: dp}, "uncompressed"},
		"past the chunk":    {format.PageHeader{Type: format.DataPage, UncompressedPageSize: 8, CompressedPageSize: 1 << 20, DataPageHeader: dp}, "left"},
		"negative":          {format.PageHeader{Type: format.DataPage, UncompressedPageSize: 8, CompressedPageSize: -1, DataPageHeader: dp}, "claims -1"},
		"huge value count": {format.PageHeader{Type: format.DataPage, UncompressedPageSize: 8, CompressedPageSize: 8,
			DataPageHeader: thrift.New(format.DataPageHeader{NumValues: 1 << 30})}, "values"},
	}
	for name, c := range cases {
		chunk := append(bytes.Clone(good), append(page(c.h), make([]byte, 8)...)...)
		m := &format.ColumnMetaData{DataPageOffset: 0, TotalCompressedSize: int64(len(chunk))}
		err := checkChunkPages(bytes.NewReader(chunk), m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
	m := &format.ColumnMetaData{DataPageOffset: 0, TotalCompressedSize: int64(len(good))}
	if err := checkChunkPages(bytes.NewReader(good), m); err != nil {
		t.Fatalf("good page rejected: %v", err)
	}
}

// ContentHash reports the SHA-256 of each file's stored bytes, whatever its
// format, and only for files read to the end.
func TestContentHash(t *testing.T) {
	dir := t.TempDir()
	lines := []string{"alpha", "beta", "gamma"}
	var paths []string
	for _, name := range []string{"c.txt", "c.jsonl", "c.parquet"} {
		p := filepath.Join(dir, name)
		writeLines(t, p, lines)
		paths = append(paths, p)
	}
	gz := filepath.Join(dir, "c.txt.gz")
	writeFile(t, gz, gzipped(t, "alpha\nbeta\n"))
	paths = append(paths, gz)
	st, err := ForEachLine(paths, ReadOptions{ContentHash: true}, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		if got := st.PerFile[i].SHA256; got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA256 %q, want %x", filepath.Base(p), got, sum)
		}
	}
	st, _ = ForEachLine(paths[:1], ReadOptions{}, func(string) error { return nil })
	if st.PerFile[0].SHA256 != "" {
		t.Error("hash computed without ContentHash")
	}
	st, _ = ForEachLine(paths[:1], ReadOptions{ContentHash: true}, func(string) error { return ErrStop })
	if st.PerFile[0].SHA256 != "" {
		t.Error("hash reported for a file not read to its end")
	}
}
