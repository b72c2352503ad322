package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// Options control one run of the pipeline.
type Options struct {
	Method  MethodConfig
	N       int64 // samples to refine; 0 means the kind's default (About.N)
	Batch   int   // latents refined together; 0 means the kind's default (About.Batch)
	Seed    int64 // seeds the latents, the noise and DOT's k_eff estimate
	Device  gotch.Device
	Latents string // start from the z column of this samples file instead of the prior
	Out     string // samples file: .parquet or .jsonl (.txt for text)
	SaveZ   bool   // also write every latent
	Plot    string // draw the kind's picture into this PNG
	// Log receives log lines and the progress bar (the command's stderr); nil is silent.
	Log io.Writer
	Bar bool // draw a progress bar on Log
	// CreatedBy is recorded in Parquet files, e.g. "dgtext v1.2".
	CreatedBy string
}

// Run refines samples of kind k as o says and returns what it measured. Every
// saved step of every sample goes to o.Out; the figures of every saved step are in
// the report. A batch's rows are written once the batch is refined to the end, so
// the samples file only ever holds complete samples.
func Run(ctx context.Context, k Kind, o Options) (*Report, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	about := k.About()
	g, c := k.Generator(), k.Critic()
	n, batch := o.N, o.Batch
	if n == 0 {
		n = about.N
	}
	if batch == 0 {
		batch = about.Batch
	}
	ref := k.Reference()
	src := k.Prior()
	if o.Latents != "" {
		var err error
		if src, n, err = ReadLatents(o.Latents, g.LatentDim(), o.Device); err != nil {
			return nil, err
		}
	}
	if n < 1 || batch < 1 {
		return nil, fmt.Errorf("--n %d and --batch %d must be at least 1", n, batch)
	}
	if err := checkOutputs(o, about, ref); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "refine: %s model %s (%s) on %s\n", about.Kind, about.Model, about.Detail, torch.DeviceName(o.Device))
	if about.Critic != "" {
		fmt.Fprintf(log, "refine: critic %s\n", about.Critic)
	}
	if ref.Note != "" {
		fmt.Fprintln(log, "refine: note:", ref.Note)
	}

	method, steps, err := o.Method.Build(g, c, o.Seed, o.Device)
	if err != nil {
		return nil, err
	}
	ropt := refine.Options{Steps: steps, SaveEvery: o.Method.SaveEvery, Batch: batch, Seed: o.Seed, Device: o.Device,
		Note: func(s string) { fmt.Fprintln(log, "refine: note:", s) }}
	rep := &Report{Kind: about.Kind, Model: about.Model, Critic: about.Critic, Method: o.Method.Label(), N: n, Seed: o.Seed,
		Batch: batch, Device: torch.DeviceName(o.Device), Reference: ref.Desc, RefSize: ref.Size, Note: ref.Note,
		Out: o.Out, columns: k.Columns(), hint: ref.Hint}
	for _, col := range rep.columns {
		rep.Columns = append(rep.Columns, col.Name)
	}
	if steps < 0 {
		tr, err := refine.AutoSteps(ctx, g, c, method, src, int(min(int64(batch), n)), ropt, refine.DefaultAuto())
		if ctx.Err() != nil {
			return nil, errors.New("interrupted while choosing the number of steps (--steps auto); nothing written")
		}
		if err != nil {
			return nil, err
		}
		rep.Auto, ropt.Steps = &tr, tr.Step
		fmt.Fprintf(log, "refine: --steps auto chose %d steps (the critic's gain per step fell below 10%% of its average)\n", tr.Step)
	}
	if ropt.SaveEvery == 0 {
		ropt.SaveEvery = max(ropt.Steps, 1) // step 0 and the last step only
	}
	rep.Params = o.Method.Params(method, ropt.Steps)
	if err := k.Begin(RunInfo{N: n, Steps: ropt.Steps, Seed: o.Seed, Method: rep.Method}); err != nil {
		return nil, err
	}

	w, err := data.CreateSampleWriter(o.Out, data.WriterOptions{Latents: o.SaveZ, Values: about.Kind != "text", CreatedBy: o.CreatedBy})
	if err != nil {
		return nil, err
	}
	rec := &recorder{kind: k, w: w, label: rep.Method, seed: o.Seed, last: ropt.Steps, saveZ: o.SaveZ,
		radius: 10 * math.Sqrt(float64(g.LatentDim())), steps: map[int]*stepSum{}, log: log}
	var bar *progressbar.ProgressBar
	if o.Bar {
		bar = progressbar.NewOptions64(n*int64(max(ropt.Steps, 1)), progressbar.OptionSetWriter(log),
			progressbar.OptionSetDescription("refine "+rep.Method), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("latent-steps"), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(300*time.Millisecond), progressbar.OptionClearOnFinish())
		ropt.Progress = func(done int64) { bar.Set64(done) }
	}
	runErr := refine.Run(ctx, g, c, method, n, src, ropt, rec.sink)
	if bar != nil {
		bar.Finish()
	}
	rep.Done = rec.done
	if runErr != nil {
		return rep, stopped(ctx, runErr, w, rec.done, n)
	}
	if err := w.Close(); err != nil {
		return rep, err
	}
	rep.Complete = true

	var saved []int
	for step := range rec.steps {
		saved = append(saved, step)
	}
	sort.Ints(saved)
	for _, step := range saved {
		sum := rec.steps[step]
		row := StepRow{Step: step, CriticMean: sum.critic / float64(sum.n), N: sum.n}
		if len(rep.columns) > 0 {
			if row.Scores, err = k.Score(step); err != nil {
				return rep, err
			}
		}
		rep.Steps = append(rep.Steps, row)
	}
	if ex, ok := k.(Exampler); ok {
		rep.Examples = ex.Examples()
	}
	if o.Plot != "" {
		if err := k.Plot(o.Plot, rep); err != nil {
			return rep, fmt.Errorf("plot: %w", err)
		}
		rep.Plot = o.Plot
		fmt.Fprintf(log, "refine: plot written to %s\n", o.Plot)
	}
	rep.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(log, "refine: %d samples × %d saved steps written to %s in %.1fs\n", n, len(rep.Steps), o.Out, rep.Seconds)
	return rep, nil
}

