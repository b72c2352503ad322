package gan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// Config holds WGAN-GP hyper-parameters. DefaultConfig has the published ones.
type Config struct {
	Iters       int     `json:"iters"`        // generator iterations
	Batch       int     `json:"batch"`        // samples per batch
	CriticIters int     `json:"critic_iters"` // critic updates per generator update (5)
	LR          float64 `json:"lr"`           // Adam learning rate (1e-4)
	Beta1       float64 `json:"beta1"`        // 0.5
	Beta2       float64 `json:"beta2"`        // 0.9
	Lambda      float64 `json:"lambda"`       // gradient-penalty weight (10)
	// Decay lowers the learning rate linearly to 0 over Iters, as the WGAN-GP
	// authors' CIFAR-10 and LSUN code does.
	Decay bool  `json:"decay,omitempty"`
	Seed  int64 `json:"seed"`
}

// DefaultConfig returns the WGAN-GP paper's optimiser settings with the given
// iterations and batch.
func DefaultConfig(iters, batch int) Config {
	return Config{Iters: iters, Batch: batch, CriticIters: 5, LR: 1e-4, Beta1: 0.5, Beta2: 0.9, Lambda: 10, Seed: 1}
}

// Validate rejects settings that cannot train.
func (c Config) Validate() error {
	switch {
	case c.Iters < 0:
		return fmt.Errorf("iters %d: must not be negative", c.Iters)
	case c.Batch < 2:
		return fmt.Errorf("batch %d: must be at least 2", c.Batch)
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

// Stats is what one generator iteration reports.
type Stats struct {
	Iter        int     `json:"iter"`
	CriticLoss  float64 `json:"critic_loss"`
	GenLoss     float64 `json:"gen_loss"`
	Wasserstein float64 `json:"wasserstein"` // E[D(real)] − E[D(fake)]
	GP          float64 `json:"gradient_penalty"`
}

// collectEvery is how often (in generator iterations) Step runs Go's collector.
const collectEvery = 10

// ErrDiverged is returned when a loss stops being finite.
var ErrDiverged = errors.New("training diverged")

// Sampler draws n real training samples as a tensor on the training device, using rng
// for every random choice so that a run is reproducible for a seed.
type Sampler func(rng *rand.Rand, n int) (*ts.Tensor, error)

// WGAN trains a generator G (z [B, Latent] → x) against a critic D (x → [B]) with
// the WGAN-GP objective: the critic minimises E[D(G(z))] − E[D(x)] + λ·E[(‖∇D(x̂)‖ − 1)²]
// on random interpolates x̂, and the generator maximises E[D(G(z))].
type WGAN struct {
	G, D         func(*ts.Tensor) *ts.Tensor
	GVars, DVars *nn.VarStore
	Latent       int
	Real         Sampler
	Device       gotch.Device
	Config       Config

	Iter       int // generator iterations done
	optG, optD *Adam
	dParams    []*ts.Tensor
}

// NewWGAN checks the configuration and prepares the optimisers.
func NewWGAN(w WGAN) (*WGAN, error) {
	if err := w.Config.Validate(); err != nil {
		return nil, err
	}
	if w.G == nil || w.D == nil || w.GVars == nil || w.DVars == nil || w.Real == nil || w.Latent < 1 {
		return nil, errors.New("gan: a WGAN needs G, D, their VarStores, a real-data sampler and a latent size")
	}
	t := w
	t.optG = NewAdam(w.GVars, w.Config.LR, w.Config.Beta1, w.Config.Beta2)
	t.optD = NewAdam(w.DVars, w.Config.LR, w.Config.Beta1, w.Config.Beta2)
	t.dParams = Params(w.DVars)
	return &t, nil
}

// Step runs one generator iteration: CriticIters critic updates on fresh real and fake
// batches, then one generator update. Every random draw comes from a seed derived from
// the configuration's seed and the iteration, so a run is reproducible on the CPU.
func (t *WGAN) Step() (Stats, error) {
	var st Stats
	defer func() {
		// Every tensor is dropped by hand; the collector is a safety net for gotch's
		// finalizers, and a full collection per step costs as much as a toy step.
		if t.Iter%collectEvery == 0 {
			torch.Collect()
		}
	}()
	err := torch.Try(func() error {
		var e error
		st, e = t.step()
		return e
	})
	return st, err
}

func (t *WGAN) step() (Stats, error) {
	seed := t.Config.Seed*1_000_003 + int64(t.Iter)
	torch.Seed(seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x853c49e6748fea9b))
	st := Stats{Iter: t.Iter + 1}
	b := t.Config.Batch
	if t.Config.Decay && t.Config.Iters > 0 {
		lr := t.Config.LR * max(0, 1-float64(t.Iter)/float64(t.Config.Iters))
		t.optG.SetLR(lr)
		t.optD.SetLR(lr)
	}
	for c := 0; c < t.Config.CriticIters; c++ {
		real, err := t.Real(rng, b)
		if err != nil {
			return st, err
		}
		var fake *ts.Tensor
		ts.NoGrad(func() {
			z := ts.MustRandn([]int64{int64(b), int64(t.Latent)}, gotch.Float, t.Device)
			fake = t.G(z)
			z.MustDrop()
		})
		dReal := t.D(real).MustMean(gotch.Float, true)
		dFake := t.D(fake).MustMean(gotch.Float, true)
		gp := GradientPenalty(t.D, real, fake, t.Config.Lambda)
		real.MustDrop()
		fake.MustDrop()
		w := dReal.MustSub(dFake, false)
		loss := dFake.MustSub(dReal, true).MustAdd(gp, true)
		dReal.MustDrop()
		// Reading a value back costs a few calls into libtorch; the last critic
		// update's values are the ones reported, and a NaN would persist to them.
		if c == t.Config.CriticIters-1 {
			st.CriticLoss, st.Wasserstein, st.GP = Scalar(loss), Scalar(w), Scalar(gp)
		}
		w.MustDrop()
		gp.MustDrop()
		if !finite(st.CriticLoss) || !finite(st.Wasserstein) {
			loss.MustDrop()
			return st, fmt.Errorf("%w at iteration %d: critic loss %v; lower --lr", ErrDiverged, st.Iter, st.CriticLoss)
		}
		t.optD.ZeroGrad()
		loss.MustBackward()
		loss.MustDrop()
		t.optD.Step()
	}
	// Generator: maximise E[D(G(z))]; the critic's weights need no gradient here.
	setRequiresGrad(t.dParams, false)
	defer setRequiresGrad(t.dParams, true)
	z := ts.MustRandn([]int64{int64(b), int64(t.Latent)}, gotch.Float, t.Device)
	fake := t.G(z)
	z.MustDrop()
	gLoss := t.D(fake).MustMean(gotch.Float, true).MustNeg(true)
	fake.MustDrop()
	st.GenLoss = Scalar(gLoss)
	if !finite(st.GenLoss) {
		gLoss.MustDrop()
		return st, fmt.Errorf("%w at iteration %d: generator loss %v; lower --lr", ErrDiverged, st.Iter, st.GenLoss)
	}
	t.optG.ZeroGrad()
	gLoss.MustBackward()
	gLoss.MustDrop()
	t.optG.Step()
	t.Iter++
	return st, nil
}

// GradientPenalty is λ·E[(‖∇x̂ D(x̂)‖₂ − 1)²] on x̂ = real + α(fake − real), α ~ U(0, 1)
// per sample, the norm taken over all non-batch dimensions. It frees neither input;
// the result keeps the graph to D's parameters (a double backward).
func GradientPenalty(d func(*ts.Tensor) *ts.Tensor, real, fake *ts.Tensor, lambda float64) *ts.Tensor {
	shape := real.MustSize()
	ashape := make([]int64, len(shape))
	ashape[0] = shape[0]
	for i := 1; i < len(ashape); i++ {
		ashape[i] = 1
	}
	alpha := ts.MustRand(ashape, gotch.Float, real.MustDevice())
	diff := fake.MustSub(real, false).MustMul(alpha, true)
	alpha.MustDrop()
	// Out of place: gotch's RequiresGrad_ replaces the Go handle without freeing the
	// old one, which keeps the interpolates' storage alive (about 1 MB per MNIST
	// iteration).
	xhat := real.MustAdd(diff, false).MustSetRequiresGrad(true, true)
	diff.MustDrop()
	dsum := d(xhat).MustSum(gotch.Float, true)
	grads, err := ts.RunBackward([]*ts.Tensor{dsum}, []*ts.Tensor{xhat}, true, true)
	if err != nil {
		panic(err)
	}
	dsum.MustDrop()
	xhat.MustDrop()
	sq := grads[0].MustView([]int64{shape[0], -1}, true).MustSquare(true).MustSumDimIntlist([]int64{1}, false, gotch.Float, true)
	norm := sq.MustAddScalar(ts.FloatScalar(1e-12), true).MustSqrt(true)
	pen := norm.MustSubScalar(ts.FloatScalar(1), true).MustSquare(true).MustMean(gotch.Float, true)
	return pen.MustMulScalar(ts.FloatScalar(lambda), true)
}

// Scalar reads a one-element tensor.
func Scalar(x *ts.Tensor) float64 { return torch.Float64s(x)[0] }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func setRequiresGrad(ps []*ts.Tensor, on bool) {
	for _, p := range ps {
		p.MustRequiresGrad_(on)
	}
}

// Freeze stops every parameter of the stores from requiring a gradient: refinement
// and evaluation need ∇ with respect to inputs only. A frozen model must not be trained.
func Freeze(stores ...*nn.VarStore) {
	for _, vs := range stores {
		setRequiresGrad(Params(vs), false)
	}
}

// Free drops x and returns y: the "y := f(x); drop x" of a forward pass.
func Free(y, x *ts.Tensor) *ts.Tensor {
	x.MustDrop()
	return y
}
