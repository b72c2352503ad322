package charlm

import (
	"math"
	"sort"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// adam is Adam (Kingma & Ba 2015) over a VarStore's parameters, kept in Go rather than
// in libtorch's C++ optimizer so that its moments can be saved in a checkpoint and a
// resumed run continues exactly where it stopped:
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
type adam struct {
	lr, beta1, beta2, eps float64
	step                  int64
	names                 []string
	params                []*ts.Tensor
	m, v                  []*ts.Tensor
}

func newAdam(vs *nn.VarStore, lr, beta1, beta2 float64) *adam {
	vars := vs.Variables()
	a := &adam{lr: lr, beta1: beta1, beta2: beta2, eps: 1e-8}
	for name := range vars {
		a.names = append(a.names, name)
	}
	sort.Strings(a.names)
	byName := namedParams(vs)
	for _, n := range a.names {
		p := byName[n]
		a.params = append(a.params, p)
		a.m = append(a.m, p.MustZerosLike(false))
		a.v = append(a.v, p.MustZerosLike(false))
	}
	return a
}

// namedParams maps parameter names to the VarStore's own tensors (Variables returns
// shallow copies by value, which share storage but are not the autograd leaves).
func namedParams(vs *nn.VarStore) map[string]*ts.Tensor {
	out := map[string]*ts.Tensor{}
	for name := range vs.Variables() {
		out[name] = vs.Root().MustGet(name)
	}
	return out
}

// zeroGrad clears the gradients of all parameters.
func (a *adam) zeroGrad() {
	for _, p := range a.params {
		p.ZeroGrad()
	}
}

// update applies one Adam step from the gradients accumulated in the parameters.
func (a *adam) update() {
	a.step++
	bc1 := 1 - math.Pow(a.beta1, float64(a.step))
	bc2 := 1 - math.Pow(a.beta2, float64(a.step))
	ts.NoGrad(func() {
		for i, p := range a.params {
			g := p.MustGrad(false)
			if !g.MustDefined() {
				g.MustDrop()
				continue
			}
			a.m[i].MustLerp_(g, ts.FloatScalar(1-a.beta1))
			g2 := g.MustSquare(true)
			a.v[i].MustLerp_(g2, ts.FloatScalar(1-a.beta2))
			g2.MustDrop()
			// Out-of-place on temporaries: gotch's in-place ops replace the Go
			// handle without freeing the old one, which would keep the storage.
			denom := a.v[i].MustDivScalar(ts.FloatScalar(bc2), false).MustSqrt(true).MustAddScalar(ts.FloatScalar(a.eps), true)
			upd := a.m[i].MustDiv(denom, false).MustMulScalar(ts.FloatScalar(a.lr/bc1), true)
			denom.MustDrop()
			p.MustSub_(upd)
			upd.MustDrop()
		}
	})
}
