package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

func init() { register(newRefineCmd) }

// methodFlags are the refinement method and its parameters, shared by every command
// that refines (text, 2D toys, images).
type methodFlags struct {
	Method    string
	F         string
	Eta       float64
	Gamma     float64
	Eps       float64
	DotLR     float64
	KeffPairs int
	Steps     string
	SaveEvery int
}

func (f *methodFlags) addTo(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.Method, "method", "m", "dgflow", "refinement: dgflow, ddls, dot, or none (base samples only)")
	fl.StringVar(&f.F, "f", "kl", "DGflow's f-divergence: kl, js or logd")
	fl.Float64Var(&f.Eta, "eta", 0.1, "DGflow step size η")
	fl.Float64Var(&f.Gamma, "gamma", 0.01, "DGflow entropy regulariser γ (noise √(2ηγ) per step)")
	fl.Float64Var(&f.Eps, "eps", 0.01, "DDLS Langevin step size ε")
	fl.Float64Var(&f.DotLR, "dot-lr", 0.01, "DOT gradient step size")
	fl.IntVar(&f.KeffPairs, "keff-pairs", 1024, "DOT: random latent pairs for estimating k_eff")
	fl.StringVar(&f.Steps, "steps", "25", `refinement steps, or "auto" to stop where the critic's gain levels off`)
	fl.IntVar(&f.SaveEvery, "save-every", 5, "keep samples every N steps (step 0 and the last are always kept)")
	_ = cmd.RegisterFlagCompletionFunc("method", fixedCompletions("dgflow", "ddls", "dot", "none"))
	_ = cmd.RegisterFlagCompletionFunc("f", fixedCompletions("kl", "js", "logd"))
}

func fixedCompletions(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp
	}
}

// build returns the method, its display name, and the fixed number of steps (-1 for auto).
func (f *methodFlags) build(g refine.Generator, c refine.Critic, dev gotch.Device) (refine.Method, int, error) {
	steps := -1
	if f.Steps != "auto" {
		n, err := strconv.Atoi(f.Steps)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("--steps %q: give a number ≥ 0 or auto", f.Steps)
		}
		steps = n
	}
	switch strings.ToLower(f.Method) {
	case "dgflow":
		fd, err := refine.ParseFDiv(f.F)
		if err != nil {
			return nil, 0, err
		}
		if !(f.Eta > 0) || f.Gamma < 0 {
			return nil, 0, fmt.Errorf("--eta %g and --gamma %g: need η > 0 and γ ≥ 0", f.Eta, f.Gamma)
		}
		return &refine.DGflow{Eta: f.Eta, Gamma: f.Gamma, F: fd}, steps, nil
	case "ddls":
		if !(f.Eps > 0) {
			return nil, 0, fmt.Errorf("--eps %g: must be positive", f.Eps)
		}
		return &refine.DDLS{Eps: f.Eps}, steps, nil
	case "dot":
		if !(f.DotLR > 0) {
			return nil, 0, fmt.Errorf("--dot-lr %g: must be positive", f.DotLR)
		}
		k, err := refine.EstimateKeff(g, c, f.KeffPairs, dev)
		if err != nil {
			return nil, 0, err
		}
		return &refine.DOT{LR: f.DotLR, Keff: k}, steps, nil
	case "none":
		return &refine.DGflow{Eta: 0, F: refine.KL}, 0, nil
	}
	return nil, 0, fmt.Errorf("unknown --method %q: use dgflow, ddls, dot or none", f.Method)
}

// label names the method with its settings, as written in outputs.
func (f *methodFlags) label() string {
	switch strings.ToLower(f.Method) {
	case "dgflow":
		return "dgflow-" + strings.ToLower(f.F)
	default:
		return strings.ToLower(f.Method)
	}
}

type refineOptions struct {
	corpus  corpusFlags
	compute computeFlags
	method  methodFlags
	Model   string
	N       int64
	Batch   int
	Seed    int64
	Latents string
	Out     string
	SaveZ   bool
	JSON    bool
	Plot    string
	Orders  []int
	NoCache bool
	Quiet   bool
	Show    int
}

