package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func countLines(t *testing.T, paths []string) (int64, Stats) {
	t.Helper()
	var n int64
	st, err := ForEachLine(paths, ReadOptions{}, func(string) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n != st.Lines {
		t.Fatalf("callback saw %d lines, stats say %d", n, st.Lines)
	}
	return n, st
}

// The split of shared/data/README.md: 19,202 train lines and 6,119 eval lines.
func TestSharedSplitCounts(t *testing.T) {
	dir := sharedBillionWords(t)
	release := filepath.Join(dir, BillionWordsRelease)
	cases := map[string]CorpusOptions{
		"split shared":         {DataDir: dir, Split: SplitShared},
		"release folder":       {DataDir: release, Split: SplitShared},
		"explicit split flags": {DataDir: dir, TrainFiles: SharedTrainFiles, EvalFiles: SharedEvalFiles},
		"globs from data dir": {DataDir: dir,
			TrainFiles: []string{BillionWordsRelease + "/heldout-monolingual.tokenized.shuffled/news.en.heldout-0001[0-2]-of-00050", "training-sample"},
			EvalFiles:  []string{BillionWordsRelease + "/heldout-monolingual.tokenized.shuffled/*00013*"}},
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := ResolveCorpus(BillionWords, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Train) != 4 || len(c.Eval) != 1 {
				t.Fatalf("train %d files, eval %d files, want 4 and 1: %v %v", len(c.Train), len(c.Eval), c.Train, c.Eval)
			}
			train, tst := countLines(t, c.Train)
			eval, _ := countLines(t, c.Eval)
			if train != 19202 || eval != 6119 {
				t.Fatalf("train %d lines, eval %d lines, want 19202 and 6119", train, eval)
			}
			if tst.Files != 4 || tst.Empty != 0 || tst.InvalidUTF8 != 0 {
				t.Fatalf("train stats %+v", tst)
			}
		})
	}
	c, err := SharedSplit(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Eval {
		for _, g := range c.Train {
			if f == g {
				t.Fatalf("eval file %s is also a train file", f)
			}
		}
	}
}

func TestResolveCorpusEnvAndDefaultPlace(t *testing.T) {
	dir := sharedBillionWords(t)
	t.Setenv(DataDirEnv, dir)
	c, err := ResolveCorpus("", CorpusOptions{Split: SplitShared})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir || len(c.Train) != 4 {
		t.Fatalf("resolved via env: %+v", c)
	}
	// ./data/billion-words, with the environment variable unset.
	t.Setenv(DataDirEnv, "")
	wd := t.TempDir()
	if err := os.MkdirAll(filepath.Join(wd, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(wd, "data", "billion-words")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	c, err = ResolveCorpus(BillionWords, CorpusOptions{Split: SplitShared})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != filepath.Join("data", "billion-words") || len(c.Eval) != 1 {
		t.Fatalf("resolved via ./data/billion-words: %+v", c)
	}
}

func TestResolveCorpusMissingGuides(t *testing.T) {
	t.Setenv(DataDirEnv, "")
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	_, err := ResolveCorpus(BillionWords, CorpusOptions{})
	if err == nil {
		t.Fatal("no error for a missing corpus")
	}
	for _, want := range []string{"(./data)", "(XDG data folder)", "$DGTEXT_DATA_DIR is not set", "dgtext data download billion-words", "heldout-monolingual.tokenized.shuffled",
		"training-monolingual.tokenized.shuffled", "statmt.org/lm-benchmark", "--data-dir"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}

	env := t.TempDir()
	t.Setenv(DataDirEnv, env)
	_, err = ResolveCorpus(BillionWords, CorpusOptions{})
	if err == nil || !strings.Contains(err.Error(), env) || !strings.Contains(err.Error(), "(./data)") {
		t.Fatalf("error should name both places looked: %v", err)
	}

	flag := filepath.Join(t.TempDir(), "nope")
	_, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: flag})
	if err == nil || !strings.Contains(err.Error(), flag) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error should name the --data-dir: %v", err)
	}
}

