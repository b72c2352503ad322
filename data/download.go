package data

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Archive describes a published corpus archive: where it is, what it must hash
// to, and how it is laid out.
type Archive struct {
	Corpus string // corpus name, as given to --corpus
	URL    string // where the archive is published
	Size   int64  // its size in bytes
	SHA256 string // its SHA-256, lower-case hex
	Source string // where Size and SHA256 were published
	Folder string // the one top-level folder of the archive
	// UnpackedBytes is about how much the full archive takes once extracted, and
	// HeldoutBytes how much its held-out folder alone takes (for the disk check).
	UnpackedBytes, HeldoutBytes int64
	// MD5 lists the published MD5 of the archive's files, paths relative to
	// Folder; MD5Source says where they were published.
	MD5       map[string]string
	MD5Source string
}

// BillionWordsArchive is the One Billion Word benchmark release (r13output),
// as published on statmt.org.
//
// Size and SHA256 are those TensorFlow Datasets records for this URL
// (github.com/tensorflow/datasets, tensorflow_datasets/datasets/lm1b/checksums.tsv,
// and url_checksums/lm1b.txt before it); the size is also the download_size of
// the Hugging Face lm1b dataset card. The unpacked sizes come from the byte
// counts published for the release's files (training shards 4,147,291,308
// bytes, held-out news.en.heldout-* 42,021,857 bytes; the held-out folder also
// holds news.en-00000-of-00100, one more training-sized shard of about 42 MB);
// they are used only to check free disk space, with a margin.
var BillionWordsArchive = Archive{
	Corpus:        BillionWords,
	URL:           "https://www.statmt.org/lm-benchmark/" + BillionWordsRelease + ".tar.gz",
	Size:          1792209805,
	SHA256:        "01ba60381110baf7f189dfd2b8374de371e8c9a340835793f190bdae9e90a34e",
	Source:        "TensorFlow Datasets' lm1b checksums.tsv",
	Folder:        BillionWordsRelease,
	UnpackedBytes: 4_232_000_000,
	HeldoutBytes:  84_000_000,
	MD5:           mustParseMD5Sums(billionWordsMD5s),
	MD5Source:     "the release's README.corpus_generation_checkpoints",
}

// Folders of the release that hold its shards.
const (
	TrainingFolder = "training-monolingual.tokenized.shuffled"
	HeldoutFolder  = "heldout-monolingual.tokenized.shuffled"
)

// downloadMarker is the file, inside an extracted release folder, that records
// what `dgtext data download` put there.
const downloadMarker = ".dgtext-download.json"

// DownloadOptions configures DownloadCorpus. The zero value downloads the whole
// release from its published URL into DefaultDownloadDir.
type DownloadOptions struct {
	// Dest is the folder that receives the release folder; "" means DefaultDownloadDir().
	Dest string
	// URL overrides where the archive is fetched from (a mirror). The archive
	// must still hash to SHA256.
	URL string
	// SHA256 is the expected SHA-256 (hex) of what URL serves or of Archive;
	// "" means the published release's.
	SHA256 string
	// MD5Sums overrides the per-file MD5 list (md5sum format, as in
	// README.corpus_generation_checkpoints); nil means the release's.
	MD5Sums map[string]string
	// ArchiveFile uses an archive already on disk instead of downloading one.
	ArchiveFile string
	// HeldoutOnly extracts only the held-out folder. The release is one .tar.gz,
	// a single gzip stream that cannot be read from the middle, so the whole
	// archive is still downloaded (and verified); only the disk use is smaller.
	HeldoutOnly bool
	// KeepArchive keeps the downloaded .tar.gz after a successful extraction.
	KeepArchive bool
	// Retries is how many times a dropped or failed transfer is resumed within
	// this call before giving up (a later call resumes too).
	Retries int
	// Client makes the HTTP requests; nil means one with sensible timeouts that
	// honours $HTTPS_PROXY.
	Client *http.Client
	// Progress, when set, is called as bytes are checked, downloaded and extracted.
	Progress func(DownloadProgress)
	// Log, when set, receives one-line notes (resuming, retrying, replacing).
	Log func(string)

	retryWait    time.Duration                                                  // pause before a retry (tests shorten it)
	stallTimeout time.Duration                                                  // give up on a transfer that sends nothing for this long
	openFile     func(name string, flag int, perm fs.FileMode) (outFile, error) // tests inject a full disk
}

// outFile is what the downloader writes to: an *os.File, or a test's stand-in.
type outFile interface {
	io.Writer
	Close() error
	Sync() error
}

// Download phases reported through DownloadOptions.Progress.
const (
	PhaseCheck    = "check"    // hashing bytes already on disk
	PhaseDownload = "download" // fetching the archive
	PhaseExtract  = "extract"  // unpacking and verifying files
)

