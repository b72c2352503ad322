package charlm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/torch"
)

// TrainConfig holds the WGAN-GP training hyper-parameters. The defaults are the
// published ones (Gulrajani et al. 2017, language model).
type TrainConfig struct {
	Iters           int     `json:"iters"`        // generator iterations in total
	Batch           int     `json:"batch"`        // 64
	CriticIters     int     `json:"critic_iters"` // critic steps per generator step, 10
	LR              float64 `json:"lr"`           // Adam learning rate, 1e-4
	Beta1           float64 `json:"beta1"`        // 0.5
	Beta2           float64 `json:"beta2"`        // 0.9
	Lambda          float64 `json:"lambda"`       // gradient-penalty weight, 10
	Seed            int64   `json:"seed"`
	LogEvery        int     `json:"log_every"`
	CheckpointEvery int     `json:"checkpoint_every"`
	KeepLast        int     `json:"keep_last"`
	EvalSamples     int     `json:"eval_samples"` // samples scored for JS-4 at each log line
}

// DefaultTrainConfig returns the published recipe.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Iters: 200000, Batch: 64, CriticIters: 10, LR: 1e-4, Beta1: 0.5, Beta2: 0.9, Lambda: 10,
		Seed: 1, LogEvery: 100, CheckpointEvery: 500, KeepLast: 3, EvalSamples: 1000}
}

// Validate rejects settings that cannot train.
func (c TrainConfig) Validate() error {
	switch {
	case c.Batch < 1:
		return fmt.Errorf("batch %d: must be at least 1", c.Batch)
	case c.CriticIters < 1:
		return fmt.Errorf("critic-iters %d: must be at least 1", c.CriticIters)
	case !(c.LR > 0):
		return fmt.Errorf("lr %g: must be positive", c.LR)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("betas (%g, %g): must be in [0, 1)", c.Beta1, c.Beta2)
	case c.Lambda < 0:
		return fmt.Errorf("lambda %g: must not be negative", c.Lambda)
	}
	return nil
}

// StepStats is what one generator iteration reports.
type StepStats struct {
	Iter        int     `json:"iter"`
	CriticLoss  float64 `json:"critic_loss"`
	GenLoss     float64 `json:"gen_loss"`
	Wasserstein float64 `json:"wasserstein"` // E[D(real)] − E[D(fake)], the critic's estimate
	GP          float64 `json:"gradient_penalty"`
	JS4         float64 `json:"js4,omitempty"` // on a held-out sample, at log steps only
	Seconds     float64 `json:"seconds"`       // wall time since training (re)started
}

// Trainer runs WGAN-GP training of a Model on an encoded corpus.
type Trainer struct {
	Model  *Model
	Config TrainConfig
	Corpus string // human description of the training data, kept in checkpoints
	// Iter is the number of generator iterations done.
	Iter    int
	History []StepStats

	train     []int64 // encoded lines, SeqLen indexes each
	nLines    int
	evalStats *eval.Stats
	optG      *adam
	optD      *adam

	// state lists every tensor a checkpoint saves (parameters and Adam moments) and
	// snap holds their values at the start of the current iteration, so a diverged
	// iteration can be undone and the last good state saved.
	state, snap []*ts.Tensor
	snapSteps   [2]int64

	started      time.Time
	priorSeconds float64 // training time before a resume
}

// Elapsed is the training wall time in seconds so far, across resumes.
func (t *Trainer) Elapsed() float64 { return t.elapsed() }

// elapsed is the training wall time so far, across resumes.
func (t *Trainer) elapsed() float64 {
	if t.started.IsZero() {
		return t.priorSeconds
	}
	return t.priorSeconds + time.Since(t.started).Seconds()
}

// snapshot records the current state (an in-place copy, no allocation after the first).
func (t *Trainer) snapshot() {
	if t.state == nil {
		for _, o := range []*adam{t.optG, t.optD} {
			t.state = append(t.state, o.params...)
			t.state = append(t.state, o.m...)
			t.state = append(t.state, o.v...)
		}
	}
	ts.NoGrad(func() {
		for i, x := range t.state {
			if i >= len(t.snap) {
				t.snap = append(t.snap, x.MustZerosLike(false))
			}
			t.snap[i].Copy_(x)
		}
	})
	t.snapSteps = [2]int64{t.optG.step, t.optD.step}
}

// restore undoes everything since the last snapshot.
func (t *Trainer) restore() {
	ts.NoGrad(func() {
		for i, x := range t.state {
			x.Copy_(t.snap[i])
		}
	})
	t.optG.step, t.optD.step = t.snapSteps[0], t.snapSteps[1]
}

// ErrDiverged is returned when a loss becomes NaN or Inf.
var ErrDiverged = errors.New("training diverged")

