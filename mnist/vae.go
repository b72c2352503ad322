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

// VAEConfig fixes the architecture of the VAE.
type VAEConfig struct {
	Latent int `json:"latent"`
	Hidden int `json:"hidden"`
}

// DefaultVAEConfig is the classic MLP VAE of Kingma & Welling's MNIST experiments,
// smaller: 784 → 400 → 16.
func DefaultVAEConfig() VAEConfig { return VAEConfig{Latent: 16, Hidden: 400} }

// VAE is a variational autoencoder (Kingma & Welling 2014) with Bernoulli pixels:
// encoder x → 400 → (μ, log σ²), decoder z → 400 → 784 logits. As a generator it
// maps z ~ N(0, I) to the decoder's mean image, scaled to [−1, 1]. It has no
// discriminator: refining it needs a borrowed one plus a Corrector.
type VAE struct {
	Config VAEConfig
	Device gotch.Device
	Vars   *nn.VarStore
	enc    *torch.Linear
	mu     *torch.Linear
	logvar *torch.Linear
	dec1   *torch.Linear
	dec2   *torch.Linear
}

// NewVAE builds a freshly initialised VAE.
func NewVAE(c VAEConfig, dev gotch.Device) (*VAE, error) {
	if c.Latent < 1 || c.Hidden < 1 {
		return nil, fmt.Errorf("VAE latent %d and hidden %d: both must be at least 1", c.Latent, c.Hidden)
	}
	v := &VAE{Config: c, Device: dev, Vars: nn.NewVarStore(dev)}
	err := torch.Try(func() error {
		p := v.Vars.Root()
		h, l := int64(c.Hidden), int64(c.Latent)
		v.enc = torch.NewLinear(p.Sub("enc"), 784, h)
		v.mu = torch.NewLinear(p.Sub("mu"), h, l)
		v.logvar = torch.NewLinear(p.Sub("logvar"), h, l)
		v.dec1 = torch.NewLinear(p.Sub("dec1"), l, h)
		v.dec2 = torch.NewLinear(p.Sub("dec2"), h, 784)
		gan.InitLikePyTorch(v.Vars)
		return nil
	})
	return v, err
}

// decode returns pixel logits [B, 784]; z is not freed.
func (v *VAE) decode(z *ts.Tensor) *ts.Tensor {
	h := v.dec1.Forward(z).MustRelu(true)
	return free(v.dec2.Forward(h), h)
}

// Generate implements refine.Generator: the decoder's mean image in [−1, 1].
func (v *VAE) Generate(z *ts.Tensor) *ts.Tensor {
	return v.decode(z).MustSigmoid(true).MustMulScalar(ts.FloatScalar(2), true).
		MustAddScalar(ts.FloatScalar(-1), true).MustView([]int64{-1, 1, 28, 28}, true)
}

// LatentDim implements refine.Generator.
func (v *VAE) LatentDim() int { return v.Config.Latent }

// Freeze implements refine.Freezer.
func (v *VAE) Freeze() { gan.Freeze(v.Vars) }

// loss is the negative ELBO per image: Bernoulli cross-entropy of the pixels (in
// [0, 1]) plus KL(q(z|x) ‖ N(0, I)). x is [B, 1, 28, 28] in [−1, 1].
func (v *VAE) loss(x *ts.Tensor) *ts.Tensor {
	b := x.MustSize()[0]
	target := x.MustView([]int64{b, 784}, false).MustAddScalar(ts.FloatScalar(1), true).MustMulScalar(ts.FloatScalar(0.5), true)
	h := v.enc.Forward(target).MustRelu(true)
	mu, logvar := v.mu.Forward(h), v.logvar.Forward(h)
	h.MustDrop()
	// z = μ + σ·ε, the reparameterisation trick.
	std := logvar.MustMulScalar(ts.FloatScalar(0.5), false).MustExp(true)
	eps := std.MustRandnLike(false)
	z := eps.MustMul(std, true).MustAdd(mu, true)
	logits := v.decode(z)
	z.MustDrop()
	rec := logits.MustBinaryCrossEntropyWithLogits(target, ts.NewTensor(), ts.NewTensor(), 2, true) // sum
	target.MustDrop()
	// KL = −½ Σ (1 + log σ² − μ² − σ²)
	var2 := std.MustSquare(true)
	mu2 := mu.MustSquare(true)
	kl := logvar.MustAddScalar(ts.FloatScalar(1), true).MustSub(mu2, true).MustSub(var2, true).
		MustSum(gotch.Float, true).MustMulScalar(ts.FloatScalar(-0.5), true)
	mu2.MustDrop()
	var2.MustDrop()
	return rec.MustAdd(kl, true).MustDivScalar(ts.FloatScalar(float64(b)), true)
}