// DownloadProgress is one progress report. Total is -1 when unknown. The first
// report of a phase (and of each resumed transfer) gives the bytes it starts from.
type DownloadProgress struct {
	Phase       string
	Done, Total int64
}

// DownloadResult describes a finished download.
type DownloadResult struct {
	Corpus     string   `json:"corpus"`
	Dir        string   `json:"dir"`     // the release folder
	Mode       string   `json:"mode"`    // "full" or "heldout"
	Already    bool     `json:"already"` // it was already there; nothing was done
	URL        string   `json:"url,omitempty"`
	Archive    string   `json:"archive"` // the archive used (removed afterwards unless kept)
	Kept       bool     `json:"archive_kept"`
	SHA256     string   `json:"sha256"`
	Bytes      int64    `json:"archive_bytes"`
	Fetched    int64    `json:"fetched_bytes"` // downloaded by this call
	Resumed    int64    `json:"resumed_bytes"` // already on disk from an earlier call
	Files      int      `json:"files"`
	Unpacked   int64    `json:"unpacked_bytes"`
	Verified   int      `json:"md5_verified"` // files whose MD5 matched the published list
	Unlisted   int      `json:"unlisted"`     // files the list does not name (READMEs), not checked
	Missing    []string `json:"missing,omitempty"`
	FoundVia   string   `json:"found_via,omitempty"` // the CorpusPlaces source that finds Dir; "" if none
	ListSource string   `json:"md5_source"`
}

// DownloadCorpus downloads a named corpus (only "billion-words" so far) and
// unpacks it under opt.Dest, so that ResolveCorpus finds it.
//
// The archive is downloaded to DEST/NAME.part, resuming a previous partial
// download with an HTTP Range request (a server that ignores it sends the whole
// file, and the download starts over); dropped transfers are resumed up to
// opt.Retries times. The complete archive must hash to the expected SHA-256
// (a mismatch keeps it as NAME.bad and fails). It is then extracted into a
// temporary folder in DEST, every file that the published MD5 list names is
// checked, and the folder is renamed into place only when everything matched:
// a failure or an interruption never leaves a partial corpus under the final
// name. Errors say what to do: unreachable server, HTTP errors, a full disk,
// checksum mismatches, a truncated archive, cancellation (the next call resumes).
func DownloadCorpus(ctx context.Context, corpus string, opt DownloadOptions) (*DownloadResult, error) {
	if corpus != BillionWords {
		return nil, fmt.Errorf("unknown corpus %q: dgtext can download %s", corpus, BillionWords)
	}
	return downloadArchive(ctx, BillionWordsArchive, opt)
}

// downloader carries one call's settings.
type downloader struct {
	arc      Archive
	opt      DownloadOptions
	dest     string
	url      string
	sha      string
	md5      map[string]string
	official bool // the expected checksum is the published release's: sizes and completeness are known
	res      *DownloadResult
}

func downloadArchive(ctx context.Context, arc Archive, opt DownloadOptions) (*DownloadResult, error) {
	d, err := newDownloader(arc, opt)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.dest, 0o755); err != nil {
		return nil, fmt.Errorf("create destination %s: %w", d.dest, err)
	}
	unlock, err := lockFolder(filepath.Join(d.dest, ".dgtext-download.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	final := filepath.Join(d.dest, arc.Folder)
	replace, err := d.checkExisting(final)
	if err != nil || d.res.Already {
		return d.res, err
	}
	d.removeStaleTemps()

	archive := opt.ArchiveFile
	if archive != "" {
		if err := d.verifyFile(ctx, archive, false); err != nil {
			return nil, err
		}
	} else {
		if archive, err = d.fetchArchive(ctx); err != nil {
			return nil, err
		}
	}
	d.res.Archive = archive
	if err := d.checkSpace(0, d.unpackedBytes()); err != nil {
		return nil, err
	}
	if err := d.extract(ctx, archive, final, replace); err != nil {
		return nil, err
	}
	d.res.Kept = opt.ArchiveFile != "" || opt.KeepArchive
	if !d.res.Kept {
		if err := os.Remove(archive); err != nil {
			d.log(fmt.Sprintf("could not remove the archive %s: %v", archive, err))
			d.res.Kept = true
		}
	}
	d.res.FoundVia = foundVia(final)
	return d.res, nil
}

func newDownloader(arc Archive, opt DownloadOptions) (*downloader, error) {
	d := &downloader{arc: arc, opt: opt, url: opt.URL, sha: strings.ToLower(strings.TrimSpace(opt.SHA256)), md5: opt.MD5Sums}
	if d.url == "" {
		d.url = arc.URL
	}
	if opt.ArchiveFile != "" && opt.URL != "" {
		return nil, errors.New("give either --url or --archive, not both")
	}
	if u, err := url.Parse(d.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bad --url %q: want an http:// or https:// address of the archive", d.url)
	}
	if d.sha == "" {
		d.sha = arc.SHA256
	}
	if b, err := hex.DecodeString(d.sha); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("bad --sha256 %q: want 64 hexadecimal digits (the output of sha256sum)", opt.SHA256)
	}
	d.official = d.sha == arc.SHA256
	listSource := arc.MD5Source
	if d.md5 == nil {
		d.md5 = arc.MD5
	} else {
		listSource = "the --md5sums list"
	}
	dest := opt.Dest
	if dest == "" {
		var err error
		if dest, err = DefaultDownloadDir(); err != nil {
			return nil, fmt.Errorf("no destination: %w; or give --dest DIR", err)
		}
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", dest, err)
	}
	d.dest = abs
	if d.opt.retryWait == 0 {
		d.opt.retryWait = 2 * time.Second
	}
	if d.opt.stallTimeout == 0 {
		d.opt.stallTimeout = 2 * time.Minute
	}
	if d.opt.openFile == nil {
		d.opt.openFile = func(name string, flag int, perm fs.FileMode) (outFile, error) {
			return os.OpenFile(name, flag, perm)
		}
	}
	mode := "full"
	if opt.HeldoutOnly {
		mode = "heldout"
	}
	d.res = &DownloadResult{Corpus: arc.Corpus, Dir: filepath.Join(d.dest, arc.Folder), Mode: mode, SHA256: d.sha, ListSource: listSource}
	if opt.ArchiveFile == "" {
		d.res.URL = d.url
	}
	return d, nil
}

