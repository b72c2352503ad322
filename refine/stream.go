package refine

import (
	"fmt"
	"math/rand/v2"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// Purpose names one of a sample's random streams: its starting latent, the noise
// of its refinement steps, and so on. Streams of different purposes are independent.
type Purpose uint64

// The purposes of the random streams drawn by this package.
const (
	ForLatent Purpose = iota + 1 // z₀ ~ N(0, I) of the Gaussian prior
	ForNoise                     // ξ of a Langevin or Euler–Maruyama step; the counter is the step
	ForKeff                      // DOT's random latent pairs; counter 0 and 1 are the pair
)

// Batch is one batch of a run: the ids of its rows and the run's seed. Every random
// number a Source or Method draws for a row comes from that row's own stream, keyed
// by (seed, id, purpose, counter), so it does not depend on which batch, shard or
// machine the sample is refined in. Rows at Real and beyond are padding that makes
// the last batch as large as the others (equal shapes, equal kernels); Run drops them
// before the Sink sees the batch.
type Batch struct {
	IDs  []int64
	Real int
	Seed int64
}

// Normal returns standard normal draws [len(IDs), dim] on d: row i is stream
// (Seed, IDs[i], p, counter).
func (b Batch) Normal(p Purpose, counter uint64, dim int, d gotch.Device) (*ts.Tensor, error) {
	flat := make([]float32, len(b.IDs)*dim)
	var g normals
	for i, id := range b.IDs {
		g.row(b.Seed, id, p, counter, flat[i*dim:(i+1)*dim])
	}
	return torch.FromArray(torch.Array{Shape: []int64{int64(len(b.IDs)), int64(dim)}, Data: flat}, d)
}

// MustNormal is Normal for code that runs under torch.Try (Methods); it panics on error.
func (b Batch) MustNormal(p Purpose, counter uint64, dim int, d gotch.Device) *ts.Tensor {
	x, err := b.Normal(p, counter, dim, d)
	if err != nil {
		panic(fmt.Errorf("draw noise: %w", err))
	}
	return x
}

// NormalRow fills dst with the standard normal draws of stream (seed, id, p,
// counter). The four numbers are mixed (SplitMix64's finaliser) into the seed of a
// PCG generator read through math/rand/v2's NormFloat64, so the values are the same
// on every platform, in every process and whatever else is drawn around them.
func NormalRow(seed, id int64, p Purpose, counter uint64, dst []float32) {
	var g normals
	g.row(seed, id, p, counter, dst)
}

// normals draws rows of normals, reusing one generator between rows.
type normals struct {
	pcg rand.PCG
	r   *rand.Rand
}

func (g *normals) row(seed, id int64, p Purpose, counter uint64, dst []float32) {
	if g.r == nil {
		g.r = rand.New(&g.pcg)
	}
	hi := mix(mix(uint64(seed)) ^ uint64(id))
	lo := mix(mix(uint64(p)^0x9e3779b97f4a7c15) ^ counter ^ hi)
	g.pcg.Seed(hi, lo)
	for j := range dst {
		dst[j] = float32(g.r.NormFloat64())
	}
}

// mix is SplitMix64's output function: a bijection that spreads every input bit
// over the whole word.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// stepNoise hands a Method the noise ξ of each step of the current batch, from the
// rows' own streams: step k of sample id draws stream (seed, id, ForNoise, k).
type stepNoise struct {
	batch Batch
	step  uint64
}

func (n *stepNoise) start(b Batch) { n.batch, n.step = b, 0 }

// next returns ξ ~ N(0, I) shaped like z for the next step.
func (n *stepNoise) next(z *ts.Tensor) *ts.Tensor {
	xi := n.batch.MustNormal(ForNoise, n.step, int(z.MustSize()[1]), z.MustDevice())
	n.step++
	return xi
}

// ids returns first, first+1, …, first+n−1.
func ids(first int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = first + int64(i)
	}
	return out
}
