// Package kind opens a model file or folder, tells which kind of model it holds
// from its manifest or file format, and builds its pipeline.Kind:
//
//   - a folder with manifest.json (dgtext train --export), or none for the bundled
//     model: the character language GAN, whose samples are text scored with JS-n;
//   - a dgtext-toy safetensors file (dgtext toy train): a 2D GAN, whose samples are
//     points scored by high-quality share, modes covered and KDE log-likelihood;
//   - a dgtext-mnist GAN or VAE file (dgtext mnist train gan|vae): images scored by
//     the Fréchet distance in a digit classifier's feature space, with the GAN's own
//     critic or a borrowed one plus a density-ratio corrector.
package kind

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/mnist"
	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/toy"
)

// Options are what the kinds need besides the model file. Each kind reads its own
// fields and refuses the others' critic flags.
type Options struct {
	Device gotch.Device
	Seed   int64     // the run's seed: it also draws the 2D kinds' real points
	Log    io.Writer // log lines (stderr); nil is silent

	// Critic and Corrector replace or complete the model's own critic (images):
	// Critic is a GAN file (its critic) or a corrector file (its discriminator plus
	// correction); Corrector is a corrector file whose correction is added.
	Critic, Corrector string

	// Text: the reference corpus, the n-gram orders and the example pairs shown.
	Corpus pipeline.Corpus
	Orders []int
	Show   int

	// 2D: real points drawn to compare against (0: 5000).
	Real int

	// Images: the classifier whose features define the Fréchet distance
	// ("": mnist-classifier.safetensors, skipped with a note when missing), the MNIST
	// folder, the first Limit test images only (0: all), images per grid panel (0: 64).
	Classifier string
	DataDir    string
	Limit      int
	Keep       int
}

func (o Options) log() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}

// Open reads the model at path ("" for the bundled text model) and builds its Kind.
func Open(path string, o Options) (pipeline.Kind, error) {
	if path == "" {
		return openText("", o)
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--model %s: no such file or folder", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--model %s: %w", path, err)
	}
	if info.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "manifest.json")); err != nil {
			if cks, _ := charlm.ListCheckpoints(path); len(cks) > 0 {
				return nil, fmt.Errorf("--model %s is a training run folder, not a model: pass one of its checkpoints, e.g. the newest, --model %s", path, cks[len(cks)-1])
			}
		}
		return openText(path, o)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pt", ".pth", ".jit", ".ts":
		return nil, fmt.Errorf("--model %s: TorchScript modules are given as --generator and --critic", path)
	case ".json":
		if filepath.Base(path) == "manifest.json" {
			return openText(filepath.Dir(path), o)
		}
	case ".safetensors":
		f, err := gan.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		switch f.Format {
		case toy.FileFormat:
			return openToy(path, o)
		case mnist.GANFormat, mnist.VAEFormat:
			return openImages(f, o)
		case mnist.CorrectorFormat:
			return nil, fmt.Errorf("--model %s is a density-ratio corrector, not a generator: pass it as --corrector, with the VAE as --model", path)
		case mnist.ClassifierFormat:
			return nil, fmt.Errorf("--model %s is the digit classifier behind the Fréchet distance: pass it as --classifier, with a GAN or VAE as --model", path)
		case "":
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), "manifest.json")); err == nil {
				return openText(filepath.Dir(path), o)
			}
		}
		return nil, fmt.Errorf("--model %s holds a %q model, which dgtext cannot refine: give a model folder (dgtext train --export), a toy model (dgtext toy train) or an MNIST GAN or VAE (dgtext mnist train)", path, f.Format)
	}
	return nil, fmt.Errorf("--model %s: not a model dgtext knows: give a model folder (dgtext train --export), or a .safetensors file written by dgtext toy train or dgtext mnist train", path)
}

// noCritic refuses critic flags for kinds that bring their own critic.
func noCritic(kind string, o Options) error {
	if o.Critic != "" || o.Corrector != "" {
		return fmt.Errorf("--critic and --corrector apply to image models; a %s model is refined with its own critic", kind)
	}
	return nil
}
