package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgtext/dgtext/data"
)

// CacheDirEnv names the environment variable that overrides the cache folder.
const CacheDirEnv = "DGTEXT_CACHE_DIR"

// DefaultCacheDir returns the folder for cached reference statistics: $DGTEXT_CACHE_DIR
// if set, else $XDG_CACHE_HOME/dgtext, else ~/.cache/dgtext (the platform's user cache
// folder elsewhere).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder: %w; set %s or use --no-cache", err, CacheDirEnv)
	}
	return filepath.Join(d, "dgtext"), nil
}

// ReferenceOptions says how Reference reads files and caches their statistics.
type ReferenceOptions struct {
	Read     data.ReadOptions // reader options (Parquet column)
	CacheDir string           // cache folder; "" means DefaultCacheDir()
	NoCache  bool             // neither read nor write the cache
	// TrustMtime uses a cache entry when each file's path, size, modification
	// time and first and last 64 KiB match it, without reading the files whole.
	// It is faster on large references, and wrong after an edit in place that
	// keeps the size and the modification time (cp -p, rsync -t, some editors).
	// By default a cache entry is used only when the SHA-256 of every file's
	// content matches.
	TrustMtime bool
}

// ReferenceInfo tells what Reference did.
type ReferenceInfo struct {
	Files     []string   // the files the reference paths expand to
	Cached    bool       // statistics came from the cache
	Check     string     // how a cached entry was checked: "content" (SHA-256) or "mtime"
	CachePath string     // cache file read or written; "" with NoCache
	CacheNote string     // why the cache was not used or not written; "" if it was
	Read      data.Stats // reader statistics when the files were read (zero when cached)
}

// Reference returns the statistics of the lines of paths (files, folders, globs of
// text, .gz, Parquet or JSON Lines, as data.ForEachLine reads them). Unless
// ro.NoCache, they are kept in the cache folder, one entry per file set, options
// and Parquet column. An entry records the SHA-256 of every file's content
// (computed while the files are counted) and is used by a later call only when
// the files still hash the same, or, with ro.TrustMtime, when their size,
// modification time and first and last 64 KiB are unchanged. A cache file that
// is stale, unreadable or corrupt is rebuilt, never used; failing to write the
// cache is not an error (see ReferenceInfo.CacheNote).
func Reference(paths []string, opt Options, ro ReferenceOptions) (*Stats, ReferenceInfo, error) {
	return ReferenceContext(context.Background(), paths, opt, ro)
}

// ReferenceContext is Reference that stops reading when ctx is done (see
// data.ForEachLineContext); nothing is cached then.
func ReferenceContext(ctx context.Context, paths []string, opt Options, ro ReferenceOptions) (*Stats, ReferenceInfo, error) {
	var info ReferenceInfo
	o, err := opt.normalize()
	if err != nil {
		return nil, info, err
	}
	files, err := data.ExpandPaths(paths)
	if err != nil {
		return nil, info, fmt.Errorf("reference: %w", err)
	}
	for _, f := range files {
		info.Files = append(info.Files, f.Path)
	}
	var key, stamp string
	if !ro.NoCache {
		dir := ro.CacheDir
		if dir == "" {
			if dir, err = DefaultCacheDir(); err != nil {
				return nil, info, err
			}
		}
		var name string
		name, key, stamp, err = cacheIdentity(info.Files, o, ro.Read)
		if err != nil {
			return nil, info, fmt.Errorf("reference: %w", err)
		}
		info.CachePath = filepath.Join(dir, "eval", name)
		s, tag, err := loadStats(info.CachePath)
		switch {
		case err == nil:
			ok, note, err := cacheMatches(tag, key, stamp, info.Files, ro.TrustMtime)
			if err != nil {
				return nil, info, fmt.Errorf("reference: %w", err)
			}
			if ok {
				info.Cached = true
				info.Check = "content"
				if ro.TrustMtime {
					info.Check = "mtime"
				}
				return s, info, nil
			}
			info.CacheNote = note
		case errors.Is(err, fs.ErrNotExist):
		default:
			info.CacheNote = fmt.Sprintf("cache unusable (%v); recounted", err)
		}
	}
	c, err := NewCounter(o)
	if err != nil {
		return nil, info, err
	}
	read := ro.Read
	read.ContentHash = !ro.NoCache
	info.Read, err = data.ForEachLineContext(ctx, paths, read, func(line string) error {
		c.Add(line)
		return nil
	})
	s := c.Stats()
	if err != nil {
		return nil, info, fmt.Errorf("reference: %w", err)
	}
	if ro.NoCache {
		return s, info, nil
	}
	// Only cache what was read from files that did not change meanwhile.
	_, _, after, err := cacheIdentity(info.Files, o, ro.Read)
	if err != nil || after != stamp {
		info.CacheNote = joinNote(info.CacheNote, "reference files changed while being read; not cached")
		return s, info, nil
	}
	sums := map[string]string{}
	for _, f := range info.Read.PerFile {
		sums[f.Path] = f.SHA256
	}
	content, err := contentIdentity(info.Files, sums)
	if err != nil {
		info.CacheNote = joinNote(info.CacheNote, fmt.Sprintf("not cached: %v", err))
		return s, info, nil
	}
	if err := os.MkdirAll(filepath.Dir(info.CachePath), 0o755); err != nil {
		info.CacheNote = joinNote(info.CacheNote, fmt.Sprintf("not cached: %v", err))
		return s, info, nil
	}
	if err := saveStats(info.CachePath, s, key+stamp+contentMarker+content); err != nil {
		info.CacheNote = joinNote(info.CacheNote, fmt.Sprintf("not cached: %v", err))
	}
	return s, info, nil
}

