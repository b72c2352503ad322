package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testRelease is a small archive with the release's layout: a README, two
// training shards and three held-out files, each a few thousand generated lines.
type testRelease struct {
	tgz   []byte
	sha   string
	md5   map[string]string // listed files, relative to the release folder
	files map[string][]byte
}

func makeRelease(t testing.TB, linesPerShard int) *testRelease {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	words := []string{"the", "market", "said", "on", "Tuesday", ",", "a", "new", "report", "of", "price", "."}
	shard := func() []byte {
		var b bytes.Buffer
		for i := 0; i < linesPerShard; i++ {
			for j := 0; j < 5+rng.Intn(15); j++ {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[rng.Intn(len(words))])
				fmt.Fprintf(&b, "%d", rng.Intn(1000))
			}
			b.WriteByte('\n')
		}
		return b.Bytes()
	}
	r := &testRelease{md5: map[string]string{}, files: map[string][]byte{}}
	names := []string{
		TrainingFolder + "/news.en-00001-of-00100",
		TrainingFolder + "/news.en-00002-of-00100",
		HeldoutFolder + "/news.en-00000-of-00100",
		HeldoutFolder + "/news.en.heldout-00000-of-00050",
		HeldoutFolder + "/news.en.heldout-00001-of-00050",
	}
	r.files["README"] = []byte("a test release with the layout of " + BillionWordsRelease + "\n")
	for _, n := range names {
		r.files[n] = shard()
		sum := md5.Sum(r.files[n])
		r.md5[n] = hex.EncodeToString(sum[:])
	}
	r.tgz = tarGz(t, r.files, nil)
	sum := sha256.Sum256(r.tgz)
	r.sha = hex.EncodeToString(sum[:])
	return r
}

func (r *testRelease) unpacked() int {
	n := 0
	for _, b := range r.files {
		n += len(b)
	}
	return n
}

// tarGz packs files under the release folder, folders first, in a stable order.
// edit, when set, may change a file's content after its checksum was taken.
func tarGz(t testing.TB, files map[string][]byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Date(2013, 12, 10, 0, 0, 0, 0, time.UTC)
	for _, dir := range []string{"", TrainingFolder + "/", HeldoutFolder + "/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: BillionWordsRelease + "/" + dir, Mode: 0o755, ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range sortedKeys(files) {
		b := files[name]
		if edit != nil {
			b = edit(name, b)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: BillionWordsRelease + "/" + name, Mode: 0o644, Size: int64(len(b)), ModTime: mtime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedKeys(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // held-out files before training files
	return keys
}

// releaseServer serves an archive with Range support (http.ServeContent) and
// can misbehave on request: cut the connection, ignore Range, fail with a status.
type releaseServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	cutAfter []int64 // per request (in order): send only this many bytes, then drop the connection; -1 = all
	status   int     // when set, every request fails with it
	noRange  bool    // ignore Range headers (always 200 with the whole file)
	stall    bool    // send a few bytes, then nothing
	ranges   []string
}

func newReleaseServer(t testing.TB, body []byte) *releaseServer {
	s := &releaseServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *releaseServer) url() string { return s.URL + "/lm/" + BillionWordsRelease + ".tar.gz" }

func (s *releaseServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func (s *releaseServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.ranges)
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := int64(-1)
	if n < len(s.cutAfter) {
		cut = s.cutAfter[n]
	}
	status, noRange, stall := s.status, s.noRange, s.stall
	s.mu.Unlock()
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if noRange {
		r.Header.Del("Range")
	}
	if stall {
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		w.Write(s.body[:100])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	w.Header().Set("ETag", `"r13"`)
	if cut >= 0 {
		w = &cutWriter{ResponseWriter: w, left: cut}
	}
	http.ServeContent(w, r, "archive.tar.gz", time.Date(2013, 12, 10, 0, 0, 0, 0, time.UTC), bytes.NewReader(s.body))
}

// cutWriter passes through the first left bytes of the body, then aborts the
// connection, as a dropped network link would.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}

// testOptions downloads rel from srv into a fresh folder.
func testOptions(t testing.TB, srv *releaseServer, rel *testRelease) DownloadOptions {
	return DownloadOptions{Dest: filepath.Join(t.TempDir(), "bw"), URL: srv.url(), SHA256: rel.sha, MD5Sums: rel.md5, retryWait: time.Millisecond}
}

// assertInstalled checks that the release folder holds exactly the expected
// files with the expected bytes, and that nothing temporary is left beside it.
func assertInstalled(t *testing.T, dest string, rel *testRelease, heldoutOnly bool) {
	t.Helper()
	root := filepath.Join(dest, BillionWordsRelease)
	want := 0
	for name, b := range rel.files {
		if heldoutOnly && !strings.HasPrefix(name, HeldoutFolder+"/") {
			if _, err := os.Stat(filepath.Join(root, name)); err == nil {
				t.Errorf("%s extracted in held-out-only mode", name)
			}
			continue
		}
		want++
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Errorf("missing %s: %v", name, err)
		} else if !bytes.Equal(got, b) {
			t.Errorf("%s differs from the archive's", name)
		}
	}
	var n int
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != downloadMarker {
			n++
		}
		return nil
	})
	if n != want {
		t.Errorf("%d files installed, want %d", n, want)
	}
	assertNoLeftovers(t, dest)
}

