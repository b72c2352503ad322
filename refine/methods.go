package refine

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// Method is one latent-space refinement rule. Run calls Start once per batch with
// the starting latents and the batch (whose rows' streams give any noise the method
// draws), then Update once per step with the current latents z [B, L], the critic's
// logits d [B] at G(z), and their gradient ∇z d(G(z)) [B, L]. Update returns the next
// latents as a new tensor and frees none of its arguments.
type Method interface {
	Name() string
	Start(z0 *ts.Tensor, b Batch)
	Update(z, d, grad *ts.Tensor) *ts.Tensor
}

// DGflow simulates the gradient flow of an entropy-regularised f-divergence with
// Euler–Maruyama (Algorithm 1 of the paper).
type DGflow struct {
	Eta   float64 // step size η (0.1 in the paper)
	Gamma float64 // entropy regulariser γ (0.01)
	F     FDiv    // KL, JS or LogD

	xi stepNoise
}

// DefaultDGflow has the published defaults: η = 0.1, γ = 0.01, KL.
func DefaultDGflow() *DGflow { return &DGflow{Eta: 0.1, Gamma: 0.01, F: KL} }

// Name implements Method.
func (m *DGflow) Name() string { return "dgflow-" + string(m.F) }

// Start implements Method.
func (m *DGflow) Start(_ *ts.Tensor, b Batch) { m.xi.start(b) }

// Update is one step of Algorithm 1:
//
//	z ← z + η·s(d)·∇z d(G(z)) + √(2ηγ)·ξ,  ξ ~ N(0, I)
func (m *DGflow) Update(z, d, grad *ts.Tensor) *ts.Tensor {
	s := m.F.Weight(d).MustUnsqueeze(1, true)                                             // s(d) [B, 1], no gradient
	drift := grad.MustMul(s, false).MustMulScalar(ts.FloatScalar(m.Eta), true)            // η·s(d)·∇z d
	noise := m.xi.next(z).MustMulScalar(ts.FloatScalar(math.Sqrt(2*m.Eta*m.Gamma)), true) // √(2ηγ)·ξ
	next := z.MustAdd(drift, false).MustAdd(noise, true)
	s.MustDrop()
	drift.MustDrop()
	noise.MustDrop()
	return next
}

// DDLS is Discriminator Driven Latent Sampling: Langevin dynamics on the energy
// E(z) = ½‖z‖² − d(G(z)), whose stationary law reweights the prior by e^d.
type DDLS struct {
	Eps float64 // step size ε

	xi stepNoise
}

// Name implements Method.
func (m *DDLS) Name() string { return "ddls" }

// Start implements Method.
func (m *DDLS) Start(_ *ts.Tensor, b Batch) { m.xi.start(b) }

// Update is one Langevin step:
//
//	z ← z − (ε/2)·∇E(z) + √ε·ξ,  ∇E(z) = z − ∇z d(G(z))
func (m *DDLS) Update(z, d, grad *ts.Tensor) *ts.Tensor {
	gradE := z.MustSub(grad, false)
	step := gradE.MustMulScalar(ts.FloatScalar(m.Eps/2), true)
	noise := m.xi.next(z).MustMulScalar(ts.FloatScalar(math.Sqrt(m.Eps)), true)
	next := z.MustSub(step, false).MustAdd(noise, true)
	step.MustDrop()
	noise.MustDrop()
	return next
}

// DOT is Discriminator Optimal Transport in latent space: gradient descent from z₀ on
//
//	‖z − z₀‖ − d(G(z)) / k_eff
//
// where k_eff, the critic's effective Lipschitz constant in latent space, is set by
// EstimateKeff before the first batch.
type DOT struct {
	LR   float64 // gradient step size
	Keff float64 // from EstimateKeff

	z0 *ts.Tensor
}

// Name implements Method.
func (m *DOT) Name() string { return "dot" }

// Start implements Method: it remembers the starting point of the transport.
func (m *DOT) Start(z0 *ts.Tensor, _ Batch) {
	if m.z0 != nil {
		m.z0.MustDrop()
	}
	m.z0 = z0.MustDetach(false)
}

// Update is one gradient step:
//
//	z ← z − lr·( (z − z₀)/‖z − z₀‖ − ∇z d(G(z)) / k_eff )
//
// At z = z₀ the norm's gradient is taken as 0 (its subgradient of least norm).
func (m *DOT) Update(z, d, grad *ts.Tensor) *ts.Tensor {
	diff := z.MustSub(m.z0, false)
	norm := diff.MustLinalgNorm(ts.FloatScalar(2), []int64{1}, true, gotch.Float, false).MustClampMin(ts.FloatScalar(1e-12), true)
	unit := diff.MustDiv(norm, true)
	norm.MustDrop()
	pull := grad.MustDivScalar(ts.FloatScalar(m.Keff), false)
	g := unit.MustSub(pull, true)
	pull.MustDrop()
	step := g.MustMulScalar(ts.FloatScalar(m.LR), true)
	next := z.MustSub(step, false)
	step.MustDrop()
	return next
}

// EstimateKeff returns the largest |d(G(z₁)) − d(G(z₂))| / ‖z₁ − z₂‖ over n random
// latent pairs drawn from N(0, I), DOT's estimate of the critic's Lipschitz constant
// in latent space. Pair i is stream (seed, i, ForKeff, 0 and 1), so the estimate is
// the same on every shard of a run.
func EstimateKeff(g Generator, c Critic, n int, seed int64, d gotch.Device) (float64, error) {
	if n < 1 {
		return 0, fmt.Errorf("k_eff needs at least one latent pair, got %d", n)
	}
	var k float64
	err := try(func() error {
		pairs := Batch{IDs: ids(0, n), Real: n, Seed: seed}
		ts.NoGrad(func() {
			z1 := pairs.MustNormal(ForKeff, 0, g.LatentDim(), d)
			z2 := pairs.MustNormal(ForKeff, 1, g.LatentDim(), d)
			d1, d2 := score(g, c, z1), score(g, c, z2)
			num := d1.MustSub(d2, true).MustAbs(true)
			d2.MustDrop()
			den := z1.MustSub(z2, false).MustLinalgNorm(ts.FloatScalar(2), []int64{1}, false, gotch.Float, true)
			ratio := num.MustDiv(den, true).MustMax(true)
			den.MustDrop()
			k = torch.Float64s(ratio)[0]
			ratio.MustDrop()
			z1.MustDrop()
			z2.MustDrop()
		})
		return nil
	})
	if err == nil && !(k > 0) || math.IsInf(k, 0) {
		return 0, fmt.Errorf("k_eff estimate %v is not a positive number: the critic is constant or broken", k)
	}
	return k, err
}

func score(g Generator, c Critic, z *ts.Tensor) *ts.Tensor {
	x := g.Generate(z)
	d := c.Score(x)
	x.MustDrop()
	return d
}
