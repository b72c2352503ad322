package mnist

import (
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"
)

// convT is a transposed 2D convolution with the weight laid out as libtorch expects,
// [in, out, k, k] (gotch's nn.ConvTranspose2D creates [out, in, k, k], which only
// works when in = out).
type convT struct {
	W, B            *ts.Tensor
	stride, padding int64
}

func newConvT(p *nn.Path, in, out, k, stride, padding int64) *convT {
	return &convT{
		W:      p.MustZeros("weight", []int64{in, out, k, k}),
		B:      p.MustZeros("bias", []int64{out}),
		stride: stride, padding: padding,
	}
}

// forward does not free x.
func (c *convT) forward(x *ts.Tensor) *ts.Tensor {
	return ts.MustConvTranspose2d(x, c.W, c.B, []int64{c.stride, c.stride}, []int64{c.padding, c.padding}, []int64{0, 0}, 1, []int64{1, 1})
}

// conv is a 2D convolution; nn.Conv2D holds its parameters.
type conv struct{ c *nn.Conv2D }

func newConv(p *nn.Path, in, out, k, stride, padding int64) *conv {
	cfg := nn.DefaultConv2DConfig()
	cfg.Stride = []int64{stride, stride}
	cfg.Padding = []int64{padding, padding}
	return &conv{c: nn.NewConv2D(p, in, out, k, cfg)}
}

func (c *conv) forward(x *ts.Tensor) *ts.Tensor { return c.c.Forward(x) }

// leaky is LeakyReLU with slope 0.2, max(x, 0.2x), as DCGAN critics use (libtorch's
// leaky_relu binding in gotch has its slope fixed at 0.01). It frees x.
func leaky(x *ts.Tensor) *ts.Tensor {
	small := x.MustMulScalar(ts.FloatScalar(0.2), false)
	y := x.MustMaximum(small, true)
	small.MustDrop()
	return y
}

func free(y, x *ts.Tensor) *ts.Tensor {
	x.MustDrop()
	return y
}
