package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// tinyParams counts the parameters of the tiny preset from its shapes, independently
// of charlm: generator (linear, one block of two convs, 1×1 conv out) and critic
// (1×1 conv in, one block, linear).
func tinyParams(vocab int) int64 {
	c := charlm.Presets["tiny"]
	conv := func(in, out, k int) int { return in*out*k + out }
	block := c.Blocks * 2 * conv(c.Dim, c.Dim, c.Kernel)
	g := c.Latent*c.SeqLen*c.Dim + c.SeqLen*c.Dim + block + conv(c.Dim, vocab, 1)
	d := conv(vocab, c.Dim, 1) + block + c.SeqLen*c.Dim + 1
	return int64(g + d)
}

func runBenchJSON(t *testing.T, run func(context.Context, *benchOptions, *bytes.Buffer, *bytes.Buffer) error, opts *benchOptions) benchReport {
	t.Helper()
	opts.JSON = true
	var out, errOut bytes.Buffer
	if err := run(context.Background(), opts, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	var rep benchReport
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, out.String())
	}
	if dec.More() {
		t.Fatalf("stdout holds more than the JSON report")
	}
	return rep
}

func refineBench(ctx context.Context, o *benchOptions, out, errOut *bytes.Buffer) error {
	return benchRefineRun(ctx, o, out, errOut)
}

func trainBench(ctx context.Context, o *benchOptions, out, errOut *bytes.Buffer) error {
	return benchTrainRun(ctx, o, out, errOut)
}

func tinyBenchOptions() *benchOptions {
	return &benchOptions{compute: computeFlags{Device: "cpu", Threads: 1}, Preset: "tiny", Vocab: 40, Batch: 8,
		Steps: 3, Repeat: 2, Seed: 1, Method: "dgflow", F: "kl", CriticIters: 2, Python: "/usr/bin/python3"}
}

func checkSide(t *testing.T, s benchSide, name string, steps, repeat int) {
	t.Helper()
	if s.Program != name || len(s.Runs) != repeat || len(s.Times) != steps*repeat || len(s.CPURuns) != repeat || len(s.CPUTimes) != steps*repeat {
		t.Fatalf("%s: program %q, %d runs, %d times, %d CPU runs, %d CPU times; want %d runs of %d steps",
			name, s.Program, len(s.Runs), len(s.Times), len(s.CPURuns), len(s.CPUTimes), repeat, steps)
	}
	for i, x := range s.Times {
		if !(x > 0) || x > 60 {
			t.Fatalf("%s: step time %v s is not plausible", name, x)
		}
		if c := s.CPUTimes[i]; !(c >= 0) || c > 60*float64(runtime.NumCPU()) {
			t.Fatalf("%s: step CPU time %v s is not plausible", name, c)
		}
	}
	if s.Seconds != benchMedian(s.Runs) || s.CPUSeconds != benchMedian(s.CPURuns) {
		t.Fatalf("%s: seconds %v (CPU %v) is not the median of the runs %v (%v)", name, s.Seconds, s.CPUSeconds, s.Runs, s.CPURuns)
	}
}

func TestBenchRefineJSON(t *testing.T) {
	opts := tinyBenchOptions()
	rep := runBenchJSON(t, refineBench, opts)
	if rep.Bench != "refine" || rep.Preset != "tiny" || rep.Method != "dgflow-kl" || rep.Batch != 8 || rep.Vocab != 40 || rep.Threads != 1 {
		t.Fatalf("report header wrong: %+v", rep)
	}
	if want := tinyParams(40); rep.Params != want {
		t.Fatalf("params %d, want %d", rep.Params, want)
	}
	checkSide(t, rep.Dgtext, "dgtext", 3, 2)
	if rep.SecondsPerStep != rep.Dgtext.Seconds {
		t.Fatalf("seconds_per_step %v, dgtext median %v", rep.SecondsPerStep, rep.Dgtext.Seconds)
	}
	if got, want := rep.SamplesStepsPerSecond, 8/rep.SecondsPerStep; math.Abs(got-want) > 1e-9*want {
		t.Fatalf("samples_steps_per_second %v, want batch/seconds = %v", got, want)
	}
	if rep.Baselines != nil || rep.Speedup != nil {
		t.Fatalf("baselines without --compare: %+v", rep.Baselines)
	}
}

func TestBenchRefineMethods(t *testing.T) {
	for _, m := range []string{"ddls", "dot"} {
		opts := tinyBenchOptions()
		opts.Method, opts.Repeat, opts.Steps = m, 1, 2
		rep := runBenchJSON(t, refineBench, opts)
		if rep.Method != m {
			t.Fatalf("method %q, want %q", rep.Method, m)
		}
		checkSide(t, rep.Dgtext, "dgtext", 2, 1)
	}
}

