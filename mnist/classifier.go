package mnist

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/torch"
)

// FeatureDim is the size of the classifier's feature layer, the space the Fréchet
// distance is measured in.
const FeatureDim = 64

// Classifier is a small LeNet-style digit classifier:
//
//	x → Conv 5×5 → [16, 24, 24] → ReLU → MaxPool 2 → Conv 5×5 → [32, 8, 8] → ReLU → MaxPool 2
//	  → Linear 512 → 64 → ReLU (the features) → Linear → 10 logits
type Classifier struct {
	Device gotch.Device
	Vars   *nn.VarStore
	c1, c2 *conv
	fc1    *torch.Linear
	fc2    *torch.Linear
	// Accuracy is the test-set accuracy measured after training (0 when unknown).
	Accuracy float64
}

// NewClassifier builds a freshly initialised classifier.
func NewClassifier(dev gotch.Device) (*Classifier, error) {
	c := &Classifier{Device: dev, Vars: nn.NewVarStore(dev)}
	err := torch.Try(func() error {
		p := c.Vars.Root()
		c.c1 = newConv(p.Sub("conv1"), 1, 16, 5, 1, 0)
		c.c2 = newConv(p.Sub("conv2"), 16, 32, 5, 1, 0)
		c.fc1 = torch.NewLinear(p.Sub("fc1"), 512, FeatureDim)
		c.fc2 = torch.NewLinear(p.Sub("fc2"), FeatureDim, 10)
		gan.InitLikePyTorch(c.Vars)
		return nil
	})
	return c, err
}

// Features returns the 64 feature activations [B, 64] of images x; x is not freed.
func (c *Classifier) Features(x *ts.Tensor) *ts.Tensor {
	pool := func(h *ts.Tensor) *ts.Tensor {
		return h.MustMaxPool2d([]int64{2, 2}, []int64{2, 2}, []int64{0, 0}, []int64{1, 1}, false, true)
	}
	h := pool(c.c1.forward(x).MustRelu(true))
	h = pool(free(c.c2.forward(h), h).MustRelu(true))
	h = h.MustView([]int64{-1, 512}, true)
	return free(c.fc1.Forward(h), h).MustRelu(true)
}

// Logits returns the class logits [B, 10]; x is not freed.
func (c *Classifier) Logits(x *ts.Tensor) *ts.Tensor {
	f := c.Features(x)
	return free(c.fc2.Forward(f), f)
}

// ClassifierConfig holds the classifier's training settings.
type ClassifierConfig struct {
	Epochs float64 `json:"epochs"` // passes over the training set
	Batch  int     `json:"batch"`
	LR     float64 `json:"lr"` // Adam learning rate
	Seed   int64   `json:"seed"`
}

// DefaultClassifierConfig trains for three epochs (about 20 seconds on one core);
// one epoch gave 98.2% test accuracy.
func DefaultClassifierConfig() ClassifierConfig {
	return ClassifierConfig{Epochs: 3, Batch: 64, LR: 1e-3, Seed: 1}
}

// Train fits the classifier to train with cross-entropy and Adam, logging to log, and
// measures its accuracy on test.
func (c *Classifier) Train(ctx context.Context, train, test *Tensors, cfg ClassifierConfig, log io.Writer) error {
	if cfg.Batch < 1 || !(cfg.Epochs > 0) || !(cfg.LR > 0) {
		return fmt.Errorf("classifier: batch %d, epochs %g, lr %g: all must be positive", cfg.Batch, cfg.Epochs, cfg.LR)
	}
	steps := int(cfg.Epochs * float64(train.N) / float64(cfg.Batch))
	opt := NewAdam(c.Vars, cfg.LR)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 11))
	torch.Seed(cfg.Seed)
	start := time.Now()
	perm := rng.Perm(train.N)
	pos := 0
	var recent float64
	for s := 1; s <= steps; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx := make([]int64, cfg.Batch)
		for i := range idx {
			if pos == len(perm) {
				perm, pos = rng.Perm(train.N), 0
			}
			idx[i] = int64(perm[pos])
			pos++
		}
		err := torch.Try(func() error {
			x, y := train.Batch(idx)
			logits := c.Logits(x)
			x.MustDrop()
			loss := logits.MustCrossEntropyLoss(y, ts.NewTensor(), 1, -100, 0, true)
			y.MustDrop()
			recent = 0.98*recent + 0.02*gan.Scalar(loss)
			opt.ZeroGrad()
			loss.MustBackward()
			loss.MustDrop()
			opt.Step()
			return nil
		})
		if err != nil {
			return fmt.Errorf("classifier step %d: %w", s, err)
		}
		if s%50 == 0 {
			torch.Collect()
		}
		if log != nil && (s%200 == 0 || s == steps) {
			fmt.Fprintf(log, "classifier step %5d/%d  loss %.4f  (%.0fs)\n", s, steps, recent, time.Since(start).Seconds())
		}
	}
	acc, err := c.Evaluate(test)
	if err != nil {
		return err
	}
	c.Accuracy = acc
	return nil
}

// Evaluate returns the share of set's images the classifier labels correctly.
func (c *Classifier) Evaluate(set *Tensors) (float64, error) {
	correct := 0
	err := torch.Try(func() error {
		ts.NoGrad(func() {
			for first := 0; first < set.N; first += 500 {
				x, y := set.Batch(set.Range(first, 500))
				pred := c.Logits(x).MustArgmax([]int64{1}, false, true)
				x.MustDrop()
				ok := pred.MustEqTensor(y, true).MustTotype(gotch.Int64, true).MustSum(gotch.Int64, true)
				y.MustDrop()
				correct += int(torch.Float64s(ok)[0])
				ok.MustDrop()
			}
		})
		return nil
	})
	return float64(correct) / float64(set.N), err
}

// ClassifierFormat identifies classifier files.
const ClassifierFormat = "dgtext-mnist-classifier/1"

type classifierFile struct {
	Train    ClassifierConfig `json:"train"`
	Accuracy float64          `json:"test_accuracy"`
}

// Save writes the classifier and its test accuracy to one safetensors file.
func (c *Classifier) Save(path string, cfg ClassifierConfig) error {
	return gan.Save(path, ClassifierFormat, classifierFile{Train: cfg, Accuracy: c.Accuracy}, map[string]*nn.VarStore{"classifier": c.Vars})
}

// LoadClassifier reads a classifier written by Save.
func LoadClassifier(path string, dev gotch.Device) (*Classifier, error) {
	f, err := gan.Open(path, ClassifierFormat)
	if err != nil {
		return nil, err
	}
	var fc classifierFile
	if err := f.Config(&fc); err != nil {
		return nil, err
	}
	c, err := NewClassifier(dev)
	if err != nil {
		return nil, err
	}
	c.Accuracy = fc.Accuracy
	if err := f.Load(map[string]*nn.VarStore{"classifier": c.Vars}); err != nil {
		return nil, err
	}
	gan.Freeze(c.Vars)
	return c, nil
}

// NewAdam is gan.NewAdam with the usual (0.9, 0.999) betas for supervised training.
func NewAdam(vs *nn.VarStore, lr float64) *gan.Adam { return gan.NewAdam(vs, lr, 0.9, 0.999) }
