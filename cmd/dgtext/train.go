package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/torch"
)

func init() { register(newTrainCmd) }

type trainOptions struct {
	corpus  corpusFlags
	compute computeFlags
	Out     string
	Resume  string
	Export  string
	Half    bool
	JSON    bool
	Quiet   bool

	Preset   string
	Dim      int
	Blocks   int
	Latent   int
	VocabCap int
	MaxLines int

	Train charlm.TrainConfig
}

func newTrainCmd() *cobra.Command {
	opts := &trainOptions{Train: charlm.DefaultTrainConfig()}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the character-level WGAN-GP language model",
		Long: `train fits the WGAN-GP character language model (Gulrajani et al. 2017) to a corpus:
lines cut to 32 characters and padded with '` + "`" + `', a residual conv generator with a softmax
output and a critic that mirrors it, gradient penalty 10, Adam 1e-4 (0.5, 0.9).

Checkpoints (ckpt-NNNNNNNN folders under --out) hold weights, optimiser state,
iteration, RNG seed, charmap and config, and are written atomically; --resume DIR
continues from the newest one exactly. Ctrl-C saves a checkpoint before exiting.
A NaN or Inf loss stops training after saving the last good state.`,
		Example: `  # a small model on the shared split, on whatever device is best
  dgtext train --preset small --corpus billion-words --data-dir ../shared/data/billion-words --split shared --out runs/small

  # continue it
  dgtext train --resume runs/small --iters 20000 --corpus billion-words --data-dir ../shared/data/billion-words --split shared`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return trainRun(ctx, opts, cmd.Flags().Changed, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	opts.corpus.addTo(cmd)
	opts.compute.addTo(cmd)
	f.StringVar(&opts.Out, "out", "", "folder for checkpoints (required unless --resume)")
	f.StringVar(&opts.Resume, "resume", "", "continue from the newest checkpoint in this folder")
	f.StringVar(&opts.Export, "export", "", "also write the final model (no optimiser state) to this folder")
	f.BoolVar(&opts.Half, "half", false, "store exported weights as float16 (half the size)")
	f.BoolVar(&opts.JSON, "json", false, "print the training log as JSON on stdout when done")
	f.BoolVar(&opts.Quiet, "quiet", false, "no progress bar")
	f.StringVar(&opts.Preset, "preset", "small", "architecture: "+strings.Join(charlm.PresetNames(), ", "))
	f.IntVar(&opts.Dim, "dim", 0, "channels of every conv layer (overrides the preset)")
	f.IntVar(&opts.Blocks, "blocks", 0, "residual blocks (overrides the preset)")
	f.IntVar(&opts.Latent, "latent", 0, "latent dimension (overrides the preset)")
	f.IntVar(&opts.VocabCap, "vocab-cap", 0, "largest charmap, 'unk' included (default: the preset's)")
	f.IntVar(&opts.MaxLines, "max-lines", 2_000_000, "training lines held in memory (0 = all)")
	t := &opts.Train
	f.IntVar(&t.Iters, "iters", t.Iters, "total generator iterations")
	f.IntVar(&t.Batch, "batch", t.Batch, "batch size")
	f.IntVar(&t.CriticIters, "critic-iters", t.CriticIters, "critic updates per generator update")
	f.Float64Var(&t.LR, "lr", t.LR, "Adam learning rate")
	f.Float64Var(&t.Beta1, "beta1", t.Beta1, "Adam β₁")
	f.Float64Var(&t.Beta2, "beta2", t.Beta2, "Adam β₂")
	f.Float64Var(&t.Lambda, "lambda", t.Lambda, "gradient-penalty weight")
	f.Int64Var(&t.Seed, "seed", t.Seed, "random seed (training is reproducible on CPU for a seed)")
	f.IntVar(&t.LogEvery, "log-every", t.LogEvery, "log every N iterations (0 = never)")
	f.IntVar(&t.CheckpointEvery, "checkpoint-every", t.CheckpointEvery, "checkpoint every N iterations")
	f.IntVar(&t.KeepLast, "keep", t.KeepLast, "checkpoints to keep (0 = all)")
	f.IntVar(&t.EvalSamples, "eval-samples", t.EvalSamples, "samples scored for JS-4 at each log line")
	_ = cmd.RegisterFlagCompletionFunc("preset", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return charlm.PresetNames(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// loadTrainData reads the corpus's training lines (and evaluation lines when there are
// some) for training.
func loadTrainData(cf *corpusFlags, maxLines int, stderr io.Writer) (train, evalLines []string, desc string, err error) {
	c, err := cf.resolve()
	if err != nil {
		return nil, nil, "", err
	}
	trainFiles, err := c.TrainFiles()
	if err != nil {
		return nil, nil, "", err
	}
	stop := errors.New("enough lines")
	st, err := data.ForEachLine(trainFiles, cf.readOptions(), func(l string) error {
		train = append(train, l)
		if maxLines > 0 && len(train) >= maxLines {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, nil, "", err
	}
	fmt.Fprintf(stderr, "train: %d lines from %d file(s) (%d empty skipped, %d invalid UTF-8 replaced)\n", len(train), len(trainFiles), st.Empty, st.InvalidUTF8)
	if evalFiles, err := c.EvalFiles(); err == nil {
		evalLines, _, err = data.ReadLines(evalFiles, cf.readOptions())
		if err != nil {
			return nil, nil, "", err
		}
		fmt.Fprintf(stderr, "train: %d held-out lines for JS-4 from %s\n", len(evalLines), strings.Join(relPaths(evalFiles), ", "))
	}
	desc = fmt.Sprintf("%s: train %s (%d lines)", c.Name, strings.Join(relPaths(trainFiles), ", "), len(train))
	return train, evalLines, desc, nil
}

func relPaths(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = filepath.Base(p)
	}
	return out
}

func trainRun(ctx context.Context, opts *trainOptions, changed func(string) bool, stdout, stderr io.Writer) error {
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	trainLines, evalLines, desc, err := loadTrainData(&opts.corpus, opts.MaxLines, stderr)
	if err != nil {
		return err
	}
	var tr *charlm.Trainer
	dir := opts.Out
	if opts.Resume != "" {
		if dir != "" && dir != opts.Resume {
			return fmt.Errorf("--out %s and --resume %s differ; a resumed run writes to its own folder", dir, opts.Resume)
		}
		dir = opts.Resume
		var from string
		tr, from, err = charlm.Resume(dir, dev, trainLines, evalLines)
		if err != nil {
			return err
		}
		// Flags given explicitly on a resume change the run's length and bookkeeping,
		// and --lr the learning rate (to anneal); the architecture and the rest of the
		// recipe come from the checkpoint.
		for name, dst := range map[string]*int{"iters": &tr.Config.Iters, "log-every": &tr.Config.LogEvery, "checkpoint-every": &tr.Config.CheckpointEvery, "keep": &tr.Config.KeepLast, "eval-samples": &tr.Config.EvalSamples} {
			if changed(name) {
				v := map[string]int{"iters": opts.Train.Iters, "log-every": opts.Train.LogEvery, "checkpoint-every": opts.Train.CheckpointEvery, "keep": opts.Train.KeepLast, "eval-samples": opts.Train.EvalSamples}[name]
				*dst = v
			}
		}
		if changed("lr") {
			if !(opts.Train.LR > 0) {
				return fmt.Errorf("--lr %g: must be positive", opts.Train.LR)
			}
			fmt.Fprintf(stderr, "train: learning rate %g → %g from iteration %d\n", tr.Config.LR, opts.Train.LR, tr.Iter+1)
			tr.SetLR(opts.Train.LR)
		}
		fmt.Fprintf(stderr, "train: resuming from %s at iteration %d of %d\n", from, tr.Iter, tr.Config.Iters)
	} else {
		if dir == "" {
			return errors.New("--out DIR is required (where checkpoints go), or --resume DIR to continue a run")
		}
		if cks, _ := charlm.ListCheckpoints(dir); len(cks) > 0 {
			return fmt.Errorf("%s already holds checkpoints; continue with --resume %s or choose another --out", dir, dir)
		}
		cfg, err := charlm.Preset(opts.Preset)
		if err != nil {
			return err
		}
		if opts.Dim > 0 {
			cfg.Dim = opts.Dim
		}
		if opts.Blocks > 0 {
			cfg.Blocks = opts.Blocks
		}
		if opts.Latent > 0 {
			cfg.Latent = opts.Latent
		}
		if opts.VocabCap > 0 {
			cfg.VocabCap = opts.VocabCap
		}
		if opts.Dim > 0 || opts.Blocks > 0 || opts.Latent > 0 {
			cfg.Preset = "custom"
		}
		cm := data.BuildCharmap(trainLines, cfg.SeqLen, cfg.VocabCap)
		torch.Seed(opts.Train.Seed)
		m, err := charlm.NewModel(cfg, cm, dev)
		if err != nil {
			return err
		}
		tr, err = charlm.NewTrainer(m, opts.Train, trainLines, evalLines, desc)
		if err != nil {
			return err
		}
		g, d := m.NumParams()
		fmt.Fprintf(stderr, "train: preset %s (dim %d, %d blocks, latent %d, vocab %d): %d + %d parameters on %s, %d threads\n",
			cfg.Preset, cfg.Dim, cfg.Blocks, cfg.Latent, m.Config.Vocab, g, d, torch.DeviceName(dev), torch.Threads())
	}
	start := time.Now()
	runErr := tr.Run(ctx, charlm.RunOptions{Dir: dir, Log: stderr, Bar: showBar(stderr, opts.Quiet)})
	fmt.Fprintf(stderr, "train: %d iterations, %s this run, checkpoints in %s\n", tr.Iter, time.Since(start).Round(time.Second), dir)
	if errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("interrupted at iteration %d; the checkpoint is saved: continue with --resume %s", tr.Iter, dir)
	}
	if runErr != nil {
		return runErr
	}
	if opts.Export != "" {
		meta := charlm.Manifest{Train: &tr.Config, Iter: tr.Iter, Corpus: tr.Corpus, History: tr.History, Seconds: tr.Elapsed()}
		if err := tr.Model.Export(opts.Export, opts.Half, meta); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "train: exported the model to %s\n", opts.Export)
	}
	if opts.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"iter": tr.Iter, "dir": dir, "history": tr.History})
	}
	return nil
}
