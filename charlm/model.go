package charlm

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/torch"
)

// resBlock is the residual block of the WGAN-GP language model:
//
//	x + s·conv₂(relu(conv₁(relu(x))))
//
// with kernel-k convolutions at "same" padding and s = 0.3 in the paper.
type resBlock struct {
	conv1, conv2 *nn.Conv1D
	scale        float64
}

func newResBlock(p *nn.Path, dim, kernel int, scale float64) *resBlock {
	cfg := nn.DefaultConv1DConfig()
	cfg.Padding = []int64{int64(kernel / 2)}
	return &resBlock{
		conv1: nn.NewConv1D(p.Sub("conv1"), int64(dim), int64(dim), int64(kernel), cfg),
		conv2: nn.NewConv1D(p.Sub("conv2"), int64(dim), int64(dim), int64(kernel), cfg),
		scale: scale,
	}
}

// forward leaves x alone and returns a new tensor.
func (b *resBlock) forward(x *ts.Tensor) *ts.Tensor {
	h := x.MustRelu(false)
	h = free(b.conv1.Forward(h), h)
	h = h.MustRelu(true)
	h = free(b.conv2.Forward(h), h)
	h = h.MustMulScalar(ts.FloatScalar(b.scale), true)
	return free(x.MustAdd(h, false), h)
}

// Generator maps a latent z [B, Latent] to character probabilities [B, SeqLen, Vocab]:
// linear to SeqLen·Dim, residual conv blocks, a 1×1 conv to the vocabulary and a
// softmax at each position.
type Generator struct {
	cfg    Config
	fc     *torch.Linear
	blocks []*resBlock
	out    *nn.Conv1D
}

func newGenerator(p *nn.Path, c Config) *Generator {
	g := &Generator{cfg: c, fc: torch.NewLinear(p.Sub("fc"), int64(c.Latent), int64(c.SeqLen*c.Dim))}
	for i := 0; i < c.Blocks; i++ {
		g.blocks = append(g.blocks, newResBlock(p.Sub(fmt.Sprintf("block%d", i)), c.Dim, c.Kernel, c.ResScale))
	}
	g.out = nn.NewConv1D(p.Sub("out"), int64(c.Dim), int64(c.Vocab), 1, nn.DefaultConv1DConfig())
	return g
}

// Forward returns softmax probabilities [B, SeqLen, Vocab]. It does not free z.
func (g *Generator) Forward(z *ts.Tensor) *ts.Tensor {
	h := g.fc.Forward(z)
	h = h.MustView([]int64{-1, int64(g.cfg.Dim), int64(g.cfg.SeqLen)}, true)
	for _, b := range g.blocks {
		h = free(b.forward(h), h)
	}
	logits := free(g.out.Forward(h), h)             // [B, V, S]
	logits = logits.MustTranspose(1, 2, true)       // [B, S, V]
	return logits.MustSoftmax(2, gotch.Float, true) // per-position distribution
}

// Critic maps [B, SeqLen, Vocab] (one-hot real text or generator probabilities) to one
// unbounded score per sample, [B]: a 1×1 conv from the vocabulary, the same residual
// blocks as the generator, and a linear layer on the flattened features.
type Critic struct {
	cfg    Config
	in     *nn.Conv1D
	blocks []*resBlock
	fc     *torch.Linear
}

func newCritic(p *nn.Path, c Config) *Critic {
	d := &Critic{cfg: c, in: nn.NewConv1D(p.Sub("in"), int64(c.Vocab), int64(c.Dim), 1, nn.DefaultConv1DConfig())}
	for i := 0; i < c.Blocks; i++ {
		d.blocks = append(d.blocks, newResBlock(p.Sub(fmt.Sprintf("block%d", i)), c.Dim, c.Kernel, c.ResScale))
	}
	d.fc = torch.NewLinear(p.Sub("fc"), int64(c.SeqLen*c.Dim), 1)
	return d
}

// Forward returns the critic score [B]. It does not free x.
func (d *Critic) Forward(x *ts.Tensor) *ts.Tensor {
	h := x.MustTranspose(1, 2, false) // [B, V, S]
	h = free(d.in.Forward(h), h)
	for _, b := range d.blocks {
		h = free(b.forward(h), h)
	}
	h = h.MustView([]int64{-1, int64(d.cfg.SeqLen * d.cfg.Dim)}, true)
	out := free(d.fc.Forward(h), h)
	return out.MustView([]int64{-1}, true)
}

// Model is a generator, its critic and the charmap they were trained with.
type Model struct {
	Config  Config
	Charmap *data.Charmap
	Device  gotch.Device
	G       *Generator
	D       *Critic
	// GVars and DVars own the parameters ("generator.*" and "critic.*" in files).
	GVars, DVars *nn.VarStore
}

// NewModel builds a freshly initialised model on device d.
func NewModel(c Config, cm *data.Charmap, d gotch.Device) (*Model, error) {
	if cm != nil {
		c.Vocab = cm.Size()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, Charmap: cm, Device: d, GVars: nn.NewVarStore(d), DVars: nn.NewVarStore(d)}
	err := torch.Try(func() error {
		m.G = newGenerator(m.GVars.Root(), c)
		m.D = newCritic(m.DVars.Root(), c)
		torch.InitLikePyTorch(m.GVars)
		torch.InitLikePyTorch(m.DVars)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("build model on %s: %w", torch.DeviceName(d), err)
	}
	return m, nil
}

// NumParams counts the parameters of generator and critic.
func (m *Model) NumParams() (g, d int64) {
	count := func(vs *nn.VarStore) int64 {
		var n int64
		for _, t := range vs.TrainableVariables() {
			k := int64(1)
			for _, s := range t.MustSize() {
				k *= s
			}
			n += k
		}
		return n
	}
	return count(m.GVars), count(m.DVars)
}

// Generate implements refine.Generator.
func (m *Model) Generate(z *ts.Tensor) *ts.Tensor { return m.G.Forward(z) }

// Score implements refine.Critic.
func (m *Model) Score(x *ts.Tensor) *ts.Tensor { return m.D.Forward(x) }

// LatentDim implements refine.Generator.
func (m *Model) LatentDim() int { return m.Config.Latent }

// Freeze implements refine.Freezer: no parameter requires a gradient afterwards, so
// refinement computes ∇z only. Training must not use a frozen model.
func (m *Model) Freeze() {
	torch.Try(func() error {
		for _, vs := range []*nn.VarStore{m.GVars, m.DVars} {
			for _, p := range namedParams(vs) {
				p.MustRequiresGrad_(false)
			}
		}
		return nil
	})
}
