package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BillionWords is the name of the One Billion Word benchmark corpus.
const BillionWords = "billion-words"

// BillionWordsRelease is the folder name of the benchmark release archive.
const BillionWordsRelease = "1-billion-word-language-modeling-benchmark-r13output"

// BillionWordsURL is where the One Billion Word benchmark is published.
const BillionWordsURL = "https://www.statmt.org/lm-benchmark/"

// DataDirEnv names the environment variable consulted for the data folder.
const DataDirEnv = "DGTEXT_DATA_DIR"

// Default splits of the benchmark, relative to the release folder.
var (
	// BillionWordsTrain is the default training split: all 100 training shards.
	BillionWordsTrain = []string{"training-monolingual.tokenized.shuffled/news.en-*-of-00100"}
	// BillionWordsEval is the default evaluation split: the standard test shard.
	BillionWordsEval = []string{"heldout-monolingual.tokenized.shuffled/news.en.heldout-00000-of-00050"}
)

// The shared split: the sample of the benchmark that this project's tests,
// benchmarks and bundled model use (see shared/data/README.md). Select it with
// CorpusOptions.Split = "shared" (--split shared) or by passing these globs as
// TrainFiles and EvalFiles.
var (
	// SharedTrainFiles: held-out shards 00010-00012 and the 1000-line training sample (19,202 lines).
	SharedTrainFiles = []string{
		"heldout-monolingual.tokenized.shuffled/news.en.heldout-0001[012]-of-00050",
		"training-sample/*.txt",
	}
	// SharedEvalFiles: held-out shard 00013 (6,119 lines), never used for training.
	SharedEvalFiles = []string{"heldout-monolingual.tokenized.shuffled/news.en.heldout-00013-of-00050"}
)

// Split names accepted by CorpusOptions.Split.
const (
	SplitDefault = "default" // the benchmark's own split (also the empty string)
	SplitShared  = "shared"  // SharedTrainFiles / SharedEvalFiles
)

// CorpusOptions selects where a named corpus lives and which files form its splits.
type CorpusOptions struct {
	// DataDir is the billion-words data folder (--data-dir). Empty means
	// $DGTEXT_DATA_DIR, then ./data/billion-words.
	DataDir string
	// TrainFiles and EvalFiles are globs relative to the data folder (a glob
	// that matches nothing there is also tried relative to the release folder and
	// its parent). They override the split's defaults.
	TrainFiles, EvalFiles []string
	// Split chooses default train and eval files: "" or "default" for the
	// benchmark's split, "shared" for SharedTrainFiles and SharedEvalFiles.
	Split string
}

// Corpus is a resolved corpus: the files of its train and evaluation splits.
type Corpus struct {
	Name  string   // "billion-words", or the path given
	Dir   string   // data folder the globs were resolved against ("" for a path corpus that is not a folder)
	Train []string // resolved training files
	Eval  []string // resolved evaluation files
	// TrainErr and EvalErr are set, and the split left empty, when the
	// benchmark's default files for that split are missing (a partial copy such
	// as the shared sample), so that a command needing only the other split
	// still works. Use TrainFiles and EvalFiles to get the files or that error.
	TrainErr, EvalErr error
}

// TrainFiles returns the training files, or why there are none.
func (c *Corpus) TrainFiles() ([]string, error) {
	return splitFiles(c.Train, c.TrainErr, "train", c.Name)
}

// EvalFiles returns the evaluation files, or why there are none.
func (c *Corpus) EvalFiles() ([]string, error) { return splitFiles(c.Eval, c.EvalErr, "eval", c.Name) }

func splitFiles(files []string, err error, split, name string) ([]string, error) {
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("corpus %s has no %s files; give --%s-files", name, split, split)
	}
	return files, nil
}

// SharedSplit returns the shared split of a billion-words data folder (the
// folder holding the release folder and training-sample/, or the release folder
// itself): train = held-out shards 00010-00012 plus training-sample/*.txt,
// eval = held-out shard 00013.
func SharedSplit(dataDir string) (*Corpus, error) {
	return ResolveCorpus(BillionWords, CorpusOptions{DataDir: dataDir, Split: SplitShared})
}

