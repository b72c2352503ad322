package toy

import (
	"errors"
	"math"
)

// Metrics is the quality of a set of 2D samples.
type Metrics struct {
	// HighQuality is the share of samples within 4σ of a mode (25 Gaussians) or of the
	// noiseless roll (Swiss roll), σ being the data set's noise.
	HighQuality float64 `json:"high_quality"`
	// Modes is the number of modes covered (25 Gaussians only): modes holding at least
	// ModeShare of all samples as high-quality samples.
	Modes *int `json:"modes,omitempty"`
	// KDELogLik is the mean log-likelihood of real data under a Gaussian kernel density
	// estimate fitted to the samples (Scott's rule bandwidth, as scipy's gaussian_kde).
	KDELogLik float64 `json:"kde_ll"`
}

// ModeShare is the share of all samples a mode must hold, as high-quality samples, to
// count as covered: a quarter of its fair share of 1/25.
const ModeShare = 0.01

// Evaluate scores samples against real data drawn from d.
func Evaluate(d Dataset, samples, real [][2]float64) (Metrics, error) {
	if len(samples) < 2 || len(real) < 1 {
		return Metrics{}, errors.New("toy metrics need at least 2 samples and 1 real point")
	}
	var m Metrics
	m.HighQuality = HighQuality(d, samples)
	if d.Modes() != nil {
		k := ModesCovered(d, samples)
		m.Modes = &k
	}
	ll, err := KDELogLik(samples, real)
	if err != nil {
		return m, err
	}
	m.KDELogLik = ll
	return m, nil
}

// nearestMode returns the index of the mode closest to p and the distance to it.
func nearestMode(modes [][2]float64, p [2]float64) (int, float64) {
	best, bd := -1, math.Inf(1)
	for i, m := range modes {
		if d := math.Hypot(p[0]-m[0], p[1]-m[1]); d < bd {
			best, bd = i, d
		}
	}
	return best, bd
}

// distances returns, for every sample, the distance to the nearest mode (25 Gaussians)
// or to the noiseless roll (Swiss roll).
func distances(d Dataset, samples [][2]float64) []float64 {
	out := make([]float64, len(samples))
	ref := d.Modes()
	if ref == nil {
		ref = rollCurve()
	}
	for i, p := range samples {
		_, out[i] = nearestMode(ref, p)
	}
	return out
}

// HighQuality is the share of samples within 4σ of a mode or of the roll.
func HighQuality(d Dataset, samples [][2]float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	lim := 4 * d.Sigma()
	n := 0
	for _, dist := range distances(d, samples) {
		if dist <= lim {
			n++
		}
	}
	return float64(n) / float64(len(samples))
}

// ModeCounts returns how many high-quality samples each mode holds (nil without modes).
func ModeCounts(d Dataset, samples [][2]float64) []int {
	modes := d.Modes()
	if modes == nil {
		return nil
	}
	counts := make([]int, len(modes))
	lim := 4 * d.Sigma()
	for _, p := range samples {
		if i, dist := nearestMode(modes, p); dist <= lim {
			counts[i]++
		}
	}
	return counts
}

// ModesCovered counts the modes that hold at least ModeShare of the samples as
// high-quality samples.
func ModesCovered(d Dataset, samples [][2]float64) int {
	k := 0
	for _, c := range ModeCounts(d, samples) {
		if float64(c) >= ModeShare*float64(len(samples)) && c > 0 {
			k++
		}
	}
	return k
}

// KDELogLik is the mean over real points x of log p̂(x), where p̂ is a Gaussian kernel
// density estimate on the samples with kernel covariance H = Σ·n^(−1/3) (Scott's rule
// in two dimensions, Σ the samples' covariance), as scipy.stats.gaussian_kde.
func KDELogLik(samples, real [][2]float64) (float64, error) {
	n := float64(len(samples))
	var mx, my float64
	for _, p := range samples {
		mx += p[0]
		my += p[1]
	}
	mx, my = mx/n, my/n
	var sxx, sxy, syy float64
	for _, p := range samples {
		dx, dy := p[0]-mx, p[1]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	f := math.Pow(n, -1.0/3) / (n - 1) // unbiased covariance times Scott's factor²
	a, b, c := sxx*f, sxy*f, syy*f     // H = [[a, b], [b, c]]
	det := a*c - b*b
	if !(det > 0) {
		return 0, errors.New("KDE: the samples are degenerate (they lie on a line or a point)")
	}
	ia, ib, ic := c/det, -b/det, a/det // H⁻¹
	logNorm := -math.Log(2*math.Pi) - 0.5*math.Log(det) - math.Log(n)
	var total float64
	q := make([]float64, len(samples))
	for _, x := range real {
		mq := math.Inf(1)
		for i, p := range samples {
			dx, dy := x[0]-p[0], x[1]-p[1]
			q[i] = ia*dx*dx + 2*ib*dx*dy + ic*dy*dy
			mq = min(mq, q[i])
		}
		var s float64
		for _, v := range q {
			s += math.Exp(-0.5 * (v - mq))
		}
		total += logNorm - 0.5*mq + math.Log(s)
	}
	return total / float64(len(real)), nil
}
