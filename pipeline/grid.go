package pipeline

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/dgtext/dgtext/data"
)

// Panel is one titled grid of images, each C×H×W values (row-major, channels first)
// in [−1, 1].
type Panel struct {
	Title  string
	Images [][]float32
}

// GridShape is the shape of the images of a grid: 1 channel (grey) or 3 (RGB).
type GridShape struct{ C, H, W int }

// WriteGrid draws panels side by side, each a grid of cols columns with its title
// above, magnified by scale, and writes them to path as a PNG (atomically).
func WriteGrid(path string, panels []Panel, shape GridShape, cols, scale int) error {
	if len(panels) == 0 || cols < 1 || scale < 1 {
		return errors.New("image grid: need at least one panel, one column and scale ≥ 1")
	}
	if (shape.C != 1 && shape.C != 3) || shape.H < 1 || shape.W < 1 {
		return fmt.Errorf("image grid: images of %d×%d×%d: need 1 (grey) or 3 (RGB) channels", shape.C, shape.H, shape.W)
	}
	const pad, gap, titleH = 2, 16, 18
	rows := 0
	for _, p := range panels {
		rows = max(rows, (len(p.Images)+cols-1)/cols)
	}
	cw, ch := shape.W*scale+pad, shape.H*scale+pad
	pw := cols*cw + pad
	w := len(panels)*pw + (len(panels)-1)*gap
	h := titleH + rows*ch + pad
	var img draw.Image = image.NewGray(image.Rect(0, 0, w, h))
	if shape.C == 3 {
		img = image.NewRGBA(img.Bounds())
	}
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	level := func(v float32) uint8 { return uint8(255 * min(max((float64(v)+1)/2, 0), 1)) } // [−1, 1] → [0, 255]
	plane := shape.H * shape.W
	for pi, p := range panels {
		x0 := pi * (pw + gap)
		draw.Draw(img, image.Rect(x0, titleH, x0+pw, h), image.NewUniform(color.Gray{Y: 90}), image.Point{}, draw.Src)
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face, Dot: fixed.P(x0+pad, titleH-5)}
		d.DrawString(p.Title)
		for k, pix := range p.Images {
			if len(pix) != shape.C*plane {
				return fmt.Errorf("image grid: image %d has %d values, want %d×%d×%d", k, len(pix), shape.C, shape.H, shape.W)
			}
			cx := x0 + pad + (k%cols)*cw
			cy := titleH + pad + (k/cols)*ch
			for y := 0; y < shape.H; y++ {
				for x := 0; x < shape.W; x++ {
					i := y*shape.W + x
					var c color.Color = color.Gray{Y: level(pix[i])}
					if shape.C == 3 {
						c = color.RGBA{R: level(pix[i]), G: level(pix[plane+i]), B: level(pix[2*plane+i]), A: 255}
					}
					for dy := 0; dy < scale; dy++ {
						for dx := 0; dx < scale; dx++ {
							img.Set(cx+x*scale+dx, cy+y*scale+dy, c)
						}
					}
				}
			}
		}
	}
	return data.WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}
