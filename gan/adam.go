package gan

import (
	"sort"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Adam is Adam (Kingma & Ba 2015) over the trainable parameters of one VarStore:
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// It is libtorch's own implementation: one call per update for all parameters. The
// small models here are limited by the number of calls into libtorch, not by
// arithmetic, and an update written in Go tensor operations costs about a dozen calls
// per parameter. (charlm keeps its Adam in Go so that checkpoints can hold the
// moments; these models train in minutes and are not resumed.)
type Adam struct {
	opt *nn.Optimizer
	lr  float64
}

// NewAdam prepares Adam for every trainable variable of vs.
func NewAdam(vs *nn.VarStore, lr, beta1, beta2 float64) *Adam {
	opt, err := nn.NewAdamConfig(beta1, beta2, 0).Build(vs, lr)
	if err != nil {
		panic(err)
	}
	return &Adam{opt: opt, lr: lr}
}

// ZeroGrad clears the gradients of the parameters.
func (a *Adam) ZeroGrad() { a.opt.MustZeroGrad() }

// Step applies one update from the gradients accumulated in the parameters.
func (a *Adam) Step() { a.opt.MustStep() }

// SetLR changes the learning rate.
func (a *Adam) SetLR(lr float64) {
	if lr != a.lr {
		a.opt.SetLR(lr)
		a.lr = lr
	}
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
