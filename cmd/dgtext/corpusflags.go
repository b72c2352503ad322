package main

import (
	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/data"
)

// corpusFlags are the flags of every command that reads a corpus.
type corpusFlags struct {
	Corpus, DataDir, Column string
	TrainFiles, EvalFiles   []string
	Split                   string
}

// addTo registers --corpus, --data-dir, --split, --train-files, --eval-files and --column.
func (f *corpusFlags) addTo(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Corpus, "corpus", data.BillionWords,
		`corpus: "billion-words" (the One Billion Word benchmark, looked for in `+data.CorpusPlacesHelp+
			`), or a file, folder or glob of text, .gz, Parquet or JSONL files`)
	fl.StringVar(&f.DataDir, "data-dir", "",
		"folder holding the billion-words release ("+data.BillionWordsRelease+") or the release folder itself")
	fl.StringVar(&f.Split, "split", "",
		`file split of billion-words: "default" (train = training-monolingual.tokenized.shuffled/*, eval = held-out shard 00000) or "shared" (train = held-out shards 00010-00012 + training-sample/*.txt, eval = held-out shard 00013)`)
	fl.StringSliceVar(&f.TrainFiles, "train-files", nil, "training files: globs relative to the data folder (override --split)")
	fl.StringSliceVar(&f.EvalFiles, "eval-files", nil, "evaluation files: globs relative to the data folder (override --split)")
	fl.StringVar(&f.Column, "column", "text", "Parquet column (or JSONL field) holding the text")
	_ = cmd.RegisterFlagCompletionFunc("split", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{data.SplitDefault, data.SplitShared}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.MarkFlagDirname("data-dir")
}

// resolve finds the corpus files. A split whose default files are missing is
// left empty with its reason in the Corpus (see data.Corpus.TrainFiles).
func (f *corpusFlags) resolve() (*data.Corpus, error) {
	return data.ResolveCorpus(f.Corpus, f.options())
}

// options are where the corpus is looked for and which files form its splits.
func (f *corpusFlags) options() data.CorpusOptions {
	return data.CorpusOptions{DataDir: f.DataDir, TrainFiles: f.TrainFiles, EvalFiles: f.EvalFiles, Split: f.Split}
}

// readOptions are the options to read the corpus files with.
func (f *corpusFlags) readOptions() data.ReadOptions {
	return data.ReadOptions{Column: f.Column}
}
