package data

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// MaxLineBytes is the longest line the text reader accepts. Longer "lines" almost
// always mean the file is not one-sentence-per-line text.
const MaxLineBytes = 16 << 20

// errSkipBinary marks a binary file found inside a folder: it is skipped, not an error.
var errSkipBinary = errors.New("binary file")

// callbackError carries an error returned by the user's callback through the
// readers, so that it is returned unwrapped.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// Formats of corpus files.
const (
	formatText    = "text"
	formatGzip    = "gzip"
	formatParquet = "parquet"
	formatJSONL   = "jsonl"
)

// fileFormat decides how to read path from its name and its first bytes.
// It returns the format and whether the content is gzip-compressed.
func fileFormat(path string, head []byte) (format string, gz bool) {
	name := strings.ToLower(filepath.Base(path))
	if strings.HasSuffix(name, ".gz") {
		gz = true
		name = strings.TrimSuffix(name, ".gz")
	}
	switch filepath.Ext(name) {
	case ".parquet", ".pq":
		if !gz {
			return formatParquet, false
		}
	case ".jsonl", ".ndjson":
		return formatJSONL, gz
	}
	if gz {
		return formatGzip, true
	}
	if bytes.HasPrefix(head, []byte("PAR1")) {
		return formatParquet, false
	}
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		return formatGzip, true
	}
	return formatText, false
}

// readFile reads one corpus file into the sink; errors name the file.
func readFile(ctx context.Context, in InputFile, opt ReadOptions, st *Stats, fst *FileStats, fn func(string) error) error {
	err := readFileInner(ctx, in, opt, st, fst, fn)
	if err == nil || errors.Is(err, errSkipBinary) {
		return err
	}
	var cb *callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return fmt.Errorf("read %s: %w", in.Path, err)
}

func readFileInner(ctx context.Context, in InputFile, opt ReadOptions, st *Stats, fst *FileStats, fn func(string) error) error {
	cf, err := openContext(ctx, in.Path)
	if err != nil {
		return err
	}
	defer cf.Close()
	f := cf.f
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.IsDir() {
		return errors.New("is a folder")
	}
	var head [4]byte
	n, _ := f.ReadAt(head[:], 0)
	format, gz := fileFormat(in.Path, head[:n])
	fst.Format = format
	sink := &lineSink{st: st, fst: fst, fn: func(s string) error {
		if err := fn(s); err != nil {
			return &callbackError{err}
		}
		return nil
	}}
	var h hash.Hash
	var src io.Reader = cf
	if opt.ContentHash {
		h = sha256.New()
		src = io.TeeReader(cf, h)
	}
	if err := readFormat(cf, src, info.Size(), format, gz, in.Explicit, opt, sink); err != nil {
		return err
	}
	if h != nil {
		// Text formats were hashed as they were read; hash what the parser left
		// (normally nothing). Parquet is read at random offsets: hash it whole.
		rest := io.Reader(cf)
		if format == formatParquet {
			rest = io.NewSectionReader(cf, 0, info.Size())
		}
		if _, err := io.Copy(h, rest); err != nil {
			return err
		}
		fst.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return nil
}

// readFormat parses one opened file: cf for random access (Parquet), src for
// reading it in order (the other formats).
func readFormat(cf *ctxFile, src io.Reader, size int64, format string, gz, explicit bool, opt ReadOptions, sink *lineSink) error {
	if format == formatParquet {
		return readParquet(cf, size, opt.column(), sink)
	}
	r := src
	if gz {
		zr, err := gzip.NewReader(bufio.NewReaderSize(src, 256<<10))
		if err != nil {
			return fmt.Errorf("not a valid gzip file (%v); decompress it or rename it without .gz", err)
		}
		defer zr.Close()
		r = zr
	}
	if format == formatJSONL {
		return readJSONL(r, explicit, opt.column(), sink)
	}
	return forEachRawLine(r, explicit, func(_ int64, line []byte) error {
		return sink.emit(string(line))
	})
}

// forEachRawLine splits r into lines without their "\n" or "\r\n" endings. It
// refuses content that looks binary (errSkipBinary when the file was found in a
// folder) and lines longer than MaxLineBytes.
func forEachRawLine(r io.Reader, explicit bool, fn func(lineNo int64, line []byte) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	// Sniff what the first read gives (up to 8 KiB), without waiting for more:
	// a pipe or FIFO may deliver its first lines long before 8 KiB arrive.
	if _, err := br.Peek(1); err != nil && err != io.EOF {
		return readErr(err)
	}
	peek, _ := br.Peek(min(br.Buffered(), 8<<10))
	if why := binaryReason(peek); why != "" {
		if !explicit {
			return errSkipBinary
		}
		return fmt.Errorf("looks binary, not text (%s); give plain text, .gz, Parquet or JSON Lines", why)
	}
	var long []byte
	inLong := false
	var lineNo int64
	for {
		chunk, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(chunk) > MaxLineBytes {
				return fmt.Errorf("line %d is longer than %d MiB; is this one-sentence-per-line text?", lineNo+1, MaxLineBytes>>20)
			}
			long = append(long, chunk...)
			inLong = true
			continue
		}
		if err != nil && err != io.EOF {
			return readErr(err)
		}
		if len(chunk) == 0 && !inLong {
			return nil // clean end of file
		}
		line := chunk
		if inLong {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > MaxLineBytes {
			return fmt.Errorf("line %d is longer than %d MiB; is this one-sentence-per-line text?", lineNo+1, MaxLineBytes>>20)
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		lineNo++
		if ferr := fn(lineNo, line); ferr != nil {
			return ferr
		}
		long, inLong = long[:0], false
		if err == io.EOF {
			return nil
		}
	}
}

// readErr explains decompression errors, which mean a damaged file.
func readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file is truncated (%w); download or copy it again", err)
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return fmt.Errorf("corrupt gzip data (%w); download or copy it again", err)
	}
	return err
}

// binaryReason returns why the start of a file looks binary, or "" for text.
// Text may hold some invalid UTF-8 (it is repaired and counted); a NUL byte or
// more than 10% of control or invalid bytes means it is not text.
func binaryReason(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if i := bytes.IndexByte(p, 0); i >= 0 {
		return fmt.Sprintf("NUL byte at offset %d", i)
	}
	odd := 0
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\v' && c != 0x1b || c == 0x7f {
				odd++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			if len(p)-i < utf8.UTFMax && !utf8.FullRune(p[i:]) {
				break // a rune cut by the end of the sniffed window
			}
			odd++
		}
		i += size
	}
	if odd*10 > len(p) {
		return fmt.Sprintf("%d of its first %d bytes are control characters or invalid UTF-8", odd, len(p))
	}
	return ""
}

// readJSONL reads one object per line and takes the string field named field.
func readJSONL(r io.Reader, explicit bool, field string, sink *lineSink) error {
	return forEachRawLine(r, explicit, func(lineNo int64, line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			sink.null()
			return nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			return fmt.Errorf("line %d: not a JSON object (%v); JSON Lines files hold one object per line", lineNo, err)
		}
		raw, ok := obj[field]
		if !ok {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return fmt.Errorf("line %d has no field %q; its fields are %s (choose one with --column)", lineNo, field, strings.Join(keys, ", "))
		}
		if string(bytes.TrimSpace(raw)) == "null" {
			sink.null()
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("line %d: field %q is not a string (%s)", lineNo, field, truncate(string(raw), 40))
		}
		return sink.emit(s)
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
