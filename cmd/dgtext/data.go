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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/data"
)

func init() { register(newDataCmd) }

// newDataCmd builds "dgtext data", the parent of the corpus tools.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Convert corpora between text, Parquet and JSONL, and describe them",
		Long: `Tools for corpora: plain text (one sentence per line, optionally .gz), Parquet
files with a string column, and JSON Lines.`,
	}
	cmd.AddCommand(newDataConvertCmd(), newDataStatsCmd(), newDataDownloadCmd())
	return cmd
}

// convertOptions holds the flags of "dgtext data convert".
type convertOptions struct {
	In          []string
	Out         string
	Column      string
	Compression string
	JSON        bool
	Ctx         context.Context // cancelled on Ctrl-C; nil means never
}

func newDataConvertCmd() *cobra.Command {
	opts := &convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert --in PATH... --out FILE",
		Short: "Convert text, .gz, Parquet or JSONL corpora to one Parquet, text or JSONL file",
		Long: `Convert reads every non-empty line of the inputs (files, folders or globs) and writes
them, in order, to one output file chosen by extension:

  .parquet  one required string column "text" (Snappy, row groups of ~16 MiB of text)
  .txt      one line per row
  .jsonl    {"text": ...} per line

Empty lines are skipped and invalid UTF-8 is replaced by U+FFFD; both are counted.
The output is written to a temporary file and renamed into place only on success,
so an interrupted run (Ctrl-C) leaves no partial file.`,
		Example: `  dgtext data convert --in shards/ --out corpus.parquet
  dgtext data convert --in corpus.parquet --out corpus.txt
  dgtext data convert --in 'hf/*.parquet' --column content --out corpus.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.Ctx = ctx
			return convertRun(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringSliceVar(&opts.In, "in", nil, "input files, folders or globs (repeat or separate with commas)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "output file: .parquet, .txt or .jsonl")
	cmd.Flags().StringVar(&opts.Column, "column", "text", "Parquet column (or JSONL field) holding the text of the inputs")
	cmd.Flags().StringVar(&opts.Compression, "compression", "snappy", "Parquet compression: snappy, zstd, gzip or none")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// convertResult is what convert reports (--json prints it as is).
type convertResult struct {
	Out         string           `json:"out"`
	Format      string           `json:"format"`
	Bytes       int64            `json:"bytes"`
	Files       int              `json:"files"`
	Lines       int64            `json:"lines"`
	Empty       int64            `json:"empty_lines"`
	InvalidUTF8 int64            `json:"invalid_utf8_lines"`
	Seconds     float64          `json:"seconds"`
	PerFile     []data.FileStats `json:"per_file"`
	Skipped     []string         `json:"skipped,omitempty"`
}

func convertRun(opts *convertOptions, stdout, stderr io.Writer) error {
	if len(opts.In) == 0 {
		return errors.New("no input: give --in PATH (files, folders or globs)")
	}
	if opts.Out == "" {
		return errors.New("no output: give --out FILE.parquet, .txt or .jsonl")
	}
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	w, err := data.CreateLineWriter(opts.Out, data.WriterOptions{Compression: opts.Compression, CreatedBy: "dgtext version " + version})
	if err != nil {
		return err
	}
	start := time.Now()
	var n int64
	st, err := data.ForEachLine(opts.In, data.ReadOptions{Column: opts.Column}, func(line string) error {
		n++
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted after %d lines; %s was not written", n, opts.Out)
			}
		}
		return w.WriteLine(line)
	})
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	res := convertResult{Out: opts.Out, Format: strings.TrimPrefix(strings.ToLower(filepath.Ext(opts.Out)), "."),
		Files: st.Files, Lines: st.Lines, Empty: st.Empty, InvalidUTF8: st.InvalidUTF8,
		Seconds: time.Since(start).Seconds(), PerFile: st.PerFile, Skipped: st.Skipped}
	if info, err := os.Stat(opts.Out); err == nil {
		res.Bytes = info.Size()
	}
	for _, s := range st.Skipped {
		fmt.Fprintf(stderr, "dgtext: skipped %s\n", s)
	}
	if st.InvalidUTF8 > 0 {
		fmt.Fprintf(stderr, "dgtext: %d lines held invalid UTF-8 (%d bytes replaced by U+FFFD)\n", st.InvalidUTF8, st.InvalidBytes)
	}
	if opts.JSON {
		return dataWriteJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%10s %8s %8s  %-7s  %s\n", "lines", "empty", "invalid", "format", "input")
	for _, f := range st.PerFile {
		fmt.Fprintf(stdout, "%10d %8d %8d  %-7s  %s\n", f.Lines, f.Empty, f.InvalidUTF8, f.Format, f.Path)
	}
	fmt.Fprintf(stdout, "%10d %8d %8d  %-7s  total of %d files\n", st.Lines, st.Empty, st.InvalidUTF8, "", st.Files)
	fmt.Fprintf(stdout, "wrote %d lines to %s (%s, %s) in %.2fs\n", st.Lines, opts.Out, res.Format, dataHumanBytes(res.Bytes), res.Seconds)
	return nil
}

// statsOptions holds the flags of "dgtext data stats".
type statsOptions struct {
	Paths  []string
	Corpus corpusFlags
	JSON   bool
	Top    int
}

func newDataStatsCmd() *cobra.Command {
	opts := &statsOptions{}
	cmd := &cobra.Command{
		Use:   "stats [PATH...]",
		Short: "Describe a corpus: lines, characters, vocabulary, line lengths, bad lines",
		Long: `Stats reads the given files, folders or globs (or, without paths, the train and
eval splits of --corpus) and reports lines, characters, vocabulary size (distinct
characters), a histogram of line lengths in characters, and the numbers of empty
lines (skipped) and of lines with invalid UTF-8 (repaired).`,
		Example: `  dgtext data stats corpus.parquet
  dgtext data stats --corpus billion-words --data-dir ../shared/data/billion-words --split shared
  dgtext data stats --json 'shards/*'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if len(args) > 0 && (cmd.Flags().Changed("corpus") || cmd.Flags().Changed("split") ||
				cmd.Flags().Changed("train-files") || cmd.Flags().Changed("eval-files") || cmd.Flags().Changed("data-dir")) {
				return errors.New("give either PATHs or --corpus and its flags, not both")
			}
			return statsRun(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.Corpus.addTo(cmd)
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the statistics as JSON")
	cmd.Flags().IntVar(&opts.Top, "top", 20, "number of most frequent characters to list")
	return cmd
}

// statsReport describes one set of files (--json prints a list of them).
type statsReport struct {
	Name         string           `json:"name"`
	Files        int              `json:"files"`
	Lines        int64            `json:"lines"`
	Empty        int64            `json:"empty_lines"`
	InvalidUTF8  int64            `json:"invalid_utf8_lines"`
	InvalidBytes int64            `json:"invalid_utf8_bytes"`
	Chars        int64            `json:"chars"`
	Bytes        int64            `json:"bytes"`
	Vocab        int              `json:"vocab_size"`
	MinLen       int              `json:"min_len"`
	MaxLen       int              `json:"max_len"`
	MeanLen      float64          `json:"mean_len"`
	OverSeqLen   int64            `json:"lines_over_32_chars"`
	Histogram    []histBucket     `json:"length_histogram"`
	TopChars     []charCount      `json:"top_chars"`
	PerFile      []data.FileStats `json:"per_file"`
	Skipped      []string         `json:"skipped,omitempty"`
}

type histBucket struct {
	Min   int   `json:"min"`
	Max   int   `json:"max"` // 0 = no upper bound
	Lines int64 `json:"lines"`
}

type charCount struct {
	Char  string `json:"char"`
	Count int64  `json:"count"`
}

func statsRun(opts *statsOptions, stdout, stderr io.Writer) error {
	type set struct {
		name  string
		paths []string
	}
	var sets []set
	readOpt := opts.Corpus.readOptions()
	if len(opts.Paths) > 0 {
		sets = append(sets, set{"input", opts.Paths})
	} else {
		c, err := opts.Corpus.resolve()
		if err != nil {
			return err
		}
		train, terr := c.TrainFiles()
		eval, eerr := c.EvalFiles()
		if terr != nil && eerr != nil {
			return fmt.Errorf("%v\n%v", terr, eerr)
		}
		for _, s := range []struct {
			name  string
			files []string
			err   error
		}{{"train", train, terr}, {"eval", eval, eerr}} {
			if s.err != nil {
				fmt.Fprintf(stderr, "dgtext: no %s split: %v\n", s.name, s.err)
				continue
			}
			sets = append(sets, set{s.name, s.files})
		}
	}
	var reports []statsReport
	for _, s := range sets {
		var p data.Profile
		st, err := data.ForEachLine(s.paths, readOpt, func(line string) error {
			p.Add(line)
			return nil
		})
		if err != nil {
			return err
		}
		reports = append(reports, makeReport(s.name, st, &p, opts.Top))
	}
	if opts.JSON {
		return dataWriteJSON(stdout, struct {
			Reports []statsReport `json:"reports"`
		}{reports})
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printReport(stdout, r)
	}
	return nil
}

func makeReport(name string, st data.Stats, p *data.Profile, top int) statsReport {
	r := statsReport{Name: name, Files: st.Files, Lines: st.Lines, Empty: st.Empty, InvalidUTF8: st.InvalidUTF8,
		InvalidBytes: st.InvalidBytes, Chars: st.Chars, Bytes: st.Bytes, Vocab: p.Vocab(), MinLen: p.MinLen,
		MaxLen: p.MaxLen, MeanLen: p.MeanLen(), OverSeqLen: p.OverLen, PerFile: st.PerFile, Skipped: st.Skipped}
	lo := 0
	for i, n := range p.Hist {
		b := histBucket{Min: lo + 1, Lines: n}
		if i < len(data.LengthBuckets) {
			b.Max = data.LengthBuckets[i]
			lo = b.Max
		}
		r.Histogram = append(r.Histogram, b)
	}
	runes, counts := p.TopChars(top)
	for i := range runes {
		r.TopChars = append(r.TopChars, charCount{string(runes[i]), counts[i]})
	}
	return r
}

func printReport(w io.Writer, r statsReport) {
	pct := func(n, of int64) string {
		if of == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
	}
	fmt.Fprintf(w, "%s\n", r.Name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  files\t%d\n", r.Files)
	fmt.Fprintf(tw, "  lines\t%d\n", r.Lines)
	fmt.Fprintf(tw, "  empty lines (skipped)\t%d\n", r.Empty)
	fmt.Fprintf(tw, "  lines with invalid UTF-8\t%d (%d bytes replaced by U+FFFD)\n", r.InvalidUTF8, r.InvalidBytes)
	fmt.Fprintf(tw, "  characters\t%d (%s UTF-8)\n", r.Chars, dataHumanBytes(r.Bytes))
	fmt.Fprintf(tw, "  vocabulary\t%d distinct characters\n", r.Vocab)
	fmt.Fprintf(tw, "  line length\tmean %.1f, min %d, max %d characters\n", r.MeanLen, r.MinLen, r.MaxLen)
	fmt.Fprintf(tw, "  longer than %d\t%d (%s, cut when training)\n", data.DefaultSeqLen, r.OverSeqLen, pct(r.OverSeqLen, r.Lines))
	tw.Flush()
	fmt.Fprintf(w, "  length histogram (characters per line):\n")
	var most int64
	for _, b := range r.Histogram {
		most = max(most, b.Lines)
	}
	for _, b := range r.Histogram {
		label := fmt.Sprintf("%d-%d", b.Min, b.Max)
		if b.Max == 0 {
			label = fmt.Sprintf("%d+", b.Min)
		}
		bar := 0
		if most > 0 {
			bar = int(40 * b.Lines / most)
		}
		fmt.Fprintf(w, "    %9s %9d %6s  %s\n", label, b.Lines, pct(b.Lines, r.Lines), strings.Repeat("#", bar))
	}
	if len(r.TopChars) > 0 {
		var parts []string
		for _, c := range r.TopChars {
			parts = append(parts, fmt.Sprintf("%q %d", c.Char, c.Count))
		}
		fmt.Fprintf(w, "  most frequent characters: %s\n", strings.Join(parts, ", "))
	}
	if len(r.PerFile) > 1 {
		fmt.Fprintf(w, "  per file:\n    %10s %8s %8s  %-7s  %s\n", "lines", "empty", "invalid", "format", "file")
		for _, f := range r.PerFile {
			fmt.Fprintf(w, "    %10d %8d %8d  %-7s  %s\n", f.Lines, f.Empty, f.InvalidUTF8, f.Format, f.Path)
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
}

func dataWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dataHumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
