package kind

import (
	"fmt"
	"image/color"
	"math/rand/v2"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/toy"
)

// openToy loads a 2D toy GAN; its reference is o.Real fresh points of its data set,
// drawn with the run's seed.
func openToy(path string, o Options) (pipeline.Kind, error) {
	if err := noCritic("2d", o); err != nil {
		return nil, err
	}
	m, train, err := toy.Load(path, o.Device)
	if err != nil {
		return nil, err
	}
	nReal := o.Real
	if nReal == 0 {
		nReal = 5000
	}
	if nReal < 1 {
		return nil, fmt.Errorf("--real %d: need at least 1 real point", nReal)
	}
	ds := m.Config.Dataset
	about := pipeline.About{Kind: "2d", Model: path, N: 5000, Batch: 5000, Files: []string{path},
		Detail: fmt.Sprintf("%s, WGAN-GP MLP %d×%d, latent %d, trained %d iterations", ds, m.Config.Layers, m.Config.Hidden, m.Config.Latent, train.Iters)}
	out := &points{ds: ds, real: ds.Sample(rand.New(rand.NewPCG(uint64(o.Seed), 99)), nReal), steps: map[int][][2]float64{}}
	out.info = pipeline.Reference{Desc: fmt.Sprintf("%d fresh points of %s (seed %d)", nReal, ds, o.Seed), Size: int64(nReal)}
	fmt.Fprintf(o.log(), "refine: reference %s\n", out.info.Desc)
	return pipeline.Compose(pipeline.Parts{Info: about, G: m, C: m, Device: o.Device}, out), nil
}

// points is the Output of the 2D toys: samples are points, scored against real
// points of the data set and drawn as scatter plots.
type points struct {
	ds    toy.Dataset
	real  [][2]float64
	info  pipeline.Reference
	steps map[int][][2]float64
	last  int
}

func (p *points) Reference() pipeline.Reference { return p.info }

// Columns: the share of high-quality samples, the modes covered (25 Gaussians) and
// the KDE log-likelihood of the real points under the samples.
func (p *points) Columns() []pipeline.Column {
	cols := []pipeline.Column{{Name: "HQ", Format: func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }}}
	if p.ds.Modes() != nil {
		cols = append(cols, pipeline.Column{Name: "modes", Format: func(v float64) string { return fmt.Sprintf("%.0f/25", v) }})
	}
	return append(cols, pipeline.Column{Name: "KDE", Format: func(v float64) string { return fmt.Sprintf("%.3f", v) }})
}

func (p *points) Begin(r pipeline.RunInfo) error {
	if r.N < 2 {
		return fmt.Errorf("--n %d: the 2D metrics need at least 2 samples", r.N)
	}
	p.last = r.Steps
	return nil
}

func (p *points) Rows(s refine.Saved) ([]pipeline.Sample, error) {
	pts, err := toy.Points(s.X)
	if err != nil {
		return nil, err
	}
	p.steps[s.Step] = append(p.steps[s.Step], pts...)
	rows := make([]pipeline.Sample, len(pts))
	for i, q := range pts {
		rows[i].X = []float32{float32(q[0]), float32(q[1])}
	}
	return rows, nil
}

func (p *points) Score(step int) (map[string]float64, error) {
	m, err := toy.Evaluate(p.ds, p.steps[step], p.real)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{"HQ": m.HighQuality, "KDE": m.KDELogLik}
	if m.Modes != nil {
		out["modes"] = float64(*m.Modes)
	}
	return out, nil
}

// Plot draws real, base and refined samples side by side on the same axes.
func (p *points) Plot(path string, rep *pipeline.Report) error {
	lim := 2.0
	if p.ds == toy.SwissRoll {
		lim = 2.3
	}
	short := func(s pipeline.StepRow) string {
		out := "HQ " + rep.Format(s, "HQ")
		if _, ok := s.Scores["modes"]; ok {
			out += fmt.Sprintf(", %.0f modes", s.Scores["modes"])
		}
		return out + fmt.Sprintf(", KDE %.2f", s.Scores["KDE"])
	}
	panel := func(title string, pts [][2]float64, c color.Color) (*plot.Plot, error) {
		pl := plot.New()
		pl.Title.Text = title
		pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = -lim, lim, -lim, lim
		xy := make(plotter.XYs, 0, len(pts))
		for _, q := range pts {
			xy = append(xy, plotter.XY{X: q[0], Y: q[1]})
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = c
		s.GlyphStyle.Radius = vg.Points(0.8)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		pl.Add(s)
		return pl, nil
	}
	base, last := rep.Base(), rep.Last()
	pr, err := panel(fmt.Sprintf("real (%s)", p.ds), p.real, pipeline.Palette[2])
	if err != nil {
		return err
	}
	pb, err := panel("base: "+short(base), p.steps[base.Step], pipeline.Palette[0])
	if err != nil {
		return err
	}
	pf, err := panel(rep.Method+": "+short(last), p.steps[last.Step], pipeline.Palette[1])
	if err != nil {
		return err
	}
	return pipeline.SavePlots(path, 4*vg.Inch, pr, pb, pf)
}
