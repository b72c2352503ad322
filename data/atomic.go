package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dgtext/dgtext/internal/atomicfile"
)

// atomicFile is an output file written under a temporary name in the target
// folder (package atomicfile) and renamed to its final name by Commit, or to its
// partial name (PartialPath) when marked partial. Abort removes it.
type atomicFile struct {
	f       *os.File
	buf     *bufio.Writer
	final   string
	partial bool // commit under PartialPath(final) instead of final
	done    bool
}

// createAtomic creates a temporary file next to path, creating missing parent
// folders first, and removes stale temporary files of dead writers of path.
func createAtomic(path string) (*atomicFile, error) {
	f, err := atomicfile.CreateTemp(path)
	if err != nil {
		return nil, err
	}
	return &atomicFile{f: f, buf: bufio.NewWriterSize(f, 256<<10), final: path}, nil
}

// RemoveStaleTemps removes the temporary files that killed writers of path left
// behind (those of processes that no longer exist) and returns their names.
func RemoveStaleTemps(path string) []string { return atomicfile.RemoveStale(path) }

// PartialPath is where an unfinished run's output goes instead of path:
// "out/y.parquet" → "out/y.partial.parquet". The final name only ever holds
// complete results.
func PartialPath(path string) string { return atomicfile.PartialPath(path) }

// Write writes to the temporary file.
func (a *atomicFile) Write(p []byte) (int, error) { return a.buf.Write(p) }

// WriteString writes to the temporary file.
func (a *atomicFile) WriteString(s string) (int, error) { return a.buf.WriteString(s) }

// Commit flushes the temporary file and renames it to the final name (or to
// PartialPath(final) when marked partial). A complete commit also removes a partial
// file an earlier interrupted run left beside it. On failure the temporary file is
// removed.
func (a *atomicFile) Commit() error {
	if a.done {
		return errors.New("commit " + a.final + ": file already closed")
	}
	a.done = true
	target := a.final
	if a.partial {
		target = PartialPath(a.final)
	}
	if err := a.buf.Flush(); err != nil {
		a.f.Close()
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := atomicfile.Commit(a.f, target); err != nil {
		return err
	}
	if !a.partial {
		os.Remove(PartialPath(a.final))
	}
	return nil
}

// Abort closes and removes the temporary file. It is safe to call after Commit
// (it then does nothing) and more than once.
func (a *atomicFile) Abort() error {
	if a.done {
		return nil
	}
	a.done = true
	a.f.Close()
	if err := os.Remove(a.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove temporary file %s: %w", a.f.Name(), err)
	}
	return nil
}

// WriteFileAtomic writes path through write: the data goes to a temporary file
// in the same folder (created if missing), which is renamed to path only if
// write returns nil. If write fails (or panics) no file is left under path, and
// an existing file there is untouched.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	return atomicfile.WriteFile(path, write)
}
