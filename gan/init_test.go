package gan

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"

	"github.com/dgtext/dgtext/torch"
)

// Two stores built and initialised after the same seed hold the same weights, and
// every weight lies in ±1/√fan_in.
func TestInitLikePyTorchIsReproducible(t *testing.T) {
	runtime.LockOSThread()
	build := func() *nn.VarStore {
		vs := nn.NewVarStore(gotch.CPU)
		for i := 0; i < 6; i++ {
			torch.NewLinear(vs.Root().Sub(fmt.Sprintf("fc%d", i)), int64(3+i), 4)
		}
		torch.Seed(7)
		InitLikePyTorch(vs)
		return vs
	}
	a, b := build(), build()
	for name := range a.Variables() {
		x, y := torch.Float64s(a.Root().MustGet(name)), torch.Float64s(b.Root().MustGet(name))
		var in int
		fmt.Sscanf(name, "fc%d", &in)
		bound := 1 / math.Sqrt(float64(3+in))
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d]: %v vs %v after the same seed", name, i, x[i], y[i])
			}
			if math.Abs(x[i]) > bound {
				t.Fatalf("%s[%d] = %v outside ±%v", name, i, x[i], bound)
			}
		}
	}
}
