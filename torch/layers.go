package torch

import (
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// Linear is y = x·Wᵀ + b with W stored as [out, in], as in PyTorch. gotch's own
// nn.Linear keeps a transposed view of W that is built once with autograd on and
// reused by every forward pass; in training loops that leaks about a megabyte per
// step, so dgtext's models use this layer instead.
type Linear struct {
	W, B *ts.Tensor
}

// NewLinear adds "weight" and "bias" under p. Initialise with InitLikePyTorch.
func NewLinear(p *nn.Path, in, out int64) *Linear {
	return &Linear{
		W: p.MustZeros("weight", []int64{out, in}),
		B: p.MustZeros("bias", []int64{out}),
	}
}

// Forward applies the layer; it does not free x.
func (l *Linear) Forward(x *ts.Tensor) *ts.Tensor { return ts.MustLinear(x, l.W, l.B) }
