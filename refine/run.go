package refine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// Options control a refinement run.
type Options struct {
	Steps     int // refinement steps per latent (25 in the paper)
	SaveEvery int // emit samples every this many steps (5); step 0 and the last step always
	Batch     int // latents refined together
	Seed      int64
	Device    gotch.Device
	// Progress, if set, is called after every step of every batch with the number of
	// latent-steps done so far.
	Progress func(done int64)
	// Note, if set, receives remarks such as a batch halved after running out of memory.
	Note func(msg string)
}

// Saved is what a Sink receives: one saved step of one batch.
type Saved struct {
	Step  int
	First int64      // index of the batch's first latent in the whole run
	Z     *ts.Tensor // latents [B, L]
	X     *ts.Tensor // G(z)
	D     []float64  // critic logits d(G(z)) [B]
}

// Sink consumes saved steps; the tensors are freed after it returns.
type Sink func(s Saved) error

// Source supplies the starting latents [len(b.IDs), L] of a batch. Padding rows
// (ids ≥ the run's n) may hold anything finite.
type Source func(b Batch) (*ts.Tensor, error)

// Gaussian draws fresh latents z₀ ~ N(0, I), each from its sample's own stream
// (seed, id, ForLatent, 0), so a sample's latent depends only on the seed and its id.
func Gaussian(latentDim int, d gotch.Device) Source {
	return func(b Batch) (*ts.Tensor, error) { return b.Normal(ForLatent, 0, latentDim, d) }
}

// ErrNonFinite reports a NaN or Inf in the latents or the critic's output.
var ErrNonFinite = errors.New("non-finite values")

// Stopped is the error Run returns when it ends before every sample is refined:
// interrupted (Err is the context's error) or stopped by a NaN guard, the sink or
// the model. Done samples went through every step; the sink also saw the early
// steps of the batch that was cut short.
type Stopped struct {
	Done, Total int64
	Err         error
}

func (e *Stopped) Error() string {
	return fmt.Sprintf("%v (after %d of %d samples)", e.Err, e.Done, e.Total)
}

func (e *Stopped) Unwrap() error { return e.Err }

// Run refines n latents from src in batches with method m, calling sink for step 0
// (the unrefined samples), every SaveEvery steps and the last step. On a CUDA
// out-of-memory error it halves the batch and retries. A NaN or Inf stops the run
// with an error naming the step and method; samples already passed to sink stay valid.
// Run checks ctx before every step, so cancelling it stops the run within one step.
// Whenever it stops early the error is a *Stopped saying how many samples are done.
func Run(ctx context.Context, g Generator, c Critic, m Method, n int64, src Source, opt Options, sink Sink) error {
	if opt.Steps < 0 || opt.Batch < 1 || n < 0 {
		return fmt.Errorf("refine: steps %d, batch %d, n %d: need steps ≥ 0, batch ≥ 1, n ≥ 0", opt.Steps, opt.Batch, n)
	}
	var done int64
	err := run(ctx, g, c, m, n, src, opt, sink, &done)
	if err != nil {
		return &Stopped{Done: done, Total: n, Err: err}
	}
	return nil
}

func run(ctx context.Context, g Generator, c Critic, m Method, n int64, src Source, opt Options, sink Sink, completed *int64) error {
	freeze(g, c)
	// Every batch has the same number of rows: the last one is padded (and a run
	// smaller than a batch is one batch of n), so every batch runs the same kernels.
	batch := int(min(int64(opt.Batch), n))
	var done int64
	for first := int64(0); first < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := Batch{IDs: ids(first, batch), Real: int(min(int64(batch), n-first)), Seed: opt.Seed}
		err := try(func() error { return runBatch(ctx, g, c, m, b, src, opt, sink, &done) })
		if err != nil && torch.IsOOM(err) && batch > 1 && opt.Device.IsCuda() {
			batch /= 2
			if opt.Note != nil {
				opt.Note(fmt.Sprintf("out of GPU memory at batch %d; retrying with --batch %d", len(b.IDs), batch))
			}
			continue
		}
		if err != nil {
			return err
		}
		first += int64(b.Real)
		*completed = first
	}
	return nil
}