func newRefineCmd() *cobra.Command {
	opts := &refineOptions{}
	cmd := &cobra.Command{
		Use:   "refine",
		Short: "Refine generated text with DGflow (or DDLS, DOT) and score it with JS-4/JS-6",
		Long: `refine samples latents, moves them along the discriminator gradient flow (DGflow,
Ansari et al. ICLR 2021) or a baseline, decodes base and refined text, scores each
saved step with n-gram Jensen–Shannon divergence against the corpus's evaluation
split, prints a table and writes every sample to Parquet (or .jsonl/.txt).

Without --model it uses the model bundled in the binary. When the evaluation corpus
cannot be found it still refines and reports critic scores, and says how to get JS.`,
		Example: `  dgtext refine --corpus billion-words --data-dir ../shared/data/billion-words \
      --eval-files 1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled/news.en.heldout-00013-of-00050 \
      --n 2000 --out refined.parquet --plot refine.png

  # refine your own latents (a Parquet file with a z column), with the JS flow
  dgtext refine --latents z.parquet --f js --out refined.parquet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return refineRun(ctx, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	opts.corpus.addTo(cmd)
	opts.compute.addTo(cmd)
	opts.method.addTo(cmd)
	f.StringVar(&opts.Model, "model", "", "model folder written by dgtext train (default: the bundled model)")
	f.Int64VarP(&opts.N, "n", "n", 10000, "samples to generate and refine")
	f.IntVar(&opts.Batch, "batch", 256, "latents refined together (halved automatically on GPU out-of-memory)")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed: a CPU run is bit-for-bit reproducible for a seed and batch")
	f.StringVar(&opts.Latents, "latents", "", "refine the latents in this file (Parquet or JSONL with a z column) instead of fresh ones")
	f.StringVarP(&opts.Out, "out", "o", "refined.parquet", "samples file: .parquet, .jsonl or .txt")
	f.BoolVar(&opts.SaveZ, "save-z", false, "also write each latent (Parquet z column, list<float>)")
	f.BoolVar(&opts.JSON, "json", false, "print the per-step table as JSON on stdout")
	f.StringVar(&opts.Plot, "plot", "", "draw JS and mean critic score against step into this PNG")
	f.IntSliceVar(&opts.Orders, "orders", []int{4, 6}, "n-gram orders to score")
	f.BoolVar(&opts.NoCache, "no-cache", false, "do not read or write the reference statistics cache")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress bar")
	f.IntVar(&opts.Show, "show", 5, "print this many random base → refined text pairs (0 = none)")
	return cmd
}

// stepRow is one row of the refine table.
type stepRow struct {
	Step       int                `json:"step"`
	JS         map[string]float64 `json:"js,omitempty"`
	CriticMean float64            `json:"critic_mean"`
	N          int64              `json:"n"`
}

// refineReport is what --json prints.
type refineReport struct {
	Method    string            `json:"method"`
	Model     string            `json:"model"`
	N         int64             `json:"n"`
	Seed      int64             `json:"seed"`
	Batch     int               `json:"batch"`
	Device    string            `json:"device"`
	Params    map[string]any    `json:"params"`
	Reference string            `json:"reference,omitempty"`
	RefLines  int64             `json:"reference_lines,omitempty"`
	JSNote    string            `json:"js_note,omitempty"`
	Auto      *refine.AutoTrace `json:"auto,omitempty"`
	Steps     []stepRow         `json:"steps"`
	Out       string            `json:"out"`
	Seconds   float64           `json:"seconds"`
	Examples  [][2]string       `json:"examples,omitempty"`
}

// stepAccum gathers one saved step's samples as they stream past: n-gram counts for
// JS and the critic sum. Memory grows with distinct n-grams, not with --n.
type stepAccum struct {
	counter *eval.Counter
	sum     float64
	n       int64
}

func refineRun(ctx context.Context, opts *refineOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	m, man, err := charlm.LoadModel(opts.Model, dev)
	if err != nil {
		return err
	}
	modelName := opts.Model
	if modelName == "" {
		modelName = charlm.BundledName
	}
	fmt.Fprintf(stderr, "refine: model %s (%s, dim %d, vocab %d, trained %d iterations) on %s\n", modelName, man.Config.Preset, man.Config.Dim, man.Config.Vocab, man.Iter, torch.DeviceName(dev))

	evalOpt := eval.Options{SeqLen: m.Config.SeqLen, Orders: opts.Orders}
	ref, refDesc, jsNote := refineReference(opts, evalOpt, stderr)

	method, steps, err := opts.method.build(m, m, dev)
	if err != nil {
		return err
	}
	label := opts.method.label()
	src := refine.Gaussian(m.Config.Latent, dev)
	n := opts.N
	if opts.Latents != "" {
		src, n, err = latentsSource(opts.Latents, m.Config.Latent, dev)
		if err != nil {
			return err
		}
	}
	if n < 1 || opts.Batch < 1 {
		return fmt.Errorf("--n %d and --batch %d must be at least 1", n, opts.Batch)
	}
	ropt := refine.Options{Steps: steps, SaveEvery: opts.method.SaveEvery, Batch: opts.Batch, Seed: opts.Seed, Device: dev,
		Note: func(s string) { fmt.Fprintln(stderr, "refine: note:", s) }}
	var auto *refine.AutoTrace
	if steps < 0 {
		tr, err := refine.AutoSteps(ctx, m, m, method, src, int(min(int64(opts.Batch), n)), ropt, refine.DefaultAuto())
		if err != nil {
			return err
		}
		auto = &tr
		ropt.Steps = tr.Step
		fmt.Fprintf(stderr, "refine: --steps auto chose %d steps (the critic's gain per step fell below 10%% of its average)\n", tr.Step)
	}

	w, err := data.CreateSampleWriter(opts.Out, data.WriterOptions{Latents: opts.SaveZ, CreatedBy: "dgtext " + version})
	if err != nil {
		return err
	}
	accum := map[int]*stepAccum{}
	examples := newExamplePicker(opts.Show, n, opts.Seed)
	var bar *progressbar.ProgressBar
	total := n * int64(max(ropt.Steps, 1))
	if showBar(stderr, opts.Quiet) {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("refine "+label),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("latent-steps"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(300*time.Millisecond), progressbar.OptionClearOnFinish())
		ropt.Progress = func(done int64) { bar.Set64(done) }
	}
	sink := func(s refine.Saved) error {
		texts := m.Decode(s.X)
		var zs [][]float32
		if opts.SaveZ {
			a, err := torch.ToArray(s.Z)
			if err != nil {
				return err
			}
			l := int(a.Shape[1])
			for i := range texts {
				zs = append(zs, a.Data[i*l:(i+1)*l])
			}
		}
		acc := accum[s.Step]
		if acc == nil {
			acc = &stepAccum{}
			if ref != nil {
				if acc.counter, err = eval.NewCounter(evalOpt); err != nil {
					return err
				}
			}
			accum[s.Step] = acc
		}
		for i, t := range texts {
			row := data.Sample{ID: s.First + int64(i), Text: t, Method: label, Step: s.Step, Seed: opts.Seed, Critic: s.D[i]}
			if zs != nil {
				row.Z = zs[i]
			}
			if err := w.Write(row); err != nil {
				return err
			}
			if acc.counter != nil {
				acc.counter.Add(t)
			}
			acc.sum += s.D[i]
			acc.n++
			examples.offer(row.ID, s.Step, ropt.Steps, t)
		}
		return nil
	}
	runErr := refine.Run(ctx, m, m, method, n, src, ropt, sink)
	if bar != nil {
		bar.Finish()
	}
	if runErr != nil {
		// Keep what was written: those samples are complete and valid.
		if cerr := w.Close(); cerr == nil {
			return fmt.Errorf("%w (the samples written before the error are in %s)", runErr, opts.Out)
		}
		w.Abort()
		return runErr
	}
	if err := w.Close(); err != nil {
		return err
	}

	rep := refineReport{Method: label, Model: modelName, N: n, Seed: opts.Seed, Batch: opts.Batch, Device: torch.DeviceName(dev),
		Params: methodParams(&opts.method, method, ropt.Steps), Reference: refDesc, JSNote: jsNote, Auto: auto, Out: opts.Out}
	if ref != nil {
		rep.RefLines = ref.Lines()
	}
	var stepsSeen []int
	for k := range accum {
		stepsSeen = append(stepsSeen, k)
	}
	sort.Ints(stepsSeen)
	for _, k := range stepsSeen {
		acc := accum[k]
		row := stepRow{Step: k, CriticMean: acc.sum / float64(acc.n), N: acc.n}
		if acc.counter != nil {
			js, err := eval.JSAll(acc.counter.Stats(), ref)
			if err != nil {
				return err
			}
			row.JS = map[string]float64{}
			for o, v := range js {
				row.JS[strconv.Itoa(o)] = v
			}
		}
		rep.Steps = append(rep.Steps, row)
	}
	rep.Examples = examples.pairs()
	rep.Seconds = time.Since(start).Seconds()
	if opts.Plot != "" {
		if err := plotRefine(opts.Plot, rep, opts.Orders); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		fmt.Fprintf(stderr, "refine: plot written to %s\n", opts.Plot)
	}
	fmt.Fprintf(stderr, "refine: %d samples × %d saved steps written to %s in %.1fs\n", n, len(rep.Steps), opts.Out, rep.Seconds)
	if jsNote != "" {
		fmt.Fprintln(stderr, "refine: note:", jsNote)
	}
	if opts.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printRefineTable(stdout, rep, opts.Orders)
	return nil
}

// refineReference loads (or reads from the cache) the evaluation split's n-gram
// statistics. A missing corpus is not an error: JS is skipped with a note.
func refineReference(opts *refineOptions, evalOpt eval.Options, stderr io.Writer) (*eval.Stats, string, string) {
	c, err := opts.corpus.resolve()
	var files []string
	if err == nil {
		files, err = c.EvalFiles()
	}
	if err != nil {
		return nil, "", "JS not computed: no evaluation corpus (" + firstLine(err.Error()) + "). To get JS, pass --data-dir (or set $DGTEXT_DATA_DIR) to the billion-words folder and --eval-files, or --corpus PATH"
	}
	ref, info, err := eval.Reference(files, evalOpt, eval.ReferenceOptions{Read: opts.corpus.readOptions(), NoCache: opts.NoCache})
	if err != nil {
		return nil, "", "JS not computed: " + firstLine(err.Error())
	}
	how := "counted"
	if info.Cached {
		how = "from cache"
	}
	desc := strings.Join(relPaths(files), ", ")
	fmt.Fprintf(stderr, "refine: reference %s: %d lines (%s)\n", desc, ref.Lines(), how)
	return ref, desc, ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// latentsSource reads latents from a samples file's z column (rows at step 0 when the
// file holds several steps).
func latentsSource(path string, dim int, dev gotch.Device) (refine.Source, int64, error) {
	rows, err := data.ReadSamples(path)
	if err != nil {
		return nil, 0, err
	}
	var zs [][]float32
	for _, r := range rows {
		if r.Step != 0 {
			continue
		}
		if len(r.Z) == 0 {
			return nil, 0, fmt.Errorf("%s: row %d has no z column; write latents with `dgtext refine --save-z` or a z list<float> column", path, r.ID)
		}
		if len(r.Z) != dim {
			return nil, 0, fmt.Errorf("%s: row %d has a %d-dimensional z, the model's latent has %d", path, r.ID, len(r.Z), dim)
		}
		zs = append(zs, r.Z)
	}
	if len(zs) == 0 {
		return nil, 0, fmt.Errorf("%s: no latents (no rows at step 0)", path)
	}
	src := func(first int64, n int) (*ts.Tensor, error) {
		flat := make([]float32, 0, n*dim)
		for _, z := range zs[first : first+int64(n)] {
			flat = append(flat, z...)
		}
		return torch.FromArray(torch.Array{Shape: []int64{int64(n), int64(dim)}, Data: flat}, dev)
	}
	return src, int64(len(zs)), nil
}

func methodParams(f *methodFlags, m refine.Method, steps int) map[string]any {
	p := map[string]any{"steps": steps, "save_every": f.SaveEvery}
	switch x := m.(type) {
	case *refine.DGflow:
		p["eta"], p["gamma"], p["f"] = x.Eta, x.Gamma, string(x.F)
	case *refine.DDLS:
		p["eps"] = x.Eps
	case *refine.DOT:
		p["lr"], p["k_eff"] = x.LR, x.Keff
	}
	return p
}

func printRefineTable(w io.Writer, rep refineReport, orders []int) {
	fmt.Fprintf(w, "%s, %d samples, seed %d, model %s\n", rep.Method, rep.N, rep.Seed, rep.Model)
	fmt.Fprintf(w, "%6s", "step")
	for _, o := range orders {
		fmt.Fprintf(w, "  %8s", "JS-"+strconv.Itoa(o))
	}
	fmt.Fprintf(w, "  %12s\n", "critic mean")
	for _, r := range rep.Steps {
		fmt.Fprintf(w, "%6d", r.Step)
		for _, o := range orders {
			if v, ok := r.JS[strconv.Itoa(o)]; ok {
				fmt.Fprintf(w, "  %8.4f", v)
			} else {
				fmt.Fprintf(w, "  %8s", "-")
			}
		}
		fmt.Fprintf(w, "  %12.4f\n", r.CriticMean)
	}
	if len(rep.Examples) > 0 {
		fmt.Fprintln(w, "\nrandom samples, base → refined:")
		for _, e := range rep.Examples {
			fmt.Fprintf(w, "  %-34q → %q\n", e[0], e[1])
		}
	}
}

// examplePicker keeps the base and final text of a few samples chosen at random
// (by id, before any text is seen), so the pairs shown are not cherry-picked.
type examplePicker struct {
	ids  map[int64]int
	base []string
	last []string
}

func newExamplePicker(k int, n int64, seed int64) *examplePicker {
	p := &examplePicker{ids: map[int64]int{}}
	if k <= 0 || n <= 0 {
		return p
	}
	k = int(min(int64(k), n))
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for len(p.ids) < k {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		id := int64(x % uint64(n))
		if _, ok := p.ids[id]; !ok {
			p.ids[id] = len(p.ids)
		}
	}
	p.base = make([]string, k)
	p.last = make([]string, k)
	return p
}

func (p *examplePicker) offer(id int64, step, lastStep int, text string) {
	i, ok := p.ids[id]
	if !ok {
		return
	}
	if step == 0 {
		p.base[i] = text
	}
	if step == lastStep {
		p.last[i] = text
	}
}

func (p *examplePicker) pairs() [][2]string {
	var out [][2]string
	for i := range p.base {
		out = append(out, [2]string{p.base[i], p.last[i]})
	}
	return out
}
