package data

// The unpacking side of DownloadCorpus: extract, verify, install by rename.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

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
