package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

func init() { register(newBenchCmd) }

// benchVocab is the size of the charmap dgtext builds from the team's billion-words
// training split ('unk' included); bench/wgan_lm.py uses the same default.
const benchVocab = 107

// benchOptions are the flags of `dgtext bench refine` and `dgtext bench train`.
type benchOptions struct {
	compute  computeFlags
	Preset   string
	Vocab    int
	Batch    int
	Steps    int // refine: timed refinement steps; train: timed generator iterations
	Repeat   int
	Seed     int64
	JSON     bool
	Compare  bool
	Python   string
	BenchDir string
	Profile  string

	Method      string // refine
	F           string // refine
	CriticIters int    // train
}

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time a refinement step or a training iteration, optionally against PyTorch",
		Long: `bench times dgtext's two heavy loops on a randomly initialised model of a preset:
one DGflow refinement step of a batch of latents (bench refine) and one WGAN-GP
generator iteration with its critic steps (bench train). Each figure is the median
over the timed steps, after one untimed warm-up step.

With --compare the PyTorch programs in bench/ (the same architecture and step, on
Debian's python3-torch, which links the same libtorch) run in the same invocation,
with the same threads, interleaved with dgtext's runs --repeat times, and bench
prints dgtext's speed-up over each: baseline seconds / dgtext seconds, the median of
the ratios within each repeat, in wall-clock time and in CPU time of the process
(all threads). On a shared machine the CPU-time ratio is the steadier of the two.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBenchRefineCmd(), newBenchTrainCmd())
	return cmd
}

func (o *benchOptions) addCommon(cmd *cobra.Command) {
	f := cmd.Flags()
	o.compute.addTo(cmd)
	f.StringVar(&o.Preset, "preset", "paper", "architecture: "+strings.Join(charlm.PresetNames(), ", "))
	f.IntVar(&o.Vocab, "vocab", benchVocab, "vocabulary size of the synthetic charmap ('unk' included)")
	f.IntVar(&o.Batch, "batch", 64, "batch size")
	f.IntVar(&o.Repeat, "repeat", 1, "measure this many times (interleaved with the baselines under --compare) and report medians")
	f.Int64Var(&o.Seed, "seed", 1, "random seed")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON on stdout")
	f.BoolVar(&o.Compare, "compare", false, "also run the PyTorch baselines in bench/ and report dgtext's speed-up")
	f.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with torch for --compare")
	f.StringVar(&o.Profile, "cpuprofile", "", "write a Go CPU profile (pprof) of dgtext's timed runs to this file")
	f.StringVar(&o.BenchDir, "bench-dir", "", "folder holding refine_step.py and train_step.py (default: bench/ of the source tree, found from the working directory or the binary)")
}

func newBenchRefineCmd() *cobra.Command {
	opts := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "refine",
		Short: "Seconds per refinement step of a batch (DGflow by default)",
		Example: `  dgtext bench refine --preset paper --batch 64 --steps 5 --json
  # against the PyTorch reference (parameter gradients) and lean (∇z only) programs
  dgtext bench refine --preset paper --threads 2 --steps 5 --repeat 3 --compare`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return benchRefineRun(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.addCommon(cmd)
	f := cmd.Flags()
	f.IntVar(&opts.Steps, "steps", 5, "timed refinement steps (after one warm-up step)")
	f.StringVarP(&opts.Method, "method", "m", "dgflow", "refinement: dgflow, ddls or dot")
	f.StringVar(&opts.F, "f", "kl", "DGflow's f-divergence: kl, js or logd")
	return cmd
}

func newBenchTrainCmd() *cobra.Command {
	opts := &benchOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Seconds per WGAN-GP generator iteration (with its critic steps)",
		Example: `  dgtext bench train --preset small --critic-iters 10 --iters 3 --json
  dgtext bench train --preset tiny --threads 2 --iters 10 --repeat 3 --compare`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return benchTrainRun(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.addCommon(cmd)
	f := cmd.Flags()
	f.IntVar(&opts.Steps, "iters", 3, "timed generator iterations (after one warm-up iteration)")
	f.IntVar(&opts.CriticIters, "critic-iters", 10, "critic steps per generator iteration")
	return cmd
}

// benchSide is one program's timings: the median of each repeat and their median,
// in wall-clock seconds and in CPU seconds of the whole process (all threads). On a
// loaded machine the CPU time varies less than the wall time.
type benchSide struct {
	Program    string    `json:"program"`
	Seconds    float64   `json:"seconds"`     // median over repeats of each repeat's median
	Runs       []float64 `json:"runs"`        // each repeat's median
	Times      []float64 `json:"times"`       // every timed step of every repeat
	CPUSeconds float64   `json:"cpu_seconds"` // the same three for CPU time
	CPURuns    []float64 `json:"cpu_runs"`
	CPUTimes   []float64 `json:"cpu_times"`
}

// stepTimes are the wall and CPU seconds of each timed step.
type stepTimes struct{ wall, cpu []float64 }

// clock reads the wall clock and the process's CPU time (user + system, all threads).
type clock struct {
	wall time.Time
	cpu  float64
}

func now() clock {
	c := clock{wall: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return c
}

func (t *stepTimes) add(from, to clock) {
	t.wall = append(t.wall, to.wall.Sub(from.wall).Seconds())
	t.cpu = append(t.cpu, to.cpu-from.cpu)
}

// benchReport is what bench prints.
type benchReport struct {
	Bench       string `json:"bench"`
	Preset      string `json:"preset"`
	Dim         int    `json:"dim"`
	Vocab       int    `json:"vocab"`
	Params      int64  `json:"params"`
	Batch       int    `json:"batch"`
	Method      string `json:"method,omitempty"`
	CriticIters int    `json:"critic_iters,omitempty"`
	Device      string `json:"device"`
	Threads     int    `json:"threads"`
	Steps       int    `json:"steps"` // timed steps (iterations) per repeat
	Repeat      int    `json:"repeat"`

	SecondsPerStep        float64 `json:"seconds_per_step,omitempty"`
	SamplesStepsPerSecond float64 `json:"samples_steps_per_second,omitempty"`
	SecondsPerIter        float64 `json:"seconds_per_iter,omitempty"`
	ItersPerSecond        float64 `json:"iters_per_second,omitempty"`

	Dgtext    benchSide             `json:"dgtext"`
	Baselines map[string]*benchSide `json:"baselines,omitempty"`
	// Speedup is baseline seconds / dgtext seconds, the median over repeats of the
	// ratio within each repeat (so both sides of a ratio saw the same machine load).
	Speedup map[string]float64 `json:"speedup,omitempty"`
	// CPUSpeedup is the same ratio of CPU seconds.
	CPUSpeedup map[string]float64 `json:"cpu_speedup,omitempty"`
	// LoadAvg is the 1-minute load average at the start and the end.
	LoadAvg []float64 `json:"load_average,omitempty"`
	Seconds float64   `json:"seconds"` // wall time of the whole bench
}

func (o *benchOptions) validate() error {
	switch {
	case o.Batch < 1:
		return fmt.Errorf("--batch %d: must be at least 1", o.Batch)
	case o.Steps < 1:
		return fmt.Errorf("timed steps %d: must be at least 1", o.Steps)
	case o.Repeat < 1:
		return fmt.Errorf("--repeat %d: must be at least 1", o.Repeat)
	case o.Vocab < 2:
		return fmt.Errorf("--vocab %d: must be at least 2", o.Vocab)
	}
	return nil
}

// benchModel builds a randomly initialised model of the preset with a synthetic
// charmap of vocab entries.
func benchModel(preset string, vocab int, seed int64, dev gotch.Device) (*charlm.Model, error) {
	cfg, err := charlm.Preset(preset)
	if err != nil {
		return nil, err
	}
	cm, err := data.NewCharmap(syntheticRunes(vocab - 1))
	if err != nil {
		return nil, err
	}
	var m *charlm.Model
	err = torch.Try(func() error {
		torch.Seed(seed)
		var e error
		m, e = charlm.NewModel(cfg, cm, dev)
		return e
	})
	return m, err
}

// syntheticRunes returns n distinct printable characters: ASCII from the space on,
// then Latin-1 and beyond.
func syntheticRunes(n int) []rune {
	out := make([]rune, 0, n)
	for r := rune(' '); len(out) < n; r++ {
		if r >= 0x7f && r < 0xa1 {
			continue
		}
		out = append(out, r)
	}
	return out
}

// syntheticLines returns n lines of seqLen random characters of cm: the cost of a
// training step does not depend on the text.
func syntheticLines(cm *data.Charmap, n, seqLen int, seed int64) []string {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	lines := make([]string, n)
	var b strings.Builder
	for i := range lines {
		b.Reset()
		for j := 0; j < seqLen; j++ {
			b.WriteRune(cm.Rune(1 + rng.IntN(cm.Size()-1)))
		}
		lines[i] = b.String()
	}
	return lines
}

// timeRefine refines one batch for steps+1 steps and returns the wall time of each
// step after the first (the warm-up), measured between Run's progress calls.
func timeRefine(ctx context.Context, m *charlm.Model, method refine.Method, batch, steps int, seed int64) (stepTimes, error) {
	dev := m.Device
	var marks []clock
	opt := refine.Options{Steps: steps + 1, SaveEvery: 0, Batch: batch, Seed: seed, Device: dev,
		Progress: func(int64) {
			torch.Sync(dev)
			marks = append(marks, now())
		}}
	discard := func(refine.Saved) error { return nil }
	var out stepTimes
	if err := refine.Run(ctx, m, m, method, int64(batch), refine.Gaussian(m.Config.Latent, dev), opt, discard); err != nil {
		return out, err
	}
	if len(marks) != steps+1 {
		return out, fmt.Errorf("bench: expected %d progress calls, got %d", steps+1, len(marks))
	}
	for i := 1; i < len(marks); i++ {
		out.add(marks[i-1], marks[i])
	}
	return out, nil
}

// timeTrain runs one warm-up generator iteration, then iters timed ones.
func timeTrain(ctx context.Context, tr *charlm.Trainer, iters int) (stepTimes, error) {
	var out stepTimes
	if _, err := tr.Step(); err != nil {
		return out, err
	}
	for i := 0; i < iters; i++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		t0 := now()
		if _, err := tr.Step(); err != nil {
			return out, err
		}
		torch.Sync(tr.Model.Device)
		out.add(t0, now())
	}
	return out, nil
}

// benchTarget is one program a bench compares: dgtext itself or a baseline.
type benchTarget struct {
	name string
	run  func() (stepTimes, error)
}

func benchRefineRun(ctx context.Context, opts *benchOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	method := strings.ToLower(opts.Method)
	if method != "dgflow" && method != "ddls" && method != "dot" {
		return fmt.Errorf("--method %q: use dgflow, ddls or dot", opts.Method)
	}
	if opts.Compare && method != "dgflow" {
		return fmt.Errorf("--compare: the PyTorch baselines implement DGflow only; drop --compare or use --method dgflow")
	}
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	m, err := benchModel(opts.Preset, opts.Vocab, opts.Seed, dev)
	if err != nil {
		return err
	}
	mf := pipeline.MethodConfig{Name: method, F: opts.F, Eta: 0.1, Gamma: 0.01, Eps: 0.01, DotLR: 0.01,
		KeffPairs: opts.Batch, Steps: strconv.Itoa(opts.Steps + 1)}
	meth, _, err := mf.Build(m, m, 1, dev)
	if err != nil {
		return err
	}
	rep := newBenchReport("refine", opts, m, dev)
	rep.Method = mf.Label()
	targets := []benchTarget{{"dgtext", func() (stepTimes, error) {
		return timeRefine(ctx, m, meth, opts.Batch, opts.Steps, opts.Seed)
	}}}
	if opts.Compare {
		ts, err := opts.baselines("refine_step.py", dev, []string{"reference", "lean"}, func(variant string) []string {
			return []string{"--variant", variant, "--f", strings.ToLower(opts.F), "--steps", strconv.Itoa(opts.Steps)}
		})
		if err != nil {
			return err
		}
		targets = append(targets, ts...)
	}
	if err := runBench(ctx, rep, targets, opts.Profile, stderr); err != nil {
		return err
	}
	rep.SecondsPerStep = rep.Dgtext.Seconds
	rep.SamplesStepsPerSecond = float64(opts.Batch) / rep.Dgtext.Seconds
	return printBench(rep, opts.JSON, stdout)
}

func benchTrainRun(ctx context.Context, opts *benchOptions, stdout, stderr io.Writer) error {
	if err := opts.validate(); err != nil {
		return err
	}
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	m, err := benchModel(opts.Preset, opts.Vocab, opts.Seed, dev)
	if err != nil {
		return err
	}
	tc := charlm.DefaultTrainConfig()
	tc.Batch, tc.CriticIters, tc.Seed = opts.Batch, opts.CriticIters, opts.Seed
	tr, err := charlm.NewTrainer(m, tc, syntheticLines(m.Charmap, 10000, m.Config.SeqLen, opts.Seed), nil, "synthetic")
	if err != nil {
		return err
	}
	rep := newBenchReport("train", opts, m, dev)
	rep.CriticIters = opts.CriticIters
	targets := []benchTarget{{"dgtext", func() (stepTimes, error) { return timeTrain(ctx, tr, opts.Steps) }}}
	if opts.Compare {
		ts, err := opts.baselines("train_step.py", dev, []string{""}, func(string) []string {
			return []string{"--critic-iters", strconv.Itoa(opts.CriticIters), "--iters", strconv.Itoa(opts.Steps), "--warmup", "1"}
		})
		if err != nil {
			return err
		}
		targets = append(targets, ts...)
	}
	if err := runBench(ctx, rep, targets, opts.Profile, stderr); err != nil {
		return err
	}
	rep.SecondsPerIter = rep.Dgtext.Seconds
	rep.ItersPerSecond = 1 / rep.Dgtext.Seconds
	return printBench(rep, opts.JSON, stdout)
}

func newBenchReport(kind string, opts *benchOptions, m *charlm.Model, dev gotch.Device) *benchReport {
	g, d := m.NumParams()
	return &benchReport{Bench: kind, Preset: m.Config.Preset, Dim: m.Config.Dim, Vocab: m.Config.Vocab, Params: g + d,
		Batch: opts.Batch, Device: torch.DeviceName(dev), Threads: torch.Threads(), Steps: opts.Steps, Repeat: opts.Repeat}
}

// runBench runs every target Repeat times, rotating their order from one repeat to
// the next so that none always runs first or last, and fills rep.
func runBench(ctx context.Context, rep *benchReport, targets []benchTarget, profile string, stderr io.Writer) error {
	start := time.Now()
	if profile != "" {
		// The baselines run in other processes, so this profiles dgtext's own runs.
		f, err := os.Create(profile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep.LoadAvg = append(rep.LoadAvg, loadAvg()...)
	sides := make([]*benchSide, len(targets))
	for i, t := range targets {
		sides[i] = &benchSide{Program: t.name}
	}
	for r := 0; r < rep.Repeat; r++ {
		for k := range targets {
			i := (k + r) % len(targets)
			if err := ctx.Err(); err != nil {
				return err
			}
			t, err := targets[i].run()
			if err != nil {
				return fmt.Errorf("bench %s: %w", targets[i].name, err)
			}
			s := sides[i]
			s.Runs = append(s.Runs, benchMedian(t.wall))
			s.Times = append(s.Times, t.wall...)
			s.CPURuns = append(s.CPURuns, benchMedian(t.cpu))
			s.CPUTimes = append(s.CPUTimes, t.cpu...)
			fmt.Fprintf(stderr, "bench %s: repeat %d/%d: %-18s %.4f s, %.4f CPU s (medians of %d)\n",
				rep.Bench, r+1, rep.Repeat, targets[i].name, s.Runs[r], s.CPURuns[r], len(t.wall))
		}
	}
	for _, s := range sides {
		s.Seconds, s.CPUSeconds = benchMedian(s.Runs), benchMedian(s.CPURuns)
	}
	rep.Dgtext = *sides[0]
	if len(sides) > 1 {
		rep.Baselines, rep.Speedup, rep.CPUSpeedup = map[string]*benchSide{}, map[string]float64{}, map[string]float64{}
		for _, s := range sides[1:] {
			rep.Baselines[s.Program] = s
			rep.Speedup[s.Program] = pairedRatio(s.Runs, sides[0].Runs)
			rep.CPUSpeedup[s.Program] = pairedRatio(s.CPURuns, sides[0].CPURuns)
		}
	}
	rep.LoadAvg = append(rep.LoadAvg, loadAvg()...)
	rep.Seconds = time.Since(start).Seconds()
	return nil
}

// pairedRatio is the median over repeats of base[r] / x[r].
func pairedRatio(base, x []float64) float64 {
	ratios := make([]float64, len(base))
	for r := range ratios {
		ratios[r] = base[r] / x[r]
	}
	return benchMedian(ratios)
}

// baselines returns one target per variant that runs script from bench/ with the
// report's preset, batch, vocabulary, seed and threads plus extra(variant).
func (o *benchOptions) baselines(script string, dev gotch.Device, variants []string, extra func(variant string) []string) ([]benchTarget, error) {
	if dev.IsCuda() {
		return nil, errors.New("--compare: the PyTorch baselines run on the CPU only; use --device cpu")
	}
	path, err := o.findScript(script)
	if err != nil {
		return nil, err
	}
	var out []benchTarget
	for _, v := range variants {
		args := []string{path, "--preset", o.Preset, "--batch", strconv.Itoa(o.Batch), "--vocab", strconv.Itoa(o.Vocab),
			"--seed", strconv.FormatInt(o.Seed, 10), "--threads", strconv.Itoa(torch.Threads())}
		args = append(args, extra(v)...)
		name := "pytorch"
		if v != "" {
			name += "-" + v
		}
		out = append(out, benchTarget{name, func() (stepTimes, error) { return runPythonBaseline(o.Python, args) }})
	}
	return out, nil
}

// findScript locates a bench/ program: under --bench-dir, else in bench/ of the
// working directory or one of its parents, else beside the binary (bin/../bench).
func (o *benchOptions) findScript(name string) (string, error) {
	if o.BenchDir != "" {
		p := filepath.Join(o.BenchDir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("--bench-dir: %w", err)
		}
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, "bench"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), "bench"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("--compare: cannot find bench/%s; run from the dgtext source tree or pass --bench-dir", name)
}

// runPythonBaseline runs one baseline program and returns its timed steps.
func runPythonBaseline(python string, args []string) (stepTimes, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(python, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return stepTimes{}, fmt.Errorf("%s %s: %v: %s (is python3-torch installed? see --python)", python, strings.Join(args, " "), err, strings.TrimSpace(tailLines(errOut.String(), 5)))
	}
	var res struct {
		Times    []float64 `json:"times"`
		CPUTimes []float64 `json:"cpu_times"`
		Threads  int       `json:"threads"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return stepTimes{}, fmt.Errorf("%s: unreadable output (%v): %.200s", args[0], err, out.String())
	}
	if len(res.Times) == 0 || len(res.CPUTimes) != len(res.Times) {
		return stepTimes{}, fmt.Errorf("%s: %d wall and %d CPU timings in its output", args[0], len(res.Times), len(res.CPUTimes))
	}
	if want := torch.Threads(); res.Threads != want {
		return stepTimes{}, fmt.Errorf("%s ran with %d threads, dgtext with %d", args[0], res.Threads, want)
	}
	return stepTimes{wall: res.Times, cpu: res.CPUTimes}, nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// loadAvg reads the 1-minute load average (Linux); nil elsewhere.
