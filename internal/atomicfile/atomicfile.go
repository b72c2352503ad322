// Package atomicfile writes output files so that nothing is ever half-written under
// a final name: data goes to a temporary file in the target folder (created if
// missing), which is synced and renamed into place only when complete.
//
// Temporary files are named ".NAME.tmp-PID-RANDOM". A process killed before it
// could clean up leaves one behind; the next writer of NAME removes those whose
// process no longer exists. It is pure Go, shared by package data (samples,
// corpora) and package torch (weights), so neither imports the other.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// CreateTemp creates the temporary file for path, creating missing parent folders
// first and removing stale temporary files of dead writers of path.
func CreateTemp(path string) (*os.File, error) {
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
	RemoveStale(path)
	f, err := os.CreateTemp(dir, tempPrefix(base)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w (is the folder writable?)", path, err)
	}
	return f, nil
}

// Commit syncs and closes the temporary file f and renames it to target, as an
// ordinary 0644 file. On failure f is removed and target is untouched.
func Commit(f *os.File, target string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) // CreateTemp makes it 0600
	}
	if err == nil {
		err = os.Rename(f.Name(), target)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", target, err)
	}
	return nil
}

// WriteFile writes path through write: the data goes to a temporary file, which is
// renamed to path only if write returns nil. If write fails (or panics) no file is
// left under path, and an existing file there is untouched.
func WriteFile(path string, write func(w io.Writer) error) (err error) {
	f, err := CreateTemp(path)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	committed = true
	return Commit(f, path)
}

func tempPrefix(base string) string { return "." + base + ".tmp-" }

// RemoveStale removes the temporary files ".NAME.tmp-PID-*" that writers of path
// left behind when they were killed: those whose PID is no longer a running
// process. Temporary files of live processes are kept. It returns the names removed.
func RemoveStale(path string) []string {
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
