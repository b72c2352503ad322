package data

// The HTTP side of DownloadCorpus: resumable transfers of the archive.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

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