// assertNoLeftovers checks that no temporary folder, partial or bad file is left.
func assertNoLeftovers(t *testing.T, dest string) {
	t.Helper()
	for _, name := range listDir(t, dest) {
		if strings.Contains(name, ".tmp-") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".part.json") {
			t.Errorf("left behind in %s: %s", dest, name)
		}
	}
}

func TestDownloadInstallsVerifiedRelease(t *testing.T) {
	rel := makeRelease(t, 400)
	srv := newReleaseServer(t, rel.tgz)
	opt := testOptions(t, srv, rel)
	var phases []string
	opt.Progress = func(p DownloadProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}
	res, err := DownloadCorpus(context.Background(), BillionWords, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 6 || res.Verified != 5 || res.Unlisted != 1 || res.Fetched != int64(len(rel.tgz)) || res.Resumed != 0 || len(res.Missing) != 0 {
		t.Fatalf("result %+v", res)
	}
	if strings.Join(phases, ",") != "download,extract" {
		t.Errorf("progress phases %v", phases)
	}
	assertInstalled(t, opt.Dest, rel, false)
	if _, err := os.Stat(res.Archive); !errors.Is(err, fs.ErrNotExist) || res.Kept {
		t.Errorf("archive %s not removed after extraction (kept=%v): %v", res.Archive, res.Kept, err)
	}
	// The corpus resolves from the destination with the default split.
	c, err := ResolveCorpus(BillionWords, CorpusOptions{DataDir: opt.Dest})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 2 || len(c.Eval) != 1 || !strings.HasSuffix(c.Eval[0], "news.en.heldout-00000-of-00050") {
		t.Fatalf("resolved %+v", c)
	}
	// A second run finds it complete and downloads nothing.
	before := len(srv.requests())
	res, err = DownloadCorpus(context.Background(), BillionWords, opt)
	if err != nil || !res.Already || res.Files != 6 || len(srv.requests()) != before {
		t.Fatalf("second run: %+v, %v, %d requests", res, err, len(srv.requests())-before)
	}
}

func TestDownloadResumesAfterDroppedConnection(t *testing.T) {
	rel := makeRelease(t, 2000)
	cut := int64(len(rel.tgz) * 2 / 5)
	t.Run("next run", func(t *testing.T) {
		srv := newReleaseServer(t, rel.tgz)
		srv.cutAfter = []int64{cut}
		opt := testOptions(t, srv, rel)
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if err == nil || !strings.Contains(err.Error(), "connection") || !strings.Contains(err.Error(), "next run resumes") {
			t.Fatalf("dropped connection: %v", err)
		}
		part := filepath.Join(opt.Dest, BillionWordsRelease+".tar.gz.part")
		info, err := os.Stat(part)
		if err != nil || info.Size() != cut {
			t.Fatalf("partial file %v, want %d bytes: %v", info, cut, err)
		}
		if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after a failed download")
		}
		res, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if err != nil {
			t.Fatal(err)
		}
		reqs := srv.requests()
		if len(reqs) != 2 || reqs[1] != fmt.Sprintf("bytes=%d-", cut) {
			t.Fatalf("requests %q, want a second one for bytes=%d-", reqs, cut)
		}
		if res.Resumed != cut || res.Fetched != int64(len(rel.tgz))-cut {
			t.Fatalf("resumed %d fetched %d, want %d and %d", res.Resumed, res.Fetched, cut, int64(len(rel.tgz))-cut)
		}
		assertInstalled(t, opt.Dest, rel, false)
	})
	t.Run("retried in the same run", func(t *testing.T) {
		srv := newReleaseServer(t, rel.tgz)
		srv.cutAfter = []int64{cut, cut / 2}
		opt := testOptions(t, srv, rel)
		opt.Retries = 2
		var notes []string
		opt.Log = func(s string) { notes = append(notes, s) }
		res, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if err != nil {
			t.Fatal(err)
		}
		if reqs := srv.requests(); len(reqs) != 3 || reqs[1] != fmt.Sprintf("bytes=%d-", cut) || reqs[2] != fmt.Sprintf("bytes=%d-", cut+cut/2) {
			t.Fatalf("requests %q", reqs)
		}
		if res.Fetched != int64(len(rel.tgz)) || len(notes) != 2 || !strings.Contains(notes[0], "retrying") {
			t.Fatalf("fetched %d, notes %q", res.Fetched, notes)
		}
		assertInstalled(t, opt.Dest, rel, false)
	})
	t.Run("server without Range support", func(t *testing.T) {
		srv := newReleaseServer(t, rel.tgz)
		srv.cutAfter = []int64{cut}
		srv.noRange = true
		opt := testOptions(t, srv, rel)
		opt.Retries = 1
		res, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if err != nil {
			t.Fatal(err)
		}
		if res.Fetched != cut+int64(len(rel.tgz)) {
			t.Fatalf("fetched %d, want the cut part plus the whole file again", res.Fetched)
		}
		assertInstalled(t, opt.Dest, rel, false)
	})
}

