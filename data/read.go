package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// ReadOptions configures how corpus files are read.
type ReadOptions struct {
	// Column is the Parquet column (or JSON Lines field) holding the text.
	// Empty means "text". A nested column is written with dots: "meta.text".
	Column string
	// ContentHash asks for the SHA-256 of each file's bytes (as stored, before
	// decompression) in FileStats.SHA256, computed while the file is read.
	// Caches use it to tell whether a file is still the one they counted.
	ContentHash bool
}

func (o ReadOptions) column() string {
	if o.Column == "" {
		return "text"
	}
	return o.Column
}

// FileStats counts what one file contributed.
type FileStats struct {
	Path        string `json:"path"`               // file path as read
	Format      string `json:"format"`             // "text", "gzip", "parquet" or "jsonl"
	Lines       int64  `json:"lines"`              // non-empty lines delivered
	Empty       int64  `json:"empty_lines"`        // empty lines (or nulls) skipped
	InvalidUTF8 int64  `json:"invalid_utf8_lines"` // delivered lines that held invalid UTF-8
	// SHA256 is the hex SHA-256 of the file's bytes, with ReadOptions.ContentHash
	// and when the file was read to its end; "" otherwise.
	SHA256 string `json:"sha256,omitempty"`
}

// Stats describes a read of a corpus.
type Stats struct {
	Files        int         // files read
	Lines        int64       // non-empty lines delivered
	Empty        int64       // empty lines, Parquet nulls and JSON nulls skipped
	InvalidUTF8  int64       // delivered lines that held invalid UTF-8 (repaired, not dropped)
	InvalidBytes int64       // invalid UTF-8 bytes replaced by U+FFFD
	Chars        int64       // runes in the delivered lines
	Bytes        int64       // UTF-8 bytes in the delivered lines (after repair)
	PerFile      []FileStats // one entry per file read, in order
	// Skipped lists files found inside folders that were not read, with the
	// reason ("binary", "documentation"). Files named explicitly are never
	// skipped: they are read or give an error.
	Skipped []string
}

// ErrStop may be returned by the callback of ForEachLine to stop reading early
// without an error.
var ErrStop = errors.New("stop reading")

// ErrEmptyCorpus is returned (wrapped) when a corpus holds no non-empty line.
var ErrEmptyCorpus = errors.New("corpus has no non-empty lines")

// ForEachLine streams every non-empty line of paths to fn, in order. Paths are
// files, folders (read recursively, in lexical order, skipping hidden files,
// documentation such as README files, and binary files) or glob patterns; files
// are plain text, gzip, Parquet or JSON Lines (see the package documentation).
//
// Invalid UTF-8 is replaced (each bad byte by U+FFFD) and counted; empty lines
// are skipped and counted; a trailing "\r" is removed. It is an error if no line
// at all is found, or if a file is corrupt, truncated or binary; errors name the
// file. If fn returns ErrStop, reading stops and ForEachLine returns the stats so
// far and no error; any other error from fn is returned as is.
func ForEachLine(paths []string, opt ReadOptions, fn func(line string) error) (Stats, error) {
	return ForEachLineContext(context.Background(), paths, opt, fn)
}

// ForEachLineContext is ForEachLine that stops when ctx is done, even while a
// read is waiting for data (a FIFO, a pipe, a slow network file system): it then
// returns the stats so far and an error wrapping ctx.Err(). A read blocked in
// the kernel that cannot be interrupted (an open(2) of a FIFO with no writer
// yet) is abandoned: its goroutine closes the file when the call returns.
func ForEachLineContext(ctx context.Context, paths []string, opt ReadOptions, fn func(line string) error) (Stats, error) {
	files, err := ExpandPaths(paths)
	if err != nil {
		return Stats{}, err
	}
	return forEachFile(ctx, files, strings.Join(paths, ", "), opt, fn)
}

// ForEachLineFiles is ForEachLineContext for files already listed by
// ExpandPaths (binary files found in folders are skipped, as there).
func ForEachLineFiles(ctx context.Context, files []InputFile, opt ReadOptions, fn func(line string) error) (Stats, error) {
	if len(files) == 0 {
		return Stats{}, errors.New("no input files")
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Path
	}
	return forEachFile(ctx, files, strings.Join(names, ", "), opt, fn)
}

func forEachFile(ctx context.Context, files []InputFile, what string, opt ReadOptions, fn func(line string) error) (Stats, error) {
	var st Stats
	for _, f := range files {
		fst := FileStats{Path: f.Path}
		before := st
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("read %s: %w", f.Path, err)
		}
		err := readFile(ctx, f, opt, &st, &fst, fn)
		if errors.Is(err, errSkipBinary) {
			st = before
			st.Skipped = append(st.Skipped, f.Path+" (binary)")
			continue
		}
		st.Files++
		st.PerFile = append(st.PerFile, fst)
		if errors.Is(err, ErrStop) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
	}
	if st.Lines == 0 {
		msg := fmt.Sprintf("%s: %d files read, %d empty lines", what, st.Files, st.Empty)
		if len(st.Skipped) > 0 {
			msg += "; skipped " + strings.Join(st.Skipped, ", ")
		}
		return st, fmt.Errorf("%w (%s); give text, .gz, Parquet or JSON Lines files with at least one line", ErrEmptyCorpus, msg)
	}
	return st, nil
}

