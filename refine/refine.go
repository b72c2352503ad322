// Package refine moves latent vectors of a generative model so its samples look more
// like the data, guided by a discriminator: DGflow (Ansari, Ang & Soh, ICLR 2021,
// "Refining Deep Generative Models via Discriminator Gradient Flow") and two
// baselines that use the same machinery, DDLS (Che et al. 2020) and latent DOT
// (Tanaka 2019).
//
// The package is model-agnostic. It sees a Generator (z → x) and a Critic (x → one
// logit per sample, read as the log density ratio log p_data(x)/p_gen(x)); text, 2D and
// image models all plug in through these two interfaces. Only ∇z d(G(z)) is computed:
// models are frozen, so no parameter gradient is ever formed.
package refine

import (
	"github.com/sugarme/gotch/ts"
)

// Generator maps latents z [B, LatentDim] to samples x [B, ...].
type Generator interface {
	Generate(z *ts.Tensor) *ts.Tensor
	LatentDim() int
}

// Critic maps samples [B, ...] to one logit per sample [B]. For a GAN critic this is
// its raw output; DGflow reads it as log p_data(x)/p_gen(x).
type Critic interface {
	Score(x *ts.Tensor) *ts.Tensor
}

// Freezer is implemented by models whose parameters can stop requiring gradients.
// Run freezes the generator, critic and corrector when they implement it.
type Freezer interface {
	Freeze()
}

// CriticFunc adapts a function to the Critic interface.
type CriticFunc func(x *ts.Tensor) *ts.Tensor

// Score implements Critic.
func (f CriticFunc) Score(x *ts.Tensor) *ts.Tensor { return f(x) }

// Sum is a critic whose logit is the sum of its parts' logits: a discriminator plus a
// density-ratio corrector, d(x) = D(x) + c(x), for models without a matching
// discriminator.
type Sum []Critic

// Score implements Critic.
func (s Sum) Score(x *ts.Tensor) *ts.Tensor {
	var total *ts.Tensor
	for _, c := range s {
		d := c.Score(x)
		if total == nil {
			total = d
			continue
		}
		total = total.MustAdd(d, true)
		d.MustDrop()
	}
	return total
}

// Freeze implements Freezer for every part that does.
func (s Sum) Freeze() {
	for _, c := range s {
		if f, ok := c.(Freezer); ok {
			f.Freeze()
		}
	}
}
