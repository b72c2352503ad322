package refine

import (
	"context"
	"errors"
	"fmt"
)

// AutoOptions control AutoSteps.
type AutoOptions struct {
	MaxSteps int     // give up looking after this many steps (100)
	Window   int     // steps the recent improvement is averaged over (3)
	Tol      float64 // stop when the recent gain per step falls under Tol × the average gain per step so far (0.1)
}

// DefaultAuto returns the settings `--steps auto` uses.
func DefaultAuto() AutoOptions { return AutoOptions{MaxSteps: 100, Window: 3, Tol: 0.1} }

// AutoTrace is what AutoSteps saw: the mean critic logit of the pilot batch at every
// step, and the step it chose.
type AutoTrace struct {
	Means []float64 `json:"critic_means"`
	Step  int       `json:"chosen_step"`
}

var errStopPilot = errors.New("pilot done")

// AutoSteps picks the number of refinement steps without looking at evaluation data.
// It refines one pilot batch of latents from src and watches the critic's mean
// logit, the batch estimate of E[log p_data/p_gen] whose negation is the KL the flow
// decreases. It stops at the first step k ≥ Window where the gain over the last
// Window steps, per step, falls below Tol times the average gain per step since the
// start: the point of diminishing returns.
func AutoSteps(ctx context.Context, g Generator, c Critic, m Method, src Source, batch int, opt Options, ao AutoOptions) (AutoTrace, error) {
	if ao.MaxSteps < 1 || ao.Window < 1 || ao.Tol <= 0 {
		return AutoTrace{}, fmt.Errorf("auto steps: need max steps ≥ 1, window ≥ 1, tol > 0")
	}
	tr := AutoTrace{Step: ao.MaxSteps}
	o := opt
	o.Steps, o.SaveEvery, o.Progress = ao.MaxSteps, 1, nil
	sink := func(s Saved) error {
		var sum float64
		for _, v := range s.D {
			sum += v
		}
		tr.Means = append(tr.Means, sum/float64(len(s.D)))
		k := s.Step
		if k >= ao.Window {
			recent := (tr.Means[k] - tr.Means[k-ao.Window]) / float64(ao.Window)
			overall := (tr.Means[k] - tr.Means[0]) / float64(k)
			if overall <= 0 || recent < ao.Tol*overall {
				tr.Step = k
				return errStopPilot
			}
		}
		return nil
	}
	err := Run(ctx, g, c, m, int64(batch), src, o, sink)
	if err != nil && !errors.Is(err, errStopPilot) {
		return tr, err
	}
	return tr, nil
}
