package toy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestGaussians25(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pts := Gaussians25.Sample(rng, 20000)
	modes := Gaussians25.Modes()
	if len(modes) != 25 || math.Abs(modes[0][0]+4/2.828) > 1e-12 || math.Abs(modes[24][1]-4/2.828) > 1e-12 {
		t.Fatalf("modes %v", modes)
	}
	counts := make([]int, 25)
	var sq float64
	for _, p := range pts {
		i, d := nearestMode(modes, p)
		counts[i]++
		sq += d * d
	}
	// Each coordinate has standard deviation 0.05/2.828, so E[d²] = 2σ².
	sigma := math.Sqrt(sq / float64(2*len(pts)))
	if math.Abs(sigma-0.05/2.828)/(0.05/2.828) > 0.03 {
		t.Errorf("per-axis σ %.5f, want %.5f", sigma, 0.05/2.828)
	}
	for i, c := range counts {
		if c < 700 || c > 900 { // 800 expected
			t.Errorf("mode %d drew %d of 20000 samples", i, c)
		}
	}
	if hq := HighQuality(Gaussians25, pts); hq < 0.999 {
		t.Errorf("real data high-quality share %.4f, want ≥ 0.999", hq)
	}
	if k := ModesCovered(Gaussians25, pts); k != 25 {
		t.Errorf("real data covers %d modes", k)
	}
	// Samples all at one mode cover one mode and are high quality.
	one := make([][2]float64, 100)
	for i := range one {
		one[i] = modes[7]
	}
	if k := ModesCovered(Gaussians25, one); k != 1 || HighQuality(Gaussians25, one) != 1 {
		t.Errorf("one-mode samples: %d modes, HQ %v", k, HighQuality(Gaussians25, one))
	}
	// Midpoints between modes are not high quality.
	mid := [][2]float64{{1 / 2.828, 1 / 2.828}, {-1 / 2.828, 0}}
	if HighQuality(Gaussians25, mid) != 0 {
		t.Error("midpoints between modes counted as high quality")
	}
}

func TestSwissRoll(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := SwissRoll.Sample(rng, 5000)
	var maxR float64
	for _, p := range pts {
		maxR = math.Max(maxR, math.Hypot(p[0], p[1]))
	}
	// The roll's radius is t/7.5 with t ≤ 4.5π, plus noise.
	if maxR < 1.7 || maxR > 2.2 {
		t.Errorf("largest radius %.3f, want about 4.5π/7.5 = 1.88", maxR)
	}
	if hq := HighQuality(SwissRoll, pts); hq < 0.99 {
		t.Errorf("real roll high-quality share %.4f, want ≥ 0.99", hq)
	}
	if SwissRoll.Modes() != nil {
		t.Error("the Swiss roll has no modes")
	}
	m, err := Evaluate(SwissRoll, pts, SwissRoll.Sample(rng, 1000))
	if err != nil || m.Modes != nil {
		t.Fatalf("metrics %+v, %v", m, err)
	}
	// The centre of the roll is empty.
	if HighQuality(SwissRoll, [][2]float64{{0.3, 0.3}}) != 0 {
		t.Error("the roll's centre counted as high quality")
	}
}

// The KDE must prefer samples from the data distribution over the same samples
// blurred or shifted, and match a hand computation for one sample.
func TestKDELogLik(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	real := Gaussians25.Sample(rng, 2000)
	good := Gaussians25.Sample(rng, 2000)
	blurred := make([][2]float64, len(good))
	shifted := make([][2]float64, len(good))
	for i, p := range good {
		blurred[i] = [2]float64{p[0] + 0.2*rng.NormFloat64(), p[1] + 0.2*rng.NormFloat64()}
		shifted[i] = [2]float64{p[0] + 0.35, p[1]}
	}
	lg, _ := KDELogLik(good, real)
	lb, _ := KDELogLik(blurred, real)
	ls, _ := KDELogLik(shifted, real)
	if !(lg > lb && lg > ls) {
		t.Errorf("KDE log-likelihood: data %.3f, blurred %.3f, shifted %.3f; want data highest", lg, lb, ls)
	}
	// Two samples at (±1, 0): covariance diag(2, 0) is singular → an error.
	if _, err := KDELogLik([][2]float64{{-1, 0}, {1, 0}}, real); err == nil {
		t.Error("degenerate samples accepted")
	}
	// Three samples with covariance I: H = I·3^(−1/3); density at the mean (0, 0).
	s := [][2]float64{{1, 0}, {-1, 1}, {0, -1}}
	var mx, my float64 // mean is (0, 0)
	for _, p := range s {
		mx += p[0]
		my += p[1]
	}
	ll, err := KDELogLik(s, [][2]float64{{0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	// Covariance of s: xx = 1, yy = 1, xy = −0.5 (n − 1 = 2).
	f := math.Pow(3, -1.0/3)
	a, b, c := 1*f, -0.5*f, 1*f
	det := a*c - b*b
	var dens float64
	for _, p := range s {
		q := (c*p[0]*p[0] - 2*b*p[0]*p[1] + a*p[1]*p[1]) / det
		dens += math.Exp(-q/2) / (2 * math.Pi * math.Sqrt(det)) / 3
	}
	if math.Abs(ll-math.Log(dens)) > 1e-9 || mx != 0 || my != 0 {
		t.Errorf("KDE at the origin %.9f, want %.9f", ll, math.Log(dens))
	}
}
