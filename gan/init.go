package gan

import (
	"math"
	"sort"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// InitLikePyTorch re-initialises every "<layer>.weight" and "<layer>.bias" of vs as
// PyTorch's Linear and Conv layers do by default, U(−b, b) with b = 1/√fan_in (fan_in
// being the product of the weight's dimensions after the first), like
// torch.InitLikePyTorch, but drawing the parameters in name order. torch's version
// walks a Go map, whose order changes from run to run, so two runs with one seed
// start from different weights; training here is meant to be reproducible for a seed.
func InitLikePyTorch(vs *nn.VarStore) {
	vars := vs.Variables()
	names := make([]string, 0, len(vars))
	fanIn := map[string]int64{}
	for name, v := range vars {
		names = append(names, name)
		if layer, ok := strings.CutSuffix(name, ".weight"); ok {
			f := int64(1)
			for _, d := range v.MustSize()[1:] {
				f *= d
			}
			fanIn[layer] = f
		}
	}
	sort.Strings(names)
	ts.NoGrad(func() {
		for _, name := range names {
			layer, ok := strings.CutSuffix(name, ".weight")
			if !ok {
				layer, ok = strings.CutSuffix(name, ".bias")
			}
			f, known := fanIn[layer]
			if !ok || !known || f == 0 {
				continue
			}
			p := vs.Root().MustGet(name)
			b := 1 / math.Sqrt(float64(f))
			u := ts.MustRand(p.MustSize(), gotch.Float, p.MustDevice()).
				MustMulScalar(ts.FloatScalar(2*b), true).MustAddScalar(ts.FloatScalar(-b), true)
			p.Copy_(u)
			u.MustDrop()
		}
	})
}