// The shared sample has no training shards: the default split must say how to proceed.
func TestResolveCorpusDefaultSplitOnSample(t *testing.T) {
	c, err := ResolveCorpus(BillionWords, CorpusOptions{DataDir: sharedBillionWords(t)})
	if err != nil {
		t.Fatal(err)
	}
	for name, split := range map[string]func() ([]string, error){"train": c.TrainFiles, "eval": c.EvalFiles} {
		files, err := split()
		if err == nil || len(files) != 0 || !strings.Contains(err.Error(), "--split shared") || !strings.Contains(err.Error(), "--"+name+"-files") {
			t.Fatalf("%s: want an error pointing at --split shared, got %v %v", name, files, err)
		}
	}
	if !strings.Contains(c.TrainErr.Error(), "training-monolingual") || !strings.Contains(c.EvalErr.Error(), "heldout-00000") {
		t.Fatalf("errors should name the missing default files: %v / %v", c.TrainErr, c.EvalErr)
	}
	// Only the eval split given (as "make demo" does): eval resolves, train keeps its error.
	c, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: sharedBillionWords(t), EvalFiles: SharedEvalFiles})
	if err != nil || len(c.Eval) != 1 || c.EvalErr != nil || c.TrainErr == nil {
		t.Fatalf("eval only: %+v %v", c, err)
	}
	_, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: sharedBillionWords(t), Split: "weird"})
	if err == nil || !strings.Contains(err.Error(), "shared") {
		t.Fatalf("unknown split: %v", err)
	}
}

// The benchmark's own split, on a fake copy of the full layout.
func TestResolveCorpusDefaultSplit(t *testing.T) {
	dir := t.TempDir()
	rel := filepath.Join(dir, BillionWordsRelease)
	for _, f := range []string{
		"training-monolingual.tokenized.shuffled/news.en-00001-of-00100",
		"training-monolingual.tokenized.shuffled/news.en-00002-of-00100",
		"heldout-monolingual.tokenized.shuffled/news.en.heldout-00000-of-00050",
		"heldout-monolingual.tokenized.shuffled/news.en.heldout-00001-of-00050",
	} {
		writeFile(t, filepath.Join(rel, f), []byte(f+"\n"))
	}
	c, err := ResolveCorpus(BillionWords, CorpusOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 2 || len(c.Eval) != 1 || !strings.HasSuffix(c.Eval[0], "heldout-00000-of-00050") {
		t.Fatalf("default split: %+v", c)
	}
	c, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: dir, EvalFiles: []string{"heldout-monolingual.tokenized.shuffled/*00001*"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Eval) != 1 || !strings.HasSuffix(c.Eval[0], "heldout-00001-of-00050") || len(c.Train) != 2 {
		t.Fatalf("eval override: %+v", c)
	}
	_, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: dir, TrainFiles: []string{"nothing-*"}})
	if err == nil || !strings.Contains(err.Error(), "nothing-*") {
		t.Fatalf("unmatched glob: %v", err)
	}
}

func TestResolvePathCorpus(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "train", "a.txt"), []byte("one\ntwo\n"))
	writeFile(t, filepath.Join(dir, "test", "b.txt"), []byte("three\n"))
	c, err := ResolveCorpus(dir, CorpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 2 || len(c.Eval) != 2 {
		t.Fatalf("folder corpus: %+v", c)
	}
	c, err = ResolveCorpus(dir, CorpusOptions{TrainFiles: []string{"train/*"}, EvalFiles: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 1 || len(c.Eval) != 1 || !strings.HasSuffix(c.Eval[0], "b.txt") {
		t.Fatalf("folder corpus with splits: %+v", c)
	}
	c, err = ResolveCorpus(filepath.Join(dir, "*", "*.txt"), CorpusOptions{})
	if err != nil || len(c.Train) != 2 {
		t.Fatalf("glob corpus: %+v %v", c, err)
	}
	if _, err := ResolveCorpus(filepath.Join(dir, "missing.txt"), CorpusOptions{}); err == nil {
		t.Fatal("missing corpus path gave no error")
	}
}
