package kind

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/mnist"
	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// DefaultClassifier is the classifier file the image kinds use when --classifier is not given.
const DefaultClassifier = "mnist-classifier.safetensors"

// openImages builds the Kind of an MNIST GAN or VAE file: its critic (the GAN's own,
// or --critic and --corrector), and the Fréchet distance to the test set in the
// classifier's feature space.
func openImages(f *gan.File, o Options) (pipeline.Kind, error) {
	g, err := mnist.FromFile(f, o.Device)
	if err != nil {
		return nil, err
	}
	about := pipeline.About{Kind: "images", Model: f.Path, N: 5000, Batch: 500, Files: []string{f.Path}}
	switch m := g.(type) {
	case *mnist.GAN:
		about.Detail = fmt.Sprintf("MNIST WGAN-GP, latent %d, width %d", m.Config.Latent, m.Config.Width)
	case *mnist.VAE:
		about.Detail = fmt.Sprintf("MNIST VAE, latent %d, hidden %d", m.Config.Latent, m.Config.Hidden)
	}
	critic, err := imageCritic(g, &about, o)
	if err != nil {
		return nil, err
	}
	features, ref, info, err := imageReference(o)
	if err != nil {
		return nil, err
	}
	keep := o.Keep
	if keep == 0 {
		keep = 64
	}
	if keep < 0 {
		return nil, fmt.Errorf("--keep %d: give the number of images per grid panel", keep)
	}
	model := pipeline.Parts{Info: about, G: g, C: critic, Device: o.Device}
	return pipeline.Compose(model, pipeline.NewImages(features, ref, info, keep)), nil
}

// imageCritic is the GAN's own critic, or the one --critic and --corrector give:
// a GAN file's critic, a corrector file's discriminator plus correction (d = D + c),
// or --critic's critic plus --corrector's correction.
func imageCritic(g refine.Generator, about *pipeline.About, o Options) (refine.Critic, error) {
	var critic refine.Critic
	switch {
	case o.Critic != "":
		c, err := mnist.LoadCritic(o.Critic, o.Device)
		if err != nil {
			return nil, fmt.Errorf("--critic: %w", err)
		}
		critic, about.Critic = c, o.Critic
		about.Files = append(about.Files, o.Critic)
	case o.Corrector == "":
		gn, ok := g.(*mnist.GAN)
		if !ok {
			return nil, errors.New("a VAE has no critic of its own: pass --corrector with a corrector file (dgtext mnist train corrector), or --critic with a GAN file")
		}
		return gn, nil
	}
	if o.Corrector == "" {
		return critic, nil
	}
	corr, err := mnist.LoadCorrector(o.Corrector, o.Device)
	if err != nil {
		return nil, fmt.Errorf("--corrector: %w", err)
	}
	about.Files = append(about.Files, o.Corrector)
	if critic == nil {
		about.Critic = o.Corrector + " (its discriminator D + correction c)"
		return corr.Critic(), nil
	}
	about.Critic = o.Critic + " + the correction of " + o.Corrector
	return refine.Sum{critic, corr.Correction()}, nil
}

// imageReference loads the classifier and fits the Gaussian of its features on the
// MNIST test images. Without the default classifier file or the MNIST files (when
// neither was asked for by name), the run goes on without FD, with a note.
func imageReference(o Options) (pipeline.Features, *eval.Gaussian, pipeline.Reference, error) {
	path := o.Classifier
	if path == "" {
		path = DefaultClassifier
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, pipeline.Reference{
				Note: fmt.Sprintf("FD not computed: no classifier %s; train one with `dgtext mnist train classifier`, or pass --classifier FILE", path),
				Hint: "FD not computed: no classifier; train one with `dgtext mnist train classifier`",
			}, nil
		}
	}
	clf, err := mnist.LoadClassifier(path, o.Device)
	if err != nil {
		return nil, nil, pipeline.Reference{}, fmt.Errorf("--classifier: %w (train it with `dgtext mnist train classifier`)", err)
	}
	dir, err := mnist.ResolveDir(o.DataDir)
	if err != nil {
		if o.DataDir != "" {
			return nil, nil, pipeline.Reference{}, err
		}
		return nil, nil, pipeline.Reference{Note: "FD not computed: " + err.Error(), Hint: "FD not computed: no MNIST test images; pass --data-dir"}, nil
	}
	set, err := mnist.Load(dir, mnist.Test)
	if err != nil {
		return nil, nil, pipeline.Reference{}, err
	}
	if o.Limit > 0 {
		set = set.Head(o.Limit)
	}
	test, err := set.ToTensors(o.Device)
	if err != nil {
		return nil, nil, pipeline.Reference{}, err
	}
	defer test.Drop()
	fit := pipeline.NewFeatureFit(clf.Features)
	for first := 0; first < test.N; first += 500 {
		err := torch.Try(func() error {
			x, y := test.Batch(test.Range(first, 500))
			y.MustDrop()
			defer x.MustDrop()
			return fit.Add(x)
		})
		if err != nil {
			return nil, nil, pipeline.Reference{}, err
		}
	}
	ref, err := fit.Gaussian()
	if err != nil {
		return nil, nil, pipeline.Reference{}, err
	}
	info := pipeline.Reference{
		Desc:  fmt.Sprintf("MNIST test set in %s (%d images), FD in the feature space of %s (test accuracy %.2f%%)", dir, test.N, path, 100*clf.Accuracy),
		Size:  int64(test.N),
		Files: []string{path, dir},
	}
	fmt.Fprintf(o.log(), "refine: reference %s\n", info.Desc)
	return clf.Features, &ref, info, nil
}
