package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dgtext/dgtext/kind"
	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/toy"
)

func init() { register(func() *cobra.Command { return newRefineCmd(refineCmdSpec{}, nil) }) }

// addMethodFlags registers the refinement method and its settings.
func addMethodFlags(cmd *cobra.Command, m *pipeline.MethodConfig) {
	d := pipeline.DefaultMethod()
	fl := cmd.Flags()
	fl.StringVarP(&m.Name, "method", "m", d.Name, "refinement: dgflow, ddls, dot, or none (base samples only)")
	fl.StringVar(&m.F, "f", d.F, "DGflow's f-divergence: kl, js or logd")
	fl.Float64Var(&m.Eta, "eta", d.Eta, "DGflow step size η")
	fl.Float64Var(&m.Gamma, "gamma", d.Gamma, "DGflow entropy regulariser γ (noise √(2ηγ) per step)")
	fl.Float64Var(&m.Eps, "eps", d.Eps, "DDLS Langevin step size ε")
	fl.Float64Var(&m.DotLR, "dot-lr", d.DotLR, "DOT gradient step size")
	fl.IntVar(&m.KeffPairs, "keff-pairs", d.KeffPairs, "DOT: random latent pairs for estimating k_eff")
	fl.StringVar(&m.Steps, "steps", d.Steps, `refinement steps, or "auto" to stop where the critic's gain levels off`)
	fl.IntVar(&m.SaveEvery, "save-every", d.SaveEvery, "keep samples every N steps; step 0 and the last are always kept (0: only those two)")
	_ = cmd.RegisterFlagCompletionFunc("method", fixedCompletions("dgflow", "ddls", "dot", "none"))
	_ = cmd.RegisterFlagCompletionFunc("f", fixedCompletions("kl", "js", "logd"))
}

func fixedCompletions(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp
	}
}

// refineOptions holds every flag of dgtext refine and its aliases, and the streams.
type refineOptions struct {
	Stdout, Stderr io.Writer
	Changed        func(flag string) bool // was the flag given on the command line

	corpus  corpusFlags
	compute computeFlags
	Method  pipeline.MethodConfig

	Model, Critic, Corrector, Classifier string
	Dataset                              string // toy refine: the default model's data set
	N                                    int64
	Batch                                int
	Seed                                 int64
	Latents, Out, Plot                   string
	SaveZ, JSON, NoCache, Quiet          bool
	Orders                               []int
	Show, Real, Keep, Limit              int
}

// kindFlags are the flags only one kind of model reads; any other kind refuses them.
var kindFlags = map[string][]string{
	"text":   {"corpus", "split", "eval-files", "train-files", "column", "orders", "show", "no-cache"},
	"2d":     {"real", "dataset"},
	"images": {"classifier", "keep", "limit", "critic", "corrector"},
}

// refineCmdSpec makes the aliases `dgtext toy refine` and `dgtext mnist refine`: the
// same command with another default model.
type refineCmdSpec struct {
	short, long, example string
	flags                func(cmd *cobra.Command, o *refineOptions) // extra flags
	model                func(o *refineOptions) (string, error)     // the model when --model is not given
}

