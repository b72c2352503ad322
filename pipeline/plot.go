package pipeline

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dgtext/dgtext/data"
)

// Plots use gonum/plot: a maintained pure-Go plotting library that writes PNGs with
// no system dependencies.

// Palette holds the colours of the plots' series, in order.
var Palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
}

// SavePlots lays plots out side by side in one PNG, each width wide, written atomically.
func SavePlots(path string, width vg.Length, plots ...*plot.Plot) error {
	if filepath.Ext(path) != ".png" {
		return fmt.Errorf("%s: plots are written as PNG; name the file .png", path)
	}
	h := 4 * vg.Inch
	img := vgimg.New(width*vg.Length(len(plots)), h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[0][i])
	}
	return data.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// PlotSteps draws the report's figures against step in one panel (titled what, its
// y axis labelled unit), left out when no step has a figure, beside the mean critic
// score against step.
func PlotSteps(path string, rep *Report, what, unit string) error {
	var plots []*plot.Plot
	fig := plot.New()
	fig.Title.Text = fmt.Sprintf("%s: %s vs step", rep.Method, what)
	fig.X.Label.Text = "refinement step"
	fig.Y.Label.Text = unit
	fig.Legend.Top = true
	drawn := false
	for i, col := range rep.Columns {
		var pts plotter.XYs
		for _, s := range rep.Steps {
			if v, ok := s.Scores[col]; ok {
				pts = append(pts, plotter.XY{X: float64(s.Step), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		if err := AddLine(fig, pts, Palette[i%len(Palette)], col); err != nil {
			return err
		}
		drawn = true
	}
	if drawn {
		plots = append(plots, fig)
	}
	cr := plot.New()
	cr.Title.Text = "mean critic score d(G(z))"
	cr.X.Label.Text = "refinement step"
	cr.Y.Label.Text = "critic logit"
	var pts plotter.XYs
	for _, s := range rep.Steps {
		pts = append(pts, plotter.XY{X: float64(s.Step), Y: s.CriticMean})
	}
	if err := AddLine(cr, pts, Palette[2], "critic mean"); err != nil {
		return err
	}
	return SavePlots(path, 5*vg.Inch, append(plots, cr)...)
}

// AddLine adds a line with points, in colour c, named in the legend.
func AddLine(p *plot.Plot, pts plotter.XYs, c color.Color, name string) error {
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	l.Color, s.Color = c, c
	l.Width = vg.Points(1.5)
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}
