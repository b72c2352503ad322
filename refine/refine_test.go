package refine

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// The models in these tests are small enough to solve by hand: a linear generator
// G(z) = A·z and a quadratic critic d(x) = −½‖x − μ‖², so
//
//	∇z d(G(z)) = Aᵀ(μ − A·z).

const (
	tB = 3 // batch
	tL = 2 // latent
	tX = 3 // sample
)

var (
	matA = [tX][tL]float64{{1, 0.5}, {-0.25, 2}, {0.75, -1}}
	mu   = [tX]float64{0.5, -1, 0.25}
	z0v  = [tB][tL]float64{{0.1, -0.2}, {1.5, 0.3}, {-0.7, 0.9}}
)

type linG struct{ at *ts.Tensor } // Aᵀ [L, X]

func (g linG) Generate(z *ts.Tensor) *ts.Tensor { return z.MustMatmul(g.at, false) }
func (g linG) LatentDim() int                   { return tL }

type quadC struct{ mu *ts.Tensor }

func (c quadC) Score(x *ts.Tensor) *ts.Tensor {
	return x.MustSub(c.mu, false).MustSquare(true).MustSumDimIntlist([]int64{1}, false, gotch.Float, true).MustMulScalar(ts.FloatScalar(-0.5), true)
}

func tensorOf(t *testing.T, shape []int64, v []float64) *ts.Tensor {
	t.Helper()
	f := make([]float32, len(v))
	for i := range v {
		f[i] = float32(v[i])
	}
	x, err := torch.FromArray(torch.Array{Shape: shape, Data: f}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func testModels(t *testing.T) (linG, quadC) {
	var at []float64
	for j := 0; j < tL; j++ {
		for i := 0; i < tX; i++ {
			at = append(at, matA[i][j])
		}
	}
	return linG{tensorOf(t, []int64{tL, tX}, at)}, quadC{tensorOf(t, []int64{tX}, mu[:])}
}

func fixedSource(t *testing.T, z [tB][tL]float64) Source {
	var flat []float64
	for _, r := range z {
		flat = append(flat, r[:]...)
	}
	return func(b Batch) (*ts.Tensor, error) {
		rows := make([]float64, len(b.IDs)*tL) // padding rows stay 0
		for i, id := range b.IDs {
			if id < tB {
				copy(rows[i*tL:(i+1)*tL], flat[id*tL:(id+1)*tL])
			}
		}
		return tensorOf(t, []int64{int64(len(b.IDs)), tL}, rows), nil
	}
}

// streamNoise returns ξ of step k for the fixed latents, as Run draws it.
func streamNoise(seed int64, k uint64) []float64 {
	var xi []float64
	row := make([]float32, tL)
	for id := range int64(tB) {
		NormalRow(seed, id, ForNoise, k, row)
		for _, v := range row {
			xi = append(xi, float64(v))
		}
	}
	return xi
}

// closedForm returns d(G(z)) and ∇z d(G(z)) for one latent.
func closedForm(z [tL]float64) (float64, [tL]float64) {
	var x, r [tX]float64
	var d float64
	for i := 0; i < tX; i++ {
		for j := 0; j < tL; j++ {
			x[i] += matA[i][j] * z[j]
		}
		r[i] = mu[i] - x[i]
		d -= 0.5 * r[i] * r[i]
	}
	var g [tL]float64
	for j := 0; j < tL; j++ {
		for i := 0; i < tX; i++ {
			g[j] += matA[i][j] * r[i]
		}
	}
	return d, g
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// runSteps refines the fixed latents for the given steps and returns z at every step.
func runSteps(t *testing.T, m Method, steps int, seed int64) map[int][]float64 {
	t.Helper()
	g, c := testModels(t)
	out := map[int][]float64{}
	opt := Options{Steps: steps, SaveEvery: 1, Batch: tB, Seed: seed, Device: gotch.CPU}
	err := Run(context.Background(), g, c, m, tB, fixedSource(t, z0v), opt, func(s Saved) error {
		out[s.Step] = torch.Float64s(s.Z)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMain(m *testing.M) {
	runtime.LockOSThread()
	m.Run()
}

func assertClose(t *testing.T, what string, got []float64, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s[%d] = %.7f, closed form %.7f", what, i, got[i], want[i])
		}
	}
}

func TestDGflowMatchesClosedForm(t *testing.T) {
	const eta = 0.1
	for _, f := range []FDiv{KL, JS, LogD} {
		t.Run(string(f), func(t *testing.T) {
			got := runSteps(t, &DGflow{Eta: eta, Gamma: 0, F: f}, 2, 1)
			// Two Euler steps of z ← z + η·s(d)·∇z d by hand.
			z := z0v
			for k := 1; k <= 2; k++ {
				var want []float64
				for b := range z {
					d, g := closedForm(z[b])
					s := 1.0
					switch f {
					case JS:
						s = sigmoid(d)
					case LogD:
						s = 1 / (1 + math.Exp(d))
					}
					for j := range z[b] {
						z[b][j] += eta * s * g[j]
						want = append(want, z[b][j])
					}
				}
				assertClose(t, "z", got[k], want, 1e-5)
			}
		})
	}
}

func TestDGflowNoiseScale(t *testing.T) {
	// With γ > 0 the step adds √(2ηγ)·ξ, ξ from each sample's own stream.
	const eta, gamma, seed = 0.1, 0.5, 7
	got := runSteps(t, &DGflow{Eta: eta, Gamma: gamma, F: KL}, 1, seed)
	xi := streamNoise(seed, 0)
	var want []float64
	for b := range z0v {
		_, g := closedForm(z0v[b])
		for j := range z0v[b] {
			want = append(want, z0v[b][j]+eta*g[j]+math.Sqrt(2*eta*gamma)*xi[b*tL+j])
		}
	}
	assertClose(t, "z", got[1], want, 1e-5)
}

func TestDDLSMatchesClosedForm(t *testing.T) {
	const eps, seed = 0.05, 3
	got := runSteps(t, &DDLS{Eps: eps}, 1, seed)
	xi := streamNoise(seed, 0)
	var want []float64
	for b := range z0v {
		_, g := closedForm(z0v[b])
		for j := range z0v[b] {
			gradE := z0v[b][j] - g[j] // ∇(½‖z‖² − d)
			want = append(want, z0v[b][j]-eps/2*gradE+math.Sqrt(eps)*xi[b*tL+j])
		}
	}
	assertClose(t, "z", got[1], want, 1e-5)
}

func TestDOTMatchesClosedForm(t *testing.T) {
	const lr, keff = 0.2, 4.0
	got := runSteps(t, &DOT{LR: lr, Keff: keff}, 2, 1)
	z := z0v
	for k := 1; k <= 2; k++ {
		var want []float64
		for b := range z {
			_, g := closedForm(z[b])
			var norm float64
			for j := range z[b] {
				norm += (z[b][j] - z0v[b][j]) * (z[b][j] - z0v[b][j])
			}
			norm = math.Max(math.Sqrt(norm), 1e-12)
			var next [tL]float64
			for j := range z[b] {
				next[j] = z[b][j] - lr*((z[b][j]-z0v[b][j])/norm-g[j]/keff)
			}
			z[b] = next
			want = append(want, next[:]...)
		}
		assertClose(t, "z", got[k], want, 1e-5)
	}
}

func TestEstimateKeffIsLipschitzLowerBound(t *testing.T) {
	g, c := testModels(t)
	k, err := EstimateKeff(g, c, 256, 1, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if !(k > 0) || math.IsInf(k, 0) {
		t.Fatalf("k_eff = %v", k)
	}
}

func TestDeterministicWithSeed(t *testing.T) {
	a := runSteps(t, &DGflow{Eta: 0.1, Gamma: 0.01, F: KL}, 3, 11)
	b := runSteps(t, &DGflow{Eta: 0.1, Gamma: 0.01, F: KL}, 3, 11)
	c := runSteps(t, &DGflow{Eta: 0.1, Gamma: 0.01, F: KL}, 3, 12)
	for k := range a {
		for i := range a[k] {
			if a[k][i] != b[k][i] {
				t.Fatalf("step %d value %d differs between runs with the same seed: %v vs %v", k, i, a[k][i], b[k][i])
			}
		}
	}
	same := true
	for i := range a[3] {
		same = same && a[3][i] == c[3][i]
	}
	if same {
		t.Fatal("a different seed gave identical noise")
	}
}

func TestSavesRequestedSteps(t *testing.T) {
	g, c := testModels(t)
	var steps []int
	opt := Options{Steps: 7, SaveEvery: 3, Batch: 2, Seed: 1, Device: gotch.CPU}
	err := Run(context.Background(), g, c, DefaultDGflow(), tB, fixedSource(t, z0v), opt, func(s Saved) error {
		if s.First == 0 {
			steps = append(steps, s.Step)
		}
		if len(s.D) != int(s.Z.MustSize()[0]) {
			t.Errorf("D has %d values for %d latents", len(s.D), s.Z.MustSize()[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 3, 6, 7}
	if len(steps) != len(want) {
		t.Fatalf("saved steps %v, want %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Fatalf("saved steps %v, want %v", steps, want)
		}
	}
}

type nanCritic struct{ after int }

func (c *nanCritic) Score(x *ts.Tensor) *ts.Tensor {
	c.after--
	d := x.MustSumDimIntlist([]int64{1}, false, gotch.Float, false)
	if c.after < 0 {
		return d.MustMulScalar(ts.FloatScalar(math.NaN()), true)
	}
	return d
}

func TestNaNGuard(t *testing.T) {
	g, _ := testModels(t)
	var saved int
	opt := Options{Steps: 10, SaveEvery: 1, Batch: tB, Seed: 1, Device: gotch.CPU}
	err := Run(context.Background(), g, &nanCritic{after: 3}, DefaultDGflow(), tB, fixedSource(t, z0v), opt, func(s Saved) error {
		saved++
		return nil
	})
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("got %v, want ErrNonFinite", err)
	}
	for _, part := range []string{"step 3", "dgflow-kl", "lower the step size"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	if saved != 3 {
		t.Errorf("%d steps saved before the NaN, want 3 (steps 0-2)", saved)
	}
}

func TestAutoStepsStopsWhenGainLevelsOff(t *testing.T) {
	g, c := testModels(t)
	opt := Options{Batch: tB, Seed: 1, Device: gotch.CPU}
	tr, err := AutoSteps(context.Background(), g, c, &DGflow{Eta: 0.1, Gamma: 0, F: KL}, fixedSource(t, z0v), tB, opt, DefaultAuto())
	if err != nil {
		t.Fatal(err)
	}
	// Gradient ascent on a concave quadratic converges geometrically, so the gain per
	// step shrinks and auto must stop well before the cap, after a rising trace.
	if tr.Step < 3 || tr.Step >= DefaultAuto().MaxSteps {
		t.Fatalf("auto chose step %d (trace %v)", tr.Step, tr.Means)
	}
	if !(tr.Means[tr.Step] > tr.Means[0]) {
		t.Fatalf("critic mean did not rise: %v", tr.Means)
	}
}

// oomGen fails like CUDA does when asked for more than max latents at once.
type oomGen struct {
	linG
	max   int64
	calls int
}

func (g *oomGen) Generate(z *ts.Tensor) *ts.Tensor {
	g.calls++
	if z.MustSize()[0] > g.max {
		panic(errors.New("CUDA out of memory. Tried to allocate 20.00 GiB"))
	}
	return g.linG.Generate(z)
}

func TestOOMHalvesTheBatch(t *testing.T) {
	lg, c := testModels(t)
	g := &oomGen{linG: lg, max: 2}
	var notes []string
	var sizes []int64
	opt := Options{Steps: 2, SaveEvery: 1, Batch: 8, Seed: 1, Device: gotch.CudaBuilder(0),
		Note: func(s string) { notes = append(notes, s) }}
	err := Run(context.Background(), g, c, DefaultDGflow(), tB, fixedSource(t, z0v), opt, func(s Saved) error {
		if s.Step == 0 {
			sizes = append(sizes, s.Z.MustSize()[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) == 0 || !strings.Contains(notes[0], "--batch") {
		t.Fatalf("no note about the halved batch: %v", notes)
	}
	var total int64
	for _, s := range sizes {
		if s > 2 {
			t.Fatalf("a batch of %d ran after the OOM", s)
		}
		total += s
	}
	if total != tB {
		t.Fatalf("refined %d latents, want %d", total, tB)
	}
}

func TestCancelStopsWithinOneStep(t *testing.T) {
	g, c := testModels(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps int
	// 1,000,000 steps in one batch of 3, then a second batch: cancelling at step 5
	// of the first batch must end the run at once, not after the batch.
	opt := Options{Steps: 1_000_000, SaveEvery: 1, Batch: 3, Seed: 1, Device: gotch.CPU}
	err := Run(ctx, g, c, DefaultDGflow(), 2*tB, func(b Batch) (*ts.Tensor, error) {
		return fixedSource(t, z0v)(Batch{IDs: ids(0, len(b.IDs))})
	}, opt, func(s Saved) error {
		steps++
		if s.Step == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var st *Stopped
	if !errors.As(err, &st) || st.Done != 0 || st.Total != 2*tB {
		t.Fatalf("got %#v, want *Stopped with 0 of %d samples done", err, 2*tB)
	}
	if steps != 6 {
		t.Fatalf("the sink saw %d steps after cancelling at step 5, want 6 (steps 0-5)", steps)
	}
}

func TestStoppedCountsCompleteBatches(t *testing.T) {
	g, _ := testModels(t)
	// Batches of 1: the NaN appears in the second latent's batch (critic calls 0-3
	// belong to the first batch of 3 steps + 1 final evaluation).
	opt := Options{Steps: 3, SaveEvery: 1, Batch: 1, Seed: 1, Device: gotch.CPU}
	err := Run(context.Background(), g, &nanCritic{after: 5}, DefaultDGflow(), tB, fixedSource(t, z0v), opt, func(Saved) error { return nil })
	var st *Stopped
	if !errors.As(err, &st) || !errors.Is(err, ErrNonFinite) {
		t.Fatalf("got %v, want a *Stopped wrapping ErrNonFinite", err)
	}
	if st.Done != 1 || st.Total != tB {
		t.Fatalf("Stopped says %d of %d done, want 1 of %d", st.Done, st.Total, tB)
	}
	if !strings.Contains(err.Error(), "after 1 of 3 samples") {
		t.Fatalf("message %q does not say how far it got", err)
	}
}
