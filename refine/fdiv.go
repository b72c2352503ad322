package refine

import (
	"fmt"
	"strings"

	"github.com/sugarme/gotch/ts"
)

// FDiv selects the f-divergence whose entropy-regularised gradient flow DGflow
// simulates. It enters the update only through the weight s(d) on the drift.
type FDiv string

// The f-divergences of the DGflow paper.
const (
	KL   FDiv = "kl"   // s(d) = 1
	JS   FDiv = "js"   // s(d) = σ(d)
	LogD FDiv = "logd" // s(d) = 1/(1 + eᵈ) = σ(−d)
)

// ParseFDiv accepts kl, js and logd (any case).
func ParseFDiv(s string) (FDiv, error) {
	switch f := FDiv(strings.ToLower(s)); f {
	case KL, JS, LogD:
		return f, nil
	}
	return "", fmt.Errorf("unknown f-divergence %q: use kl, js or logd", s)
}

// Weight returns s(d) for the critic logits d [B], as a new tensor with no gradient.
func (f FDiv) Weight(d *ts.Tensor) *ts.Tensor {
	d = d.MustDetach(false)
	switch f {
	case JS:
		return d.MustSigmoid(true)
	case LogD:
		return d.MustNeg(true).MustSigmoid(true)
	default:
		return d.MustOnesLike(true)
	}
}
