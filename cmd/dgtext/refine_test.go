package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/pipeline"
)

// tinyModel trains the tiny preset for a few iterations and exports it.
func tinyModel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	if _, stderr, err := runCLI(t, trainArgs(filepath.Join(dir, "ck"), 5, "--export", model)...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return model
}

func refineArgs(model, out string, extra ...string) []string {
	return append([]string{"refine", "--model", model, "--corpus", "billion-words", "--data-dir", sharedBW, "--split", "shared",
		"--n", "40", "--batch", "16", "--steps", "4", "--save-every", "2", "--out", out, "--quiet", "--threads", "1", "--json", "--no-cache"}, extra...)
}

// TestRefineEndToEnd checks the JSON table against the Parquet file: 40 rows per saved
// step, and each step's JS recomputed from the file's text matches the report.
func TestRefineEndToEnd(t *testing.T) {
	model := tinyModel(t)
	out := filepath.Join(t.TempDir(), "r.parquet")
	stdout, stderr, err := runCLI(t, refineArgs(model, out, "--save-z")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if rep.Kind != "text" || rep.Method != "dgflow-kl" || rep.N != 40 || len(rep.Steps) != 3 || !rep.Complete || rep.Done != 40 || len(rep.Examples) != 5 {
		t.Fatalf("report: method %s n %d steps %+v", rep.Method, rep.N, rep.Steps)
	}
	rows, err := data.ReadSamples(out)
	if err != nil {
		t.Fatal(err)
	}
	byStep := map[int][]string{}
	for _, r := range rows {
		if len(r.Z) != 32 {
			t.Fatalf("row %d has a %d-dim z", r.ID, len(r.Z))
		}
		byStep[r.Step] = append(byStep[r.Step], r.Text)
	}
	ref, _, err := data.ReadLines([]string{filepath.Join(sharedBW, data.BillionWordsRelease, data.SharedEvalFiles[0])}, data.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refStats, err := eval.Count(ref, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Steps {
		texts := byStep[s.Step]
		if len(texts) != 40 {
			t.Fatalf("step %d: %d rows, want 40", s.Step, len(texts))
		}
		js, err := eval.Score(texts, refStats)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{4, 6} {
			if got, want := js[n], s.Scores["JS-"+strconv.Itoa(n)]; got != want {
				t.Fatalf("step %d JS-%d: rescored %v, report %v", s.Step, n, got, want)
			}
		}
	}

	// The saved latents refine again to the same base text.
	again := filepath.Join(t.TempDir(), "again.jsonl")
	if _, stderr, err := runCLI(t, refineArgs(model, again, "--latents", out)...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows2, err := data.ReadSamples(again)
	if err != nil {
		t.Fatal(err)
	}
	var base2 []string
	for _, r := range rows2 {
		if r.Step == 0 {
			base2 = append(base2, r.Text)
		}
	}
	if strings.Join(base2, "\n") != strings.Join(byStep[0], "\n") {
		t.Fatal("refining the saved latents did not reproduce the base samples")
	}
}

func TestRefineWithoutCorpusStillRefines(t *testing.T) {
	model := tinyModel(t)
	out := filepath.Join(t.TempDir(), "r.txt")
	args := []string{"refine", "--model", model, "--corpus", "billion-words", "--data-dir", t.TempDir(), "--n", "8", "--batch", "8",
		"--steps", "2", "--out", out, "--quiet", "--threads", "1", "--json"}
	stdout, _, err := runCLI(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Note, "--data-dir") || !strings.Contains(rep.Note, data.DownloadCommand) || rep.Steps[0].Scores != nil || len(rep.Columns) != 0 {
		t.Fatalf("want critic scores only and a note on getting JS, got note %q steps %+v", rep.Note, rep.Steps)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

func TestRefineBadInput(t *testing.T) {
	model := tinyModel(t)
	out := filepath.Join(t.TempDir(), "r.parquet")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "magic"}, "unknown --method"},
		{[]string{"--f", "hellinger"}, "unknown f-divergence"},
		{[]string{"--steps", "-3"}, "--steps"},
		{[]string{"--model", t.TempDir()}, "no manifest.json"},
		{[]string{"--latents", "/nonexistent.parquet"}, "nonexistent"},
	} {
		_, _, err := runCLI(t, append(refineArgs(model, out), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run left an output file")
	}
}

// runCLIContext is runCLI under a context the test controls (a stand-in for Ctrl-C).
func runCLIContext(ctx context.Context, t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// tinyRefineArgs refines 16 samples of model without a corpus lookup.
func tinyRefineArgs(model, out string, extra ...string) []string {
	return append([]string{"refine", "--model", model, "--corpus", "billion-words", "--data-dir", sharedBW, "--split", "shared",
		"--n", "16", "--batch", "8", "--steps", "2", "--out", out, "--quiet", "--threads", "1", "--no-cache"}, extra...)
}

func checksum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// Issue 11, item 1: an output that is also an input (directly or through a symbolic
// link) is refused before anything is written, and the input is unchanged.
func TestRefineRefusesOutputOverInput(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	// A corpus given as a Parquet file.
	corpus := filepath.Join(dir, "corpus.parquet")
	lines, _, err := data.ReadLines([]string{filepath.Join(sharedBW, data.BillionWordsRelease, data.SharedEvalFiles[0])}, data.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := data.CreateLineWriter(corpus, data.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[:300] {
		w.WriteLine(l)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Latents written by an earlier run.
	z := filepath.Join(dir, "z.parquet")
	if _, stderr, err := runCLI(t, tinyRefineArgs(model, z, "--save-z")...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	link := filepath.Join(dir, "link.parquet")
	if err := os.Symlink(z, link); err != nil {
		t.Fatal(err)
	}
	sums := map[string][32]byte{corpus: checksum(t, corpus), z: checksum(t, z)}
	for _, args := range [][]string{
		{"refine", "--model", model, "--corpus", corpus, "--out", corpus},
		{"refine", "--model", model, "--latents", z, "--out", z},
		{"refine", "--model", model, "--latents", z, "--out", link},
		{"refine", "--model", model, "--corpus", corpus, "--out", filepath.Join(dir, "r.parquet"), "--plot", filepath.Join(dir, "r.parquet")},
	} {
		_, _, err := runCLI(t, append(args, "--n", "8", "--steps", "1", "--quiet", "--threads", "1", "--no-cache")...)
		if err == nil || !(strings.Contains(err.Error(), "is also an input") || strings.Contains(err.Error(), "same file")) {
			t.Errorf("%v: %v", args[3:], err)
		}
	}
	for path, sum := range sums {
		if checksum(t, path) != sum {
			t.Errorf("%s changed", path)
		}
	}
}

// Issue 11, items 4 and 6: Ctrl-C stops a run inside its batch, within one step,
// says how far it got instead of "context canceled", and leaves nothing under the
// final name.
func TestRefineInterruptStopsWithinOneStep(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.parquet")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := runCLIContext(ctx, t, tinyRefineArgs(model, out, "--steps", "1000000")...)
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted after 0 of 16 samples; no sample was complete, nothing written") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("refine --steps 1000000 ignored the cancellation for 30 s")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("an interrupted run left %v", left)
	}
}

// Issue 11, item 6: the NaN guard keeps the complete samples under NAME.partial.EXT,
// never under the final name.
func TestRefineNaNGuardKeepsPartial(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	// 16 latents; the second batch of 8 holds a NaN.
	z := filepath.Join(dir, "z.parquet")
	w, err := data.CreateSampleWriter(z, data.WriterOptions{Latents: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		v := make([]float32, 32)
		if i >= 8 {
			v[3] = float32(math.NaN())
		}
		w.Write(data.Sample{ID: int64(i), Text: "", Method: "base", Z: v})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.parquet")
	_, _, err = runCLI(t, tinyRefineArgs(model, out, "--latents", z)...)
	if err == nil || !strings.Contains(err.Error(), "non-finite") || !strings.Contains(err.Error(), "stopped after 8 of 16 samples; partial samples in "+data.PartialPath(out)) {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the NaN guard left a partial result under the final name %s", out)
	}
	rows, err := data.ReadSamples(data.PartialPath(out))
	if err != nil || len(rows) != 8*2 {
		t.Fatalf("partial file: %v, %d rows (want 8 samples × steps 0 and 2)", err, len(rows))
	}
}

// Issue 11, item 10: --save-every 0 keeps step 0; NaN or infinite settings are
// refused; a huge step size warns; --latents names itself; a --corpus given but
// unreadable is an error.
func TestRefineLesserInputs(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.parquet")
	stdout, stderr, err := runCLI(t, tinyRefineArgs(model, out, "--steps", "4", "--save-every", "0", "--json")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep pipeline.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Steps) != 2 || rep.Steps[0].Step != 0 || rep.Steps[1].Step != 4 {
		t.Errorf("--save-every 0: %v, steps %+v", err, rep.Steps)
	}
	for _, bad := range [][]string{{"--gamma", "nan"}, {"--eta", "inf"}, {"--eta", "nan"}, {"--method", "ddls", "--eps", "nan"}} {
		if _, _, err := runCLI(t, tinyRefineArgs(model, out, bad...)...); err == nil || !strings.Contains(err.Error(), "finite") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if _, stderr, err := runCLI(t, tinyRefineArgs(model, out, "--eta", "1e30")...); !strings.Contains(stderr, "warning: at step 2") || !strings.Contains(stderr, "10·√L") {
		t.Errorf("--eta 1e30: %v, no radius warning in\n%s", err, stderr)
	}
	if _, _, err := runCLI(t, tinyRefineArgs(model, out, "--latents", "z.csv")...); err == nil || !strings.Contains(err.Error(), "--latents z.csv: unknown extension") || strings.Contains(err.Error(), "output") {
		t.Errorf("--latents z.csv: %v", err)
	}
	corrupt := filepath.Join(dir, "corpus.parquet")
	os.WriteFile(corrupt, []byte("PAR1 this is no Parquet file PAR1"), 0o644)
	for _, c := range []string{corrupt, filepath.Join(dir, "missing.txt")} {
		_, _, err := runCLI(t, "refine", "--model", model, "--corpus", c, "--n", "4", "--steps", "1", "--out", out, "--quiet", "--threads", "1", "--no-cache")
		if err == nil || !strings.Contains(err.Error(), "--corpus "+c) {
			t.Errorf("--corpus %s: %v", c, err)
		}
	}
}

// Issue 12, item 3: without the corpus the note lists the places looked and the
// download command, the table ends with a one-line hint, and the plot has no JS panel.
func TestRefineMissingCorpusExplained(t *testing.T) {
	model := tinyModel(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "no-data")
	plotPath := filepath.Join(dir, "out", "refine.png") // out/ does not exist yet
	stdout, stderr, err := runCLI(t, "refine", "--model", model, "--corpus", "billion-words", "--data-dir", empty, "--n", "8", "--steps", "2",
		"--out", filepath.Join(dir, "out", "r.parquet"), "--plot", plotPath, "--quiet", "--threads", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, empty) || !strings.Contains(stderr, data.DownloadCommand) {
		t.Errorf("the note does not list %s and the download command:\n%s", empty, stderr)
	}
	if !strings.Contains(stdout, "critic mean") || !strings.Contains(stdout, "JS not computed") || !strings.Contains(stdout, data.DownloadCommand) || strings.Contains(stdout+stderr, "pass --corpus PATH") {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() > img.Bounds().Dy()*3/2 {
		t.Errorf("plot %v: %v (want the critic panel alone)", err, img.Bounds())
	}
}
