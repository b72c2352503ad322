package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEigenSymReconstructs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 12
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := rng.NormFloat64()
			a[i][j], a[j][i] = v, v
		}
	}
	vals, vecs := eigenSym(a)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for k := 0; k < n; k++ {
				s += vecs[i][k] * vals[k] * vecs[j][k]
			}
			if math.Abs(s-a[i][j]) > 1e-9 {
				t.Fatalf("V·Λ·Vᵀ[%d][%d] = %v, want %v", i, j, s, a[i][j])
			}
		}
	}
}

func diag(v ...float64) [][]float64 {
	m := make([][]float64, len(v))
	for i := range m {
		m[i] = make([]float64, len(v))
		m[i][i] = v[i]
	}
	return m
}

func TestFrechetClosedForms(t *testing.T) {
	a := Gaussian{Mean: []float64{0, 1, 2}, Cov: diag(1, 4, 9)}
	b := Gaussian{Mean: []float64{1, 1, 0}, Cov: diag(4, 4, 1)}
	// Commuting (diagonal) covariances: ‖Δμ‖² + Σ(√aᵢ − √bᵢ)² = 5 + (1 + 0 + 4).
	got, err := Frechet(a, b)
	if err != nil || math.Abs(got-10) > 1e-9 {
		t.Fatalf("FD = %v (%v), want 10", got, err)
	}
	if d, _ := Frechet(a, a); math.Abs(d) > 1e-9 {
		t.Errorf("FD(a, a) = %v, want 0", d)
	}
	// A rotated covariance against itself is 0 too, and FD is symmetric.
	c, s := math.Cos(0.7), math.Sin(0.7)
	r := [][]float64{{c, -s}, {s, c}}
	rot := mul(mul(r, diag(3, 0.5)), [][]float64{{c, s}, {-s, c}})
	g := Gaussian{Mean: []float64{0, 0}, Cov: rot}
	h := Gaussian{Mean: []float64{0, 0}, Cov: diag(1, 2)}
	if d, _ := Frechet(g, g); math.Abs(d) > 1e-9 {
		t.Errorf("FD(g, g) = %v, want 0", d)
	}
	d1, _ := Frechet(g, h)
	d2, _ := Frechet(h, g)
	if math.Abs(d1-d2) > 1e-9 || d1 <= 0 {
		t.Errorf("FD(g, h) = %v, FD(h, g) = %v: want equal and positive", d1, d2)
	}
}

func TestMomentsMatchDirectCovariance(t *testing.T) {
	m := NewMoments(2)
	if err := m.Add([]float32{1, 2, 3, 4, 5, 9}); err != nil {
		t.Fatal(err)
	}
	g, err := m.Gaussian()
	if err != nil {
		t.Fatal(err)
	}
	// x: 1, 3, 5 (mean 3, var 4); y: 2, 4, 9 (mean 5, var 13); cov 7.
	if g.Mean[0] != 3 || g.Mean[1] != 5 || math.Abs(g.Cov[0][0]-4) > 1e-12 || math.Abs(g.Cov[1][1]-13) > 1e-12 || math.Abs(g.Cov[0][1]-7) > 1e-12 {
		t.Errorf("moments %+v", g)
	}
	if err := m.Add([]float32{1, 2, 3}); err == nil {
		t.Error("a partial row was accepted")
	}
}