// NewTrainer encodes the training lines with the model's charmap and prepares the
// optimisers. evalLines (optional) are the held-out lines JS-4 is logged against.
func NewTrainer(m *Model, cfg TrainConfig, trainLines, evalLines []string, corpus string) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(trainLines) == 0 {
		return nil, errors.New("no training lines")
	}
	t := &Trainer{Model: m, Config: cfg, Corpus: corpus, nLines: len(trainLines)}
	s := m.Config.SeqLen
	t.train = make([]int64, 0, len(trainLines)*s)
	for _, l := range trainLines {
		for _, i := range m.Charmap.Encode(l, s) {
			t.train = append(t.train, int64(i))
		}
	}
	if len(evalLines) > 0 {
		st, err := eval.Count(evalLines, eval.Options{SeqLen: s, Orders: []int{4}})
		if err != nil {
			return nil, err
		}
		t.evalStats = st
	}
	err := torch.Try(func() error {
		t.optG = newAdam(m.GVars, cfg.LR, cfg.Beta1, cfg.Beta2)
		t.optD = newAdam(m.DVars, cfg.LR, cfg.Beta1, cfg.Beta2)
		return nil
	})
	return t, err
}

// iterSeed derives the seed of one iteration, so a resumed run draws exactly the
// batches, latents and interpolation weights the uninterrupted run would have.
func (t *Trainer) iterSeed(iter int) int64 {
	return t.Config.Seed*1_000_003 + int64(iter)
}

// realBatch draws Batch training lines and one-hot encodes them: [B, SeqLen, Vocab].
func (t *Trainer) realBatch(rng *rand.Rand) *ts.Tensor {
	s := t.Model.Config.SeqLen
	idx := make([]int64, 0, t.Config.Batch*s)
	for b := 0; b < t.Config.Batch; b++ {
		i := rng.IntN(t.nLines)
		idx = append(idx, t.train[i*s:(i+1)*s]...)
	}
	it := ts.MustOfSlice(idx).MustView([]int64{int64(t.Config.Batch), int64(s)}, true).MustTo(t.Model.Device, true)
	oh := it.MustOneHot(int64(t.Model.Config.Vocab), true)
	return oh.MustTotype(gotch.Float, true)
}

// gradientPenalty is λ·E[(‖∇x̂ D(x̂)‖₂ − 1)²] on random interpolates x̂ between real
// and fake samples, the norm taken over sequence and vocabulary together.
func (t *Trainer) gradientPenalty(real, fake *ts.Tensor) *ts.Tensor {
	dev := t.Model.Device
	alpha := ts.MustRand([]int64{int64(t.Config.Batch), 1, 1}, gotch.Float, dev)
	diff := fake.MustSub(real, false).MustMul(alpha, true)
	// SetRequiresGrad, not the in-place RequiresGrad_: gotch's in-place ops leak the old
	// handle, and with it this [B, S, V] tensor, every critic step.
	xhat := real.MustAdd(diff, false).MustSetRequiresGrad(true, true)
	diff.MustDrop()
	alpha.MustDrop()
	d := t.Model.D.Forward(xhat)
	dsum := d.MustSum(gotch.Float, true)
	grads, err := ts.RunBackward([]*ts.Tensor{dsum}, []*ts.Tensor{xhat}, true, true)
	if err != nil {
		panic(err)
	}
	dsum.MustDrop()
	xhat.MustDrop()
	sq := grads[0].MustSquare(true).MustSumDimIntlist([]int64{1, 2}, false, gotch.Float, true)
	norm := sq.MustAddScalar(ts.FloatScalar(1e-12), true).MustSqrt(true)
	pen := norm.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true)
	return pen.MustMulScalar(ts.FloatScalar(t.Config.Lambda), true)
}

func scalar(x *ts.Tensor) float64 { return torch.Float64s(x)[0] }

func (t *Trainer) latents(n int) *ts.Tensor {
	return ts.MustRandn([]int64{int64(n), int64(t.Model.Config.Latent)}, gotch.Float, t.Model.Device)
}

// Step runs one generator iteration: CriticIters critic updates on fresh real and
// fake batches, then one generator update. When a loss stops being finite it undoes
// the whole iteration, so the model and optimisers are exactly as before the call,
// and returns an error wrapping ErrDiverged.
func (t *Trainer) Step() (StepStats, error) {
	var st StepStats
	defer torch.Collect()
	err := torch.Try(func() error {
		t.snapshot()
		var e error
		st, e = t.step()
		return e
	})
	if errors.Is(err, ErrDiverged) {
		t.restore()
	}
	return st, err
}