// Ctrl-C (a cancelled context) stops the transfer, keeps what was fetched, and
// the next run resumes from it.
func TestDownloadCancelThenResume(t *testing.T) {
	rel := makeRelease(t, 2000)
	srv := newReleaseServer(t, rel.tgz)
	opt := testOptions(t, srv, rel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opt.Progress = func(p DownloadProgress) {
		if p.Phase == PhaseDownload && p.Done > 0 {
			cancel()
		}
	}
	_, err := DownloadCorpus(ctx, BillionWords, opt)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("cancelled download: %v", err)
	}
	info, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease+".tar.gz.part"))
	if err != nil || info.Size() == 0 || info.Size() >= int64(len(rel.tgz)) {
		t.Fatalf("partial file after cancel: %v %v", info, err)
	}
	opt.Progress = nil
	res, err := DownloadCorpus(context.Background(), BillionWords, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != info.Size() {
		t.Fatalf("resumed %d bytes, want %d", res.Resumed, info.Size())
	}
	assertInstalled(t, opt.Dest, rel, false)
}

func TestDownloadCatchesCorruption(t *testing.T) {
	rel := makeRelease(t, 400)
	t.Run("a flipped byte in transit", func(t *testing.T) {
		bad := bytes.Clone(rel.tgz)
		bad[len(bad)/2] ^= 0x20
		srv := newReleaseServer(t, bad)
		opt := testOptions(t, srv, rel)
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), rel.sha) || !strings.Contains(err.Error(), ".bad") {
			t.Fatalf("corrupted archive: %v", err)
		}
		if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after a checksum mismatch")
		}
		if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease+".tar.gz.bad")); err != nil {
			t.Fatalf("the bad archive was not kept for inspection: %v", err)
		}
		assertNoLeftovers(t, opt.Dest)
	})
	t.Run("a shard that differs from the MD5 list", func(t *testing.T) {
		victim := HeldoutFolder + "/news.en.heldout-00001-of-00050"
		tgz := tarGz(t, rel.files, func(name string, b []byte) []byte {
			if name == victim {
				b = bytes.Clone(b)
				b[10] ^= 1
			}
			return b
		})
		sum := sha256.Sum256(tgz)
		srv := newReleaseServer(t, tgz)
		opt := testOptions(t, srv, rel)
		opt.SHA256 = hex.EncodeToString(sum[:])
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), victim) || !strings.Contains(err.Error(), "MD5") {
			t.Fatalf("shard with a wrong MD5: %v", err)
		}
		if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after an MD5 mismatch")
		}
		assertNoLeftovers(t, opt.Dest)
	})
}

