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
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// Corrector is a density-ratio corrector (DGflow paper, §4 and appendix): for a model
// with no discriminator of its own, a discriminator D borrowed from another model and
// frozen, plus a small network c trained so that D(x) + c(x) is the logit of a
// classifier of real images against the model's samples. With balanced classes that
// logit estimates log p_data(x)/p_model(x), which is what DGflow needs.
//
// c is x → Conv 4×4/2 → [16, 14, 14] → LeakyReLU → Conv 4×4/2 → [32, 7, 7] → LeakyReLU
// → Linear → one number, its last layer starting at zero so that training starts from
// d = D.
type Corrector struct {
	Device gotch.Device
	// D is the frozen discriminator: the critic of an MNIST GAN.
	D     *critic
	DConf GANConfig
	// DVars and CVars own the discriminator's and the corrector's parameters.
	DVars, CVars *nn.VarStore
	c            *critic
	// Accuracy is the real-vs-model accuracy of D + c on held-out batches after training.
	Accuracy float64
}

const correctorWidth = 16

// NewCorrector borrows the critic of g (copying its weights) and adds a fresh
// corrector network.
func NewCorrector(g *GAN) (*Corrector, error) {
	c := &Corrector{Device: g.Device, DConf: g.Config, DVars: nn.NewVarStore(g.Device), CVars: nn.NewVarStore(g.Device)}
	err := torch.Try(func() error {
		c.D = newCritic(c.DVars.Root(), g.Config.Width)
		if err := c.DVars.Copy(g.DVars); err != nil {
			return fmt.Errorf("copy the discriminator: %w", err)
		}
		c.c = newCritic(c.CVars.Root(), correctorWidth)
		gan.InitLikePyTorch(c.CVars)
		ts.NoGrad(func() {
			c.c.fc.W.MustZero_()
			c.c.fc.B.MustZero_()
		})
		return nil
	})
	gan.Freeze(c.DVars)
	return c, err
}

// Discriminator returns the frozen borrowed discriminator D as a refine.Critic.
func (c *Corrector) Discriminator() refine.Critic { return refine.CriticFunc(c.D.forward) }

// Correction returns the corrector network c as a refine.Critic.
func (c *Corrector) Correction() refine.Critic { return refine.CriticFunc(c.c.forward) }

// Critic is d(x) = D(x) + c(x), the critic DGflow refines with.
func (c *Corrector) Critic() refine.Sum { return refine.Sum{c.Discriminator(), c.Correction()} }

// Freeze stops all parameter gradients. refine.Run freezes a Sum's parts only when
// they are Freezers, which the CriticFuncs of Critic are not, so LoadCritic freezes
// the corrector itself.
func (c *Corrector) Freeze() { gan.Freeze(c.DVars, c.CVars) }

// CorrectorConfig holds the corrector's training settings.
type CorrectorConfig struct {
	Steps int     `json:"steps"`
	Batch int     `json:"batch"` // real images per step, and as many model samples
	LR    float64 `json:"lr"`
	Seed  int64   `json:"seed"`
}

// DefaultCorrectorConfig trains for 1,000 steps of 64 real and 64 model images.
func DefaultCorrectorConfig() CorrectorConfig {
	return CorrectorConfig{Steps: 1000, Batch: 64, LR: 1e-3, Seed: 1}
}

