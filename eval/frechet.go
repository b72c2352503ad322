package eval

import (
	"errors"
	"fmt"
	"math"
)

// Gaussian is the mean and covariance of a set of feature vectors.
type Gaussian struct {
	Mean []float64
	Cov  [][]float64 // unbiased (n − 1) sample covariance
	N    int
}

// Moments accumulates feature vectors for Gaussian without holding them.
type Moments struct {
	dim int
	n   int
	sum []float64
	sq  [][]float64 // Σ x xᵀ
}

// NewMoments prepares an accumulator for dim-dimensional features.
func NewMoments(dim int) *Moments {
	m := &Moments{dim: dim, sum: make([]float64, dim), sq: make([][]float64, dim)}
	for i := range m.sq {
		m.sq[i] = make([]float64, dim)
	}
	return m
}

// Add adds the rows of flat, a row-major [n, dim] matrix.
func (m *Moments) Add(flat []float32) error {
	if len(flat)%m.dim != 0 {
		return fmt.Errorf("features: %d values is not a whole number of %d-dimensional rows", len(flat), m.dim)
	}
	row := make([]float64, m.dim)
	for r := 0; r < len(flat)/m.dim; r++ {
		for i := range row {
			row[i] = float64(flat[r*m.dim+i])
		}
		for i, a := range row {
			m.sum[i] += a
			sq := m.sq[i]
			for j := i; j < m.dim; j++ {
				sq[j] += a * row[j]
			}
		}
		m.n++
	}
	return nil
}

// N is the number of vectors added.
func (m *Moments) N() int { return m.n }

// Gaussian returns the fitted mean and covariance.
func (m *Moments) Gaussian() (Gaussian, error) {
	if m.n < 2 {
		return Gaussian{}, errors.New("a covariance needs at least 2 feature vectors")
	}
	g := Gaussian{Mean: make([]float64, m.dim), Cov: make([][]float64, m.dim), N: m.n}
	n := float64(m.n)
	for i := range g.Mean {
		g.Mean[i] = m.sum[i] / n
	}
	for i := range g.Cov {
		g.Cov[i] = make([]float64, m.dim)
	}
	for i := 0; i < m.dim; i++ {
		for j := i; j < m.dim; j++ {
			c := (m.sq[i][j] - n*g.Mean[i]*g.Mean[j]) / (n - 1)
			g.Cov[i][j], g.Cov[j][i] = c, c
		}
	}
	return g, nil
}

// Frechet is the Fréchet distance between two Gaussians (Dowson & Landau 1982), the
// formula behind FID:
//
//	‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½)
//
// Tr((Σ₁^½ Σ₂ Σ₁^½)^½) equals Tr((Σ₁Σ₂)^½) and is computed from symmetric
// eigendecompositions, which stays real and stable for singular covariances.
func Frechet(a, b Gaussian) (float64, error) {
	d := len(a.Mean)
	if d == 0 || len(b.Mean) != d || len(a.Cov) != d || len(b.Cov) != d {
		return 0, fmt.Errorf("Fréchet distance: dimensions %d and %d differ or are empty", len(a.Mean), len(b.Mean))
	}
	var dist float64
	for i := range a.Mean {
		dist += (a.Mean[i] - b.Mean[i]) * (a.Mean[i] - b.Mean[i])
		dist += a.Cov[i][i] + b.Cov[i][i]
	}
	s1 := sqrtPSD(a.Cov)
	m := mul(mul(s1, b.Cov), s1)
	vals, _ := eigenSym(m)
	for _, v := range vals {
		dist -= 2 * math.Sqrt(math.Max(v, 0))
	}
	return dist, nil
}

// sqrtPSD returns the symmetric square root of a symmetric positive semi-definite
// matrix (negative eigenvalues from rounding are taken as 0).
func sqrtPSD(a [][]float64) [][]float64 {
	vals, vecs := eigenSym(a)
	n := len(a)
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for j := range out[i] {
			var s float64
			for k := 0; k < n; k++ {
				s += vecs[i][k] * math.Sqrt(math.Max(vals[k], 0)) * vecs[j][k]
			}
			out[i][j] = s
		}
	}
	return out
}

func mul(a, b [][]float64) [][]float64 {
	n := len(a)
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for k := 0; k < n; k++ {
			aik := a[i][k]
			for j := 0; j < n; j++ {
				out[i][j] += aik * b[k][j]
			}
		}
	}
	return out
}

// eigenSym diagonalises a symmetric matrix with cyclic Jacobi rotations. It returns
// the eigenvalues and the eigenvectors as the columns of vecs; a is not modified.
func eigenSym(a [][]float64) (vals []float64, vecs [][]float64) {
	n := len(a)
	m := make([][]float64, n)
	vecs = make([][]float64, n)
	for i := range m {
		m[i] = append([]float64(nil), a[i]...)
		vecs[i] = make([]float64, n)
		vecs[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off, diag float64
		for i := 0; i < n; i++ {
			diag += m[i][i] * m[i][i]
			for j := i + 1; j < n; j++ {
				off += m[i][j] * m[i][j]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if m[p][q] == 0 {
					continue
				}
				// Rotation angle that zeroes m[p][q] (Golub & Van Loan, §8.5).
				theta := (m[q][q] - m[p][p]) / (2 * m[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					mkp, mkq := m[k][p], m[k][q]
					m[k][p], m[k][q] = c*mkp-s*mkq, s*mkp+c*mkq
				}
				for k := 0; k < n; k++ {
					mpk, mqk := m[p][k], m[q][k]
					m[p][k], m[q][k] = c*mpk-s*mqk, s*mpk+c*mqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := vecs[k][p], vecs[k][q]
					vecs[k][p], vecs[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	vals = make([]float64, n)
	for i := range vals {
		vals[i] = m[i][i]
	}
	return vals, vecs
}
