package data

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
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
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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

// partMeta is stored beside a partial download so that a resume asks the
// server for the same file (If-Range) and starts over if it changed.
type partMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Size         int64  `json:"size"`
}

// fetchArchive downloads the archive (resuming a partial one), verifies its
// SHA-256 and returns its path. An archive completed by an earlier run is
// verified and used as it is.
func (d *downloader) fetchArchive(ctx context.Context) (string, error) {
	archive := d.archiveName()
	if _, err := os.Stat(archive); err == nil {
		d.log("using " + archive + ", downloaded by an earlier run")
		if err := d.verifyFile(ctx, archive, true); err != nil {
			return "", err
		}
		return archive, nil
	}
	part := archive + ".part"
	metaPath := part + ".json"
	var meta partMeta
	if b, err := os.ReadFile(metaPath); err == nil {
		_ = json.Unmarshal(b, &meta)
	}
	h := sha256.New()
	var have int64
	if info, err := os.Stat(part); err == nil && meta.URL == d.url && (!d.official || info.Size() <= d.arc.Size) {
		f, err := os.Open(part)
		if err != nil {
			return "", err
		}
		d.log(fmt.Sprintf("resuming: %s already downloaded to %s", DecimalBytes(info.Size()), part))
		err = d.hashInto(ctx, h, f, info.Size())
		f.Close()
		if err != nil {
			return "", err
		}
		have = info.Size()
	} else if err == nil {
		d.log("discarding " + part + ": it came from another address or is too long")
		os.Remove(part)
	}
	d.res.Resumed = have
	if d.official {
		if err := d.checkSpace(d.arc.Size-have, d.unpackedBytes()); err != nil {
			return "", err
		}
	}
	for attempt := 0; ; attempt++ {
		n, err := d.fetchOnce(ctx, part, metaPath, &meta, h, &have)
		d.res.Fetched += n
		if err == nil {
			break
		}
		var re retryableError
		if !errors.As(err, &re) || attempt >= d.opt.Retries || ctx.Err() != nil {
			if errors.As(err, &re) {
				err = fmt.Errorf("%w; %s of the archive is kept in %s and the next run resumes from there", err, DecimalBytes(have), part)
			}
			return "", err
		}
		wait := d.opt.retryWait << attempt
		d.log(fmt.Sprintf("%v; retrying in %s (attempt %d of %d), resuming at %s", err, wait, attempt+2, d.opt.Retries+1, DecimalBytes(have)))
		select {
		case <-ctx.Done():
			return "", interrupted(ctx.Err(), fmt.Sprintf("after %s of the archive; it is kept in %s and the next run resumes", DecimalBytes(have), part))
		case <-time.After(wait):
		}
	}
	d.res.Bytes = have
	if err := d.compareSum(part, h, have, true); err != nil {
		os.Remove(metaPath)
		return "", err
	}
	if err := os.Rename(part, archive); err != nil {
		return "", err
	}
	os.Remove(metaPath)
	return archive, nil
}

// retryableError marks transfer failures worth resuming (dropped connections,
// server errors), as opposed to wrong addresses or full disks.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

