package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/dgtext/dgtext/data"
)

// downloadOptions holds the flags of "dgtext data download".
type downloadOptions struct {
	Corpus      string
	Dest        string
	URL         string
	SHA256      string
	MD5Sums     string
	Archive     string
	HeldoutOnly bool
	KeepArchive bool
	Retries     int
	JSON        bool
	Quiet       bool
	Ctx         context.Context // cancelled on Ctrl-C; nil means never
}

func newDataDownloadCmd() *cobra.Command {
	opts := &downloadOptions{}
	arc := data.BillionWordsArchive
	cmd := &cobra.Command{
		Use:   "download billion-words [--dest DIR]",
		Short: "Download the One Billion Word benchmark (resumable, checksums verified)",
		Long: fmt.Sprintf(`Download fetches the One Billion Word benchmark release and unpacks it where
--corpus billion-words finds it without flags.

  archive  %s
           %d bytes (%s), SHA-256 %s
           (size and checksum as published by %s)
  shards   99 training and 51 held-out files, about 4.2 GB unpacked, each checked
           against the MD5 listed in %s

Where it goes: --dest DIR; else $%s; else $XDG_DATA_HOME/dgtext/billion-words
(default ~/.local/share/dgtext/billion-words). --corpus billion-words looks, in
order, in --data-dir if given (and only there); else in $%s, the XDG data
folder ($XDG_DATA_HOME/dgtext, default ~/.local/share/dgtext) and ./data.

How:
  - The archive is saved as DEST/NAME.part. After an interruption (Ctrl-C, a lost
    connection, a full disk) run the same command again: it resumes with an HTTP
    Range request. Dropped connections are also retried --retries times.
  - The complete archive must match the SHA-256, and every shard its MD5.
  - It is extracted into a temporary folder in DEST and renamed into place only
    when everything matched, so no half-extracted corpus ever has the final name.
    The archive is then deleted (--keep-archive keeps it).

--heldout-only: the release is one .tar.gz, a single gzip stream that cannot be
read from the middle, so the held-out shards cannot be fetched without the rest.
The whole archive is still downloaded and verified; only the held-out folder
(51 files, about 84 MB) is unpacked. A later full download replaces it.

Mirrors and offline machines: --url fetches the same archive from elsewhere;
--sha256 says what a different archive must hash to (shards the release lists
are still checked, and shards it lacks are only reported); --md5sums FILE
replaces the MD5 list (md5sum format); --archive FILE uses an archive already on
disk (it is never deleted).`,
			arc.URL, arc.Size, data.DecimalBytes(arc.Size), arc.SHA256, arc.Source, arc.MD5Source, data.DataDirEnv, data.DataDirEnv),
		Example: `  dgtext data download billion-words
  dgtext data download billion-words --heldout-only --dest ~/corpora/billion-words
  dgtext data download billion-words --archive ~/Downloads/1-billion-word-language-modeling-benchmark-r13output.tar.gz
  dgtext data download billion-words --url http://mirror.example/lm1b.tar.gz --sha256 HEX`,
		ValidArgs: []string{data.BillionWords},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("name the corpus to download: dgtext data download %s", data.BillionWords)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.Corpus, opts.Ctx = args[0], ctx
			return downloadRun(opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dest, "dest", "", "folder to put the release folder in (default $"+data.DataDirEnv+", else $XDG_DATA_HOME/"+data.XDGDataFolder+"/"+data.BillionWords+")")
	f.BoolVar(&opts.HeldoutOnly, "heldout-only", false, "unpack only the held-out shards (the whole archive is still downloaded: it is one gzip stream)")
	f.StringVar(&opts.URL, "url", "", "fetch the archive from this address instead (a mirror)")
	f.StringVar(&opts.SHA256, "sha256", "", "SHA-256 the archive must have (default: the published release's)")
	f.StringVar(&opts.MD5Sums, "md5sums", "", "file of per-shard MD5s in md5sum format (default: the release's list)")
	f.StringVar(&opts.Archive, "archive", "", "use this archive file, already downloaded, instead of fetching one")
	f.BoolVar(&opts.KeepArchive, "keep-archive", false, "keep the downloaded .tar.gz after unpacking")
	f.IntVar(&opts.Retries, "retries", 5, "times a dropped or failed transfer is resumed before giving up")
	f.BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress output")
	_ = cmd.MarkFlagDirname("dest")
	_ = cmd.MarkFlagFilename("archive", "gz", "tgz")
	return cmd
}

func downloadRun(opts *downloadOptions, stdout, stderr io.Writer) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	opt := data.DownloadOptions{Dest: opts.Dest, URL: opts.URL, SHA256: opts.SHA256, ArchiveFile: opts.Archive,
		HeldoutOnly: opts.HeldoutOnly, KeepArchive: opts.KeepArchive, Retries: opts.Retries}
	if opts.MD5Sums != "" {
		f, err := os.Open(opts.MD5Sums)
		if err != nil {
			return fmt.Errorf("--md5sums: %w", err)
		}
		opt.MD5Sums, err = data.ParseMD5Sums(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--md5sums %s: %w", opts.MD5Sums, err)
		}
	}
	if !opts.Quiet {
		p := &downloadProgress{w: stderr, bar: showBar(stderr, false)}
		opt.Progress = p.update
		opt.Log = func(s string) { p.note(s) }
		defer p.finish()
	}
	res, err := data.DownloadCorpus(ctx, opts.Corpus, opt)
	if err != nil {
		return err
	}
	if opts.JSON {
		return dataWriteJSON(stdout, res)
	}
	printDownload(stdout, res)
	return nil
}