// stepSum is the critic sum of one saved step.
type stepSum struct {
	critic float64
	n      int64
}

// recorder is the sink of refine.Run: it turns saved batches into rows through the
// kind, holds a batch's rows until the batch is refined to the end, then writes them.
type recorder struct {
	kind    Kind
	w       data.SampleWriter
	label   string
	seed    int64
	last    int
	saveZ   bool
	radius  float64
	warned  bool
	steps   map[int]*stepSum
	pending []data.Sample
	done    int64
	log     io.Writer
}

func (r *recorder) sink(s refine.Saved) error {
	if s.Step == 0 {
		r.pending = r.pending[:0] // a new batch, or a batch retried with a smaller size
	}
	rows, err := r.kind.Rows(s)
	if err != nil {
		return err
	}
	if len(rows) != len(s.D) {
		return fmt.Errorf("refine: the kind made %d rows from a batch of %d samples", len(rows), len(s.D))
	}
	z, err := torch.ToArray(s.Z)
	if err != nil {
		return err
	}
	l := int(z.Shape[1])
	sum := r.steps[s.Step]
	if sum == nil {
		sum = &stepSum{}
		r.steps[s.Step] = sum
	}
	for i, row := range rows {
		out := data.Sample{ID: s.First + int64(i), Text: row.Text, X: row.X, Method: r.label, Step: s.Step, Seed: r.seed, Critic: s.D[i]}
		zi := z.Data[i*l : (i+1)*l]
		if r.saveZ {
			out.Z = zi
		}
		r.checkRadius(s.Step, zi)
		r.pending = append(r.pending, out)
		sum.critic += s.D[i]
		sum.n++
	}
	if s.Step != r.last {
		return nil
	}
	for _, row := range r.pending {
		if err := r.w.Write(row); err != nil {
			return err
		}
	}
	r.pending = r.pending[:0]
	r.done += int64(len(rows))
	return nil
}

// checkRadius warns once when a latent leaves the ball where the prior lives:
// ‖z‖ > 10·√L, far beyond the √L of a typical draw, usually a too-large step size.
func (r *recorder) checkRadius(step int, z []float32) {
	if r.warned {
		return
	}
	var sq float64
	for _, v := range z {
		sq += float64(v) * float64(v)
	}
	if norm := math.Sqrt(sq); norm > r.radius {
		r.warned = true
		fmt.Fprintf(r.log, "refine: warning: at step %d a latent has ‖z‖ = %.3g, beyond 10·√L = %.3g where the prior has no mass: "+
			"the step size (--eta, --eps or --dot-lr) is probably too large, and the samples may mean nothing\n", step, norm, r.radius)
	}
}

// stopped ends a run that stopped early (interrupted, or the NaN guard): the done
// samples, refined through every step, go to the partial name, never to the final one.
func stopped(ctx context.Context, runErr error, w data.SampleWriter, done, n int64) error {
	cause := runErr
	var st *refine.Stopped
	if errors.As(runErr, &st) {
		cause = st.Err
	}
	where := "no sample was complete, nothing written"
	if done > 0 {
		partial, err := w.ClosePartial()
		if err != nil {
			w.Abort()
			return fmt.Errorf("%v; saving the %d complete samples failed too: %w", cause, done, err)
		}
		where = "partial samples in " + partial
	} else {
		w.Abort()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d of %d samples; %s", done, n, where)
	}
	return fmt.Errorf("%w; stopped after %d of %d samples; %s", cause, done, n, where)
}

// checkOutputs refuses a samples file or plot that would overwrite a file the run
// reads (the model, the reference, the latents, after resolving symbolic links),
// or each other.
func checkOutputs(o Options, about About, ref Reference) error {
	var inputs []string
	for _, p := range append(append(append([]string{}, about.Files...), ref.Files...), o.Latents) {
		inputs = append(inputs, files(p)...)
	}
	if err := data.CheckDistinct(o.Out, o.Plot); err != nil {
		return err
	}
	for _, out := range []string{o.Out, data.PartialPath(o.Out), o.Plot} {
		if out == "" {
			continue
		}
		if err := data.CheckNotInput(out, inputs...); err != nil {
			return err
		}
	}
	return nil
}

// files lists path itself, or the files under it when it is a folder.
func files(path string) []string {
	if path == "" {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return []string{path}
	}
	var out []string
	filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
