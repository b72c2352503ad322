package gan

import (
	"math"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// For a linear critic D(x) = w·x + b, ∇x D = w everywhere, so the penalty is
// λ(‖w‖ − 1)² whatever the interpolates, and its gradient is 2λ(‖w‖ − 1)·w/‖w‖.
// This checks the double backward through torch.Linear.
func TestGradientPenaltyLinear(t *testing.T) {
	err := torch.Try(func() error {
		vs := nn.NewVarStore(gotch.CPU)
		l := torch.NewLinear(vs.Root().Sub("fc"), 3, 1)
		w := []float64{0.5, -1.5, 2}
		ts.NoGrad(func() {
			x := ts.MustOfSlice([]float32{0.5, -1.5, 2}).MustView([]int64{1, 3}, true)
			l.W.Copy_(x)
			x.MustDrop()
		})
		d := func(x *ts.Tensor) *ts.Tensor { return l.Forward(x).MustView([]int64{-1}, true) }
		real := ts.MustRandn([]int64{8, 3}, gotch.Float, gotch.CPU)
		fake := ts.MustRandn([]int64{8, 3}, gotch.Float, gotch.CPU)
		gp := GradientPenalty(d, real, fake, 10)
		norm := math.Sqrt(0.25 + 2.25 + 4)
		if got, want := Scalar(gp), 10*(norm-1)*(norm-1); math.Abs(got-want) > 1e-3*want {
			t.Errorf("penalty %v, want %v", got, want)
		}
		gp.MustBackward()
		g := torch.Float64s(l.W.MustGrad(false))
		for i := range w {
			want := 2 * 10 * (norm - 1) * w[i] / norm
			if math.Abs(g[i]-want) > 1e-3*math.Abs(want)+1e-5 {
				t.Errorf("∂GP/∂w[%d] = %v, want %v", i, g[i], want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