func (d *downloader) log(s string) {
	if d.opt.Log != nil {
		d.opt.Log(s)
	}
}

func (d *downloader) progress(phase string, done, total int64) {
	if d.opt.Progress != nil {
		d.opt.Progress(DownloadProgress{Phase: phase, Done: done, Total: total})
	}
}

// marker is what downloadMarker holds.
type marker struct {
	Corpus  string    `json:"corpus"`
	Mode    string    `json:"mode"`
	URL     string    `json:"url,omitempty"`
	SHA256  string    `json:"sha256"`
	Files   int       `json:"files"`
	Bytes   int64     `json:"unpacked_bytes"`
	Written time.Time `json:"written"`
}

// checkExisting looks at an existing release folder. It sets d.res.Already when
// what is there already covers the request, and returns replace = true when it
// is a held-out-only download of ours that a full download may replace.
func (d *downloader) checkExisting(final string) (replace bool, err error) {
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	b, err := os.ReadFile(filepath.Join(final, downloadMarker))
	var m marker
	if err != nil || json.Unmarshal(b, &m) != nil {
		return false, fmt.Errorf("%s already exists and was not written by `%s` (it has no %s); "+
			"--corpus %s can use it as it is. To download anyway, move it away or choose another --dest", final, DownloadCommand, downloadMarker, BillionWords)
	}
	if m.Mode == "full" || (m.Mode == "heldout" && d.opt.HeldoutOnly) {
		d.res.Already, d.res.Files, d.res.Unpacked, d.res.SHA256, d.res.Mode = true, m.Files, m.Bytes, m.SHA256, m.Mode
		d.res.FoundVia = foundVia(final)
		return false, nil
	}
	d.log(fmt.Sprintf("%s holds only the held-out shards; it will be replaced by the full release once that is extracted and verified", final))
	return true, nil
}

// tempPrefix names the temporary extraction folders in the destination.
func (d *downloader) tempPrefix() string { return "." + d.arc.Folder + ".tmp-" }

// removeStaleTemps removes extraction folders left by interrupted runs. The
// caller holds the destination's lock, so no other download is using them.
func (d *downloader) removeStaleTemps() {
	ents, _ := os.ReadDir(d.dest)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), d.tempPrefix()) {
			p := filepath.Join(d.dest, e.Name())
			if err := os.RemoveAll(p); err == nil {
				d.log("removed " + p + ", left by an interrupted run")
			}
		}
	}
}

func (d *downloader) unpackedBytes() int64 {
	if !d.official {
		return 0
	}
	if d.opt.HeldoutOnly {
		return d.arc.HeldoutBytes
	}
	return d.arc.UnpackedBytes
}

// checkSpace fails early when the destination's file system has clearly too
// little room for download more bytes plus unpack bytes (zero when unknown).
func (d *downloader) checkSpace(download, unpack int64) error {
	need := download + unpack
	if need <= 0 {
		return nil
	}
	free, ok := freeBytes(d.dest)
	if !ok || free >= need+need/20 {
		return nil
	}
	return fmt.Errorf("not enough disk space in %s: %s free, about %s needed (%s still to download, %s unpacked); "+
		"free some space or choose another --dest (a partial download is kept and resumes)",
		d.dest, DecimalBytes(free), DecimalBytes(need), DecimalBytes(download), DecimalBytes(unpack))
}

