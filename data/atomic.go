package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// atomicFile is an output file written under a temporary name in the target
// folder and renamed to its final name by Commit (or to its partial name, see
// PartialPath, when marked partial). Abort removes it.
//
// The temporary name is ".NAME.tmp-PID-RANDOM": a process killed before it could
// clean up leaves such a file behind, and the next writer of NAME removes the
// temporary files of processes that no longer exist.
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
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("create %q: path names a folder, want a file", path)
	}
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	RemoveStaleTemps(path)
	f, err := os.CreateTemp(dir, tempPrefix(base)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w (is the folder writable?)", path, err)
	}
	return &atomicFile{f: f, buf: bufio.NewWriterSize(f, 256<<10), final: path}, nil
}

func tempPrefix(base string) string { return "." + base + ".tmp-" }

// RemoveStaleTemps removes the temporary files ".NAME.tmp-PID-*" that writers of
// path left behind when they were killed: those whose PID is no longer a running
// process. Temporary files of live processes are kept. It returns the names removed.
func RemoveStaleTemps(path string) []string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	prefix := tempPrefix(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// processAlive tells whether a process with this pid exists (signal 0 probes
// without sending anything; EPERM means it exists but belongs to someone else).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// PartialPath is where an unfinished run's output goes instead of path:
// "out/y.parquet" → "out/y.partial.parquet". The final name only ever holds
// complete results.
func PartialPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".partial" + ext
}

// Write writes to the temporary file.
func (a *atomicFile) Write(p []byte) (int, error) { return a.buf.Write(p) }

// WriteString writes to the temporary file.
func (a *atomicFile) WriteString(s string) (int, error) { return a.buf.WriteString(s) }

// Commit flushes, syncs and closes the temporary file, then renames it to the
// final name (or to PartialPath(final) when marked partial). A complete commit
// also removes a partial file an earlier interrupted run left beside it. On
// failure the temporary file is removed.
func (a *atomicFile) Commit() error {
	if a.done {
		return errors.New("commit " + a.final + ": file already closed")
	}
	a.done = true
	target := a.final
	if a.partial {
		target = PartialPath(a.final)
	}
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
		err = os.Rename(a.f.Name(), target)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", target, err)
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
