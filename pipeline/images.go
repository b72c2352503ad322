package pipeline

import (
	"fmt"

	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// Features maps samples [B, ...] to feature vectors [B, F], the space a Fréchet
// distance is measured in (a classifier's penultimate layer, say); x is not freed.
type Features func(x *ts.Tensor) *ts.Tensor

// FeatureFit accumulates the features of batches of samples into a Gaussian: the
// reference side of a Fréchet distance.
type FeatureFit struct {
	f Features
	m *eval.Moments
}

// NewFeatureFit starts an empty fit; a nil f takes the samples themselves, flattened.
func NewFeatureFit(f Features) *FeatureFit { return &FeatureFit{f: f} }

// Add adds the features of the samples x; x is not freed.
func (g *FeatureFit) Add(x *ts.Tensor) error {
	return torch.Try(func() error {
		var feat *ts.Tensor
		ts.NoGrad(func() {
			if g.f == nil {
				feat = x.MustFlatten(1, -1, false)
			} else {
				feat = g.f(x)
			}
		})
		a, err := torch.ToArray(feat)
		feat.MustDrop()
		if err != nil {
			return err
		}
		if len(a.Shape) != 2 {
			return fmt.Errorf("features have shape %v, want [batch, features]", a.Shape)
		}
		if g.m == nil {
			g.m = eval.NewMoments(int(a.Shape[1]))
		}
		return g.m.Add(a.Data)
	})
}

// N is the number of samples added.
func (g *FeatureFit) N() int {
	if g.m == nil {
		return 0
	}
	return g.m.N()
}

// Gaussian returns the mean and covariance of the features added.
func (g *FeatureFit) Gaussian() (eval.Gaussian, error) {
	if g.m == nil {
		return eval.Gaussian{}, fmt.Errorf("no samples to fit a Gaussian to")
	}
	return g.m.Gaussian()
}

// frechetScore gives the Fréchet distance of every saved step's features to a reference.
type frechetScore struct {
	f    Features
	ref  *eval.Gaussian
	info Reference
	fits map[int]*FeatureFit
}

func (s *frechetScore) Reference() Reference { return s.info }

func (s *frechetScore) Columns() []Column {
	if s.ref == nil {
		return nil
	}
	return []Column{{Name: "FD", Format: func(v float64) string { return fmt.Sprintf("%.3f", v) }}}
}

func (s *frechetScore) add(step int, x *ts.Tensor) error {
	if s.ref == nil {
		return nil
	}
	if s.fits == nil {
		s.fits = map[int]*FeatureFit{}
	}
	fit := s.fits[step]
	if fit == nil {
		fit = NewFeatureFit(s.f)
		s.fits[step] = fit
	}
	return fit.Add(x)
}

func (s *frechetScore) Score(step int) (map[string]float64, error) {
	fit := s.fits[step]
	if fit == nil {
		return nil, nil
	}
	g, err := fit.Gaussian()
	if err != nil {
		return nil, err
	}
	fd, err := eval.Frechet(g, *s.ref)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"FD": fd}, nil
}

// values copies a batch of samples into one row of values each.
func values(x *ts.Tensor) ([][]float32, []int64, error) {
	a, err := torch.ToArray(x)
	if err != nil {
		return nil, nil, err
	}
	b := int(a.Shape[0])
	if b == 0 {
		return nil, a.Shape, nil
	}
	per := len(a.Data) / b
	out := make([][]float32, b)
	for i := range out {
		out[i] = a.Data[i*per : (i+1)*per]
	}
	return out, a.Shape, nil
}

// Images is the Output of models whose samples are images [B, C, H, W] with values
// in [−1, 1] (C = 1 or 3): rows of values, the Fréchet distance (FD) to a reference in
// a feature space at every saved step, and a grid of the same latents before and
// after refinement.
type Images struct {
	frechetScore
	keep        int
	shape       GridShape
	base, final [][]float32
	last        int
}

// NewImages returns the image Output: FD in the space of f against ref (nil ref:
// no FD), described by info; the grid shows the first keep images.
func NewImages(f Features, ref *eval.Gaussian, info Reference, keep int) *Images {
	return &Images{frechetScore: frechetScore{f: f, ref: ref, info: info}, keep: keep}
}

// Begin implements Output.
func (im *Images) Begin(r RunInfo) error {
	im.last = r.Steps
	return nil
}

// Rows implements Output.
func (im *Images) Rows(s refine.Saved) ([]Sample, error) {
	vals, shape, err := values(s.X)
	if err != nil {
		return nil, err
	}
	if len(shape) != 4 {
		return nil, fmt.Errorf("image samples have shape %v, want [batch, channels, height, width]", shape)
	}
	im.shape = GridShape{C: int(shape[1]), H: int(shape[2]), W: int(shape[3])}
	if err := im.add(s.Step, s.X); err != nil {
		return nil, err
	}
	rows := make([]Sample, len(vals))
	for i, v := range vals {
		rows[i].X = v
		if s.First+int64(i) < int64(im.keep) {
			if s.Step == 0 {
				im.base = append(im.base, v)
			}
			if s.Step == im.last {
				im.final = append(im.final, v)
			}
		}
	}
	return rows, nil
}

// Plot implements Output: the first images at step 0 and at the last step, side by side.
func (im *Images) Plot(path string, rep *Report) error {
	base, last := rep.Base(), rep.Last()
	title := func(prefix string, s StepRow) string {
		if _, ok := s.Scores["FD"]; ok {
			return fmt.Sprintf("%s, FD %.2f", prefix, s.Scores["FD"])
		}
		return fmt.Sprintf("%s, critic %.2f", prefix, s.CriticMean)
	}
	panels := []Panel{
		{Title: title("base (step 0)", base), Images: im.base},
		{Title: title(fmt.Sprintf("%s step %d", rep.Method, last.Step), last), Images: im.final},
	}
	return WriteGrid(path, panels, im.shape, 8, 2)
}

// Vectors is the Output of models whose samples are vectors [B, D]: rows of values
// and, with a reference, the Fréchet distance in a feature space (the vectors
// themselves when f is nil) at every saved step, plotted against step.
type Vectors struct {
	frechetScore
}

// NewVectors returns the vector Output: FD in the space of f against ref (nil ref:
// no FD), described by info.
func NewVectors(f Features, ref *eval.Gaussian, info Reference) *Vectors {
	return &Vectors{frechetScore{f: f, ref: ref, info: info}}
}

// Begin implements Output.
func (v *Vectors) Begin(RunInfo) error { return nil }

// Rows implements Output.
func (v *Vectors) Rows(s refine.Saved) ([]Sample, error) {
	vals, shape, err := values(s.X)
	if err != nil {
		return nil, err
	}
	if len(shape) != 2 {
		return nil, fmt.Errorf("vector samples have shape %v, want [batch, dimensions]", shape)
	}
	if err := v.add(s.Step, s.X); err != nil {
		return nil, err
	}
	rows := make([]Sample, len(vals))
	for i, x := range vals {
		rows[i].X = x
	}
	return rows, nil
}

// Plot implements Output: FD (when there is one) and the mean critic score against step.
func (v *Vectors) Plot(path string, rep *Report) error {
	return PlotSteps(path, rep, "Fréchet distance", "FD")
}