// archiveName is the file name the archive is saved under in the destination.
func (d *downloader) archiveName() string {
	name := d.arc.Folder + ".tar.gz"
	if u, err := url.Parse(d.url); err == nil {
		if b := path.Base(u.Path); b != "" && b != "." && b != "/" {
			name = b
		}
	}
	return filepath.Join(d.dest, name)
}

// ErrChecksum marks checksum mismatches (errors.Is(err, ErrChecksum)).
var ErrChecksum = errors.New("checksum mismatch")

// ErrDiskFull marks errors caused by a full disk (errors.Is(err, ErrDiskFull)).
var ErrDiskFull = errors.New("no space left on device")

// verifyFile hashes a complete archive and compares it with the expected
// SHA-256. ours says whether dgtext downloaded it (a bad one is then moved aside).
func (d *downloader) verifyFile(ctx context.Context, p string, ours bool) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := d.hashInto(ctx, h, f, info.Size()); err != nil {
		return err
	}
	d.res.Bytes = info.Size()
	return d.compareSum(p, h, info.Size(), ours)
}

// hashInto feeds r (size bytes) into h, reporting PhaseCheck progress.
func (d *downloader) hashInto(ctx context.Context, h hash.Hash, r io.Reader, size int64) error {
	buf := make([]byte, 1<<20)
	var done int64
	d.progress(PhaseCheck, 0, size)
	for {
		if err := ctx.Err(); err != nil {
			return interrupted(err, "while checking the archive; nothing was lost")
		}
		n, err := r.Read(buf)
		h.Write(buf[:n])
		done += int64(n)
		d.progress(PhaseCheck, done, size)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *downloader) compareSum(p string, h hash.Hash, size int64, ours bool) error {
	got := hex.EncodeToString(h.Sum(nil))
	if got == d.sha {
		return nil
	}
	where := "the published release's (" + d.arc.Source + ")"
	if !d.official {
		where = "the one given with --sha256"
	}
	msg := fmt.Sprintf("%s (%s) has SHA-256 %s, not %s, %s", p, DecimalBytes(size), got, d.sha, where)
	if d.official && size != d.arc.Size {
		msg += fmt.Sprintf("; the release is %d bytes, this file %d", d.arc.Size, size)
	}
	if ours {
		bad := strings.TrimSuffix(p, ".part") + ".bad"
		if err := os.Rename(p, bad); err == nil {
			msg += fmt.Sprintf(". It was kept as %s for inspection (delete it); the next run downloads the archive anew", bad)
		} else {
			os.Remove(p)
			msg += ". It was removed; the next run downloads the archive anew"
		}
		msg += ". If the server is a mirror of a different archive, give that archive's --sha256"
	} else {
		msg += ". Is it the right file? Give --sha256 for a different archive"
	}
	return fmt.Errorf("%w: %s", ErrChecksum, msg)
}

// interrupted wraps a context error with what was kept.
func interrupted(err error, what string) error {
	return fmt.Errorf("interrupted %s: %w", what, err)
}

// foundVia names the CorpusPlaces source through which ResolveCorpus will
// find the release folder dir, or "" when no default place leads to it.
func foundVia(dir string) string {
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return ""
	}
	for _, p := range CorpusPlaces("") {
		if p.Dir == "" {
			continue
		}
		if release, _ := findRelease(p.Dir); release != "" {
			got, err := filepath.EvalSymlinks(release)
			if err == nil && got == want {
				return p.Source
			}
			return "" // an earlier place holds another copy, which wins
		}
	}
	return ""
}

// ParseMD5Sums reads checksums in md5sum's format ("HEX  PATH" per line, as
// in README.corpus_generation_checkpoints). Lines that are not checksums are
// ignored; only files of the release's two shard folders are kept.
func ParseMD5Sums(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 || len(fields[0]) != 32 {
			continue
		}
		if _, err := hex.DecodeString(fields[0]); err != nil {
			continue
		}
		p := strings.TrimPrefix(path.Clean(strings.TrimPrefix(fields[1], "*")), BillionWordsRelease+"/")
		if strings.HasPrefix(p, TrainingFolder+"/") || strings.HasPrefix(p, HeldoutFolder+"/") {
			out[p] = strings.ToLower(fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no checksums of %s/ or %s/ files found (want md5sum lines such as \"HEX  %s/news.en.heldout-00000-of-00050\")",
			TrainingFolder, HeldoutFolder, HeldoutFolder)
	}
	return out, nil
}

func mustParseMD5Sums(s string) map[string]string {
	m, err := ParseMD5Sums(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return m
}

// DecimalBytes formats a byte count for messages in decimal units (kB, MB,
// GB), as download sizes are usually given.
func DecimalBytes(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
