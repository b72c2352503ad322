package data

import (
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
	// DataDir is the billion-words data folder (--data-dir). Empty means the
	// places of CorpusPlaces: $DGTEXT_DATA_DIR, the XDG data folder, ./data.
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
// otherwise in $DGTEXT_DATA_DIR, the XDG data folder ($XDG_DATA_HOME/dgtext,
// default ~/.local/share/dgtext, where DownloadCommand puts it) and ./data (see
// CorpusPlaces). A place is accepted when it is the release folder
// (1-billion-word-language-modeling-benchmark-r13output, recognised by its
// heldout-monolingual.tokenized.shuffled or training-monolingual.tokenized.shuffled
// folder) or contains it, directly or under billion-words/ (Corpus.Dir is then
// that billion-words/ folder). The default splits are the benchmark's: train =
// training-monolingual.tokenized.shuffled/news.en-*-of-00100, eval =
// heldout-monolingual.tokenized.shuffled/news.en.heldout-00000-of-00050.
// When nothing is found, the error is a *CorpusNotFoundError: it names every
// place looked, the expected layout and the command that downloads the corpus.
// When the folder is found but a split's default files are not (a partial
// copy), that split is left empty and its error kept in Corpus.TrainErr or
// EvalErr; globs given by the user must match.
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

// XDGDataFolder is the name of dgtext's folder under the XDG data home.
const XDGDataFolder = "dgtext"

// DownloadCommand is the command that fetches the benchmark into the default place.
const DownloadCommand = "dgtext data download " + BillionWords

// Place is one folder where "billion-words" is looked for, and why it is looked at.
type Place struct {
	Dir    string // the folder ("" when it cannot be named, e.g. no home folder)
	Source string // what named it: "--data-dir", "$DGTEXT_DATA_DIR", "XDG data folder", "./data"
	Why    string // set when Dir is "": why this place was not consulted
}

// CorpusPlaces returns where "billion-words" is looked for, in order. With a
// --data-dir (dataDir != "") only that folder is consulted. Otherwise:
// $DGTEXT_DATA_DIR (when set), the XDG data folder ($XDG_DATA_HOME/dgtext, by
// default ~/.local/share/dgtext) and ./data. In each place the release folder
// may be the place itself, PLACE/1-billion-word-language-modeling-benchmark-r13output
// or PLACE/billion-words/1-billion-word-language-modeling-benchmark-r13output.
func CorpusPlaces(dataDir string) []Place {
	if dataDir != "" {
		return []Place{{Dir: dataDir, Source: "--data-dir"}}
	}
	var places []Place
	if env := os.Getenv(DataDirEnv); env != "" {
		places = append(places, Place{Dir: env, Source: "$" + DataDirEnv})
	}
	if xdg, err := xdgDataHome(); err == nil {
		places = append(places, Place{Dir: filepath.Join(xdg, XDGDataFolder), Source: "XDG data folder"})
	} else {
		places = append(places, Place{Source: "XDG data folder", Why: err.Error()})
	}
	return append(places, Place{Dir: "data", Source: "./data"})
}

// CorpusPlacesHelp describes the search order in one sentence, for --help texts.
const CorpusPlacesHelp = "--data-dir if given (and only it); else $" + DataDirEnv +
	", then the XDG data folder ($XDG_DATA_HOME/" + XDGDataFolder + ", default ~/.local/share/" + XDGDataFolder +
	", where `" + DownloadCommand + "` puts it), then ./data"

// xdgDataHome is $XDG_DATA_HOME when it is an absolute path (the XDG base
// directory specification ignores a relative one), else ~/.local/share.
func xdgDataHome() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return x, nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("no home folder to hold ~/.local/share (%v); set $XDG_DATA_HOME or $%s", err, DataDirEnv)
	}
	return filepath.Join(home, ".local", "share"), nil
}

// DefaultDownloadDir is where `dgtext data download billion-words` puts the
// release folder when no --dest is given: $DGTEXT_DATA_DIR when set, else
// billion-words/ in the XDG data folder. Both are places ResolveCorpus looks in.
func DefaultDownloadDir() (string, error) {
	if env := os.Getenv(DataDirEnv); env != "" {
		return env, nil
	}
	xdg, err := xdgDataHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(xdg, XDGDataFolder, BillionWords), nil
}

