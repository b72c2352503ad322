package charlm

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/data"
)

func TestMain(m *testing.M) {
	runtime.LockOSThread()
	os.Exit(m.Run())
}

// sharedLines reads the shared held-out shard 00010 (or skips on a machine without
// ../shared, which CI always has).
func sharedLines(t *testing.T, n int) []string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", "billion-words", "1-billion-word-language-modeling-benchmark-r13output",
		"heldout-monolingual.tokenized.shuffled", "news.en.heldout-00010-of-00050")
	lines, _, err := data.ReadLines([]string{p}, data.ReadOptions{})
	if err != nil {
		t.Fatalf("shared data (needed by this test, present in CI): %v", err)
	}
	if len(lines) > n {
		lines = lines[:n]
	}
	return lines
}

func tinyTrainer(t *testing.T, lines []string, cfg TrainConfig) *Trainer {
	t.Helper()
	c := Presets["tiny"]
	cm := data.BuildCharmap(lines, c.SeqLen, c.VocabCap)
	m, err := NewModel(c, cm, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, cfg, lines, lines[:200], "test lines")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func quickConfig() TrainConfig {
	c := DefaultTrainConfig()
	c.Batch, c.CriticIters, c.LR, c.LogEvery, c.CheckpointEvery, c.EvalSamples = 32, 2, 5e-4, 0, 0, 200
	return c
}

// TestShortRunCriticLearns trains the tiny preset for a few hundred iterations: the
// critic's Wasserstein estimate must rise from its starting value (near 0 for an
// untrained critic) as it learns to tell real text from generated text.
func TestShortRunCriticLearns(t *testing.T) {
	lines := sharedLines(t, 2000)
	cfg := quickConfig()
	cfg.Iters = 200
	tr := tinyTrainer(t, lines, cfg)
	var ws []float64
	for tr.Iter < cfg.Iters {
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, st.Wasserstein)
	}
	mean := func(x []float64) float64 {
		var s float64
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	first, last := mean(ws[:10]), mean(ws[len(ws)-50:])
	t.Logf("Wasserstein estimate: first 10 iterations %.4f, last 50 %.4f", first, last)
	if !(last > first+0.1) {
		t.Fatalf("Wasserstein estimate did not rise: first %.4f, last %.4f", first, last)
	}
	js, err := tr.HeldOutJS4(200)
	if err != nil || math.IsNaN(js) || js <= 0 || js > 1 {
		t.Fatalf("held-out JS-4 = %v, %v", js, err)
	}
}

// TestResumeIsExact checks that a checkpoint holds everything: the iteration after a
// resume has exactly the losses the uninterrupted run had.
func TestResumeIsExact(t *testing.T) {
	lines := sharedLines(t, 500)
	dir := t.TempDir()
	cfg := quickConfig()
	cfg.Iters = 6
	tr := tinyTrainer(t, lines, cfg)
	for i := 0; i < 5; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.SaveCheckpoint(dir, 2); err != nil {
		t.Fatal(err)
	}
	want, err := tr.Step()
	if err != nil {
		t.Fatal(err)
	}
	re, from, err := Resume(dir, gotch.CPU, lines, lines[:200])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(from, "ckpt-00000005") || re.Iter != 5 {
		t.Fatalf("resumed from %s at iteration %d, want ckpt-00000005 at 5", from, re.Iter)
	}
	got, err := re.Step()
	if err != nil {
		t.Fatal(err)
	}
	if got.CriticLoss != want.CriticLoss || got.GenLoss != want.GenLoss || got.Wasserstein != want.Wasserstein {
		t.Fatalf("after resume: critic %v gen %v W %v; uninterrupted: critic %v gen %v W %v",
			got.CriticLoss, got.GenLoss, got.Wasserstein, want.CriticLoss, want.GenLoss, want.Wasserstein)
	}
}

// TestDivergenceSavesLastGoodState forces a NaN loss and checks that training stops
// with ErrDiverged after saving a finite, loadable checkpoint of the state before it.
func TestDivergenceSavesLastGoodState(t *testing.T) {
	lines := sharedLines(t, 300)
	dir := t.TempDir()
	cfg := quickConfig()
	cfg.Iters = 10
	tr := tinyTrainer(t, lines, cfg)
	for i := 0; i < 3; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	// An absurd learning rate throws the weights to ~1e30 in one Adam step, and the
	// next forward pass overflows to Inf/NaN.
	tr.Config.LR = 1e30
	tr.optD.lr, tr.optG.lr = 1e30, 1e30
	err := tr.Run(context.Background(), RunOptions{Dir: dir})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("got %v, want ErrDiverged", err)
	}
	if !strings.Contains(err.Error(), "--resume") {
		t.Errorf("error does not say how to continue: %v", err)
	}
	cks, _ := ListCheckpoints(dir)
	if len(cks) != 1 || !strings.HasSuffix(cks[0], "ckpt-00000003") {
		t.Fatalf("checkpoints %v, want the last good state ckpt-00000003", cks)
	}
	if _, _, err := Load(cks[0], gotch.CPU); err != nil {
		t.Fatalf("last good state does not load: %v", err)
	}
}

