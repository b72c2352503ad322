package mnist

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/torch"
)

// GANConfig fixes the architecture of the DCGAN-style WGAN-GP.
type GANConfig struct {
	Latent int `json:"latent"` // latent dimension
	Width  int `json:"width"`  // channels of the 14×14 layer; the 7×7 layer has twice as many
}

// DefaultGANConfig is small enough to train on a 2-core CPU in minutes.
func DefaultGANConfig() GANConfig { return GANConfig{Latent: 32, Width: 16} }

func (c GANConfig) validate() error {
	if c.Latent < 1 || c.Width < 1 {
		return fmt.Errorf("latent %d and width %d: both must be at least 1", c.Latent, c.Width)
	}
	return nil
}

// generator is the DCGAN generator at 28×28:
//
//	z → Linear → [2W, 7, 7] → ReLU → ConvT 4×4/2 → [W, 14, 14] → ReLU → ConvT 4×4/2 → [1, 28, 28] → tanh
type generator struct {
	c      GANConfig
	fc     *torch.Linear
	up1    *convT
	up2    *convT
	width2 int64
}

func newGenerator(p *nn.Path, c GANConfig) *generator {
	w := int64(c.Width)
	return &generator{c: c, width2: 2 * w,
		fc:  torch.NewLinear(p.Sub("fc"), int64(c.Latent), 2*w*7*7),
		up1: newConvT(p.Sub("up1"), 2*w, w, 4, 2, 1),
		up2: newConvT(p.Sub("up2"), w, 1, 4, 2, 1),
	}
}

func (g *generator) forward(z *ts.Tensor) *ts.Tensor {
	h := g.fc.Forward(z).MustView([]int64{-1, g.width2, 7, 7}, true).MustRelu(true)
	h = free(g.up1.forward(h), h).MustRelu(true)
	h = free(g.up2.forward(h), h)
	return h.MustTanh(true)
}

// critic mirrors the generator; no normalisation layers, as WGAN-GP requires:
//
//	x → Conv 4×4/2 → [W, 14, 14] → LeakyReLU → Conv 4×4/2 → [2W, 7, 7] → LeakyReLU → Linear → one score
type critic struct {
	c1, c2 *conv
	fc     *torch.Linear
	flat   int64
}

func newCritic(p *nn.Path, width int) *critic {
	w := int64(width)
	return &critic{
		c1:   newConv(p.Sub("conv1"), 1, w, 4, 2, 1),
		c2:   newConv(p.Sub("conv2"), w, 2*w, 4, 2, 1),
		fc:   torch.NewLinear(p.Sub("fc"), 2*w*7*7, 1),
		flat: 2 * w * 7 * 7,
	}
}

// forward returns [B]; it does not free x.
func (d *critic) forward(x *ts.Tensor) *ts.Tensor {
	h := leaky(d.c1.forward(x))
	h = leaky(free(d.c2.forward(h), h))
	h = h.MustView([]int64{-1, d.flat}, true)
	return free(d.fc.Forward(h), h).MustView([]int64{-1}, true)
}

// GAN is the MNIST WGAN-GP: generator z [B, Latent] → images [B, 1, 28, 28] in
// [−1, 1], and critic images → [B].
type GAN struct {
	Config       GANConfig
	Device       gotch.Device
	GVars, DVars *nn.VarStore
	g            *generator
	d            *critic
}

// NewGAN builds a freshly initialised GAN.
func NewGAN(c GANConfig, dev gotch.Device) (*GAN, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	m := &GAN{Config: c, Device: dev, GVars: nn.NewVarStore(dev), DVars: nn.NewVarStore(dev)}
	err := torch.Try(func() error {
		m.g = newGenerator(m.GVars.Root(), c)
		m.d = newCritic(m.DVars.Root(), c.Width)
		gan.InitLikePyTorch(m.GVars)
		gan.InitLikePyTorch(m.DVars)
		return nil
	})
	return m, err
}

// Generate implements refine.Generator.
func (m *GAN) Generate(z *ts.Tensor) *ts.Tensor { return m.g.forward(z) }

// LatentDim implements refine.Generator.
func (m *GAN) LatentDim() int { return m.Config.Latent }

// Score implements refine.Critic: the WGAN-GP critic's raw output.
func (m *GAN) Score(x *ts.Tensor) *ts.Tensor { return m.d.forward(x) }

// Freeze implements refine.Freezer.
func (m *GAN) Freeze() { gan.Freeze(m.GVars, m.DVars) }

// NewTrainer prepares WGAN-GP training on the images of set.
func (m *GAN) NewTrainer(set *Tensors, cfg gan.Config) (*gan.WGAN, error) {
	return gan.NewWGAN(gan.WGAN{G: m.Generate, D: m.Score, GVars: m.GVars, DVars: m.DVars,
		Latent: m.Config.Latent, Real: set.Sampler(), Device: m.Device, Config: cfg})
}

// GANFormat identifies MNIST GAN files.
const GANFormat = "dgtext-mnist-gan/1"

type ganFile struct {
	Model GANConfig  `json:"model"`
	Train gan.Config `json:"train"`
}

func (m *GAN) stores() map[string]*nn.VarStore {
	return map[string]*nn.VarStore{"generator": m.GVars, "critic": m.DVars}
}

// Save writes the GAN to one safetensors file.
func (m *GAN) Save(path string, train gan.Config) error {
	return gan.Save(path, GANFormat, ganFile{Model: m.Config, Train: train}, m.stores())
}

// LoadGAN reads a GAN written by Save.
func LoadGAN(path string, dev gotch.Device) (*GAN, error) {
	f, err := gan.Open(path, GANFormat)
	if err != nil {
		return nil, err
	}
	return ganFromFile(f, dev)
}

func ganFromFile(f *gan.File, dev gotch.Device) (*GAN, error) {
	var fc ganFile
	if err := f.Config(&fc); err != nil {
		return nil, err
	}
	m, err := NewGAN(fc.Model, dev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return m, f.Load(m.stores())
}