func TestBenchTrainJSON(t *testing.T) {
	opts := tinyBenchOptions()
	opts.Steps = 2
	rep := runBenchJSON(t, trainBench, opts)
	if rep.Bench != "train" || rep.CriticIters != 2 || rep.SecondsPerStep != 0 {
		t.Fatalf("report header wrong: %+v", rep)
	}
	checkSide(t, rep.Dgtext, "dgtext", 2, 2)
	if rep.SecondsPerIter != rep.Dgtext.Seconds || math.Abs(rep.ItersPerSecond*rep.SecondsPerIter-1) > 1e-12 {
		t.Fatalf("seconds_per_iter %v, iters_per_second %v, dgtext median %v", rep.SecondsPerIter, rep.ItersPerSecond, rep.Dgtext.Seconds)
	}
}

// havePythonTorch tells whether Debian's python3-torch (the baselines' runtime) is
// installed.
func havePythonTorch() bool {
	return exec.Command("/usr/bin/python3", "-c", "import torch").Run() == nil
}

// fakePython writes a stand-in for the baseline programs that reports every step of
// the reference variant as 1 s and of any other as 0.5 s, with the threads asked for.
func fakePython(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python3")
	script := `#!/bin/sh
n=1; th=0; v=
while [ $# -gt 0 ]; do
	case "$1" in --steps|--iters) n=$2 ;; --threads) th=$2 ;; --variant) v=$2 ;; esac
	shift
done
t=0.5; [ "$v" = reference ] && t=1.0
times=$t; i=1
while [ $i -lt $n ]; do times="$times,$t"; i=$((i+1)); done
printf '{"times":[%s],"cpu_times":[%s],"threads":%s}\n' "$times" "$times" "$th"
`
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkSpeedups(t *testing.T, rep benchReport, names []string, steps, repeat int) {
	t.Helper()
	for _, name := range names {
		b := rep.Baselines[name]
		if b == nil {
			t.Fatalf("no %s baseline: %+v", name, rep.Baselines)
		}
		checkSide(t, *b, name, steps, repeat)
		var ratios, cpu []float64
		for r := range b.Runs {
			ratios = append(ratios, b.Runs[r]/rep.Dgtext.Runs[r])
			cpu = append(cpu, b.CPURuns[r]/rep.Dgtext.CPURuns[r])
		}
		if got := rep.Speedup[name]; got != benchMedian(ratios) {
			t.Fatalf("%s speed-up %v, want the median of paired ratios %v", name, got, ratios)
		}
		if got := rep.CPUSpeedup[name]; got != benchMedian(cpu) {
			t.Fatalf("%s CPU speed-up %v, want the median of paired ratios %v", name, got, cpu)
		}
	}
}

func TestBenchCompare(t *testing.T) {
	opts := tinyBenchOptions()
	opts.Compare, opts.Python, opts.Repeat = true, fakePython(t), 3
	rep := runBenchJSON(t, refineBench, opts)
	checkSpeedups(t, rep, []string{"pytorch-reference", "pytorch-lean"}, 3, 3)
	if ref, lean := rep.Baselines["pytorch-reference"].Seconds, rep.Baselines["pytorch-lean"].Seconds; ref != 1 || lean != 0.5 {
		t.Fatalf("baseline medians %v and %v, the fake reports 1 and 0.5", ref, lean)
	}
	if len(rep.Speedup) != 2 {
		t.Fatalf("speed-ups %v: want one per baseline", rep.Speedup)
	}

	opts = tinyBenchOptions()
	opts.Compare, opts.Python = true, fakePython(t)
	rep = runBenchJSON(t, trainBench, opts)
	checkSpeedups(t, rep, []string{"pytorch"}, 3, 2)
}

// TestBenchComparePyTorch runs the real baseline programs (DGTEXT_LONG=1: starting
// Python with torch takes seconds).
func TestBenchComparePyTorch(t *testing.T) {
	if os.Getenv("DGTEXT_LONG") == "" {
		t.Skip("slow: set DGTEXT_LONG=1 (make test-long)")
	}
	opts := tinyBenchOptions()
	opts.Compare, opts.Repeat = true, 1
	rep := runBenchJSON(t, refineBench, opts)
	checkSpeedups(t, rep, []string{"pytorch-reference", "pytorch-lean"}, 3, 1)
	opts.Steps = 1
	rep = runBenchJSON(t, trainBench, opts)
	checkSpeedups(t, rep, []string{"pytorch"}, 1, 1)
}

func TestBenchBadInput(t *testing.T) {
	cases := map[string]func(o *benchOptions){
		"batch":   func(o *benchOptions) { o.Batch = 0 },
		"steps":   func(o *benchOptions) { o.Steps = 0 },
		"repeat":  func(o *benchOptions) { o.Repeat = 0 },
		"preset":  func(o *benchOptions) { o.Preset = "huge" },
		"method":  func(o *benchOptions) { o.Method = "none" },
		"compare": func(o *benchOptions) { o.Method, o.Compare = "ddls", true },
		"f":       func(o *benchOptions) { o.F = "tv" },
		"device":  func(o *benchOptions) { o.compute.Device = "tpu" },
		"python":  func(o *benchOptions) { o.Compare, o.Python = true, "/nonexistent/python3" },
	}
	for name, mod := range cases {
		opts := tinyBenchOptions()
		opts.Repeat, opts.Steps = 1, 1
		mod(opts)
		var out, errOut bytes.Buffer
		if err := benchRefineRun(context.Background(), opts, &out, &errOut); err == nil {
			t.Errorf("%s: no error", name)
		}
		if out.Len() != 0 {
			t.Errorf("%s: wrote to stdout on error: %q", name, out.String())
		}
	}
}

// Benchmarks: one refinement step (DGflow-KL, batch 64) and one training iteration
// (batch 64, 10 critic steps) of the tiny preset. When Debian's python3-torch is
// installed each also reports the PyTorch baseline's seconds per step, measured in
// the same run with the same threads, and dgtext's speed-up over it.

var pyBaselines sync.Map // script and args → [2]float64{wall, CPU} medians

// pythonBaseline measures a bench/ program once per test binary and argument list.
func pythonBaseline(b *testing.B, script string, args ...string) (wall, cpu float64, ok bool) {
	if !havePythonTorch() {
		b.Log("no /usr/bin/python3 with torch: PyTorch baseline not measured")
		return 0, 0, false
	}
	key := script + " " + joinArgs(args)
	if v, ok := pyBaselines.Load(key); ok {
		m := v.([2]float64)
		return m[0], m[1], true
	}
	o := &benchOptions{}
	path, err := o.findScript(script)
	if err != nil {
		b.Fatal(err)
	}
	t, err := runPythonBaseline("/usr/bin/python3", append([]string{path}, args...))
	if err != nil {
		b.Fatal(err)
	}
	m := [2]float64{benchMedian(t.wall), benchMedian(t.cpu)}
	pyBaselines.Store(key, m)
	return m[0], m[1], true
}

func joinArgs(a []string) string {
	var buf bytes.Buffer
	for _, s := range a {
		buf.WriteString(strconv.Quote(s))
	}
	return buf.String()
}

// reportSpeedups adds dgtext's speed-up over a baseline, in wall and CPU time.
func reportSpeedups(b *testing.B, dg stepTimes, pyWall, pyCPU float64, name string) {
	b.ReportMetric(pyWall/benchMedian(dg.wall), "speedup-vs-"+name)
	b.ReportMetric(pyCPU/benchMedian(dg.cpu), "cpu-speedup-vs-"+name)
}

func BenchmarkRefineStepTiny(b *testing.B) {
	const batch = 64
	m, err := benchModel("tiny", benchVocab, 1, gotch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	steps := b.N
	var marks []clock
	opt := refine.Options{Steps: steps + 1, Batch: batch, Seed: 1, Device: m.Device, Progress: func(int64) {
		marks = append(marks, now())
		switch len(marks) {
		case 1: // after the warm-up step
			b.ResetTimer()
		case steps + 1:
			b.StopTimer()
		}
	}}
	discard := func(refine.Saved) error { return nil }
	if err := refine.Run(context.Background(), m, m, refine.DefaultDGflow(), batch, refine.Gaussian(m.Config.Latent, m.Device), opt, discard); err != nil {
		b.Fatal(err)
	}
	var dg stepTimes
	for i := 1; i < len(marks); i++ {
		dg.add(marks[i-1], marks[i])
	}
	b.ReportMetric(batch/benchMedian(dg.wall), "samples·steps/s")
	th := strconv.Itoa(torch.Threads())
	for _, v := range []string{"reference", "lean"} {
		if w, c, ok := pythonBaseline(b, "refine_step.py", "--preset", "tiny", "--batch", "64", "--steps", "20", "--threads", th, "--variant", v); ok {
			reportSpeedups(b, dg, w, c, "pytorch-"+v)
		}
	}
}

func BenchmarkTrainStepTiny(b *testing.B) {
	m, err := benchModel("tiny", benchVocab, 1, gotch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	tc := charlm.DefaultTrainConfig()
	tc.Batch, tc.CriticIters = 64, 10
	tr, err := charlm.NewTrainer(m, tc, syntheticLines(m.Charmap, 10000, m.Config.SeqLen, 1), nil, "synthetic")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Step(); err != nil { // warm-up
		b.Fatal(err)
	}
	var dg stepTimes
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := now()
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
		dg.add(t0, now())
	}
	b.StopTimer()
	b.ReportMetric(1/benchMedian(dg.wall), "iters/s")
	if w, c, ok := pythonBaseline(b, "train_step.py", "--preset", "tiny", "--batch", "64", "--critic-iters", "10", "--iters", "5", "--threads", strconv.Itoa(torch.Threads())); ok {
		reportSpeedups(b, dg, w, c, "pytorch")
	}
}
