package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/torch"
)

func init() { register(newSampleCmd) }

type sampleOptions struct {
	Ctx     context.Context // cancelled on Ctrl-C; nil means never
	compute computeFlags
	Model   string
	N       int
	Out     string
	Seed    int64
	Batch   int
}

func newSampleCmd() *cobra.Command {
	opts := &sampleOptions{}
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Generate text from a model (the bundled one by default)",
		Long: `sample draws latents z ~ N(0, I), decodes G(z) by taking the most likely character at
each position, and writes one row per sample (id, text, method "base", step 0, seed,
critic score) as Parquet, JSONL or plain text, chosen by the --out extension. It
streams in batches, so memory does not grow with --n, and a seed gives the same
lines on the CPU every time. Ctrl-C stops after the current batch: the samples
done so far go to NAME.partial.EXT, never to the --out name, which only ever holds
a complete run.`,
		Example: `  dgtext sample --n 10000 --out samples.txt
  dgtext sample --model runs/small/ckpt-00020000 --n 1000 --out samples.parquet --seed 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			return sampleRun(opts, cmd.ErrOrStderr())
		},
	}
	opts.compute.addTo(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Model, "model", "", "model folder written by dgtext train (default: the bundled model)")
	f.IntVarP(&opts.N, "n", "n", 1000, "number of samples")
	f.StringVarP(&opts.Out, "out", "o", "samples.txt", "output file: .parquet, .jsonl or .txt")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed")
	f.IntVar(&opts.Batch, "batch", 512, "samples generated together")
	return cmd
}

func sampleRun(opts *sampleOptions, stderr io.Writer) error {
	if opts.N < 1 {
		return fmt.Errorf("--n %d: must be at least 1", opts.N)
	}
	if err := checkOutNotModel(opts.Out, opts.Model); err != nil {
		return err
	}
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	dev, err := opts.compute.device()
	if err != nil {
		return err
	}
	m, _, err := charlm.LoadModel(opts.Model, dev)
	if err != nil {
		return err
	}
	m.Freeze()
	w, err := data.CreateSampleWriter(opts.Out, data.WriterOptions{CreatedBy: "dgtext " + version})
	if err != nil {
		return err
	}
	start := time.Now()
	done := 0
	err = m.SampleFunc(opts.N, opts.Batch, &opts.Seed, func(first int, texts []string, critic []float64) error {
		for i, t := range texts {
			if err := w.Write(data.Sample{ID: int64(first + i), Text: t, Method: "base", Step: 0, Seed: opts.Seed, Critic: critic[i]}); err != nil {
				return err
			}
		}
		done = first + len(texts)
		if done < opts.N {
			return ctx.Err()
		}
		return nil
	})
	if err != nil && ctx.Err() != nil && done > 0 {
		partial, cerr := w.ClosePartial()
		if cerr != nil {
			return fmt.Errorf("interrupted after %d of %d samples; saving them failed: %w", done, opts.N, cerr)
		}
		return fmt.Errorf("interrupted after %d of %d samples; partial samples in %s (%s was not written)", done, opts.N, partial, opts.Out)
	}
	if err != nil {
		w.Abort()
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted before the first batch; %s was not written", opts.Out)
		}
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sample: %d lines written to %s in %.1fs on %s\n", opts.N, opts.Out, time.Since(start).Seconds(), torch.DeviceName(dev))
	return nil
}

// checkOutNotModel refuses an --out that is one of the model's files.
func checkOutNotModel(out, model string) error {
	if model == "" {
		return nil
	}
	inputs := []string{model}
	if ents, err := os.ReadDir(model); err == nil {
		for _, e := range ents {
			inputs = append(inputs, filepath.Join(model, e.Name()))
		}
	}
	return data.CheckNotInput(out, inputs...)
}