// fetchOnce makes one request for the rest of the archive and appends what it
// receives to part. It returns the bytes received.
func (d *downloader) fetchOnce(ctx context.Context, part, metaPath string, meta *partMeta, h hash.Hash, have *int64) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return 0, err
	}
	if *have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *have))
		if meta.ETag != "" && !strings.HasPrefix(meta.ETag, "W/") {
			req.Header.Set("If-Range", meta.ETag)
		} else if meta.LastModified != "" {
			req.Header.Set("If-Range", meta.LastModified)
		}
	}
	client := d.opt.Client
	if client == nil {
		client = defaultHTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, interrupted(ctx.Err(), fmt.Sprintf("before the transfer started; %s is kept in %s and the next run resumes", DecimalBytes(*have), part))
		}
		host := req.URL.Host
		return 0, fmt.Errorf("cannot reach %s: %v. Check the network connection (and $HTTPS_PROXY if you need a proxy); "+
			"on a machine without access, download %s elsewhere and pass it with --archive FILE, or use a mirror with --url", host, unwrapURLError(err), d.url)
	}
	defer resp.Body.Close()

	flag := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != *have {
			return 0, retryableError{fmt.Errorf("server answered the resume request with Content-Range %q, want bytes %d-", resp.Header.Get("Content-Range"), *have)}
		}
		total = size
	case resp.StatusCode == http.StatusOK:
		if *have > 0 {
			d.log("the server sent the whole file instead of the rest (no resume support, or the file changed); starting over")
		}
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		*have = 0
		h.Reset()
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		_, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if ok && size == *have {
			return 0, nil // the partial file was already complete
		}
		os.Remove(part)
		*have = 0
		h.Reset()
		return 0, retryableError{errors.New("the partial download does not fit the file on the server; it was discarded")}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return 0, fmt.Errorf("%s: the server has no such file (%s); check the address, or use a mirror with --url", d.url, resp.Status)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return 0, retryableError{fmt.Errorf("%s: server error %s; try again later", d.url, resp.Status)}
	default:
		return 0, fmt.Errorf("%s: the server refused the download (%s)", d.url, resp.Status)
	}
	if d.official && total >= 0 && total != d.arc.Size {
		return 0, fmt.Errorf("%s offers %d bytes, but the release archive is %d bytes (%s): not the release. "+
			"For a different archive give its --sha256", d.url, total, d.arc.Size, d.arc.Source)
	}
	if d.official {
		total = d.arc.Size
	}
	meta.URL, meta.ETag, meta.LastModified, meta.Size = d.url, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), total
	if b, err := json.Marshal(meta); err == nil {
		if err := os.WriteFile(metaPath, b, 0o644); err != nil {
			return 0, writeError(metaPath, err)
		}
	}
	f, err := d.opt.openFile(part, flag, 0o644)
	if err != nil {
		return 0, writeError(part, err)
	}
	// A transfer that sends nothing for stallTimeout is cut and resumed.
	var stalled atomic.Bool
	timer := time.AfterFunc(d.opt.stallTimeout, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	var got int64
	buf := make([]byte, 256<<10)
	var copyErr error
	d.progress(PhaseDownload, *have, total) // where this transfer starts
	for {
		n, rerr := resp.Body.Read(buf)
		if rerr == nil && ctx.Err() != nil {
			n, rerr = 0, ctx.Err() // cancelled while data was still buffered
		}
		if n > 0 {
			timer.Reset(d.opt.stallTimeout)
			if _, werr := f.Write(buf[:n]); werr != nil {
				copyErr = writeError(part, werr)
				break
			}
			h.Write(buf[:n])
			got += int64(n)
			*have += int64(n)
			d.progress(PhaseDownload, *have, total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			switch {
			case stalled.Load():
				copyErr = retryableError{fmt.Errorf("no data from %s for %s", req.URL.Host, d.opt.stallTimeout)}
			case ctx.Err() != nil:
				copyErr = interrupted(ctx.Err(), fmt.Sprintf("after %s of %s; it is kept in %s and the next run resumes", DecimalBytes(*have), DecimalBytes(total), part))
			default:
				copyErr = retryableError{fmt.Errorf("connection lost after %s of %s: %v", DecimalBytes(*have), DecimalBytes(total), rerr)}
			}
			break
		}
	}
	if err := f.Close(); err != nil && copyErr == nil {
		copyErr = writeError(part, err)
	}
	if copyErr != nil {
		return got, copyErr
	}
	if total >= 0 && *have != total {
		return got, retryableError{fmt.Errorf("connection closed after %s of %s", DecimalBytes(*have), DecimalBytes(total))}
	}
	return got, nil
}

// writeError explains a failed write, with a full disk named as such.
func writeError(p string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: writing %s: the disk is full; free some space (or choose another --dest) and run again: "+
			"what was downloaded is kept and the download resumes", ErrDiskFull, p)
	}
	return fmt.Errorf("write %s: %w", p, err)
}

