package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgtext/dgtext/data"
)

// evalShard returns held-out shard NN of the shared billion-words data.
func evalShard(t *testing.T, nn string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "billion-words", data.BillionWordsRelease,
		"heldout-monolingual.tokenized.shuffled", "news.en.heldout-"+nn+"-of-00050"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared data missing: %v", err)
	}
	return p
}

// plainJS is an independent, plain computation: string n-grams in maps, the
// textbook sum over both supports.
func plainJS(a, b []string, n int) float64 {
	count := func(lines []string) (map[string]float64, float64) {
		m := map[string]float64{}
		t := 0.0
		for _, l := range lines {
			r := []rune(l)
			if len(r) > 32 {
				r = r[:32]
			}
			for len(r) < 32 {
				r = append(r, '`')
			}
			for i := 0; i+n <= 32; i++ {
				m[string(r[i:i+n])]++
				t++
			}
		}
		return m, t
	}
	p, tp := count(a)
	q, tq := count(b)
	s := 0.0
	for g, c := range p {
		x, y := c/tp, q[g]/tq
		s += x * math.Log2(2*x/(x+y))
	}
	for g, c := range q {
		x, y := p[g]/tp, c/tq
		s += y * math.Log2(2*y/(x+y))
	}
	return s / 2
}

func readShard(t *testing.T, path string) []string {
	t.Helper()
	lines, _, err := data.ReadLines([]string{path}, data.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func runEvalJSON(t *testing.T, opts *evalOptions) evalResult {
	t.Helper()
	opts.JSON = true
	var out, errOut bytes.Buffer
	if err := evalRun(opts, &out, &errOut); err != nil {
		t.Fatalf("eval: %v\n%s", err, errOut.String())
	}
	var res evalResult
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, out.String())
	}
	if rest := strings.TrimSpace(out.String()[dec.InputOffset():]); rest != "" {
		t.Fatalf("stdout holds more than the JSON result: %q", rest)
	}
	return res
}

// The acceptance check: shard 00010 against shard 00013, n = 1,2,3,4,6.
func TestEvalShardsAgainstPlainJS(t *testing.T) {
	s10, s13 := evalShard(t, "00010"), evalShard(t, "00013")
	cache := t.TempDir()
	opts := &evalOptions{Samples: []string{s10}, Reference: []string{s13}, Orders: []int{1, 2, 3, 4, 6}, SeqLen: 32, CacheDir: cache}
	res := runEvalJSON(t, opts)
	if res.Samples != 6111 || res.Reference != 6119 || res.Cached {
		t.Fatalf("result %+v", res)
	}
	a, b := readShard(t, s10), readShard(t, s13)
	for _, n := range []int{1, 2, 3, 4, 6} {
		key := string(rune('0' + n))
		want := plainJS(a, b, n)
		if got, ok := res.JS[key]; !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("JS-%d = %.17g, plain computation %.17g", n, got, want)
		}
	}
	if v := res.JS["4"]; math.Abs(v-0.109) > 0.001 {
		t.Errorf("JS-4 = %v, the README calibration says about 0.109", v)
	}
	if v := res.JS["6"]; math.Abs(v-0.392) > 0.001 {
		t.Errorf("JS-6 = %v, the README calibration says about 0.392", v)
	}
	// Second run: from the cache, same numbers.
	again := runEvalJSON(t, &evalOptions{Samples: []string{s10}, Reference: []string{s13}, Orders: []int{1, 2, 3, 4, 6}, SeqLen: 32, CacheDir: cache})
	if !again.Cached {
		t.Error("second run did not use the cache")
	}
	for k, v := range res.JS {
		if again.JS[k] != v {
			t.Errorf("JS-%s from the cache %v, counted %v", k, again.JS[k], v)
		}
	}
	// The table form.
	var out, errOut bytes.Buffer
	opts = &evalOptions{Samples: []string{s10}, Reference: []string{s13}, Orders: []int{4, 6}, SeqLen: 32, NoCache: true}
	if err := evalRun(opts, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "JS (bits)") || !strings.Contains(out.String(), "0.108858") {
		t.Errorf("table:\n%s", out.String())
	}
}

