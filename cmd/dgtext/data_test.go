package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgtext/dgtext/data"
)

// sharedData is ../shared/data relative to the repository root.
func sharedData(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "billion-words")); err != nil {
		t.Fatalf("shared data missing: %v", err)
	}
	return dir
}

func heldout(t *testing.T) []string {
	dir := filepath.Join(sharedData(t), "billion-words", data.BillionWordsRelease, "heldout-monolingual.tokenized.shuffled")
	var out []string
	for _, n := range []string{"00010", "00011", "00012", "00013"} {
		out = append(out, filepath.Join(dir, "news.en.heldout-"+n+"-of-00050"))
	}
	return out
}

// The round-trip acceptance: four held-out shards to Parquet and back.
func TestConvertRoundTrip(t *testing.T) {
	shards := heldout(t)
	dir := t.TempDir()
	pq := filepath.Join(dir, "heldout.parquet")
	var out, errOut bytes.Buffer
	if err := convertRun(&convertOptions{In: shards, Out: pq, JSON: true}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res convertResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json output is not only JSON: %v\n%s", err, out.String())
	}
	if res.Lines != 6111+6105+5986+6119 || res.Files != 4 || res.PerFile[3].Lines != 6119 || res.Bytes == 0 {
		t.Fatalf("result %+v", res)
	}
	txt := filepath.Join(dir, "back.txt")
	out.Reset()
	if err := convertRun(&convertOptions{In: []string{pq}, Out: txt}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote 24321 lines") {
		t.Fatalf("summary: %s", out.String())
	}
	var want []byte
	for _, s := range shards {
		b, _ := os.ReadFile(s)
		want = append(want, b...)
	}
	got, _ := os.ReadFile(txt)
	if !bytes.Equal(got, want) {
		t.Fatalf("round trip differs: %d bytes, want %d", len(got), len(want))
	}
}

// Bad input: a clear error, and no output file.
func TestConvertBadInput(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "good.parquet")
	var out, errOut bytes.Buffer
	if err := convertRun(&convertOptions{In: heldout(t)[:1], Out: pq}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pq)
	trunc := filepath.Join(dir, "trunc.parquet")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	rnd := filepath.Join(dir, "random.bin")
	noise := make([]byte, 1000)
	for i := range noise {
		noise[i] = byte(i*7919 + i*i)
	}
	os.WriteFile(rnd, noise, 0o644)
	emptyDir := filepath.Join(dir, "nothing")
	os.MkdirAll(emptyDir, 0o755)
	os.WriteFile(filepath.Join(emptyDir, "README"), []byte("x\n"), 0o644)

	cases := []struct {
		name   string
		in     []string
		column string
		want   string
	}{
		{"truncated parquet", []string{trunc}, "", "truncated or corrupt Parquet"},
		{"missing column", []string{pq}, "body", `no column "body"; the file has columns: text`},
		{"folder with no text files", []string{emptyDir}, "", "holds no text"},
		{"random bytes", []string{rnd}, "", "looks binary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outPath := filepath.Join(dir, "out.txt")
			err := convertRun(&convertOptions{In: c.in, Out: outPath, Column: c.column}, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if _, err := os.Stat(outPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("output file written despite the error")
			}
			// The same through the command line: non-zero exit is main's job; the command must fail.
			root := newRootCmd()
			args := []string{"data", "convert", "--out", outPath, "--in", strings.Join(c.in, ",")}
			if c.column != "" {
				args = append(args, "--column", c.column)
			}
			root.SetArgs(args)
			root.SetOut(&out)
			root.SetErr(&errOut)
			if err := root.Execute(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("command: %v", err)
			}
		})
	}
	for _, files := range []string{dir} {
		names, _ := os.ReadDir(files)
		for _, n := range names {
			if strings.HasPrefix(n.Name(), ".out.txt.tmp") {
				t.Fatalf("temporary file left: %s", n.Name())
			}
		}
	}
}

// The missing-corpus acceptance, through "data stats".
func TestStatsCorpus(t *testing.T) {
	bw := filepath.Join(sharedData(t), "billion-words")
	var out, errOut bytes.Buffer
	opts := &statsOptions{JSON: true, Top: 5, Corpus: corpusFlags{Corpus: "billion-words", DataDir: bw, Split: "shared", Column: "text"}}
	if err := statsRun(opts, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var res struct{ Reports []statsReport }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json output: %v", err)
	}
	if len(res.Reports) != 2 || res.Reports[0].Lines != 19202 || res.Reports[1].Lines != 6119 {
		t.Fatalf("reports %+v", res.Reports)
	}
	r := res.Reports[0]
	var hist int64
	for _, b := range r.Histogram {
		hist += b.Lines
	}
	if hist != r.Lines || r.Vocab < 50 || r.TopChars[0].Char != " " || r.Chars == 0 || len(r.TopChars) != 5 {
		t.Fatalf("train report %+v", r)
	}

	t.Setenv(data.DataDirEnv, "")
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	opts.Corpus.DataDir, opts.Corpus.Split = "", ""
	err := statsRun(opts, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "statmt.org/lm-benchmark") || !strings.Contains(err.Error(), "(./data)") {
		t.Fatalf("missing corpus: %v", err)
	}
}

func TestStatsPathsText(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("hello\n\nbad \xff byte\n"), 0o644)
	var out, errOut bytes.Buffer
	if err := statsRun(&statsOptions{Paths: []string{p}, Top: 3}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	s := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"files 1 lines 2", "empty lines (skipped) 1", "lines with invalid UTF-8 1 (1 bytes", "vocabulary 11 distinct", "1-8 1 50.0%"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	root := newRootCmd()
	root.SetArgs([]string{"data", "stats", p, "--split", "shared"})
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.Execute(); err == nil {
		t.Fatal("paths and corpus flags together should be refused")
	}
}
