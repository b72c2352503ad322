package data

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// referenceLines is the plain-text contract written the obvious way: split on
// "\n", drop one trailing "\r", skip empty lines, replace invalid bytes.
func referenceLines(b []byte) []string {
	var out []string
	for i, l := range strings.Split(string(b), "\n") {
		if i == strings.Count(string(b), "\n") && l == "" {
			break
		}
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		out = append(out, repairUTF8(l))
	}
	return out
}

func FuzzTextReader(f *testing.F) {
	f.Add([]byte("hello world\nsecond line\n"))
	f.Add([]byte("crlf\r\n\r\n\nlast"))
	f.Add([]byte("bad \xff\xfe utf8\n\xc3\n"))
	f.Add([]byte("日本語\n\u2028\n"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(gzipped(f, "zipped line\nanother\n"))
	f.Add([]byte("\x01\x02\x03 control\n"))
	f.Add([]byte(""))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "in.txt")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var got []string
		st, err := ForEachLine([]string{path}, ReadOptions{}, func(l string) error {
			got = append(got, l)
			return nil
		})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if int64(len(got)) != st.Lines || st.Lines == 0 {
			t.Fatalf("%d lines delivered, stats say %d", len(got), st.Lines)
		}
		var chars int64
		for _, l := range got {
			if l == "" || !utf8.ValidString(l) || strings.Contains(l, "\n") {
				t.Fatalf("bad line %q", l)
			}
			chars += int64(utf8.RuneCountInString(l))
		}
		if chars != st.Chars {
			t.Fatalf("chars %d, stats say %d", chars, st.Chars)
		}
		if st.PerFile[0].Format == formatText {
			if want := referenceLines(b); !reflect.DeepEqual(got, want) {
				t.Fatalf("lines %q, want %q", got, want)
			}
		}
	})
}

// parquetSeeds are valid Parquet files of the shapes dgtext meets.
func parquetSeeds(tb testing.TB) [][]byte {
	dir := tb.TempDir()
	var seeds [][]byte
	add := func(p string) {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	p := filepath.Join(dir, "lines.parquet")
	writeLines(tb, p, []string{"one", "two", "three ’x’", "日本"})
	add(p)
	for _, z := range []bool{false, true} {
		p := filepath.Join(dir, "samples.parquet")
		w, err := CreateSampleWriter(p, WriterOptions{Latents: z, Compression: "none"})
		if err != nil {
			tb.Fatal(err)
		}
		for i := range 5 {
			w.Write(Sample{ID: int64(i), Text: "sample", Method: "dgflow", Step: i, Critic: 0.5, Z: []float32{1, 2}})
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		add(p)
	}
	type opt struct {
		Text *string `parquet:"text,optional,dict,zstd"`
		N    int32   `parquet:"n"`
	}
	s := "dict"
	p = filepath.Join(dir, "opt.parquet")
	if err := parquet.WriteFile(p, []opt{{&s, 1}, {nil, 2}, {&s, 3}}); err != nil {
		tb.Fatal(err)
	}
	add(p)
	return seeds
}

func FuzzParquetReader(f *testing.F) {
	for _, s := range parquetSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("PAR1PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00\x04\x00\x00\x00PAR1"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "in.parquet")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var n int64
		st, err := ForEachLine([]string{path}, ReadOptions{}, func(l string) error {
			if l == "" || !utf8.ValidString(l) {
				t.Fatalf("bad line %q", l)
			}
			n++
			return nil
		})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
		} else if n != st.Lines {
			t.Fatalf("%d lines delivered, stats say %d", n, st.Lines)
		}
		if _, err := ReadSamples(path); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("ReadSamples error does not name the file: %v", err)
		}
	})
}

func FuzzCharmapJSON(f *testing.F) {
	good, _ := json.Marshal(BuildCharmap([]string{"hello wörld", "a\tb\"c"}, 8, 0))
	f.Add(good)
	f.Add([]byte(`{"format":"dgtext-charmap","version":1,"chars":["unk","a","b"],"counts":[0,2,1]}`))
	f.Add([]byte(`{"format":"dgtext-charmap","version":1,"chars":["unk","\ud800","\ufffd"]}`))
	f.Add([]byte(`{"format":"dgtext-charmap","version":1,"chars":["unk","a","a"]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Charmap
		if err := c.UnmarshalJSON(b); err != nil {
			if !strings.HasPrefix(err.Error(), "invalid charmap") {
				t.Fatalf("error %q does not say the charmap is invalid", err)
			}
			return
		}
		if c.Size() < 2 || c.Rune(0) != UnkRune || c.Rune(c.Size()) != UnkRune {
			t.Fatalf("loaded charmap of size %d", c.Size())
		}
		for i := 1; i < c.Size(); i++ {
			if c.Index(c.Rune(i)) != i {
				t.Fatalf("Index(Rune(%d)) = %d", i, c.Index(c.Rune(i)))
			}
		}
		again, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		var c2 Charmap
		if err := c2.UnmarshalJSON(again); err != nil {
			t.Fatalf("a saved valid charmap does not load: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(&c, &c2) {
			t.Fatal("charmap changed through a save and load")
		}
		if !bytes.Contains(again, []byte(`"unk"`)) {
			t.Fatal("saved charmap lacks unk")
		}
	})
}