func newRefineCmd(spec refineCmdSpec, runF func(context.Context, *refineOptions) error) *cobra.Command {
	opts := &refineOptions{}
	cmd := &cobra.Command{
		Use:   "refine",
		Short: "Refine a model's samples with DGflow (or DDLS, DOT) and score every saved step",
		Long: `refine draws latents from the model's prior (or reads them with --latents), moves them
along the discriminator gradient flow (DGflow, Ansari et al. ICLR 2021) or a baseline,
scores every saved step against a reference, prints a table (or --json), draws
--plot FILE.png, and writes every saved step of every sample to --out.

The model kind is read from --model:
  (none)                 the text model bundled in the binary
  a folder               a text model (dgtext train --export): samples are lines, scored
                         with n-gram JS against the corpus's evaluation split (--corpus,
                         --data-dir); the plot is JS and critic score against step
  toy-*.safetensors      a 2D toy GAN (dgtext toy train): points, scored by the share of
                         high-quality samples (HQ), modes covered and the KDE
                         log-likelihood of --real fresh points; the plot is real | base | refined
  mnist-*.safetensors    an MNIST GAN or VAE (dgtext mnist train): images, scored by the
                         Fréchet distance (FD) to the test images (--data-dir) in the
                         feature space of --classifier; the plot is a grid of the same
                         latents before and after. A VAE needs --corrector (or --critic).

Text samples are written as text (.parquet, .jsonl or .txt), the others as values in an
x list<float> column (.parquet or .jsonl). A run that is interrupted (Ctrl-C, SIGTERM)
or stopped by the NaN guard keeps the complete samples under NAME.partial.EXT, never
under the final name. Without a reference it still refines, reports critic scores,
and says how to get the figures.`,
		Example: `  dgtext refine --corpus billion-words --data-dir ../shared/data/billion-words \
      --eval-files 1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled/news.en.heldout-00013-of-00050 \
      --n 2000 --out refined.parquet --plot refine.png

  # refine your own latents (a Parquet file with a z column), with the JS flow
  dgtext refine --latents z.parquet --f js --out refined.parquet

  dgtext refine --model toy-25gaussians.safetensors --eta 0.02 --plot toy.png
  dgtext refine --model mnist-vae.safetensors --corrector mnist-corrector.safetensors --plot vae.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Stdout, opts.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			opts.Changed = cmd.Flags().Changed
			if spec.model != nil && opts.Model == "" {
				m, err := spec.model(opts)
				if err != nil {
					return err
				}
				opts.Model = m
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return refineRun(cmd.Context(), opts)
		},
	}
	if spec.short != "" {
		cmd.Short, cmd.Long, cmd.Example = spec.short, spec.long, spec.example
	}
	f := cmd.Flags()
	opts.corpus.addTo(cmd)
	f.Lookup("data-dir").Usage = "text: the billion-words folder (" + f.Lookup("data-dir").Usage + "); images: the folder with the four MNIST IDX files (default $DGTEXT_MNIST_DIR, ../shared/data/mnist, ./data/mnist)"
	opts.compute.addTo(cmd)
	addMethodFlags(cmd, &opts.Method)
	f.StringVar(&opts.Model, "model", "", "model folder or file (default: the bundled text model); its kind is read from it")
	f.StringVar(&opts.Critic, "critic", "", "images: critic of a GAN file, or a corrector file's discriminator + correction (default: the model's own)")
	f.StringVar(&opts.Corrector, "corrector", "", "images: corrector file (dgtext mnist train corrector); its correction is added to the critic")
	f.StringVar(&opts.Classifier, "classifier", "", "images: classifier whose features define the Fréchet distance (default "+kind.DefaultClassifier+")")
	f.Int64VarP(&opts.N, "n", "n", 0, "samples to refine (default 10000 for text, 5000 for 2D and images)")
	f.IntVar(&opts.Batch, "batch", 0, "latents refined together (default 256 for text, 5000 for 2D, 500 for images; halved automatically on GPU out-of-memory)")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed: a CPU run is bit-for-bit reproducible for a seed and batch")
	f.StringVar(&opts.Latents, "latents", "", "refine the latents in this file (Parquet or JSONL with a z column, e.g. from --save-z) instead of fresh ones")
	f.StringVarP(&opts.Out, "out", "o", "refined.parquet", "samples file: .parquet, .jsonl or (text only) .txt")
	f.BoolVar(&opts.SaveZ, "save-z", false, "also write each latent (Parquet z column, list<float>)")
	f.BoolVar(&opts.JSON, "json", false, "print the report as JSON on stdout")
	f.StringVar(&opts.Plot, "plot", "", "draw the run into this PNG (see above for what each kind draws)")
	f.IntSliceVar(&opts.Orders, "orders", []int{4, 6}, "text: n-gram orders to score")
	f.BoolVar(&opts.NoCache, "no-cache", false, "text: do not read or write the reference statistics cache")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress bar")
	f.IntVar(&opts.Show, "show", 5, "text: print this many random base → refined pairs (0 = none)")
	f.IntVar(&opts.Real, "real", 0, "2D: real points drawn to compare against (default 5000)")
	f.IntVar(&opts.Keep, "keep", 0, "images: images per grid panel (default 64)")
	f.IntVar(&opts.Limit, "limit", 0, "images: use only the first N test images as the reference, for quick trials (0 = all)")
	if spec.flags != nil {
		spec.flags(cmd, opts)
	}
	return cmd
}

func refineRun(ctx context.Context, opts *refineOptions) error {
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	c := opts.corpus
	corpus := pipeline.Corpus{Name: c.Corpus, Read: c.readOptions(), NoCache: opts.NoCache,
		Options: c.options(), Given: changed("corpus") || changed("data-dir") || changed("split") || changed("eval-files")}
	k, err := kind.Open(opts.Model, kind.Options{Device: dev, Seed: opts.Seed, Log: opts.Stderr,
		Critic: opts.Critic, Corrector: opts.Corrector, Corpus: corpus, Orders: opts.Orders, Show: opts.Show,
		Real: opts.Real, Classifier: opts.Classifier, DataDir: c.DataDir, Limit: opts.Limit, Keep: opts.Keep})
	if err != nil {
		return err
	}
	if err := checkKindFlags(k.About(), changed); err != nil {
		return err
	}
	rep, err := pipeline.Run(ctx, k, pipeline.Options{Method: opts.Method, N: opts.N, Batch: opts.Batch, Seed: opts.Seed,
		Device: dev, Latents: opts.Latents, Out: opts.Out, SaveZ: opts.SaveZ, Plot: opts.Plot, Log: opts.Stderr,
		Bar: showBar(opts.Stderr, opts.Quiet), CreatedBy: "dgtext " + version})
	if err != nil {
		return err
	}
	if opts.JSON {
		return rep.WriteJSON(opts.Stdout)
	}
	rep.WriteTable(opts.Stdout)
	return nil
}

// checkKindFlags refuses flags that only another kind of model reads.
func checkKindFlags(about pipeline.About, changed func(string) bool) error {
	var kinds []string
	for k := range kindFlags {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if k == about.Kind {
			continue
		}
		for _, fl := range kindFlags[k] {
			if changed(fl) {
				return fmt.Errorf("--%s applies to %s models; %s is a %s model", fl, k, about.Model, about.Kind)
			}
		}
	}
	return nil
}

// toyDefaultModel is where toy train writes, and toy refine reads, by default.
func toyDefaultModel(ds toy.Dataset) string { return "toy-" + string(ds) + ".safetensors" }

// newToyRefineCmd is `dgtext toy refine`: dgtext refine with the toy model of --dataset.
func newToyRefineCmd() *cobra.Command {
	return newRefineCmd(refineCmdSpec{
		short: "Refine a toy GAN's samples (dgtext refine with the model of --dataset)",
		long: `toy refine is dgtext refine with --model toy-<dataset>.safetensors by default, the
file dgtext toy train writes. It reports at every saved step the share of high-quality
samples (HQ: within 4σ of a mode, or of the noiseless Swiss roll), the modes covered (25
Gaussians) and the KDE log-likelihood of --real fresh points; --plot draws real, base
and refined samples side by side. See dgtext refine --help for every flag.`,
		example: `  dgtext toy train --dataset 25gaussians
  dgtext toy refine --dataset 25gaussians --method dgflow --plot toy.png
  dgtext toy refine --model runs/roll-2.safetensors --method dot --json`,
		flags: func(cmd *cobra.Command, o *refineOptions) {
			cmd.Flags().StringVar(&o.Dataset, "dataset", "25gaussians", "data set, to find the default model file toy-<dataset>.safetensors")
			_ = cmd.RegisterFlagCompletionFunc("dataset", fixedCompletions("25gaussians", "swissroll"))
		},
		model: func(o *refineOptions) (string, error) {
			ds, err := toy.ParseDataset(o.Dataset)
			if err != nil {
				return "", err
			}
			path := toyDefaultModel(ds)
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("no model %s: train one first with `dgtext toy train --dataset %s`, or pass --model", path, ds)
			}
			return path, nil
		},
	}, nil)
}

// newMNISTRefineCmd is `dgtext mnist refine`: dgtext refine with mnist-gan.safetensors
// by default, and --grid for --plot.
func newMNISTRefineCmd() *cobra.Command {
	cmd := newRefineCmd(refineCmdSpec{
		short: "Refine a GAN's or VAE's samples and report the Fréchet distance (dgtext refine for MNIST)",
		long: `mnist refine is dgtext refine with --model ` + mnistGANFile + ` by default. It reports at
every saved step the Fréchet distance of the samples to the 10,000 test images in the
classifier's feature space. The critic is the GAN's own, or --corrector (the borrowed
discriminator plus the density-ratio corrector, d = D + c, needed for a VAE).
--grid (or --plot) draws the same latents before and after refinement. See dgtext
refine --help for every flag.`,
		example: `  dgtext mnist refine --model mnist-gan.safetensors --grid gan.png
  dgtext mnist refine --model mnist-vae.safetensors --corrector mnist-corrector.safetensors --grid vae.png`,
		model: func(*refineOptions) (string, error) { return mnistGANFile, nil },
	}, nil)
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "grid" {
			name = "plot"
		}
		return pflag.NormalizedName(strings.TrimSpace(name))
	})
	return cmd
}