func loadAvg() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return nil
	}
	return []float64{v}
}

// benchMedian is the median of xs (the mean of the middle two for an even count); NaN-free input.
func benchMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printBench(rep *benchReport, asJSON bool, w io.Writer) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	unit := "s/step"
	what := fmt.Sprintf("%s, batch %d", rep.Method, rep.Batch)
	if rep.Bench == "train" {
		unit = "s/iter"
		what = fmt.Sprintf("batch %d, %d critic steps per generator iteration", rep.Batch, rep.CriticIters)
	}
	fmt.Fprintf(w, "bench %s: preset %s (dim %d, vocab %d, %d parameters), %s, %s, %d threads, %d timed × %d repeats\n",
		rep.Bench, rep.Preset, rep.Dim, rep.Vocab, rep.Params, what, rep.Device, rep.Threads, rep.Steps, rep.Repeat)
	fmt.Fprintf(w, "  %-18s %9.4f %s (CPU %.4f s)", "dgtext", rep.Dgtext.Seconds, unit, rep.Dgtext.CPUSeconds)
	if rep.Bench == "refine" {
		fmt.Fprintf(w, "   %.1f samples·steps/s", rep.SamplesStepsPerSecond)
	} else {
		fmt.Fprintf(w, "   %.3f iters/s", rep.ItersPerSecond)
	}
	fmt.Fprintln(w)
	names := make([]string, 0, len(rep.Baselines))
	for n := range rep.Baselines {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b := rep.Baselines[n]
		fmt.Fprintf(w, "  %-18s %9.4f %s (CPU %.4f s)   dgtext speed-up %.2f× (CPU time %.2f×)\n", n, b.Seconds, unit, b.CPUSeconds, rep.Speedup[n], rep.CPUSpeedup[n])
	}
	return nil
}
