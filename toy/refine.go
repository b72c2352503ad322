package toy

import (
	"context"

	"github.com/dgtext/dgtext/refine"
)

// Refined holds the samples of a refinement run: the base samples G(z₀) and the
// samples after the last step, in the same order (sample i comes from latent i).
type Refined struct {
	Base, Final [][2]float64
	// CriticBase and CriticFinal are the mean critic logits before and after.
	CriticBase, CriticFinal float64
}

// Refine draws n latents from N(0, I) and refines them with method m through
// refine.Run, keeping the base and final samples.
func Refine(ctx context.Context, mod *Model, m refine.Method, n int64, opt refine.Options) (*Refined, error) {
	out := &Refined{}
	var sumBase, sumFinal float64
	sink := func(s refine.Saved) error {
		pts, err := Points(s.X)
		if err != nil {
			return err
		}
		var sum float64
		for _, v := range s.D {
			sum += v
		}
		if s.Step == 0 {
			out.Base = append(out.Base, pts...)
			sumBase += sum
		}
		if s.Step == opt.Steps {
			out.Final = append(out.Final, pts...)
			sumFinal += sum
		}
		return nil
	}
	opt.SaveEvery = max(opt.Steps, 1) // step 0 and the last step only
	if err := refine.Run(ctx, mod, mod, m, n, refine.Gaussian(mod.LatentDim(), mod.Device), opt, sink); err != nil {
		return nil, err
	}
	out.CriticBase, out.CriticFinal = sumBase/float64(n), sumFinal/float64(n)
	return out, nil
}