func TestDownloadHTTPErrors(t *testing.T) {
	rel := makeRelease(t, 100)
	for _, tc := range []struct {
		status   int
		requests int
		want     string
	}{
		{http.StatusNotFound, 1, "no such file"},                // not retried: the address is wrong
		{http.StatusInternalServerError, 3, "server error 500"}, // retried, then given up
		{http.StatusForbidden, 1, "refused"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := newReleaseServer(t, rel.tgz)
			srv.status = tc.status
			opt := testOptions(t, srv, rel)
			opt.Retries = 2
			_, err := DownloadCorpus(context.Background(), BillionWords, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.url()) {
				t.Fatalf("status %d: %v", tc.status, err)
			}
			if n := len(srv.requests()); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
			if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("release folder exists after an HTTP error")
			}
		})
	}
}

func TestDownloadUnreachableAndStalled(t *testing.T) {
	rel := makeRelease(t, 100)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	opt := DownloadOptions{Dest: t.TempDir(), URL: "http://" + addr + "/x.tar.gz", SHA256: rel.sha}
	_, err = DownloadCorpus(context.Background(), BillionWords, opt)
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+addr) || !strings.Contains(err.Error(), "--archive") {
		t.Fatalf("unreachable server: %v", err)
	}

	srv := newReleaseServer(t, rel.tgz)
	srv.stall = true
	opt = testOptions(t, srv, rel)
	opt.stallTimeout = 50 * time.Millisecond
	_, err = DownloadCorpus(context.Background(), BillionWords, opt)
	if err == nil || !strings.Contains(err.Error(), "no data from") || !strings.Contains(err.Error(), "next run resumes") {
		t.Fatalf("stalled server: %v", err)
	}
}

