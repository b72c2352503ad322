package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
)

func init() { register(newEvalCmd) }

// evalOptions holds the flags of "dgtext eval".
type evalOptions struct {
	Ctx        context.Context // cancelled on Ctrl-C; nil means never
	Samples    []string
	Reference  []string
	Orders     []int
	SeqLen     int
	Words      bool
	JSON       bool
	NoCache    bool
	TrustMtime bool
	CacheDir   string
	// Step picks the rows of dgtext sample files (refine and sample outputs) to
	// score: "" or "last" (each file's last saved step), "all", or a step number.
	Step string
	// StepSet is true when --step was given.
	StepSet bool
	Corpus  corpusFlags
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

Sample files written by dgtext refine hold one row per sample and saved step
(step 0 is G(z)). By default eval scores each such file's last saved step and says
so; --step N scores step N, --step all every row together. Plain text and
corpus files are scored whole.

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
			opts.StepSet = cmd.Flags().Changed("step")
			opts.Ctx = cmd.Context()
			return evalRun(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Samples, "samples", nil, "generated samples: files, folders or globs of text, .gz, Parquet or JSONL")
	fl.StringSliceVar(&opts.Reference, "reference", nil, "reference corpus: files, folders or globs (default: the eval split of --corpus)")
	fl.IntSliceVarP(&opts.Orders, "orders", "n", slices.Clone(eval.DefaultOrders), "n-gram orders, e.g. 4,6 or 1,2,3,4,6")
	fl.StringVar(&opts.Step, "step", "last", "rows of refine/sample outputs to score: last (each file's last saved step), all, or a step number")
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
	SampleSteps    []sampleStepUse    `json:"sample_steps,omitempty"`
	ReferenceFiles []string           `json:"reference_files"`
	Cached         bool               `json:"reference_cached"`
	Seconds        float64            `json:"seconds"`
}

func evalRun(opts *evalOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
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
	sampleRead, steps, err := countSamples(ctx, opts, readOpt, counter)
	samples := counter.Stats()
	if err != nil {
		return err
	}
	if samples.Lines() == 0 {
		return fmt.Errorf("samples: %s: %w", strings.Join(opts.Samples, ", "), data.ErrEmptyCorpus)
	}
	for _, u := range steps {
		fmt.Fprintf(stderr, "dgtext eval: samples: %s\n", u.describe())
	}

	t0 := time.Now()
	ref, info, err := eval.ReferenceContext(ctx, refPaths, opt, eval.ReferenceOptions{Read: readOpt, CacheDir: opts.CacheDir, NoCache: opts.NoCache, TrustMtime: opts.TrustMtime})
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
	for _, u := range steps {
		res.SampleFiles = append(res.SampleFiles, u.File)
	}
	res.SampleSteps = steps
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
	fmt.Fprintf(stdout, "samples    %d lines%s\nreference  %d lines\n%s\n\n", res.Samples, stepNote(steps), res.Reference, what)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "n\tJS (bits)\tsample n-grams\treference n-grams\n")
	for _, n := range orders {
		fmt.Fprintf(tw, "%d\t%.6f\t%d distinct\t%d distinct\n", n, js[n], samples.Distinct(n), ref.Distinct(n))
	}
	return tw.Flush()
}

// sampleStepUse says which rows of one dgtext sample file were scored.
type sampleStepUse struct {
	File  string `json:"file"`
	Steps []int  `json:"steps"`          // the steps the file holds
	Step  *int   `json:"step,omitempty"` // the step scored; absent with --step all
	Rows  int    `json:"rows"`           // rows scored
	Of    int    `json:"of"`             // rows in the file
	Last  bool   `json:"-"`              // Step is the default (the last step)
}

func (u sampleStepUse) describe() string {
	steps := joinInts(u.Steps)
	switch {
	case u.Step == nil:
		return fmt.Sprintf("%s: every step together (%s): %d rows", u.File, steps, u.Rows)
	case u.Last && len(u.Steps) > 1:
		return fmt.Sprintf("%s: step %d, the last of steps %s: %d of %d rows (--step N for another, --step all for every row)", u.File, *u.Step, steps, u.Rows, u.Of)
	}
	return fmt.Sprintf("%s: step %d (steps %s): %d of %d rows", u.File, *u.Step, steps, u.Rows, u.Of)
}

// stepNote is the table's remark on which steps were scored.
func stepNote(steps []sampleStepUse) string {
	if len(steps) == 0 {
		return ""
	}
	var parts []string
	for _, u := range steps {
		if u.Step == nil {
			parts = append(parts, filepath.Base(u.File)+": every step")
		} else {
			parts = append(parts, fmt.Sprintf("%s: step %d", filepath.Base(u.File), *u.Step))
		}
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// countSamples adds the samples to counter: plain text and corpus files whole,
// dgtext sample files (refine and sample outputs) at the step --step picks.
func countSamples(ctx context.Context, opts *evalOptions, readOpt data.ReadOptions, counter *eval.Counter) (data.Stats, []sampleStepUse, error) {
	want, all := -1, false
	switch opts.Step {
	case "", "last":
	case "all":
		all = true
	default:
		n, err := strconv.Atoi(opts.Step)
		if err != nil || n < 0 {
			return data.Stats{}, nil, fmt.Errorf("--step %q: give last, all or a step number (0 = the unrefined samples)", opts.Step)
		}
		want = n
	}
	files, err := data.ExpandPaths(opts.Samples)
	if err != nil {
		return data.Stats{}, nil, fmt.Errorf("samples: %w", err)
	}
	var plain []data.InputFile
	var uses []sampleStepUse
	for _, f := range files {
		if !data.IsSampleFile(f.Path) {
			plain = append(plain, f)
			continue
		}
		rows, err := data.ReadSamples(f.Path)
		if err != nil {
			return data.Stats{}, nil, fmt.Errorf("samples: %w", err)
		}
		u := sampleStepUse{File: f.Path, Steps: data.SampleSteps(rows), Of: len(rows)}
		if len(rows) == 0 {
			return data.Stats{}, nil, fmt.Errorf("samples: %s holds no samples", f.Path)
		}
		if !all {
			step := want
			if step < 0 {
				step, u.Last = u.Steps[len(u.Steps)-1], true
			} else if !slices.Contains(u.Steps, step) {
				return data.Stats{}, nil, fmt.Errorf("--step %d: %s holds steps %s", step, f.Path, joinInts(u.Steps))
			}
			u.Step = &step
		}
		for _, r := range rows {
			if (all || r.Step == *u.Step) && r.Text != "" {
				counter.Add(r.Text)
				u.Rows++
			}
		}
		uses = append(uses, u)
	}
	if opts.StepSet && len(uses) == 0 {
		return data.Stats{}, nil, fmt.Errorf("--step %s: no sample file has steps (only Parquet or JSONL written by dgtext refine or sample do); drop --step to score the files whole", opts.Step)
	}
	var st data.Stats
	if len(plain) > 0 {
		st, err = data.ForEachLineFiles(ctx, plain, readOpt, func(line string) error {
			counter.Add(line)
			return nil
		})
		if err != nil && !(errors.Is(err, data.ErrEmptyCorpus) && len(uses) > 0) {
			return st, uses, fmt.Errorf("samples: %w", err)
		}
	}
	return st, uses, nil
}
