package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
	if rep.Kind != "text" || rep.Method != "dgflow-kl" || rep.N != 40 || len(rep.Steps) != 3 || !rep.Complete || rep.Done != 40 {
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
	if !strings.Contains(rep.Note, "--data-dir") || !strings.Contains(rep.Note, pipeline.DownloadCommand) || rep.Steps[0].Scores != nil || len(rep.Columns) != 0 {
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
