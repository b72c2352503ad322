package torch

import (
	"math"
	"sort"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// InitLikePyTorch re-initialises every "<layer>.weight" and "<layer>.bias" in vs the
// way PyTorch's nn.Linear and nn.ConvNd do by default: U(−b, b) with b = 1/√fan_in,
// where fan_in is the product of the weight's dimensions after the first. gotch
// v0.9.1's default initialiser draws N(0, 1) instead, which makes deep nets start
// with outputs in the hundreds. Call it right after building a model, after seeding.
func InitLikePyTorch(vs *nn.VarStore) {
	vars := vs.Variables()
	fanIn := map[string]int64{}
	for name, v := range vars {
		if strings.HasSuffix(name, ".weight") {
			shape := v.MustSize()
			f := int64(1)
			for _, d := range shape[1:] {
				f *= d
			}
			fanIn[strings.TrimSuffix(name, ".weight")] = f
		}
	}
	// Draw in name order: ranging over the map would give a seed different weights
	// on every run.
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
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