// LookedPlace is one place ResolveCorpus looked in, and why it did not qualify.
type LookedPlace struct {
	Place
	Abs    string // Dir made absolute ("" if it already was, or cannot be)
	Reason string // "does not exist", "no ... folder in it", ...
}

// CorpusNotFoundError is returned by ResolveCorpus when "billion-words" is in
// none of its places. Error gives the full explanation (every place looked, the
// expected layout, how to get the corpus); Hint gives it in one line.
type CorpusNotFoundError struct {
	Looked  []LookedPlace
	DataDir string // the --data-dir given, if any
}

func (p LookedPlace) where() string {
	if p.Dir == "" {
		return p.Source
	}
	if p.Abs != "" {
		return p.Dir + " = " + p.Abs + " (" + p.Source + ")"
	}
	return p.Dir + " (" + p.Source + ")"
}

// DownloadHint is the command that puts the corpus where this search finds it:
// with a --data-dir, the download goes there.
func (e *CorpusNotFoundError) DownloadHint() string {
	if e.DataDir != "" {
		return DownloadCommand + " --dest " + shellQuote(e.DataDir)
	}
	return DownloadCommand
}

// Hint is the one-line form of the error, for commands that carry on without
// the corpus (for example refine, which still reports critic scores).
func (e *CorpusNotFoundError) Hint() string {
	var where []string
	for _, p := range e.Looked {
		if p.Dir != "" {
			where = append(where, p.Dir)
		}
	}
	return fmt.Sprintf("corpus %s not found (looked in %s); get it with: %s", BillionWords, strings.Join(where, ", "), e.DownloadHint())
}

func (e *CorpusNotFoundError) Error() string {
	var b strings.Builder
	b.WriteString("corpus " + BillionWords + " not found. Looked in:\n")
	for _, p := range e.Looked {
		b.WriteString("  " + p.where() + ": " + p.Reason + "\n")
	}
	if e.DataDir != "" {
		b.WriteString("  ($" + DataDirEnv + ", the XDG data folder and ./data were not consulted because --data-dir was given)\n")
	} else if os.Getenv(DataDirEnv) == "" {
		b.WriteString("  ($" + DataDirEnv + " is not set)\n")
	}
	b.WriteString("In each place the release folder may be PLACE itself, PLACE/" + BillionWordsRelease +
		" or PLACE/" + BillionWords + "/" + BillionWordsRelease + ", laid out as released:\n")
	b.WriteString("  " + BillionWordsRelease + "/training-monolingual.tokenized.shuffled/news.en-000NN-of-00100\n")
	b.WriteString("  " + BillionWordsRelease + "/heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050\n")
	b.WriteString("Get it (the release archive from " + BillionWordsURL + ", 1.8 GB download, resumable, checksums verified):\n")
	b.WriteString("  " + e.DownloadHint() + "                 # all shards, 4.2 GB on disk\n")
	b.WriteString("  " + e.DownloadHint() + " --heldout-only  # held-out shards only (evaluation), 42 MB on disk\n")
	b.WriteString("Or pass an unpacked copy with --data-dir DIR or $" + DataDirEnv + "=DIR, or use --corpus PATH for your own text or Parquet files.")
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func resolveBillionWords(opt CorpusOptions, train, eval []string) (*Corpus, error) {
	notFound := &CorpusNotFoundError{DataDir: opt.DataDir}
	for _, p := range CorpusPlaces(opt.DataDir) {
		if p.Dir == "" {
			notFound.Looked = append(notFound.Looked, LookedPlace{Place: p, Reason: p.Why})
			continue
		}
		release, why := findRelease(p.Dir)
		if release == "" && !(len(opt.TrainFiles) > 0 && len(opt.EvalFiles) > 0 && isDir(p.Dir)) {
			lp := LookedPlace{Place: p, Reason: why}
			if abs, err := filepath.Abs(p.Dir); err == nil && abs != p.Dir {
				lp.Abs = abs
			}
			notFound.Looked = append(notFound.Looked, lp)
			continue
		}
		c := &Corpus{Name: BillionWords, Dir: p.dataDir(release)}
		bases := globBases(c.Dir, release)
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
	return nil, notFound
}

// dataDir is the data folder of a release found in place p: the place itself,
// or its billion-words/ subfolder when the release lies there.
func (p Place) dataDir(release string) string {
	sub := filepath.Join(p.Dir, BillionWords)
	if release != "" && (release == sub || filepath.Dir(release) == sub) {
		return sub
	}
	return p.Dir
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