// ResolveCorpus resolves a corpus name or path to files.
//
// "billion-words" is looked for in opt.DataDir when set (and only there);
// otherwise in $DGTEXT_DATA_DIR, then ./data/billion-words. A place is accepted
// when it is the release folder (1-billion-word-language-modeling-benchmark-r13output,
// recognised by its heldout-monolingual.tokenized.shuffled or
// training-monolingual.tokenized.shuffled folder) or contains it, directly or
// under billion-words/. The default splits are the benchmark's: train =
// training-monolingual.tokenized.shuffled/news.en-*-of-00100, eval =
// heldout-monolingual.tokenized.shuffled/news.en.heldout-00000-of-00050.
// When nothing is found, the error names every place looked, the expected
// layout and where the benchmark is published. When the folder is found but a
// split's default files are not (a partial copy), that split is left empty and
// its error kept in Corpus.TrainErr or EvalErr; globs given by the user must match.
//
// Any other name is a path or glob (file, folder, text, .gz or Parquet) used for
// both Train and Eval; if it is a folder, TrainFiles and EvalFiles (when given)
// are globs relative to it.
func ResolveCorpus(nameOrPath string, opt CorpusOptions) (*Corpus, error) {
	if nameOrPath == "" {
		nameOrPath = BillionWords
	}
	train, eval, err := splitGlobs(opt)
	if err != nil {
		return nil, err
	}
	if nameOrPath == BillionWords {
		return resolveBillionWords(opt, train, eval)
	}
	return resolvePathCorpus(nameOrPath, opt, train, eval)
}

// splitGlobs returns the train and eval globs chosen by opt (nil = benchmark default).
func splitGlobs(opt CorpusOptions) (train, eval []string, err error) {
	switch opt.Split {
	case "", SplitDefault:
	case SplitShared:
		train, eval = SharedTrainFiles, SharedEvalFiles
	default:
		return nil, nil, fmt.Errorf("unknown split %q; use %q or %q", opt.Split, SplitDefault, SplitShared)
	}
	if len(opt.TrainFiles) > 0 {
		train = opt.TrainFiles
	}
	if len(opt.EvalFiles) > 0 {
		eval = opt.EvalFiles
	}
	return train, eval, nil
}

func resolveBillionWords(opt CorpusOptions, train, eval []string) (*Corpus, error) {
	type place struct{ dir, source string }
	var places []place
	if opt.DataDir != "" {
		places = append(places, place{opt.DataDir, "--data-dir"})
	} else {
		if env := os.Getenv(DataDirEnv); env != "" {
			places = append(places, place{env, "$" + DataDirEnv})
		}
		places = append(places, place{filepath.Join("data", BillionWords), "default"})
	}
	var looked []string
	for _, p := range places {
		release, why := findRelease(p.dir)
		if release == "" && !(len(opt.TrainFiles) > 0 && len(opt.EvalFiles) > 0 && isDir(p.dir)) {
			where := p.dir
			if abs, err := filepath.Abs(p.dir); err == nil && abs != p.dir {
				where += " = " + abs
			}
			looked = append(looked, fmt.Sprintf("  %s (%s): %s", where, p.source, why))
			continue
		}
		c := &Corpus{Name: BillionWords, Dir: p.dir}
		bases := globBases(p.dir, release)
		var err error
		// Globs the user gave must match; the benchmark's defaults may be
		// missing from a partial copy, which only matters to a command using
		// that split.
		if c.Train, err = resolveSplit("train", train, BillionWordsTrain, bases, release); err != nil {
			if train != nil {
				return nil, err
			}
			c.TrainErr = err
		}
		if c.Eval, err = resolveSplit("eval", eval, BillionWordsEval, bases, release); err != nil {
			if eval != nil {
				return nil, err
			}
			c.EvalErr = err
		}
		return c, nil
	}
	var b strings.Builder
	b.WriteString("corpus billion-words not found. Looked in:\n")
	b.WriteString(strings.Join(looked, "\n"))
	if opt.DataDir != "" {
		b.WriteString("\n  ($" + DataDirEnv + " and ./data/billion-words were not consulted because --data-dir was given)")
	} else if os.Getenv(DataDirEnv) == "" {
		b.WriteString("\n  ($" + DataDirEnv + " is not set)")
	}
	b.WriteString("\nExpected layout (the official release, unpacked):\n")
	b.WriteString("  DIR/" + BillionWordsRelease + "/training-monolingual.tokenized.shuffled/news.en-000NN-of-00100\n")
	b.WriteString("  DIR/" + BillionWordsRelease + "/heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050\n")
	b.WriteString("The benchmark is published at " + BillionWordsURL + " (1-billion-word-language-modeling-benchmark-r13output.tar.gz).\n")
	b.WriteString("Pass its folder with --data-dir DIR or set $" + DataDirEnv + "=DIR, or use --corpus PATH for your own text or Parquet files.")
	return nil, errors.New(b.String())
}

