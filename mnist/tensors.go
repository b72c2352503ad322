package mnist

import (
	"math/rand/v2"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/torch"
)

// Tensors is a Set moved to a device: pixels as bytes [N, 784] (a quarter of the
// memory of floats) and labels [N], batched on demand.
type Tensors struct {
	N      int
	Device gotch.Device
	pix    *ts.Tensor // uint8 [N, Rows·Cols]
	labels *ts.Tensor // int64 [N]
}

// ToTensors copies a set to dev.
func (s *Set) ToTensors(dev gotch.Device) (*Tensors, error) {
	t := &Tensors{N: s.Images.N, Device: dev}
	err := torch.Try(func() error {
		pix, err := ts.NewTensorFromData(s.Images.Pix, []int64{int64(s.Images.N), int64(s.Images.Rows * s.Images.Cols)})
		if err != nil {
			return err
		}
		lab := make([]int64, len(s.Labels))
		for i, l := range s.Labels {
			lab[i] = int64(l)
		}
		labels := ts.MustOfSlice(lab)
		t.pix, t.labels = pix.MustTo(dev, true), labels.MustTo(dev, true)
		return nil
	})
	return t, err
}

// Drop frees the tensors.
func (t *Tensors) Drop() {
	t.pix.MustDrop()
	t.labels.MustDrop()
}

// Batch returns images [len(idx), 1, 28, 28] in [−1, 1] and their labels [len(idx)].
func (t *Tensors) Batch(idx []int64) (images, labels *ts.Tensor) {
	it := ts.MustOfSlice(idx).MustTo(t.Device, true)
	images = t.pix.MustIndexSelect(0, it, false).MustTotype(gotch.Float, true).
		MustMulScalar(ts.FloatScalar(2.0/255), true).MustAddScalar(ts.FloatScalar(-1), true).
		MustView([]int64{int64(len(idx)), 1, 28, 28}, true)
	labels = t.labels.MustIndexSelect(0, it, false)
	it.MustDrop()
	return images, labels
}

// Range returns the indexes [first, first+n) clipped to the set.
func (t *Tensors) Range(first, n int) []int64 {
	idx := make([]int64, 0, n)
	for i := first; i < min(first+n, t.N); i++ {
		idx = append(idx, int64(i))
	}
	return idx
}

// Sampler draws random training images (with replacement) for gan.WGAN.
func (t *Tensors) Sampler() gan.Sampler {
	return func(rng *rand.Rand, n int) (*ts.Tensor, error) {
		idx := make([]int64, n)
		for i := range idx {
			idx[i] = int64(rng.IntN(t.N))
		}
		x, y := t.Batch(idx)
		y.MustDrop()
		return x, nil
	}
}
