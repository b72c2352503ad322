// Command readme-check runs the README commands whose output the README shows
// (the doctor report, the eval calibration, the demo) and compares the figures
// they print now with the README's: eval exactly, machine-dependent figures
// (refinement) and timings within the tolerances stated in the README. It fails
// when a figure differs, is missing or is new, when a section shows another
// command than the check runs, when a section or its markers are missing, and
// when a section yields no figure to compare, so it cannot pass vacuously.
//
// `make readme-check` runs it (and `make test-long` runs that). With -update it
// rewrites the sections that are generated (the demo block) from what the
// current build prints, then checks them.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	var opt options
	flag.StringVar(&opt.readme, "readme", "README.md", "the README to check; commands run in its folder")
	flag.BoolVar(&opt.update, "update", false, "rewrite the generated sections (the demo block) from the current build, then check")
	flag.StringVar(&opt.only, "only", "", "comma-separated check ids to run (default all: "+checkIDs()+")")
	flag.DurationVar(&opt.timeout, "timeout", 20*time.Minute, "time limit for each command")
	flag.Parse()
	ok, err := run(opt, shellRunner(filepath.Dir(opt.readme), opt.timeout), os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "readme-check: error:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

type options struct {
	readme  string
	update  bool
	only    string
	timeout time.Duration
}

// runner runs a shell command and returns its standard output.
type runner func(cmd string) (string, error)

// shellRunner runs commands with bash in dir; their stderr goes to ours.
func shellRunner(dir string, timeout time.Duration) runner {
	return func(cmd string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c := exec.CommandContext(ctx, "bash", "-eo", "pipefail", "-c", cmd)
		c.Dir = dir
		c.Env = cleanEnv(os.Environ())
		var out bytes.Buffer
		c.Stdout = &out
		c.Stderr = os.Stderr
		err := c.Run()
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("%q did not finish within %s", cmd, timeout)
		}
		if err != nil {
			return out.String(), fmt.Errorf("%q failed: %v", cmd, err)
		}
		return out.String(), nil
	}
}

// cleanEnv drops make's variables, so that a README command such as `make demo`
// runs as it does for a user, not as a sub-make (which prints "Entering
// directory" lines and inherits the caller's variables, UPDATE and ONLY included).
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR":
			continue
		}
		out = append(out, kv)
	}
	return out
}

func checkIDs() string {
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.id)
	}
	return strings.Join(ids, ",")
}

// run performs the checks and reports on w. ok is false when a check failed;
// err is for problems that stop everything (an unreadable README).
func run(opt options, sh runner, w io.Writer) (ok bool, err error) {
	b, err := os.ReadFile(opt.readme)
	if err != nil {
		return false, err
	}
	readme := string(b)
	sections, err := parseSections(readme)
	if err != nil {
		return false, fmt.Errorf("%s: %w", opt.readme, err)
	}
	selected := map[string]bool{}
	for _, id := range strings.Split(opt.only, ",") {
		if id = strings.TrimSpace(id); id != "" {
			selected[id] = true
		}
	}
	known := map[string]bool{}
	for _, c := range checks {
		known[c.id] = true
	}
	for id := range selected {
		if !known[id] {
			return false, fmt.Errorf("-only %s: no such check (have %s)", id, checkIDs())
		}
	}
	ok = true
	for _, c := range checks {
		if len(selected) > 0 && !selected[c.id] {
			continue
		}
		s := sections[c.id]
		if s == nil {
			fmt.Fprintf(w, "FAIL %s: %s has no section marked <!-- readme-check %s --> ... <!-- /readme-check %s -->\n", c.id, opt.readme, c.id, c.id)
			ok = false
			continue
		}
		updated, pass, err := runCheck(c, s, sh, opt.update, w, opt.readme)
		if err != nil {
			fmt.Fprintf(w, "FAIL %s (%s line %d): %v\n", c.id, opt.readme, s.line, err)
			ok = false
			continue
		}
		if updated != "" {
			readme = readme[:s.start] + updated + readme[s.end:]
			if err := writeAtomic(opt.readme, readme); err != nil {
				return false, err
			}
			if sections, err = parseSections(readme); err != nil {
				return false, err
			}
		}
		ok = ok && pass
	}
	for id, s := range sections {
		if !known[id] {
			fmt.Fprintf(w, "FAIL %s (%s line %d): no check of that name (have %s)\n", id, opt.readme, s.line, checkIDs())
			ok = false
		}
	}
	return ok, nil
}

// runCheck runs one check. With update, it returns the section's new body.
func runCheck(c check, s *section, sh runner, update bool, w io.Writer, readmePath string) (updated string, pass bool, err error) {
	shown, err := commandOf(s)
	if err != nil {
		return "", false, err
	}
	if normalize(shown) != normalize(c.command) {
		return "", false, fmt.Errorf("the section shows the command\n    %s\n  but this check runs\n    %s\n  (change the README or the check in cmd/readme-check, so that they agree)",
			strings.ReplaceAll(shown, "\n", "\n    "), strings.ReplaceAll(c.command, "\n", "\n    "))
	}
	want, err := c.readme(s)
	if err != nil {
		return "", false, fmt.Errorf("reading the README's figures: %w", err)
	}
	fmt.Fprintf(w, "run  %s (%s line %d): %s\n", c.id, readmePath, s.line, strings.ReplaceAll(c.command, "\n", "; "))
	start := time.Now()
	stdout, err := sh(c.command)
	if err != nil {
		return "", false, err
	}
	elapsed := time.Since(start).Round(100 * time.Millisecond)
	now, err := c.output(stdout)
	if err != nil {
		return "", false, fmt.Errorf("reading the figures printed now: %w", err)
	}
	if update && c.update != nil {
		if updated, err = c.update(s, stdout); err != nil {
			return "", false, err
		}
		s = &section{id: s.id, body: updated, line: s.line}
		if want, err = c.readme(s); err != nil {
			return "", false, fmt.Errorf("reading the regenerated section: %w", err)
		}
		fmt.Fprintf(w, "     %s: section regenerated from this run\n", c.id)
	}
	bad, compared, notes := compare(want, now)
	if compared == 0 {
		return updated, false, fmt.Errorf("no figure of the section is compared; a check that compares nothing cannot pass")
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "FAIL %s: %d of %d figures differ from the README (%s):\n", c.id, len(bad), compared, elapsed)
		for _, m := range bad {
			fmt.Fprintf(w, "       %s\n", m)
		}
		if c.update != nil && !update {
			fmt.Fprintf(w, "     if the change is intended, regenerate the section: make readme-check UPDATE=1 ONLY=%s\n", c.id)
		}
		return updated, false, nil
	}
	fmt.Fprintf(w, "ok   %s: %d figures match, %d values not compared (set-up, sample text) (%s)\n", c.id, compared, notes, elapsed)
	return updated, true, nil
}

// normalize trims each line of a command, so indentation does not matter.
func normalize(cmd string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(cmd), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// writeAtomic replaces path with content through a temporary file.
func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