func TestDownloadTruncatedArchive(t *testing.T) {
	rel := makeRelease(t, 1000)
	short := rel.tgz[:len(rel.tgz)*3/4]
	sum := sha256.Sum256(short)
	t.Run("local archive whose checksum was given", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "short.tar.gz")
		writeFile(t, p, short)
		dest := t.TempDir()
		_, err := DownloadCorpus(context.Background(), BillionWords, DownloadOptions{Dest: dest, ArchiveFile: p, SHA256: hex.EncodeToString(sum[:]), MD5Sums: rel.md5})
		if err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Fatalf("truncated archive: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after extracting a truncated archive")
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the user's archive was removed: %v", err)
		}
		assertNoLeftovers(t, dest)
	})
	t.Run("server copy truncated", func(t *testing.T) {
		srv := newReleaseServer(t, short)
		opt := testOptions(t, srv, rel)
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrChecksum) {
			t.Fatalf("truncated server copy: %v", err)
		}
	})
	t.Run("release checksum: size and completeness known", func(t *testing.T) {
		// With the release's own checksum (here a stand-in Archive), a server
		// offering another size is refused before anything is written.
		arc := BillionWordsArchive
		arc.SHA256, arc.Size, arc.MD5, arc.UnpackedBytes, arc.HeldoutBytes = rel.sha, int64(len(rel.tgz)), rel.md5, 0, 0
		srv := newReleaseServer(t, short)
		dest := t.TempDir()
		_, err := downloadArchive(context.Background(), arc, DownloadOptions{Dest: dest, URL: srv.url()})
		if err == nil || !strings.Contains(err.Error(), "not the release") {
			t.Fatalf("wrong size: %v", err)
		}
		// And an archive lacking a listed file is refused after extraction.
		arc.MD5 = map[string]string{HeldoutFolder + "/news.en.heldout-00049-of-00050": "00000000000000000000000000000000"}
		for k, v := range rel.md5 {
			arc.MD5[k] = v
		}
		srv = newReleaseServer(t, rel.tgz)
		_, err = downloadArchive(context.Background(), arc, DownloadOptions{Dest: dest, URL: srv.url()})
		if err == nil || !strings.Contains(err.Error(), "lacks 1 of the 6 files") {
			t.Fatalf("incomplete archive: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after an incomplete archive")
		}
	})
}

// fullDisk fails writes with ENOSPC once more than limit bytes went to files
// whose names contain match.
type fullDisk struct {
	mu      sync.Mutex
	limit   int64
	written int64
	match   string
}

type limitedFile struct {
	*os.File
	disk *fullDisk
}

func (f *limitedFile) Write(p []byte) (int, error) {
	f.disk.mu.Lock()
	defer f.disk.mu.Unlock()
	if f.disk.written+int64(len(p)) > f.disk.limit {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.disk.written += int64(len(p))
	return f.File.Write(p)
}

func (d *fullDisk) open(name string, flag int, perm fs.FileMode) (outFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil || !strings.Contains(name, d.match) {
		return f, err
	}
	return &limitedFile{File: f, disk: d}, nil
}

func TestDownloadDiskFull(t *testing.T) {
	rel := makeRelease(t, 2000)
	t.Run("while downloading", func(t *testing.T) {
		srv := newReleaseServer(t, rel.tgz)
		opt := testOptions(t, srv, rel)
		opt.openFile = (&fullDisk{limit: int64(len(rel.tgz)) / 2, match: ".part"}).open
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "disk is full") {
			t.Fatalf("full disk while downloading: %v", err)
		}
		opt.openFile = nil // space was freed: the next run resumes
		res, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if err != nil || res.Resumed == 0 {
			t.Fatalf("after freeing space: %+v %v", res, err)
		}
		assertInstalled(t, opt.Dest, rel, false)
	})
	t.Run("while extracting", func(t *testing.T) {
		srv := newReleaseServer(t, rel.tgz)
		opt := testOptions(t, srv, rel)
		opt.openFile = (&fullDisk{limit: 20_000, match: ".tmp-"}).open
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "nothing was installed") || !strings.Contains(err.Error(), "archive is kept") {
			t.Fatalf("full disk while extracting: %v", err)
		}
		if _, err := os.Stat(filepath.Join(opt.Dest, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists after a full disk")
		}
		assertNoLeftovers(t, opt.Dest)
		// The verified archive is kept, so the next run only extracts.
		opt.openFile = nil
		before := len(srv.requests())
		if _, err := DownloadCorpus(context.Background(), BillionWords, opt); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.requests()) - before; n != 0 {
			t.Fatalf("the archive was downloaded again (%d requests)", n)
		}
		assertInstalled(t, opt.Dest, rel, false)
	})
	t.Run("a real small file system", func(t *testing.T) {
		// A 64 KiB tmpfs where mounting is allowed (root with CAP_SYS_ADMIN);
		// the stand-in writer above covers other platforms.
		mnt := t.TempDir()
		if os.Geteuid() != 0 || exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).Run() != nil {
			t.Log("cannot mount a tmpfs here; the full disk is covered by the injected writer only")
			return
		}
		t.Cleanup(func() { exec.Command("umount", mnt).Run() })
		rel := makeRelease(t, 250)
		if len(rel.tgz) > 40<<10 || rel.unpacked() < 64<<10 {
			t.Fatalf("test archive of %d bytes (%d unpacked) should fit 64 KiB packed, not unpacked", len(rel.tgz), rel.unpacked())
		}
		srv := newReleaseServer(t, rel.tgz)
		opt := testOptions(t, srv, rel)
		opt.Dest = mnt
		_, err := DownloadCorpus(context.Background(), BillionWords, opt)
		if !errors.Is(err, ErrDiskFull) {
			t.Fatalf("64 KiB tmpfs: %v", err)
		}
		t.Logf("on a 64 KiB tmpfs: %v", err)
		if _, err := os.Stat(filepath.Join(mnt, BillionWordsRelease)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("release folder exists on the full tmpfs")
		}
		assertNoLeftovers(t, mnt)
	})
}

