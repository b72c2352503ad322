package gan

import (
	"math"
	"sort"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Adam is Adam (Kingma & Ba 2015) over the trainable parameters of one VarStore,
// computed in Go-driven tensor operations:
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	Steps                 int64
	params, m, v          []*ts.Tensor
}

// NewAdam prepares Adam for every variable of vs, in name order.
func NewAdam(vs *nn.VarStore, lr, beta1, beta2 float64) *Adam {
	a := &Adam{LR: lr, Beta1: beta1, Beta2: beta2, Eps: 1e-8}
	for _, p := range Params(vs) {
		a.params = append(a.params, p)
		a.m = append(a.m, p.MustZerosLike(false))
		a.v = append(a.v, p.MustZerosLike(false))
	}
	return a
}

// Params returns the VarStore's own parameter tensors (the autograd leaves), sorted
// by name. vs.Variables returns shallow copies, which are not the leaves.
func Params(vs *nn.VarStore) []*ts.Tensor {
	vars := vs.Variables()
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*ts.Tensor, len(names))
	for i, n := range names {
		out[i] = vs.Root().MustGet(n)
	}
	return out
}

// ZeroGrad clears the gradients of the parameters.
func (a *Adam) ZeroGrad() {
	for _, p := range a.params {
		p.ZeroGrad()
	}
}

// Step applies one update from the gradients accumulated in the parameters.
func (a *Adam) Step() {
	a.Steps++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Steps))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.Steps))
	ts.NoGrad(func() {
		for i, p := range a.params {
			g := p.MustGrad(false)
			if !g.MustDefined() {
				g.MustDrop()
				continue
			}
			// In place only on the persistent moments and parameters: gotch's in-place
			// ops on temporaries keep the old storage alive.
			a.m[i].MustLerp_(g, ts.FloatScalar(1-a.Beta1))
			g2 := g.MustSquare(true)
			a.v[i].MustLerp_(g2, ts.FloatScalar(1-a.Beta2))
			g2.MustDrop()
			denom := a.v[i].MustDivScalar(ts.FloatScalar(bc2), false).MustSqrt(true).MustAddScalar(ts.FloatScalar(a.Eps), true)
			upd := a.m[i].MustDiv(denom, false).MustMulScalar(ts.FloatScalar(a.LR/bc1), true)
			denom.MustDrop()
			p.MustSub_(upd)
			upd.MustDrop()
		}
	})
}

// Drop frees the optimiser's moments.
func (a *Adam) Drop() {
	for i := range a.m {
		a.m[i].MustDrop()
		a.v[i].MustDrop()
	}
	a.m, a.v = nil, nil
}