// ReadLines reads every non-empty line of paths into memory. It is ForEachLine
// for corpora known to be small; stream large ones with ForEachLine.
func ReadLines(paths []string, opt ReadOptions) ([]string, Stats, error) {
	var lines []string
	st, err := ForEachLine(paths, opt, func(line string) error {
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	return lines, st, nil
}

// InputFile is one file found by ExpandPaths.
type InputFile struct {
	Path string
	// Explicit is true for files named directly or matched by a glob, false for
	// files found inside a folder (those are skipped, not an error, when binary).
	Explicit bool
}

// ExpandPaths turns files, folders and glob patterns into the list of files
// ForEachLine reads, without opening them. Folders are walked recursively in
// lexical order; hidden entries (starting with ".") and documentation files
// (README, LICENSE, *.md, ...) inside them are left out. Each file appears once.
// It is an error if a path does not exist, a glob matches nothing, or a folder
// holds no candidate file.
func ExpandPaths(paths []string) ([]InputFile, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input paths given; name files, folders or globs of text, .gz or Parquet files")
	}
	var out []InputFile
	seen := map[string]bool{}
	add := func(p string, explicit bool) {
		key := filepath.Clean(p)
		if !seen[key] {
			seen[key] = true
			out = append(out, InputFile{Path: p, Explicit: explicit})
		}
	}
	for _, p := range paths {
		if p == "" {
			return nil, errors.New("empty input path")
		}
		info, err := os.Stat(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) || !hasGlobMeta(p) {
				return nil, fmt.Errorf("input %s: %w", p, err)
			}
			matches, gerr := filepath.Glob(p)
			if gerr != nil {
				return nil, fmt.Errorf("input %s: bad glob pattern: %w", p, gerr)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("input %s: no files match this pattern", p)
			}
			for _, m := range matches {
				mi, err := os.Stat(m)
				if err != nil {
					return nil, fmt.Errorf("input %s: %w", m, err)
				}
				if mi.IsDir() {
					files, err := walkFolder(m)
					if err != nil {
						return nil, err
					}
					for _, f := range files {
						add(f, false)
					}
				} else {
					add(m, true)
				}
			}
			continue
		}
		if info.IsDir() {
			files, err := walkFolder(p)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				add(f, false)
			}
			continue
		}
		add(p, true)
	}
	return out, nil
}

func hasGlobMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// walkFolder lists the candidate corpus files under dir.
func walkFolder(dir string) ([]string, error) {
	var files, docs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read folder %s: %w", p, err)
		}
		name := d.Name()
		if p != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			// Follow symlinks to regular files; ignore sockets, devices, ...
			info, err := os.Stat(p)
			if err != nil || !info.Mode().IsRegular() {
				return nil
			}
		}
		if isDocFile(name) {
			docs = append(docs, name)
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		msg := fmt.Sprintf("folder %s holds no text, .gz, Parquet or JSON Lines files", dir)
		if len(docs) > 0 {
			sort.Strings(docs)
			msg += " (only documentation: " + strings.Join(docs, ", ") + ")"
		}
		return nil, errors.New(msg + "; point at a folder of corpus files or name the files")
	}
	return files, nil
}

// isDocFile reports names inside corpus folders that are documentation or
// metadata, not text to train on.
func isDocFile(name string) bool {
	upper := strings.ToUpper(name)
	for _, p := range []string{"README", "LICENSE", "LICENCE", "COPYING", "NOTICE", "CHANGELOG", "AUTHORS", "CHECKSUM", "MD5SUM", "SHA256SUM"} {
		if strings.HasPrefix(upper, p) {
			return true
		}
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".md", ".json", ".yaml", ".yml", ".toml", ".py", ".sh", ".go", ".html", ".htm", ".pdf",
		".png", ".jpg", ".jpeg", ".gif", ".zip", ".tar", ".tgz", ".md5", ".sha1", ".sha256", ".crc", ".lock":
		return true
	}
	return false
}

// lineSink applies the common line rules (repair, empty skip, counting) and
// hands lines to the user's callback.
type lineSink struct {
	st  *Stats
	fst *FileStats
	fn  func(string) error
}

// emit processes one raw line (line ending already removed).
func (s *lineSink) emit(line string) error {
	if len(line) == 0 {
		s.st.Empty++
		s.fst.Empty++
		return nil
	}
	runes, bad := countRunes(line)
	if bad > 0 {
		line = repairUTF8(line)
		s.st.InvalidUTF8++
		s.fst.InvalidUTF8++
		s.st.InvalidBytes += int64(bad)
	}
	s.st.Lines++
	s.fst.Lines++
	s.st.Chars += int64(runes)
	s.st.Bytes += int64(len(line))
	return s.fn(line)
}

// null counts a missing value (Parquet or JSON null) as an empty line.
func (s *lineSink) null() {
	s.st.Empty++
	s.fst.Empty++
}

// countRunes returns the number of runes in s (an invalid byte counts as one)
// and the number of invalid bytes.
func countRunes(s string) (runes, bad int) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			runes++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		i += size
		runes++
	}
	return runes, bad
}

// repairUTF8 replaces each invalid byte of s by U+FFFD, matching how a Go range
// loop (and PadRunes) reads it.
func repairUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
