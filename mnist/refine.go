package mnist

import (
	"context"
	"sort"

	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// Evaluator measures the Fréchet distance of generated images to the test set in the
// feature space of a digit classifier (a domain-specific FID; see the package doc).
type Evaluator struct {
	Classifier *Classifier
	Reference  Gaussian
}

// NewEvaluator fits the feature Gaussian of the reference images (the test set).
func NewEvaluator(clf *Classifier, ref *Tensors) (*Evaluator, error) {
	m := NewMoments(FeatureDim)
	for first := 0; first < ref.N; first += 500 {
		var feats []float32
		err := torch.Try(func() error {
			x, y := ref.Batch(ref.Range(first, 500))
			y.MustDrop()
			var err error
			feats, err = featuresOf(clf, x)
			x.MustDrop()
			return err
		})
		if err != nil {
			return nil, err
		}
		if err := m.Add(feats); err != nil {
			return nil, err
		}
	}
	g, err := m.Gaussian()
	if err != nil {
		return nil, err
	}
	return &Evaluator{Classifier: clf, Reference: g}, nil
}

func featuresOf(clf *Classifier, x *ts.Tensor) ([]float32, error) {
	var f *ts.Tensor
	ts.NoGrad(func() { f = clf.Features(x) })
	a, err := torch.ToArray(f)
	f.MustDrop()
	return a.Data, err
}

// StepScore is the quality of all samples at one saved refinement step.
type StepScore struct {
	Step       int     `json:"step"`
	FD         float64 `json:"fd"`
	CriticMean float64 `json:"critic_mean"`
	N          int     `json:"n"`
}

// Result is what Refine measured.
type Result struct {
	Steps []StepScore
	// Base and Final are the first Keep images before and after refinement, from the
	// same latents.
	Base, Final [][]float32
}

// Refine draws n latents, refines them with method m through refine.Run (critic c,
// generator g), and scores every saved step by its Fréchet distance to the
// evaluator's reference. It keeps the first keep images at step 0 and the last step.
func Refine(ctx context.Context, g refine.Generator, c refine.Critic, m refine.Method, n int64, opt refine.Options, ev *Evaluator, keep int) (*Result, error) {
	moments := map[int]*Moments{}
	sums := map[int]float64{}
	res := &Result{}
	sink := func(s refine.Saved) error {
		feats, err := featuresOf(ev.Classifier, s.X)
		if err != nil {
			return err
		}
		mo := moments[s.Step]
		if mo == nil {
			mo = NewMoments(FeatureDim)
			moments[s.Step] = mo
		}
		if err := mo.Add(feats); err != nil {
			return err
		}
		for _, d := range s.D {
			sums[s.Step] += d
		}
		if s.First < int64(keep) && (s.Step == 0 || s.Step == opt.Steps) {
			a, err := torch.ToArray(s.X)
			if err != nil {
				return err
			}
			for i := 0; i < int(a.Shape[0]) && int(s.First)+i < keep; i++ {
				img := a.Data[i*784 : (i+1)*784]
				if s.Step == 0 {
					res.Base = append(res.Base, img)
				}
				if s.Step == opt.Steps {
					res.Final = append(res.Final, img)
				}
			}
		}
		return nil
	}
	if opt.SaveEvery <= 0 {
		opt.SaveEvery = max(opt.Steps, 1) // step 0 and the last step at least
	}
	src := refine.Gaussian(g.LatentDim(), opt.Device)
	if err := refine.Run(ctx, g, c, m, n, src, opt, sink); err != nil {
		return nil, err
	}
	var steps []int
	for k := range moments {
		steps = append(steps, k)
	}
	sort.Ints(steps)
	for _, k := range steps {
		gs, err := moments[k].Gaussian()
		if err != nil {
			return nil, err
		}
		fd, err := Frechet(gs, ev.Reference)
		if err != nil {
			return nil, err
		}
		res.Steps = append(res.Steps, StepScore{Step: k, FD: fd, CriticMean: sums[k] / float64(moments[k].N()), N: moments[k].N()})
	}
	return res, nil
}
