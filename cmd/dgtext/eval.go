package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
)

func init() { register(newEvalCmd) }

// evalOptions holds the flags of "dgtext eval".
type evalOptions struct {
	Samples    []string
	Reference  []string
	Orders     []int
	SeqLen     int
	Words      bool
	JSON       bool
	NoCache    bool
	TrustMtime bool
	CacheDir   string
	Corpus     corpusFlags
	// CorpusSet is true when a corpus flag other than --column was given.
	CorpusSet bool
}

func newEvalCmd() *cobra.Command {
	opts := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval --samples PATH... (--reference PATH... | --corpus NAME)",
		Short: "Score samples against a reference corpus with n-gram Jensen–Shannon divergence",
		Long: `Eval computes the n-gram Jensen–Shannon divergence (JS-4, JS-6, ...) between the
lines of --samples and a reference corpus, exactly as the character-level WGAN-GP
language model does: each line is cut to --seq-len characters (code points) and
right-padded with '` + "`" + `'; every character n-gram of the padded lines counts;
probabilities are counts over totals; JS = ½[KL(P‖M) + KL(Q‖M)] / ln 2 in bits,
0 for identical and 1 for disjoint distributions.

The reference is --reference (files, folders or globs of text, .gz, Parquet or
JSONL) or, without it, the evaluation split of --corpus. Reference statistics are
cached (in $` + eval.CacheDirEnv + `, else $XDG_CACHE_HOME/dgtext or ~/.cache/dgtext), one
entry per file set and options. An entry is used only when the SHA-256 of every
reference file matches the one computed when it was counted, so any edit is
recounted; a corrupt cache file is rebuilt. --cache-trust-mtime skips reading the
files on a cache hit and trusts their path, size, modification time and first and
last 64 KiB instead: faster on large references, but blind to edits in place that
keep size and mtime (cp -p, rsync -t). --no-cache neither reads nor writes the cache.

With --json, stdout holds only
  {"samples": <lines>, "reference": <lines>, "js": {"4": <float>, "6": <float>}, ...}`,
		Example: `  dgtext eval --samples samples.parquet --reference heldout-00013.txt --json
  dgtext eval --samples out.txt --corpus billion-words --data-dir ../shared/data/billion-words --split shared
  dgtext eval --samples a.txt --reference 'ref/*.gz' -n 1,2,3,4,6 --no-cache`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range []string{"corpus", "data-dir", "split", "train-files", "eval-files"} {
				opts.CorpusSet = opts.CorpusSet || cmd.Flags().Changed(f)
			}
			return evalRun(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Samples, "samples", nil, "generated samples: files, folders or globs of text, .gz, Parquet or JSONL")
	fl.StringSliceVar(&opts.Reference, "reference", nil, "reference corpus: files, folders or globs (default: the eval split of --corpus)")
	fl.IntSliceVarP(&opts.Orders, "orders", "n", slices.Clone(eval.DefaultOrders), "n-gram orders, e.g. 4,6 or 1,2,3,4,6")
	fl.IntVar(&opts.SeqLen, "seq-len", eval.DefaultSeqLen, "characters per line: longer lines are cut, shorter ones padded with '`'")
	fl.BoolVar(&opts.Words, "words", false, "word n-grams (lower-cased, split on white space) instead of character n-grams")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON, and nothing else, on stdout")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "neither read nor write the reference statistics cache")
	fl.BoolVar(&opts.TrustMtime, "cache-trust-mtime", false, "use a cached reference when the files' size and mtime match, without hashing their content")
	fl.StringVar(&opts.CacheDir, "cache-dir", "", "cache folder (default $"+eval.CacheDirEnv+", else the user cache folder)/dgtext")
	opts.Corpus.addTo(cmd)
	_ = cmd.MarkFlagRequired("samples")
	return cmd
}

// evalResult is what eval reports; --json prints it as is.
type evalResult struct {
	Samples        int64              `json:"samples"`
	Reference      int64              `json:"reference"`
	JS             map[string]float64 `json:"js"`
	SeqLen         int                `json:"seq_len"`
	Words          bool               `json:"words"`
	SampleFiles    []string           `json:"sample_files"`
	ReferenceFiles []string           `json:"reference_files"`
	Cached         bool               `json:"reference_cached"`
	Seconds        float64            `json:"seconds"`
}