func printDownload(w io.Writer, r *data.DownloadResult) {
	what := "all shards"
	if r.Mode == "heldout" {
		what = "held-out shards only"
	}
	if r.Already {
		fmt.Fprintf(w, "%s (%s, %d files, %s) is already in %s; nothing to do\n", r.Corpus, what, r.Files, data.DecimalBytes(r.Unpacked), r.Dir)
	} else {
		fmt.Fprintf(w, "%s (%s): %d files, %s, in %s\n", r.Corpus, what, r.Files, data.DecimalBytes(r.Unpacked), r.Dir)
		how := fmt.Sprintf("%s fetched", data.DecimalBytes(r.Fetched))
		if r.URL == "" {
			how = "local file"
		} else if r.Resumed > 0 {
			how += fmt.Sprintf(", %s resumed from an earlier run", data.DecimalBytes(r.Resumed))
		}
		fate := "deleted"
		if r.Kept {
			fate = "kept"
		}
		fmt.Fprintf(w, "  archive  %s, SHA-256 %s matches (%s); %s: %s\n", data.DecimalBytes(r.Bytes), r.SHA256, how, fate, r.Archive)
		fmt.Fprintf(w, "  files    %d match the MD5s of %s", r.Verified, r.ListSource)
		if r.Unlisted > 0 {
			fmt.Fprintf(w, "; %d not listed there (READMEs), not checked", r.Unlisted)
		}
		fmt.Fprintln(w)
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "  note     this archive lacks %d of the files the list names (first: %s): it is not the whole release\n", len(r.Missing), r.Missing[0])
		}
	}
	dataDir := filepath.Dir(r.Dir)
	switch {
	case r.FoundVia != "" && len(r.Missing) == 0 && r.Mode == "full":
		fmt.Fprintf(w, "--corpus %s finds it with no flags (via the %s), e.g.:\n  dgtext refine --corpus %s\n", r.Corpus, r.FoundVia, r.Corpus)
	case r.FoundVia != "":
		fmt.Fprintf(w, "--corpus %s finds it with no flags (via the %s); give the files of this partial copy with --train-files and --eval-files\n", r.Corpus, r.FoundVia)
	default:
		fmt.Fprintf(w, "--corpus %s does not look there by itself (it looks in: %s). Use it with --data-dir %s, or export %s=%s\n",
			r.Corpus, data.CorpusPlacesHelp, dataDir, data.DataDirEnv, dataDir)
	}
	if r.Mode == "heldout" {
		fmt.Fprintf(w, "Held-out shards only: the default evaluation split (held-out shard 00000) works; for training, download everything\n"+
			"(run this again without --heldout-only) or pick held-out shards with --train-files.\n")
	}
}

// downloadProgress shows the download's phases: a progress bar with bytes, rate
// and ETA on a terminal, a log line every 10% otherwise.
type downloadProgress struct {
	w     io.Writer
	bar   bool // draw bars (stderr is a terminal)
	cur   *progressbar.ProgressBar
	phase string
	base  int64 // bytes already done when the phase started (a resumed download)
	start time.Time
	step  int64 // last 10% step logged
}

var phaseNames = map[string]string{
	data.PhaseCheck:    "check earlier download",
	data.PhaseDownload: "download",
	data.PhaseExtract:  "extract + verify",
}

func (p *downloadProgress) update(dp data.DownloadProgress) {
	if dp.Phase != p.phase {
		p.finish()
		p.phase, p.base, p.start, p.step = dp.Phase, dp.Done, time.Now(), dp.Done*10/max(dp.Total, 1)
		if p.bar {
			desc := phaseNames[dp.Phase]
			total := dp.Total
			if total > 0 {
				total -= p.base
			}
			if p.base > 0 {
				desc += fmt.Sprintf(" (resumed at %s)", data.DecimalBytes(p.base))
			}
			p.cur = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(desc),
				progressbar.OptionShowBytes(true), progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
		}
	}
	if p.cur != nil {
		p.cur.Set64(dp.Done - p.base)
		return
	}
	if p.bar || dp.Total <= 0 {
		return
	}
	if step := dp.Done * 10 / dp.Total; step > p.step && step < 10 {
		p.step = step
		line := fmt.Sprintf("%s: %d%% (%s of %s", phaseNames[dp.Phase], step*10, data.DecimalBytes(dp.Done), data.DecimalBytes(dp.Total))
		if secs := time.Since(p.start).Seconds(); secs > 0 && dp.Done > p.base {
			rate := float64(dp.Done-p.base) / secs
			left := time.Duration(float64(dp.Total-dp.Done) / rate * float64(time.Second)).Round(time.Second)
			line += fmt.Sprintf(", %s/s, about %s left", data.DecimalBytes(int64(rate)), left)
		}
		fmt.Fprintln(p.w, line+")")
	}
}

// note prints a one-line note without tearing a bar.
func (p *downloadProgress) note(s string) {
	if p.cur != nil {
		p.cur.Clear()
	}
	fmt.Fprintln(p.w, "download: "+strings.TrimSpace(s))
}

func (p *downloadProgress) finish() {
	if p.cur != nil {
		p.cur.Finish()
		p.cur = nil
	}
	p.phase = ""
}