// contentMarker separates a cache tag's file stamps from its content hashes.
const contentMarker = "content\n"

// cacheMatches tells whether a cache entry with tag describes the files now,
// and if not, why (a note for the user). By default the files are hashed and
// compared with the recorded content; with trustMtime their stamps are.
func cacheMatches(tag, key, stamp string, files []string, trustMtime bool) (bool, string, error) {
	head, content, ok := strings.Cut(tag, contentMarker)
	if !ok || !strings.HasPrefix(head, key) {
		return false, "cache entry from an older dgtext; recounted", nil
	}
	if trustMtime {
		if head == key+stamp {
			return true, "", nil
		}
		return false, "cache is stale (reference files changed); recounted", nil
	}
	now, err := contentIdentity(files, nil)
	if err != nil {
		return false, "", err
	}
	if now == content {
		return true, "", nil
	}
	return false, "cache is stale (reference content changed); recounted", nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// cacheIdentity returns, for files read with opt and ro, the cache file name
// (one entry per file set and options, so stale entries are overwritten, not
// piled up), the key that the entry's tag starts with, and the files' stamps:
// size, modification time and a hash of their first and last 64 KiB.
func cacheIdentity(files []string, opt Options, ro data.ReadOptions) (name, key, stamp string, err error) {
	column := ro.Column
	if column == "" {
		column = "text"
	}
	var k strings.Builder
	fmt.Fprintf(&k, "dgtext eval reference v%d\n%v\ncolumn=%q\n", storeVersion, opt, column)
	var st strings.Builder
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", "", "", err
		}
		fmt.Fprintf(&k, "file %q\n", abs)
		info, err := os.Stat(abs)
		if err != nil {
			return "", "", "", err
		}
		sum, err := headTailHash(abs, info.Size())
		if err != nil {
			return "", "", "", err
		}
		fmt.Fprintf(&st, "%q size=%d mtime=%d sample=%s\n", abs, info.Size(), info.ModTime().UnixNano(), sum)
	}
	h := sha256.Sum256([]byte(k.String()))
	return "ref-" + hex.EncodeToString(h[:16]) + ".ngrams", k.String(), st.String(), nil
}

// contentIdentity lists the SHA-256 of each file's content, taken from sums
// (path as listed -> hex digest, as the reader reported them) or, for files
// missing there, by reading the file.
func contentIdentity(files []string, sums map[string]string) (string, error) {
	var b strings.Builder
	for _, f := range files {
		sum := sums[f]
		if sum == "" {
			var err error
			if sum, err = fileSHA256(f); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "%s\n", sum)
	}
	return b.String(), nil
}

// fileSHA256 returns the hex SHA-256 of a file's bytes.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// headTailHash hashes the first and last 64 KiB of a file.
func headTailHash(path string, size int64) (string, error) {
	const span = 64 << 10
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, span)); err != nil {
		return "", err
	}
	if size > span {
		if _, err := io.Copy(h, io.NewSectionReader(f, max(span, size-span), span)); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// Score returns JS between samples and ref for every order ref holds, counting the
// samples with ref's options.
func Score(samples []string, ref *Stats) (map[int]float64, error) {
	s, err := Count(samples, ref.Options())
	if err != nil {
		return nil, err
	}
	return JSAll(s, ref)
}
