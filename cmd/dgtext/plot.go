package main

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/dgtext/dgtext/torch"
)

// Plots use gonum/plot: a maintained pure-Go plotting library that writes PNGs with
// no system dependencies.

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
}

// savePlots lays plots out side by side in one PNG, written atomically.
func savePlots(path string, width vg.Length, plots ...*plot.Plot) error {
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
	return torch.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// plotRefine draws JS-n against step (left) and the mean critic score (right).
func plotRefine(path string, rep refineReport, orders []int) error {
	js := plot.New()
	js.Title.Text = fmt.Sprintf("%s: n-gram JS vs step", rep.Method)
	js.X.Label.Text = "refinement step"
	js.Y.Label.Text = "JS divergence (bits)"
	js.Legend.Top = true
	for i, o := range orders {
		var pts plotter.XYs
		for _, r := range rep.Steps {
			if v, ok := r.JS[strconv.Itoa(o)]; ok {
				pts = append(pts, plotter.XY{X: float64(r.Step), Y: v})
			}
		}
		if len(pts) == 0 {
			continue
		}
		if err := addLine(js, pts, palette[i%len(palette)], "JS-"+strconv.Itoa(o)); err != nil {
			return err
		}
	}
	cr := plot.New()
	cr.Title.Text = "mean critic score d(G(z))"
	cr.X.Label.Text = "refinement step"
	cr.Y.Label.Text = "critic logit"
	var pts plotter.XYs
	for _, r := range rep.Steps {
		pts = append(pts, plotter.XY{X: float64(r.Step), Y: r.CriticMean})
	}
	if err := addLine(cr, pts, palette[2], "critic mean"); err != nil {
		return err
	}
	return savePlots(path, 5*vg.Inch, js, cr)
}

func addLine(p *plot.Plot, pts plotter.XYs, c color.Color, name string) error {
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
