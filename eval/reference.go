package eval

import (
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
}

// ReferenceInfo tells what Reference did.
type ReferenceInfo struct {
	Files     []string   // the files the reference paths expand to
	Cached    bool       // statistics came from the cache
	CachePath string     // cache file read or written; "" with NoCache
	CacheNote string     // why the cache was not used or not written; "" if it was
	Read      data.Stats // reader statistics when the files were read (zero when cached)
}

// Reference returns the statistics of the lines of paths (files, folders, globs of
// text, .gz, Parquet or JSON Lines, as data.ForEachLine reads them). Unless
// ro.NoCache, they are kept in the cache folder keyed by the files (path, size,
// modification time and a hash of their first and last 64 KiB), the options and the
// Parquet column: a later call with unchanged files loads them instead of recounting.
// A cache file that is stale, unreadable or corrupt is rebuilt, never used; failing
// to write the cache is not an error (see ReferenceInfo.CacheNote).
func Reference(paths []string, opt Options, ro ReferenceOptions) (*Stats, ReferenceInfo, error) {
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
	var ident string
	if !ro.NoCache {
		dir := ro.CacheDir
		if dir == "" {
			if dir, err = DefaultCacheDir(); err != nil {
				return nil, info, err
			}
		}
		var name string
		name, ident, err = cacheIdentity(info.Files, o, ro.Read)
		if err != nil {
			return nil, info, fmt.Errorf("reference: %w", err)
		}
		info.CachePath = filepath.Join(dir, "eval", name)
		s, tag, err := loadStats(info.CachePath)
		switch {
		case err == nil && tag == ident:
			info.Cached = true
			return s, info, nil
		case err == nil:
			info.CacheNote = "cache is stale (reference files changed); recounted"
		case errors.Is(err, fs.ErrNotExist):
		default:
			info.CacheNote = fmt.Sprintf("cache unusable (%v); recounted", err)
		}
	}
	c, err := NewCounter(o)
	if err != nil {
		return nil, info, err
	}
	info.Read, err = data.ForEachLine(paths, ro.Read, func(line string) error {
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
	_, after, err := cacheIdentity(info.Files, o, ro.Read)
	if err != nil || after != ident {
		info.CacheNote = joinNote(info.CacheNote, "reference files changed while being read; not cached")
		return s, info, nil
	}
	if err := os.MkdirAll(filepath.Dir(info.CachePath), 0o755); err != nil {
		info.CacheNote = joinNote(info.CacheNote, fmt.Sprintf("not cached: %v", err))
		return s, info, nil
	}
	if err := saveStats(info.CachePath, s, ident); err != nil {
		info.CacheNote = joinNote(info.CacheNote, fmt.Sprintf("not cached: %v", err))
	}
	return s, info, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// cacheIdentity returns the cache file name for files read with opt and ro (one
// entry per file set and options, so stale entries are overwritten, not piled up) and
// the full identity stored in it, which also covers each file's size, modification
// time and a hash of its first and last 64 KiB.
func cacheIdentity(files []string, opt Options, ro data.ReadOptions) (name, ident string, err error) {
	column := ro.Column
	if column == "" {
		column = "text"
	}
	var key strings.Builder
	fmt.Fprintf(&key, "dgtext eval reference v%d\n%v\ncolumn=%q\n", storeVersion, opt, column)
	var full strings.Builder
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(&key, "file %q\n", abs)
		st, err := os.Stat(abs)
		if err != nil {
			return "", "", err
		}
		sum, err := headTailHash(abs, st.Size())
		if err != nil {
			return "", "", err
		}
		fmt.Fprintf(&full, "%q size=%d mtime=%d sample=%s\n", abs, st.Size(), st.ModTime().UnixNano(), sum)
	}
	h := sha256.Sum256([]byte(key.String()))
	return "ref-" + hex.EncodeToString(h[:16]) + ".ngrams", key.String() + full.String(), nil
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
