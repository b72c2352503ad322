package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// CheckNotInput refuses an output that would overwrite one of the inputs: it
// returns an error when out names the same file as any of inputs, after
// resolving symbolic links (and, for files that exist, by identity, so a hard
// link counts too). inputs are concrete file paths: expand folders and globs
// first (a folder's files are what a command reads). It is meant to run before
// anything is written, in every command that both reads and writes files.
func CheckNotInput(out string, inputs ...string) error {
	o := resolve(out)
	oInfo, oErr := os.Stat(out)
	for _, in := range inputs {
		if in == "" {
			continue
		}
		same := resolve(in) == o
		if !same && oErr == nil {
			if iInfo, err := os.Stat(in); err == nil {
				same = os.SameFile(oInfo, iInfo)
			}
		}
		if same {
			return fmt.Errorf("output %s is also an input (%s): writing it would destroy the input; choose another output path", out, in)
		}
	}
	return nil
}

// CheckDistinct refuses two outputs of one command that name the same file
// (say --out and --plot), where the second would silently replace the first.
// Empty names are ignored.
func CheckDistinct(outs ...string) error {
	seen := map[string]string{}
	for _, o := range outs {
		if o == "" {
			continue
		}
		r := resolve(o)
		if prev, ok := seen[r]; ok {
			return fmt.Errorf("outputs %s and %s are the same file: give each output its own path", prev, o)
		}
		seen[r] = o
	}
	return nil
}

// resolve returns an absolute, symlink-free spelling of path. For a path that
// does not exist yet, the deepest existing parent folder is resolved and the rest
// appended, so "out/x" and "link-to-out/x" compare equal before either exists.
func resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for p := abs; ; {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}
