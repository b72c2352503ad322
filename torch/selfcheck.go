package torch

import (
	"fmt"
	"math"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// CheckResult is the outcome of SelfCheck on one device.
type CheckResult struct {
	Device  string  `json:"device"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	MaxErr  float64 `json:"max_abs_error"`
	Seconds float64 `json:"seconds"`
}

// SelfCheck runs a small forward and backward pass on d and compares it with values
// computed in plain Go: y = Σ tanh(X·W) for fixed X [4,3] and W [3,2], and ∂y/∂W =
// Xᵀ(1 − tanh²(X·W)). It catches a broken build, a wrong device or a miscompiled
// kernel in well under a second.
func SelfCheck(d gotch.Device) CheckResult {
	res := CheckResult{Device: DeviceName(d)}
	start := time.Now()
	err := Try(func() error {
		xv := []float32{0.1, -0.2, 0.3, 0.4, 0.5, -0.6, -0.7, 0.8, 0.9, 1.0, -1.1, 1.2}
		wv := []float32{0.5, -0.25, 0.75, 1.0, -0.5, 0.125}
		x, err := ts.NewTensorFromData(xv, []int64{4, 3})
		if err != nil {
			return err
		}
		defer x.MustDrop()
		w0, err := ts.NewTensorFromData(wv, []int64{3, 2})
		if err != nil {
			return err
		}
		defer w0.MustDrop()
		xd := x.MustTo(d, false)
		defer xd.MustDrop()
		w := w0.MustTo(d, false).MustSetRequiresGrad(true, true)
		defer w.MustDrop()
		h := xd.MustMatmul(w, false)
		t := h.MustTanh(true)
		y := t.MustSum(gotch.Float, true)
		defer y.MustDrop()
		grads, err := ts.RunBackward([]*ts.Tensor{y}, []*ts.Tensor{w}, false, false)
		if err != nil {
			return err
		}
		g := grads[0].MustTo(gotch.CPU, true)
		defer g.MustDrop()
		yc := y.MustTo(gotch.CPU, false)
		defer yc.MustDrop()
		gotY := yc.Float64Values()[0]
		gotG := g.Float64Values()

		// The same computation in float64.
		var wantY float64
		wantG := make([]float64, 6)
		for i := 0; i < 4; i++ {
			for j := 0; j < 2; j++ {
				var s float64
				for k := 0; k < 3; k++ {
					s += float64(xv[i*3+k]) * float64(wv[k*2+j])
				}
				th := math.Tanh(s)
				wantY += th
				for k := 0; k < 3; k++ {
					wantG[k*2+j] += float64(xv[i*3+k]) * (1 - th*th)
				}
			}
		}
		res.MaxErr = math.Abs(gotY - wantY)
		for i := range wantG {
			res.MaxErr = math.Max(res.MaxErr, math.Abs(gotG[i]-wantG[i]))
		}
		if !(res.MaxErr < 1e-4) {
			return fmt.Errorf("forward/backward disagree with the reference by %.3g (allowed 1e-4): the libtorch build or device is broken", res.MaxErr)
		}
		return nil
	})
	res.Seconds = time.Since(start).Seconds()
	res.OK = err == nil
	if err != nil {
		res.Error = err.Error()
	}
	return res
}