// freeze stops parameter gradients in every model that supports it: refinement needs
// ∇z only.
func freeze(models ...any) {
	for _, x := range models {
		if f, ok := x.(Freezer); ok {
			f.Freeze()
		}
	}
}

func try(fn func() error) error { return torch.Try(fn) }

// runBatch is the refinement loop of one batch: evaluate d and ∇z d at z, save, step.
func runBatch(ctx context.Context, g Generator, c Critic, m Method, b Batch, src Source, opt Options, sink Sink, done *int64) error {
	first := b.IDs[0]
	// Random numbers come from the rows' own streams; libtorch's generator is still
	// seeded per batch for models that draw their own (dropout in train mode).
	torch.Seed(opt.Seed*1_000_003 + first)
	z, err := src(b)
	if err != nil {
		return err
	}
	m.Start(z, b)
	for k := 0; ; k++ {
		if err := ctx.Err(); err != nil {
			z.MustDrop()
			return err
		}
		last := k == opt.Steps
		x, d, grad := evaluate(g, c, z, !last)
		dv := torch.Float64s(d)
		if err := checkFinite(z, dv, k, m.Name()); err != nil {
			drop(x, d, grad, z)
			return err
		}
		if last || (opt.SaveEvery > 0 && k%opt.SaveEvery == 0) {
			if err := save(sink, Saved{Step: k, First: first, Z: z, X: x, D: dv}, b.Real); err != nil {
				drop(x, d, grad, z)
				return err
			}
		}
		x.MustDrop()
		if last {
			drop(d, z)
			return nil
		}
		next := m.Update(z, d, grad)
		drop(d, grad, z)
		z = next
		torch.Collect()
		*done += int64(b.Real)
		if opt.Progress != nil {
			opt.Progress(*done)
		}
	}
}

// save passes the first real rows of s to sink, leaving out the padding.
func save(sink Sink, s Saved, real int) error {
	rows := int(s.Z.MustSize()[0])
	if real == rows {
		return sink(s)
	}
	s.Z = s.Z.MustNarrow(0, 0, int64(real), false)
	s.X = s.X.MustNarrow(0, 0, int64(real), false)
	s.D = s.D[:real]
	defer drop(s.Z, s.X)
	return sink(s)
}

// evaluate returns G(z) and d(G(z)) without gradient, and ∇z d(G(z)) when asked.
// Only z requires a gradient, so no parameter gradient is formed.
func evaluate(g Generator, c Critic, z *ts.Tensor, withGrad bool) (x, d, grad *ts.Tensor) {
	if !withGrad {
		ts.NoGrad(func() {
			x = g.Generate(z)
			d = c.Score(x)
		})
		return x, d, nil
	}
	zz := z.MustDetach(false).MustSetRequiresGrad(true, true) // not RequiresGrad_: see charlm's gradientPenalty
	xg := g.Generate(zz)
	dg := c.Score(xg)
	sum := dg.MustSum(gotch.Float, false)
	grads, err := ts.RunBackward([]*ts.Tensor{sum}, []*ts.Tensor{zz}, false, false)
	if err != nil {
		panic(err)
	}
	sum.MustDrop()
	x, d = xg.MustDetach(true), dg.MustDetach(true)
	zz.MustDrop()
	return x, d, grads[0]
}

func checkFinite(z *ts.Tensor, d []float64, step int, method string) error {
	for _, v := range d {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w in the critic's output at step %d of %s: lower the step size (--eta, --eps or --dot-lr) and rerun", ErrNonFinite, step, method)
		}
	}
	if !torch.AllFinite(z) {
		return fmt.Errorf("%w in the latents at step %d of %s: lower the step size (--eta, --eps or --dot-lr) and rerun", ErrNonFinite, step, method)
	}
	return nil
}

func drop(xs ...*ts.Tensor) {
	for _, x := range xs {
		if x != nil {
			x.MustDrop()
		}
	}
}
