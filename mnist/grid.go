package mnist

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/dgtext/dgtext/torch"
)

// Panel is one titled grid of images, each 28×28 values in [−1, 1].
type Panel struct {
	Title  string
	Images [][]float32
}

// WriteGrid draws panels side by side, each a grid of cols columns with its title
// above, magnified by scale, and writes them to path as a PNG (atomically).
func WriteGrid(path string, panels []Panel, cols, scale int) error {
	if len(panels) == 0 || cols < 1 || scale < 1 {
		return errors.New("image grid: need at least one panel, one column and scale ≥ 1")
	}
	const side, pad, gap, titleH = 28, 2, 16, 18
	rows := 0
	for _, p := range panels {
		rows = max(rows, (len(p.Images)+cols-1)/cols)
	}
	cell := side*scale + pad
	pw := cols*cell + pad
	w := len(panels)*pw + (len(panels)-1)*gap
	h := titleH + rows*cell + pad
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.Gray{Y: 255}), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for pi, p := range panels {
		x0 := pi * (pw + gap)
		draw.Draw(img, image.Rect(x0, titleH, x0+pw, h), image.NewUniform(color.Gray{Y: 90}), image.Point{}, draw.Src)
		d := font.Drawer{Dst: img, Src: image.NewUniform(color.Gray{Y: 0}), Face: face,
			Dot: fixed.P(x0+pad, titleH-5)}
		d.DrawString(p.Title)
		for k, pix := range p.Images {
			if len(pix) != side*side {
				return errors.New("image grid: every image must have 28×28 values")
			}
			cx := x0 + pad + (k%cols)*cell
			cy := titleH + pad + (k/cols)*cell
			for y := 0; y < side; y++ {
				for x := 0; x < side; x++ {
					v := (float64(pix[y*side+x]) + 1) / 2 // [−1, 1] → [0, 1]
					g := color.Gray{Y: uint8(255 * min(max(v, 0), 1))}
					for dy := 0; dy < scale; dy++ {
						for dx := 0; dx < scale; dx++ {
							img.SetGray(cx+x*scale+dx, cy+y*scale+dy, g)
						}
					}
				}
			}
		}
	}
	return torch.WriteFileAtomic(path, func(w io.Writer) error { return png.Encode(w, img) })
}