// unwrapURLError drops the "Get URL:" prefix net/http puts on errors.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseContentRange parses "bytes START-END/SIZE" or "bytes */SIZE".
func parseContentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if rng == "*" {
		return -1, size, true
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err = strconv.ParseInt(a, 10, 64)
	return start, size, err == nil
}

// defaultHTTPClient honours proxy settings and times out a server that does
// not answer, but sets no overall limit: the archive takes a while.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
}

// extract unpacks the archive into a temporary folder beside final, checks
// every listed file's MD5 and the list's completeness, and renames the folder
// to final. With replace, an existing final (a held-out-only download) is
// swapped out once the new folder is complete.
func (d *downloader) extract(ctx context.Context, archive, final string, replace bool) (err error) {
	tmp, err := os.MkdirTemp(d.dest, d.tempPrefix())
	if err != nil {
		return writeError(d.dest, err)
	}
	defer func() {
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			d.log(fmt.Sprintf("could not remove %s: %v", tmp, rerr))
		}
	}()
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	d.progress(PhaseExtract, 0, info.Size())
	cr := &countingReader{r: f, report: func(n int64) { d.progress(PhaseExtract, n, info.Size()) }}
	gz, err := gzip.NewReader(bufio.NewReaderSize(cr, 1<<20))
	if err != nil {
		return fmt.Errorf("%s is not a gzip archive (%v): not the release", archive, err)
	}
	corrupt := func(err error) error {
		return fmt.Errorf("archive %s is truncated or corrupt (%v) at byte %d of %d; nothing was installed. "+
			"Delete it and download again", archive, err, cr.n, info.Size())
	}
	root := filepath.Join(tmp, d.arc.Folder)
	seen := map[string]bool{}
	tr := tar.NewReader(gz)
	for {
		if err := ctx.Err(); err != nil {
			return interrupted(err, "while extracting; nothing was installed, the archive is kept and the next run extracts it again")
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(err)
		}
		rel, err := d.memberPath(hdr.Name)
		if err != nil {
			return fmt.Errorf("archive %s: %w", archive, err)
		}
		if d.opt.HeldoutOnly && rel != "" && rel != HeldoutFolder && !strings.HasPrefix(rel, HeldoutFolder+"/") {
			continue
		}
		target := filepath.Join(root, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return writeError(target, err)
			}
		case tar.TypeReg:
			sum, err := d.writeMember(ctx, target, tr, hdr)
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return corrupt(err)
				}
				return err
			}
			seen[rel] = true
			d.res.Files++
			d.res.Unpacked += hdr.Size
			if want, listed := d.md5[rel]; !listed {
				d.res.Unlisted++
			} else if sum != want {
				return fmt.Errorf("%w: %s in the archive has MD5 %s, but %s lists %s; nothing was installed. "+
					"The archive is damaged or not the release", ErrChecksum, rel, sum, d.res.ListSource, want)
			} else {
				d.res.Verified++
			}
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
		default:
			return fmt.Errorf("archive %s: %s is a link or special file (type %q); the release holds only files and folders", archive, hdr.Name, hdr.Typeflag)
		}
	}
	// Read to the end of the gzip stream, so that its checksum is verified too.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return corrupt(err)
	}
	d.progress(PhaseExtract, info.Size(), info.Size())
	d.res.Missing = d.missing(seen)
	if len(d.res.Missing) > 0 && (d.official || d.opt.MD5Sums != nil) {
		return fmt.Errorf("archive %s lacks %d of the %d files that %s lists (first: %s); nothing was installed",
			archive, len(d.res.Missing), len(d.res.Missing)+d.res.Verified, d.res.ListSource, d.res.Missing[0])
	}
	if d.res.Files == 0 {
		return fmt.Errorf("archive %s holds no files under %s/; nothing was installed", archive, d.arc.Folder)
	}
	if err := d.writeMarker(root); err != nil {
		return err
	}
	return d.install(root, final, tmp, replace)
}