// The reference can come from the corpus flags: billion-words' shared split
// evaluates against shard 00013.
func TestEvalCorpusReference(t *testing.T) {
	s10, s13 := evalShard(t, "00010"), evalShard(t, "00013")
	dataDir := filepath.Join(filepath.Dir(s13), "..", "..")
	opts := &evalOptions{Samples: []string{s10}, Orders: []int{4}, SeqLen: 32, NoCache: true, CorpusSet: true,
		Corpus: corpusFlags{Corpus: data.BillionWords, DataDir: dataDir, Split: data.SplitShared}}
	res := runEvalJSON(t, opts)
	direct := runEvalJSON(t, &evalOptions{Samples: []string{s10}, Reference: []string{s13}, Orders: []int{4}, SeqLen: 32, NoCache: true})
	if res.Reference != 6119 || res.JS["4"] != direct.JS["4"] {
		t.Errorf("corpus reference: %+v; direct: %+v", res, direct)
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("hello world\nsecond line\n"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	missing := filepath.Join(dir, "missing.txt")
	base := func() *evalOptions {
		return &evalOptions{Samples: []string{good}, Reference: []string{good}, Orders: []int{4, 6}, SeqLen: 32, NoCache: true}
	}
	cases := map[string]func(o *evalOptions){
		"no samples":           func(o *evalOptions) { o.Samples = nil },
		"missing samples":      func(o *evalOptions) { o.Samples = []string{missing} },
		"empty samples":        func(o *evalOptions) { o.Samples = []string{empty} },
		"missing reference":    func(o *evalOptions) { o.Reference = []string{missing} },
		"empty reference":      func(o *evalOptions) { o.Reference = []string{empty} },
		"order 0":              func(o *evalOptions) { o.Orders = []int{0} },
		"order over seq-len":   func(o *evalOptions) { o.Orders = []int{40} },
		"no orders":            func(o *evalOptions) { o.Orders = nil },
		"seq-len 0":            func(o *evalOptions) { o.SeqLen = 0 },
		"reference and corpus": func(o *evalOptions) { o.CorpusSet = true },
	}
	for name, edit := range cases {
		o := base()
		edit(o)
		var out, errOut bytes.Buffer
		o.JSON = true
		if err := evalRun(o, &out, &errOut); err == nil {
			t.Errorf("%s: no error", name)
		} else if out.Len() != 0 {
			t.Errorf("%s: error %v but stdout %q", name, err, out.String())
		}
	}
	// Through cobra: the exit path returns the error too.
	cmd := newRootCmd()
	cmd.SetArgs([]string{"eval", "--samples", missing, "--reference", good, "--no-cache"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err == nil {
		t.Error("dgtext eval with a missing samples file succeeded")
	}
	cmd = newRootCmd()
	out.Reset()
	cmd.SetArgs([]string{"eval", "--samples", good, "--reference", good, "-n", "1,2", "--no-cache", "--json"})
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var res evalResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.JS["1"] != 0 || res.JS["2"] != 0 || res.Samples != 2 {
		t.Errorf("identical samples and reference: %+v, %v", res, err)
	}
}

// Issue 11 item 10: eval on a refine output scores one saved step (the last by
// default, --step N, or --step all) and says which; it used to count every
// step together.
func TestEvalStepOfRefineOutput(t *testing.T) {
	dir := t.TempDir()
	s10, s13 := readShard(t, evalShard(t, "00010")), evalShard(t, "00013")
	base, refined := s10[:300], s10[300:600]
	for _, ext := range []string{".parquet", ".jsonl"} {
		out := filepath.Join(dir, "refined"+ext)
		w, err := data.CreateSampleWriter(out, data.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for step, texts := range map[int][]string{0: base, 5: refined} {
			for i, s := range texts {
				if err := w.Write(data.Sample{ID: int64(i), Text: s, Method: "dgflow", Step: step, Seed: 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		score := func(lines []string) map[string]float64 {
			p := filepath.Join(dir, "plain.txt")
			os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
			return runEvalJSON(t, &evalOptions{Samples: []string{p}, Reference: []string{s13}, Orders: []int{4}, SeqLen: 32, NoCache: true}).JS
		}
		run := func(step string) (evalResult, string) {
			opts := &evalOptions{Samples: []string{out}, Reference: []string{s13}, Orders: []int{4}, SeqLen: 32, NoCache: true,
				Step: step, StepSet: step != "", JSON: true}
			var stdout, stderr bytes.Buffer
			if err := evalRun(opts, &stdout, &stderr); err != nil {
				t.Fatalf("%s --step %q: %v", ext, step, err)
			}
			var res evalResult
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			return res, stderr.String()
		}

		res, log := run("")
		if res.Samples != 300 || res.JS["4"] != score(refined)["4"] {
			t.Errorf("%s default: %d samples, JS-4 %v; want the last step's 300 rows, JS-4 %v", ext, res.Samples, res.JS["4"], score(refined)["4"])
		}
		if !strings.Contains(log, "step 5, the last of steps 0, 5: 300 of 600 rows") {
			t.Errorf("%s default: stderr does not say what was counted:\n%s", ext, log)
		}
		if len(res.SampleSteps) != 1 || res.SampleSteps[0].Step == nil || *res.SampleSteps[0].Step != 5 {
			t.Errorf("%s default: JSON sample_steps %+v", ext, res.SampleSteps)
		}
		if res, _ := run("0"); res.Samples != 300 || res.JS["4"] != score(base)["4"] {
			t.Errorf("%s --step 0: %d samples, JS-4 %v, want %v", ext, res.Samples, res.JS["4"], score(base)["4"])
		}
		if res, log := run("all"); res.Samples != 600 || !strings.Contains(log, "every step together") {
			t.Errorf("%s --step all: %d samples; %s", ext, res.Samples, log)
		}
		err = evalRun(&evalOptions{Samples: []string{out}, Reference: []string{s13}, Orders: []int{4}, SeqLen: 32, NoCache: true, Step: "7", StepSet: true}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "holds steps 0, 5") {
			t.Errorf("%s --step 7: %v", ext, err)
		}
	}
	// --step on plain text is refused, not ignored.
	err := evalRun(&evalOptions{Samples: []string{s13}, Reference: []string{s13}, Orders: []int{4}, SeqLen: 32, NoCache: true, Step: "3", StepSet: true}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no sample file has steps") {
		t.Errorf("--step on a text file: %v", err)
	}
}

// Ctrl-C stops eval while it waits on a slow reference (a FIFO with a silent
// writer), instead of waiting for the writer.
func TestEvalStopsOnSlowReference(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ref.txt")
	release := slowFIFO(t, fifo, "a reference line\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- evalRun(&evalOptions{Ctx: ctx, Samples: []string{evalShard(t, "00010")}, Reference: []string{fifo}, Orders: []int{4}, SeqLen: 32, NoCache: true}, io.Discard, io.Discard)
	}()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("eval still reading 3 s after Ctrl-C")
	}
	release()
}
