// Package toy is the DGflow paper's first experiment: two-dimensional data sets (25
// Gaussians and the Swiss roll) generated in Go, a WGAN-GP with MLP generator and
// critic, and the sample-quality measures used to compare refinement methods: the
// share of high-quality samples, the modes covered, and a kernel density estimate of
// the real data's log-likelihood under the samples.
//
// The model plugs into package refine like any other: Model implements
// refine.Generator and refine.Critic.
package toy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Dataset names a 2D data set.
type Dataset string

// The data sets of the DGflow paper's 2D experiment.
const (
	// Gaussians25 is a mixture of 25 equally weighted isotropic Gaussians with means on
	// the grid {−4, −2, 0, 2, 4}² and standard deviation 0.05, all divided by 2.828.
	Gaussians25 Dataset = "25gaussians"
	// SwissRoll is scikit-learn's 3D Swiss roll with noise 0.25, dimensions 0 and 2,
	// divided by 7.5.
	SwissRoll Dataset = "swissroll"
)

// Datasets lists the data sets in a stable order for help texts.
var Datasets = []Dataset{Gaussians25, SwissRoll}

// ParseDataset accepts "25gaussians" and "swissroll" (any case).
func ParseDataset(s string) (Dataset, error) {
	switch d := Dataset(strings.ToLower(strings.TrimSpace(s))); d {
	case Gaussians25, SwissRoll:
		return d, nil
	}
	return "", fmt.Errorf("unknown dataset %q: use 25gaussians or swissroll", s)
}

const (
	gridScale  = 2.828
	gridSigma  = 0.05
	rollNoise  = 0.25
	rollScale  = 7.5
	rollTStart = 1.5 * math.Pi // t = 1.5π(1 + 2u), u ~ U(0, 1)
	rollTEnd   = 4.5 * math.Pi
)

// Sigma is the data set's noise standard deviation in the coordinates samples live in
// (after scaling): 0.05/2.828 for 25 Gaussians and 0.25/7.5 for the Swiss roll. A
// sample within 4σ of a mode (of the noiseless roll) counts as high quality.
func (d Dataset) Sigma() float64 {
	if d == SwissRoll {
		return rollNoise / rollScale
	}
	return gridSigma / gridScale
}

// Modes returns the mixture means of 25 Gaussians (row by row from (−4, −4)/2.828),
// and nil for a data set without modes.
func (d Dataset) Modes() [][2]float64 {
	if d != Gaussians25 {
		return nil
	}
	var m [][2]float64
	for i := -2; i <= 2; i++ {
		for j := -2; j <= 2; j++ {
			m = append(m, [2]float64{2 * float64(i) / gridScale, 2 * float64(j) / gridScale})
		}
	}
	return m
}

// Sample draws n points with rng.
func (d Dataset) Sample(rng *rand.Rand, n int) [][2]float64 {
	out := make([][2]float64, n)
	switch d {
	case SwissRoll:
		for i := range out {
			// make_swiss_roll: x = t·cos t, y = 21·v, z = t·sin t, each plus N(0, noise²);
			// the 2D roll keeps x and z.
			t := rollTStart + (rollTEnd-rollTStart)*rng.Float64()
			out[i] = [2]float64{
				(t*math.Cos(t) + rollNoise*rng.NormFloat64()) / rollScale,
				(t*math.Sin(t) + rollNoise*rng.NormFloat64()) / rollScale,
			}
		}
	default:
		modes := d.Modes()
		for i := range out {
			m := modes[rng.IntN(len(modes))]
			out[i] = [2]float64{
				m[0] + gridSigma/gridScale*rng.NormFloat64(),
				m[1] + gridSigma/gridScale*rng.NormFloat64(),
			}
		}
	}
	return out
}

// rollCurve is the noiseless Swiss roll sampled densely along t, for distances.
func rollCurve() [][2]float64 {
	const n = 4000
	c := make([][2]float64, n)
	for i := range c {
		t := rollTStart + (rollTEnd-rollTStart)*float64(i)/float64(n-1)
		c[i] = [2]float64{t * math.Cos(t) / rollScale, t * math.Sin(t) / rollScale}
	}
	return c
}