// VAETrainConfig holds the VAE's training settings.
type VAETrainConfig struct {
	Epochs float64 `json:"epochs"`
	Batch  int     `json:"batch"`
	LR     float64 `json:"lr"`
	Seed   int64   `json:"seed"`
}

// DefaultVAETrainConfig trains for five epochs with Adam 1e-3.
func DefaultVAETrainConfig() VAETrainConfig {
	return VAETrainConfig{Epochs: 5, Batch: 128, LR: 1e-3, Seed: 1}
}

// Train fits the VAE to train by maximising the ELBO, logging to log.
func (v *VAE) Train(ctx context.Context, train *Tensors, cfg VAETrainConfig, log io.Writer) error {
	if cfg.Batch < 1 || !(cfg.Epochs > 0) || !(cfg.LR > 0) {
		return fmt.Errorf("VAE: batch %d, epochs %g, lr %g: all must be positive", cfg.Batch, cfg.Epochs, cfg.LR)
	}
	steps := int(cfg.Epochs * float64(train.N) / float64(cfg.Batch))
	opt := NewAdam(v.Vars, cfg.LR)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 13))
	torch.Seed(cfg.Seed)
	start := time.Now()
	var recent float64
	for s := 1; s <= steps; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx := make([]int64, cfg.Batch)
		for i := range idx {
			idx[i] = int64(rng.IntN(train.N))
		}
		err := torch.Try(func() error {
			x, y := train.Batch(idx)
			y.MustDrop()
			loss := v.loss(x)
			x.MustDrop()
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
			return fmt.Errorf("VAE step %d: %w", s, err)
		}
		if s%50 == 0 {
			torch.Collect()
		}
		if log != nil && (s%200 == 0 || s == steps) {
			fmt.Fprintf(log, "vae step %5d/%d  −ELBO %.2f nats  (%.0fs)\n", s, steps, recent, time.Since(start).Seconds())
		}
	}
	return nil
}

// VAEFormat identifies VAE files.
const VAEFormat = "dgtext-mnist-vae/1"

type vaeFile struct {
	Model VAEConfig      `json:"model"`
	Train VAETrainConfig `json:"train"`
}

// Save writes the VAE to one safetensors file.
func (v *VAE) Save(path string, cfg VAETrainConfig) error {
	return gan.Save(path, VAEFormat, vaeFile{Model: v.Config, Train: cfg}, map[string]*nn.VarStore{"vae": v.Vars})
}

func vaeFromFile(f *gan.File, dev gotch.Device) (*VAE, error) {
	var fc vaeFile
	if err := f.Config(&fc); err != nil {
		return nil, err
	}
	v, err := NewVAE(fc.Model, dev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return v, f.Load(map[string]*nn.VarStore{"vae": v.Vars})
}

// LoadVAE reads a VAE written by Save.
func LoadVAE(path string, dev gotch.Device) (*VAE, error) {
	f, err := gan.Open(path, VAEFormat)
	if err != nil {
		return nil, err
	}
	return vaeFromFile(f, dev)
}
