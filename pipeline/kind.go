// Package pipeline is the one refinement pipeline that every kind of model goes
// through: draw latents from the model's prior (or read them from a file), refine
// them with refine.Run (DGflow, DDLS or DOT), turn every saved step into samples-file
// rows and figures against a reference, and report a table, JSON and a plot.
//
// A model kind (the character model, a 2D toy GAN, an MNIST GAN or VAE, a
// TorchScript module) plugs in by implementing Kind. Run knows nothing else about
// it: what a sample is (text, an image, a vector), which figures are computed (JS-n,
// high-quality share, Fréchet distance) and which picture is drawn are all the
// kind's. The outputs Text, Images and Vectors are ready-made halves of a Kind for
// samples shaped [B, L, V], [B, C, H, W] and [B, D].
//
// Like the refine core, the pipeline imports no model package; package kind opens
// model files and builds their Kinds.
package pipeline

import (
	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/refine"
)

// Kind is one kind of model, ready to refine: a Model (what refine.Run moves) and an
// Output (what its samples become). Compose builds one from the two halves.
//
// Run calls, in this order: About, Generator and Critic; Prior, unless latents come
// from a file; Reference and Columns; Begin once; Rows for every saved batch; Score
// once per saved step after the last batch; Plot when a plot is asked for. A Kind
// serves one run.
type Kind interface {
	Model
	Output
}

// Model is what refinement needs from a model.
type Model interface {
	// About names the model for logs and reports and gives its default run size.
	About() About
	// Generator maps latents [B, L] to samples [B, ...]; its LatentDim is L.
	Generator() refine.Generator
	// Critic maps samples to one logit per sample, read as log p_data/p_model:
	// a GAN's own critic, or a borrowed discriminator plus a corrector (refine.Sum).
	Critic() refine.Critic
	// Prior draws fresh latents: refine.Gaussian(L, device) for every kind so far.
	Prior() refine.Source
}

// Output is what a kind's samples become: rows of the samples file, figures
// against a reference at every saved step, and a picture.
type Output interface {
	// Reference says what the figures compare against, or why there are none.
	Reference() Reference
	// Columns lists the figures Score gives, in table order; none without a reference.
	Columns() []Column
	// Begin is called once before the first batch, with the run's size.
	Begin(r RunInfo) error
	// Rows turns one saved batch (s.X has B samples) into B rows of the samples
	// file, and takes in whatever its figures and picture need. Run fills in the
	// rows' id, method, step, seed, critic and latent; Rows fills Text or X.
	Rows(s refine.Saved) ([]Sample, error)
	// Score gives the figures of one saved step, keyed by column name, once every
	// batch of that step has gone through Rows.
	Score(step int) (map[string]float64, error)
	// Plot draws the run into a PNG file at path (written atomically).
	Plot(path string, rep *Report) error
}

// Exampler is an optional Output method: pairs of base → refined samples, shown
// below the table and in the JSON report (text models show a few random lines).
type Exampler interface {
	Examples() [][2]string
}

// About names a model and gives its default run size.
type About struct {
	Kind   string // what a sample is: "text", "2d", "images" or "vectors"
	Model  string // the model's file or folder, or "bundled"
	Critic string // where the critic comes from when it is not the model's own, else ""
	Detail string // one line for the log: architecture, training, device
	N      int64  // samples refined when Options.N is 0
	Batch  int    // latents refined together when Options.Batch is 0
	// Files are the files the model was read from: Run refuses to write over them.
	Files []string
}

// Reference says what a kind's figures compare against.
type Reference struct {
	Desc string // e.g. "news.en.heldout-00013-of-00050 (6119 lines)"; "" when none
	Size int64  // lines, points or images in it
	// Note says why figures are missing or limited (several lines allowed), and Hint
	// is one line on how to get them, repeated after the table. Both "" when all is well.
	Note, Hint string
	// Files are the files the reference was read from: Run refuses to write over them.
	Files []string
}

// Column is one figure of the table, e.g. JS-4, FD or the high-quality share.
type Column struct {
	Name   string
	Format func(v float64) string // nil prints %.4f
}

// RunInfo is what an Output learns in Begin.
type RunInfo struct {
	N      int64  // samples in the run
	Steps  int    // refinement steps: the last saved step
	Seed   int64  // the run's seed
	Method string // the method's label, e.g. "dgflow-kl"
}

// Sample is what one generated sample becomes in the samples file: Text for text
// models, X (the sample's values, flattened in row-major order) for everything else.
type Sample struct {
	Text string
	X    []float32
}

// Compose joins a Model and an Output into a Kind. The Kind is an Exampler when
// the Output is.
func Compose(m Model, o Output) Kind { return composed{m, o} }

type composed struct {
	Model
	Output
}

// Examples implements Exampler for outputs that do.
func (c composed) Examples() [][2]string {
	if ex, ok := c.Output.(Exampler); ok {
		return ex.Examples()
	}
	return nil
}

// Parts is a Model made of a generator, a critic and a Gaussian prior on a device.
type Parts struct {
	Info   About
	G      refine.Generator
	C      refine.Critic
	Device gotch.Device
}

// About implements Model.
func (p Parts) About() About { return p.Info }

// Generator implements Model.
func (p Parts) Generator() refine.Generator { return p.G }

// Critic implements Model.
func (p Parts) Critic() refine.Critic { return p.C }

// Prior implements Model: z ~ N(0, I).
func (p Parts) Prior() refine.Source { return refine.Gaussian(p.G.LatentDim(), p.Device) }