// Train fits c by logistic regression of real images (label 1) against the model's
// samples G(z), z ~ N(0, I) (label 0), with logit D(x) + c(x) and D frozen. Afterwards
// it measures the accuracy on fresh batches of test images and samples.
func (c *Corrector) Train(ctx context.Context, model refine.Generator, train, test *Tensors, cfg CorrectorConfig, log io.Writer) error {
	if cfg.Steps < 1 || cfg.Batch < 1 || !(cfg.LR > 0) {
		return fmt.Errorf("corrector: steps %d, batch %d, lr %g: all must be positive", cfg.Steps, cfg.Batch, cfg.LR)
	}
	if f, ok := model.(refine.Freezer); ok {
		f.Freeze()
	}
	opt := NewAdam(c.CVars, cfg.LR)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 17))
	torch.Seed(cfg.Seed)
	start := time.Now()
	var recent float64
	for s := 1; s <= cfg.Steps; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := torch.Try(func() error {
			loss := c.loss(model, train, rng, cfg.Batch, nil)
			l := gan.Scalar(loss)
			if s == 1 {
				recent = l
			}
			recent = 0.98*recent + 0.02*l
			opt.ZeroGrad()
			loss.MustBackward()
			loss.MustDrop()
			opt.Step()
			return nil
		})
		if err != nil {
			return fmt.Errorf("corrector step %d: %w", s, err)
		}
		if s%50 == 0 {
			torch.Collect()
		}
		if log != nil && (s%100 == 0 || s == cfg.Steps) {
			fmt.Fprintf(log, "corrector step %5d/%d  logistic loss %.4f  (%.0fs)\n", s, cfg.Steps, recent, time.Since(start).Seconds())
		}
	}
	var correct, total int
	err := torch.Try(func() error {
		ts.NoGrad(func() {
			for i := 0; i < 20; i++ {
				l := c.loss(model, test, rng, 250, func(k, n int) { correct += k; total += n })
				l.MustDrop()
			}
		})
		return nil
	})
	c.Accuracy = float64(correct) / float64(max(total, 1))
	return err
}

// loss draws n real images from set and n model samples and returns the mean logistic
// loss of D + c; count, if set, receives the number classified correctly.
func (c *Corrector) loss(model refine.Generator, set *Tensors, rng *rand.Rand, n int, count func(k, n int)) *ts.Tensor {
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = int64(rng.IntN(set.N))
	}
	real, y := set.Batch(idx)
	y.MustDrop()
	var fake *ts.Tensor
	ts.NoGrad(func() {
		z := ts.MustRandn([]int64{int64(n), int64(model.LatentDim())}, gotch.Float, c.Device)
		fake = model.Generate(z)
		z.MustDrop()
	})
	x := ts.MustCat([]*ts.Tensor{real, fake}, 0)
	real.MustDrop()
	fake.MustDrop()
	logit := c.Critic().Score(x)
	x.MustDrop()
	labels := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		labels[i] = 1
	}
	target := ts.MustOfSlice(labels).MustTo(c.Device, true)
	if count != nil {
		ts.NoGrad(func() {
			pred := logit.MustGt(ts.FloatScalar(0), false).MustTotype(gotch.Float, true)
			ok := pred.MustEqTensor(target, true).MustTotype(gotch.Int64, true).MustSum(gotch.Int64, true)
			count(int(torch.Float64s(ok)[0]), 2*n)
			ok.MustDrop()
		})
	}
	loss := logit.MustBinaryCrossEntropyWithLogits(target, ts.NewTensor(), ts.NewTensor(), 1, true) // mean
	target.MustDrop()
	return loss
}

// CorrectorFormat identifies corrector files.
const CorrectorFormat = "dgtext-mnist-corrector/1"

type correctorFile struct {
	Discriminator GANConfig       `json:"discriminator"`
	Train         CorrectorConfig `json:"train"`
	Accuracy      float64         `json:"heldout_accuracy"`
	Model         string          `json:"model,omitempty"`
	DSource       string          `json:"discriminator_source,omitempty"`
}

func (c *Corrector) stores() map[string]*nn.VarStore {
	return map[string]*nn.VarStore{"discriminator": c.DVars, "corrector": c.CVars}
}

// Save writes the discriminator (a copy, so the file is self-contained) and the
// corrector to one safetensors file, noting which model and GAN they came from.
func (c *Corrector) Save(path string, cfg CorrectorConfig, model, dSource string) error {
	return gan.Save(path, CorrectorFormat, correctorFile{Discriminator: c.DConf, Train: cfg, Accuracy: c.Accuracy, Model: model, DSource: dSource}, c.stores())
}

func correctorFromFile(f *gan.File, dev gotch.Device) (*Corrector, error) {
	var fc correctorFile
	if err := f.Config(&fc); err != nil {
		return nil, err
	}
	if err := fc.Discriminator.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	c := &Corrector{Device: dev, DConf: fc.Discriminator, DVars: nn.NewVarStore(dev), CVars: nn.NewVarStore(dev), Accuracy: fc.Accuracy}
	err := torch.Try(func() error {
		c.D = newCritic(c.DVars.Root(), fc.Discriminator.Width)
		c.c = newCritic(c.CVars.Root(), correctorWidth)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := f.Load(c.stores()); err != nil {
		return nil, err
	}
	c.Freeze()
	return c, nil
}
