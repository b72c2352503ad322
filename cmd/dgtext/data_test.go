package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// Issue 11 item 5: Ctrl-C stops convert while its input is slow (a FIFO whose
// writer is silent), and no output is left.
func TestConvertStopsOnSlowInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "slow.txt")
	release := slowFIFO(t, fifo, "one line\nanother\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := filepath.Join(dir, "out.parquet")
	done := make(chan error, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		done <- convertRun(&convertOptions{In: []string{fifo}, Out: out, Ctx: ctx}, &stdout, &stderr)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("convert still running 3 s after Ctrl-C")
	}
	release()
	if err == nil || !strings.Contains(err.Error(), "interrupted after 2 lines") || !strings.Contains(err.Error(), "was not written") {
		t.Fatalf("want an 'interrupted after 2 lines ... not written' error, got %v", err)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "slow.txt" {
		t.Fatalf("folder holds %v after an interrupted convert, want only the input", names)
	}
}

// slowFIFO makes a FIFO at path whose writer sends text and then stays silent,
// as a slow pipe or network file would; release closes the writer.
func slowFIFO(t *testing.T, path, text string) (release func()) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	writer := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			w.WriteString(text)
		}
		writer <- w
	}()
	return func() {
		if w := <-writer; w != nil {
			w.Close()
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
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

// Issue 11 item 1: convert refuses an output that is one of its inputs, by name,
// through a symbolic link or another spelling; the input is left as it was.
func TestConvertRefusesOutputOverInput(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	x := filepath.Join(dir, "x.txt")
	os.WriteFile(a, []byte("alpha\nbeta\n"), 0o644)
	os.WriteFile(x, []byte("x one\nx two\n"), 0o644)
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink(x, link); err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(dir, "c.parquet")
	var out, errOut bytes.Buffer
	if err := convertRun(&convertOptions{In: []string{a}, Out: pq}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	pqBefore, _ := os.ReadFile(pq)
	cases := []struct {
		in  []string
		out string
	}{
		{[]string{a, x}, x},
		{[]string{a, link}, x},
		{[]string{x}, link},
		{[]string{a, pq}, filepath.Join(dir, "sub", "..", "c.parquet")},
	}
	for _, c := range cases {
		err := convertRun(&convertOptions{In: c.in, Out: c.out}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "is also an input") {
			t.Errorf("--in %v --out %s: got %v, want a refusal", c.in, c.out, err)
		}
	}
	if b, _ := os.ReadFile(x); string(b) != "x one\nx two\n" {
		t.Errorf("input x.txt changed: %q", b)
	}
	if b, _ := os.ReadFile(pq); !bytes.Equal(b, pqBefore) {
		t.Error("input c.parquet changed")
	}
	if names := dirNames(t, dir); len(names) != 4 {
		t.Errorf("folder holds %v, want only a, c, link and x", names)
	}
}

// Issue 11 item 8: convert --in DIR --out DIR/all.txt, run twice, gives the
// same output: the second run leaves its previous output out of the inputs.
func TestConvertFolderLeavesOutItsOutput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha\nbeta\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("gamma\n"), 0o644)
	all := filepath.Join(dir, "all.txt")
	for run := 1; run <= 3; run++ {
		for _, in := range []string{dir, filepath.Join(dir, "*.txt")} {
			var out, errOut bytes.Buffer
			if err := convertRun(&convertOptions{In: []string{in}, Out: all}, &out, &errOut); err != nil {
				t.Fatalf("run %d, --in %s: %v", run, in, err)
			}
			if b, _ := os.ReadFile(all); string(b) != "alpha\nbeta\ngamma\n" {
				t.Fatalf("run %d, --in %s: output %q, want the two inputs once", run, in, b)
			}
			if run > 1 && !strings.Contains(errOut.String(), "leaving out "+all) {
				t.Errorf("run %d: no note about leaving the output out: %q", run, errOut.String())
			}
		}
	}
}