// memberPath checks an archive member's name and returns it relative to the
// release folder ("" for the folder itself).
func (d *downloader) memberPath(name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("member %q points outside the archive", name)
	}
	if clean == d.arc.Folder {
		return "", nil
	}
	rel, ok := strings.CutPrefix(clean, d.arc.Folder+"/")
	if !ok {
		return "", fmt.Errorf("member %q is not under %s/: not the release archive", name, d.arc.Folder)
	}
	return rel, nil
}

// writeMember writes one regular file of the archive and returns its MD5.
func (d *downloader) writeMember(ctx context.Context, target string, r io.Reader, hdr *tar.Header) (string, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", writeError(target, err)
	}
	w, err := d.opt.openFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", writeError(target, err)
	}
	h := md5.New()
	buf := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			w.Close()
			return "", interrupted(err, "while extracting; nothing was installed, the archive is kept and the next run extracts it again")
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				w.Close()
				if errors.Is(werr, syscall.ENOSPC) {
					size := fmt.Sprintf("the corpus takes about %s", DecimalBytes(d.unpackedBytes()))
					if d.unpackedBytes() == 0 {
						size = fmt.Sprintf("%s were unpacked when it filled up", DecimalBytes(d.res.Unpacked))
					}
					return "", fmt.Errorf("%w: extracting into %s: the disk is full (%s); nothing was installed. "+
						"Free some space or choose another --dest and run again: the archive is kept and is not downloaded again",
						ErrDiskFull, d.dest, size)
				}
				return "", writeError(target, werr)
			}
			h.Write(buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			w.Close()
			return "", rerr
		}
	}
	if err := w.Close(); err != nil {
		return "", writeError(target, err)
	}
	if !hdr.ModTime.IsZero() {
		_ = os.Chtimes(target, hdr.ModTime, hdr.ModTime)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// missing lists the files of the MD5 list (within the extracted part) that the
// archive did not hold.
func (d *downloader) missing(seen map[string]bool) []string {
	var out []string
	for rel := range d.md5 {
		if d.opt.HeldoutOnly && !strings.HasPrefix(rel, HeldoutFolder+"/") {
			continue
		}
		if !seen[rel] {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

func (d *downloader) writeMarker(root string) error {
	m := marker{Corpus: d.arc.Corpus, Mode: d.res.Mode, URL: d.res.URL, SHA256: d.sha, Files: d.res.Files,
		Bytes: d.res.Unpacked, Written: time.Now().UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(root, downloadMarker)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return writeError(root, err)
	}
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		return writeError(p, err)
	}
	return nil
}

// install renames the extracted folder to final, swapping out an older
// held-out-only download when replace is set.
func (d *downloader) install(root, final, tmp string, replace bool) error {
	if !replace {
		if err := os.Rename(root, final); err != nil {
			return fmt.Errorf("install %s: %w", final, err)
		}
		return nil
	}
	old := filepath.Join(tmp, "old")
	if err := os.Rename(final, old); err != nil {
		return fmt.Errorf("move the held-out-only copy %s aside: %w", final, err)
	}
	if err := os.Rename(root, final); err != nil {
		if rerr := os.Rename(old, final); rerr != nil {
			return fmt.Errorf("install %s: %v; and restoring the held-out-only copy failed: %v (it is in %s)", final, err, rerr, old)
		}
		return fmt.Errorf("install %s: %w", final, err)
	}
	return nil
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

// countingReader counts the bytes read through it and reports them.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.report != nil {
		c.report(c.n)
	}
	return n, err
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