func TestCorruptBundlesAreRejected(t *testing.T) {
	lines := sharedLines(t, 300)
	tr := tinyTrainer(t, lines, quickConfig())
	dir := filepath.Join(t.TempDir(), "model")
	if err := tr.Model.Export(dir, false, Manifest{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir, gotch.CPU); err != nil {
		t.Fatalf("a fresh export does not load: %v", err)
	}

	t.Run("truncated weights", func(t *testing.T) {
		bad := copyDir(t, dir)
		w := filepath.Join(bad, "model.safetensors")
		b, _ := os.ReadFile(w)
		os.WriteFile(w, b[:len(b)/2], 0o644)
		_, _, err := Load(bad, gotch.CPU)
		if err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Fatalf("got %v, want a truncated-file error", err)
		}
	})
	t.Run("vocabulary mismatch", func(t *testing.T) {
		bad := copyDir(t, dir)
		p := filepath.Join(bad, "manifest.json")
		var man map[string]any
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &man)
		cfg := man["config"].(map[string]any)
		cfg["vocab"] = cfg["vocab"].(float64) + 1
		b, _ = json.Marshal(man)
		os.WriteFile(p, b, 0o644)
		_, _, err := Load(bad, gotch.CPU)
		want := "model vocab " + itoa(tr.Model.Config.Vocab+1) + ", charmap " + itoa(tr.Model.Config.Vocab)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error containing %q", err, want)
		}
	})
	t.Run("missing manifest", func(t *testing.T) {
		_, _, err := Load(t.TempDir(), gotch.CPU)
		if err == nil || !strings.Contains(err.Error(), "no manifest.json") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestHalfExportRoundTrip(t *testing.T) {
	lines := sharedLines(t, 300)
	tr := tinyTrainer(t, lines, quickConfig())
	dir := filepath.Join(t.TempDir(), "m")
	if err := tr.Model.Export(dir, true, Manifest{}); err != nil {
		t.Fatal(err)
	}
	m, man, err := Load(dir, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if man.Precision != "f16" {
		t.Fatalf("precision %q", man.Precision)
	}
	a, _ := tr.Model.weightArrays()
	b, _ := m.weightArrays()
	for name, x := range a {
		y := b[name]
		for i := range x.Data {
			if d := math.Abs(float64(x.Data[i] - y.Data[i])); d > 1e-3*math.Max(1, math.Abs(float64(x.Data[i]))) {
				t.Fatalf("%s[%d]: %v became %v after F16", name, i, x.Data[i], y.Data[i])
			}
		}
	}
}

func TestSampleIsDeterministic(t *testing.T) {
	lines := sharedLines(t, 300)
	tr := tinyTrainer(t, lines, quickConfig())
	sample := func() []string {
		tr.Model.Freeze()
		out, err := tr.Model.SampleSeeded(50, 16, 42)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := sample(), sample()
	if len(a) != 50 {
		t.Fatalf("%d samples", len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d differs: %q vs %q", i, a[i], b[i])
		}
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

func itoa(i int) string { return strconv.Itoa(i) }
