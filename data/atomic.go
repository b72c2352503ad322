package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// atomicFile is an output file written under a temporary name in the target
// folder and renamed to its final name by Commit. Abort removes it.
type atomicFile struct {
	f     *os.File
	buf   *bufio.Writer
	final string
	done  bool
}

// createAtomic creates a temporary file next to path. The folder must exist.
func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("create %q: path names a folder, want a file", path)
	}
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w (does the folder exist and is it writable?)", path, err)
	}
	return &atomicFile{f: f, buf: bufio.NewWriterSize(f, 256<<10), final: path}, nil
}

// Write writes to the temporary file.
func (a *atomicFile) Write(p []byte) (int, error) { return a.buf.Write(p) }

// WriteString writes to the temporary file.
func (a *atomicFile) WriteString(s string) (int, error) { return a.buf.WriteString(s) }

// Commit flushes, syncs and closes the temporary file, then renames it to the
// final name. On failure the temporary file is removed.
func (a *atomicFile) Commit() error {
	if a.done {
		return errors.New("commit " + a.final + ": file already closed")
	}
	a.done = true
	err := a.buf.Flush()
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// CreateTemp makes the file private (0600); outputs are ordinary files.
		err = os.Chmod(a.f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.final)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", a.final, err)
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
// in the same folder, which is renamed to path only if write returns nil. If
// write fails (or panics) no file is left under path, and an existing file there
// is untouched.
func WriteFileAtomic(path string, write func(w io.Writer) error) (err error) {
	a, err := createAtomic(path)
	if err != nil {
		return err
	}
	defer func() {
		if !a.done {
			a.Abort()
		}
	}()
	if err := write(a); err != nil {
		return err
	}
	return a.Commit()
}