func TestDownloadHeldoutOnlyThenFull(t *testing.T) {
	rel := makeRelease(t, 400)
	srv := newReleaseServer(t, rel.tgz)
	opt := testOptions(t, srv, rel)
	opt.HeldoutOnly = true
	res, err := DownloadCorpus(context.Background(), BillionWords, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "heldout" || res.Files != 3 || res.Verified != 3 || res.Fetched != int64(len(rel.tgz)) {
		t.Fatalf("held-out only: %+v", res)
	}
	assertInstalled(t, opt.Dest, rel, true)
	c, err := ResolveCorpus(BillionWords, CorpusOptions{DataDir: opt.Dest})
	if err != nil || len(c.Eval) != 1 || c.TrainErr == nil {
		t.Fatalf("held-out copy resolves to %+v, %v", c, err)
	}
	// Asking for held-out again does nothing; asking for everything replaces it.
	if res, err := DownloadCorpus(context.Background(), BillionWords, opt); err != nil || !res.Already {
		t.Fatalf("held-out again: %+v %v", res, err)
	}
	opt.HeldoutOnly = false
	res, err = DownloadCorpus(context.Background(), BillionWords, opt)
	if err != nil || res.Already || res.Mode != "full" {
		t.Fatalf("full after held-out: %+v %v", res, err)
	}
	assertInstalled(t, opt.Dest, rel, false)
}

func TestDownloadRefusesForeignFolderAndConcurrentRuns(t *testing.T) {
	rel := makeRelease(t, 100)
	srv := newReleaseServer(t, rel.tgz)
	opt := testOptions(t, srv, rel)
	writeFile(t, filepath.Join(opt.Dest, BillionWordsRelease, HeldoutFolder, "mine"), []byte("x\n"))
	_, err := DownloadCorpus(context.Background(), BillionWords, opt)
	if err == nil || !strings.Contains(err.Error(), "was not written by") || len(srv.requests()) != 0 {
		t.Fatalf("existing folder: %v", err)
	}

	unlock, err := lockFolder(filepath.Join(opt.Dest, ".dgtext-download.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = DownloadCorpus(context.Background(), BillionWords, opt)
	if err == nil || !strings.Contains(err.Error(), "another `dgtext data download`") {
		t.Fatalf("concurrent run: %v", err)
	}
}

func TestDownloadBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opt  DownloadOptions
		want string
	}{
		{DownloadOptions{SHA256: "abc"}, "64 hexadecimal digits"},
		{DownloadOptions{URL: "ftp://x/y"}, "http:// or https://"},
		{DownloadOptions{URL: "http://x/y", ArchiveFile: "a.tgz"}, "not both"},
	} {
		tc.opt.Dest = t.TempDir()
		if _, err := DownloadCorpus(context.Background(), BillionWords, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opt, err, tc.want)
		}
	}
	if _, err := DownloadCorpus(context.Background(), "mnist", DownloadOptions{}); err == nil || !strings.Contains(err.Error(), BillionWords) {
		t.Errorf("unknown corpus: %v", err)
	}
}