func (t *Trainer) step() (StepStats, error) {
	seed := t.iterSeed(t.Iter)
	torch.Seed(seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	st := StepStats{Iter: t.Iter + 1}
	m := t.Model

	for c := 0; c < t.Config.CriticIters; c++ {
		real := t.realBatch(rng)
		var fake *ts.Tensor
		ts.NoGrad(func() {
			z := t.latents(t.Config.Batch)
			fake = m.G.Forward(z)
			z.MustDrop()
		})
		dReal := m.D.Forward(real).MustMean(gotch.Float, true)
		dFake := m.D.Forward(fake).MustMean(gotch.Float, true)
		gp := t.gradientPenalty(real, fake)
		real.MustDrop()
		fake.MustDrop()
		// WGAN-GP critic loss: E[D(fake)] − E[D(real)] + λ·GP.
		w := dReal.MustSub(dFake, false)
		loss := dFake.MustSub(dReal, true).MustAdd(gp, true)
		dReal.MustDrop()
		st.CriticLoss, st.Wasserstein, st.GP = scalar(loss), scalar(w), scalar(gp)
		if !finite(st.CriticLoss) || !finite(st.Wasserstein) {
			return st, fmt.Errorf("%w at iteration %d: critic loss %v, Wasserstein estimate %v", ErrDiverged, st.Iter, st.CriticLoss, st.Wasserstein)
		}
		w.MustDrop()
		gp.MustDrop()
		t.optD.zeroGrad()
		loss.MustBackward()
		loss.MustDrop()
		t.optD.update()
	}

	// Generator: maximise E[D(G(z))]. The critic's weights need no gradient here.
	setRequiresGrad(t.optD.params, false)
	z := t.latents(t.Config.Batch)
	fake := m.G.Forward(z)
	z.MustDrop()
	gLoss := m.D.Forward(fake).MustMean(gotch.Float, true).MustNeg(true)
	fake.MustDrop()
	st.GenLoss = scalar(gLoss)
	if !finite(st.GenLoss) {
		setRequiresGrad(t.optD.params, true)
		return st, fmt.Errorf("%w at iteration %d: generator loss %v", ErrDiverged, st.Iter, st.GenLoss)
	}
	t.optG.zeroGrad()
	gLoss.MustBackward()
	gLoss.MustDrop()
	t.optG.update()
	setRequiresGrad(t.optD.params, true)
	t.Iter++
	return st, nil
}

func setRequiresGrad(ps []*ts.Tensor, on bool) {
	for _, p := range ps {
		p.MustRequiresGrad_(on)
	}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// HeldOutJS4 samples n lines and returns their JS-4 against the held-out lines given
// to NewTrainer (NaN when there are none).
func (t *Trainer) HeldOutJS4(n int) (float64, error) {
	if t.evalStats == nil || n <= 0 {
		return math.NaN(), nil
	}
	lines, err := t.Model.SampleSeeded(n, 256, t.Config.Seed*7_919+17) // the same latents at every log line
	if err != nil {
		return math.NaN(), err
	}
	s, err := eval.Count(lines, eval.Options{SeqLen: t.Model.Config.SeqLen, Orders: []int{4}})
	if err != nil {
		return math.NaN(), err
	}
	return eval.JS(s, t.evalStats, 4)
}

// Sample draws n latents from N(0, I) with libtorch's generator (seed it first with
// torch.Seed for reproducibility) and decodes G(z) by argmax, batch at a time.
func (m *Model) Sample(n, batch int) ([]string, error) {
	var out []string
	err := m.SampleFunc(n, batch, nil, func(_ int, texts []string, _ []float64) error {
		out = append(out, texts...)
		return nil
	})
	return out, err
}

// SampleSeeded is Sample with libtorch's generator seeded from seed before each
// batch, so the lines depend only on seed and batch size.
func (m *Model) SampleSeeded(n, batch int, seed int64) ([]string, error) {
	var out []string
	err := m.SampleFunc(n, batch, &seed, func(_ int, texts []string, _ []float64) error {
		out = append(out, texts...)
		return nil
	})
	return out, err
}

// SampleFunc streams n samples in batches to fn with their critic scores, holding
// one batch at a time. With seed set, the generator is seeded per batch from it.
func (m *Model) SampleFunc(n, batch int, seed *int64, fn func(first int, texts []string, critic []float64) error) error {
	if batch < 1 {
		return fmt.Errorf("batch %d: must be at least 1", batch)
	}
	return torch.Try(func() error {
		var err error
		ts.NoGrad(func() {
			for done := 0; done < n && err == nil; done += batch {
				if seed != nil {
					torch.Seed(*seed*1_000_003 + int64(done))
				}
				b := min(batch, n-done)
				z := ts.MustRandn([]int64{int64(b), int64(m.Config.Latent)}, gotch.Float, m.Device)
				p := m.G.Forward(z)
				z.MustDrop()
				d := m.D.Forward(p)
				texts := m.Decode(p)
				p.MustDrop()
				scores := torch.Float64s(d)
				d.MustDrop()
				err = fn(done, texts, scores)
				torch.Collect()
			}
		})
		return err
	})
}

// Decode turns generator output [B, SeqLen, Vocab] into text by taking the most
// likely character at each position, with the padding removed.
func (m *Model) Decode(probs *ts.Tensor) []string {
	idx := probs.MustArgmax([]int64{2}, false, false).MustTo(gotch.CPU, true)
	defer idx.MustDrop()
	shape := idx.MustSize()
	flat := idx.Int64Values()
	s := int(shape[1])
	out := make([]string, shape[0])
	row := make([]int, s)
	for b := range out {
		for j := 0; j < s; j++ {
			row[j] = int(flat[b*s+j])
		}
		out[b] = data.TrimPad(m.Charmap.Decode(row))
	}
	return out
}

// SetLR changes the learning rate of both optimisers from the next iteration on (for
// a resumed run that anneals); the Adam moments are kept.
func (t *Trainer) SetLR(lr float64) {
	t.Config.LR = lr
	t.optG.lr, t.optD.lr = lr, lr
}