// findRelease returns the release folder at or under dir, or "" and why not.
func findRelease(dir string) (string, string) {
	if !isDir(dir) {
		if _, err := os.Stat(dir); err != nil {
			return "", "does not exist"
		}
		return "", "is not a folder"
	}
	for _, cand := range []string{
		dir,
		filepath.Join(dir, BillionWordsRelease),
		filepath.Join(dir, BillionWords),
		filepath.Join(dir, BillionWords, BillionWordsRelease),
	} {
		if isDir(filepath.Join(cand, "heldout-monolingual.tokenized.shuffled")) ||
			isDir(filepath.Join(cand, "training-monolingual.tokenized.shuffled")) {
			return cand, ""
		}
	}
	return "", "no " + BillionWordsRelease + " folder (with heldout-monolingual.tokenized.shuffled/ or training-monolingual.tokenized.shuffled/) in it"
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// globBases lists the folders relative globs are tried against, in order: the
// data folder, the release folder, and the release folder's parent.
func globBases(dataDir, release string) []string {
	var bases []string
	seen := map[string]bool{}
	for _, b := range []string{dataDir, release, filepath.Dir(release)} {
		if b == "" || (b == "." && release == "") {
			continue
		}
		key := filepath.Clean(b)
		if !seen[key] {
			seen[key] = true
			bases = append(bases, b)
		}
	}
	return bases
}

// resolveSplit expands the globs of one split (defaults relative to the release folder).
func resolveSplit(split string, globs, defaults []string, bases []string, release string) ([]string, error) {
	if len(globs) == 0 {
		if release == "" {
			return nil, fmt.Errorf("no %s files: give --%s-files", split, split)
		}
		files, err := matchGlobs(defaults, []string{release})
		if err != nil {
			return nil, fmt.Errorf("corpus %s, %s split: %v in %s. The full release has these files; with a partial copy "+
				"(such as the project's shared sample) use --split shared or --%s-files GLOB", BillionWords, split, err, release, split)
		}
		return files, nil
	}
	files, err := matchGlobs(globs, bases)
	if err != nil {
		return nil, fmt.Errorf("%s split: %w", split, err)
	}
	return files, nil
}

// matchGlobs expands each glob against the first base where it matches
// (absolute globs as they are). Folders are expanded to their corpus files.
func matchGlobs(globs, bases []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, g := range globs {
		var tried []string
		var matches []string
		cands := []string{g}
		if !filepath.IsAbs(g) {
			cands = cands[:0]
			for _, b := range bases {
				cands = append(cands, filepath.Join(b, g))
			}
		}
		for _, c := range cands {
			m, err := filepath.Glob(c)
			if err != nil {
				return nil, fmt.Errorf("bad glob %q: %v", g, err)
			}
			if len(m) > 0 {
				matches = m
				break
			}
			tried = append(tried, c)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no files match %s", strings.Join(tried, " or "))
		}
		sort.Strings(matches)
		for _, m := range matches {
			files := []string{m}
			if isDir(m) {
				var err error
				if files, err = walkFolder(m); err != nil {
					return nil, err
				}
			}
			for _, f := range files {
				if !seen[f] {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
	}
	return out, nil
}

// resolvePathCorpus resolves a file, folder or glob corpus.
func resolvePathCorpus(path string, opt CorpusOptions, train, eval []string) (*Corpus, error) {
	if opt.Split == SplitShared {
		return nil, fmt.Errorf("--split shared applies to --corpus %s only; for corpus %s give --train-files and --eval-files", BillionWords, path)
	}
	c := &Corpus{Name: path}
	if isDir(path) && (len(train) > 0 || len(eval) > 0) {
		c.Dir = path
		all, err := ExpandPaths([]string{path})
		if err != nil {
			return nil, fmt.Errorf("corpus %s: %w", path, err)
		}
		c.Train, c.Eval = inputPaths(all), inputPaths(all)
		if len(train) > 0 {
			if c.Train, err = matchGlobs(train, []string{path}); err != nil {
				return nil, fmt.Errorf("corpus %s: train split: %w", path, err)
			}
		}
		if len(eval) > 0 {
			if c.Eval, err = matchGlobs(eval, []string{path}); err != nil {
				return nil, fmt.Errorf("corpus %s: eval split: %w", path, err)
			}
		}
		return c, nil
	}
	if len(train) > 0 || len(eval) > 0 {
		return nil, fmt.Errorf("--train-files and --eval-files need --corpus %s or a folder; %s is not a folder", BillionWords, path)
	}
	files, err := ExpandPaths([]string{path})
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", path, err)
	}
	if isDir(path) {
		c.Dir = path
	}
	c.Train, c.Eval = inputPaths(files), inputPaths(files)
	return c, nil
}

func inputPaths(files []InputFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}