func TestParseContentRange(t *testing.T) {
	for in, want := range map[string][3]int64{
		"bytes 100-199/1000": {100, 1000, 1},
		"bytes */1000":       {-1, 1000, 1},
		"bytes 1-2":          {0, 0, 0},
		"items 1-2/3":        {0, 0, 0},
	} {
		s, n, ok := parseContentRange(in)
		if s != want[0] || n != want[1] || ok != (want[2] == 1) {
			t.Errorf("%q: %d %d %v", in, s, n, ok)
		}
	}
}

// The embedded MD5 table is the published one, and the shared shards match it.
func TestBillionWordsMD5sMatchPublished(t *testing.T) {
	release := filepath.Join(sharedBillionWords(t), BillionWordsRelease)
	f, err := os.Open(filepath.Join(release, "README.corpus_generation_checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	published, err := ParseMD5Sums(f)
	if err != nil {
		t.Fatal(err)
	}
	table := BillionWordsArchive.MD5
	if len(table) != 150 || len(published) != 150 {
		t.Fatalf("%d embedded and %d published checksums, want 150 (99 training, 51 held-out)", len(table), len(published))
	}
	for p, sum := range published {
		if table[p] != sum {
			t.Errorf("%s: embedded %q, published %q", p, table[p], sum)
		}
	}
	for _, shard := range heldoutShards(t) {
		b, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b)
		rel := HeldoutFolder + "/" + filepath.Base(shard)
		if got := hex.EncodeToString(sum[:]); got != table[rel] {
			t.Errorf("%s: MD5 %s, table %s", rel, got, table[rel])
		}
	}
}

func TestParseMD5SumsRejectsEmpty(t *testing.T) {
	if _, err := ParseMD5Sums(strings.NewReader("no checksums here\n")); err == nil {
		t.Fatal("no error for a list without checksums")
	}
	m, err := ParseMD5Sums(strings.NewReader("36b9b690341bfb89239d9c656cce8c5a  " + BillionWordsRelease + "/" + HeldoutFolder + "/a\n" +
		"b7d3968e247b46381c6769dec720390e  training-monolingual/news.2007.en.shuffled\n"))
	if err != nil || len(m) != 1 || m[HeldoutFolder+"/a"] == "" {
		t.Fatalf("%v %v", m, err)
	}
}

// With the release's checksum the sizes are known, and a destination without
// room for them is refused before anything is fetched.
func TestDownloadChecksFreeSpaceFirst(t *testing.T) {
	rel := makeRelease(t, 100)
	srv := newReleaseServer(t, rel.tgz)
	dest := t.TempDir()
	if _, ok := freeBytes(dest); !ok {
		t.Log("free space is unknown on this platform; the download relies on write errors (TestDownloadDiskFull)")
		return
	}
	arc := BillionWordsArchive
	arc.SHA256, arc.Size, arc.MD5, arc.UnpackedBytes = rel.sha, int64(len(rel.tgz)), rel.md5, 1<<60
	_, err := downloadArchive(context.Background(), arc, DownloadOptions{Dest: dest, URL: srv.url()})
	if err == nil || !strings.Contains(err.Error(), "not enough disk space in "+dest) || len(srv.requests()) != 0 {
		t.Fatalf("want a refusal before any request, got %v after %d requests", err, len(srv.requests()))
	}
}