func evalRun(opts *evalOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	if len(opts.Samples) == 0 {
		return errors.New("no samples: give --samples PATH (text, .gz, Parquet or JSONL)")
	}
	opt := eval.Options{SeqLen: opts.SeqLen, Orders: opts.Orders, Words: opts.Words}
	if opts.SeqLen <= 0 {
		return fmt.Errorf("--seq-len %d: give a positive number of characters", opts.SeqLen)
	}
	if len(opts.Orders) == 0 {
		return errors.New("no n-gram orders: give -n, e.g. -n 4,6")
	}
	refPaths := opts.Reference
	switch {
	case len(refPaths) > 0 && opts.CorpusSet:
		return errors.New("give either --reference or --corpus and its flags, not both")
	case len(refPaths) == 0:
		c, err := opts.Corpus.resolve()
		if err != nil {
			return fmt.Errorf("no --reference, and the corpus gives none: %w", err)
		}
		if refPaths, err = c.EvalFiles(); err != nil {
			return fmt.Errorf("no --reference, and the corpus gives none: %w", err)
		}
	}
	readOpt := opts.Corpus.readOptions()

	// Samples first: cheap, and bad input fails before the reference is read.
	counter, err := eval.NewCounter(opt)
	if err != nil {
		return fmt.Errorf("%w (check -n and --seq-len)", err)
	}
	sampleRead, err := data.ForEachLine(opts.Samples, readOpt, func(line string) error {
		counter.Add(line)
		return nil
	})
	samples := counter.Stats()
	if err != nil {
		return fmt.Errorf("samples: %w", err)
	}

	t0 := time.Now()
	ref, info, err := eval.Reference(refPaths, opt, eval.ReferenceOptions{Read: readOpt, CacheDir: opts.CacheDir, NoCache: opts.NoCache, TrustMtime: opts.TrustMtime})
	if err != nil {
		return err
	}
	how := fmt.Sprintf("counted in %.2fs", time.Since(t0).Seconds())
	if info.Cached {
		check := "content checked by SHA-256"
		if info.Check == "mtime" {
			check = "size and mtime trusted"
		}
		how = fmt.Sprintf("loaded from %s, %s, in %.2fs", info.CachePath, check, time.Since(t0).Seconds())
	} else if info.CachePath != "" && info.CacheNote == "" {
		how += ", cached in " + info.CachePath
	}
	fmt.Fprintf(stderr, "dgtext eval: reference: %d lines in %d files (%s)\n", ref.Lines(), len(info.Files), how)
	if info.CacheNote != "" {
		fmt.Fprintf(stderr, "dgtext eval: warning: %s\n", info.CacheNote)
	}

	js, err := eval.JSAll(samples, ref)
	if err != nil {
		return err
	}
	res := evalResult{
		Samples:        samples.Lines(),
		Reference:      ref.Lines(),
		JS:             map[string]float64{},
		SeqLen:         samples.Options().SeqLen,
		Words:          opts.Words,
		ReferenceFiles: info.Files,
		Cached:         info.Cached,
	}
	for _, f := range sampleRead.PerFile {
		res.SampleFiles = append(res.SampleFiles, f.Path)
	}
	orders := make([]int, 0, len(js))
	for n, v := range js {
		res.JS[strconv.Itoa(n)] = v
		orders = append(orders, n)
	}
	sort.Ints(orders)
	res.Seconds = time.Since(start).Seconds()
	if opts.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	what := fmt.Sprintf("character n-grams of lines cut or padded to %d characters", res.SeqLen)
	if opts.Words {
		what = fmt.Sprintf("word n-grams of lines cut to %d characters", res.SeqLen)
	}
	fmt.Fprintf(stdout, "samples    %d lines\nreference  %d lines\n%s\n\n", res.Samples, res.Reference, what)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "n\tJS (bits)\tsample n-grams\treference n-grams\n")
	for _, n := range orders {
		fmt.Fprintf(tw, "%d\t%.6f\t%d distinct\t%d distinct\n", n, js[n], samples.Distinct(n), ref.Distinct(n))
	}
	return tw.Flush()
}
