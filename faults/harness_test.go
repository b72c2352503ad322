package faults

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgtext/dgtext/data"
)

// suite holds what every trial shares: the binary, the inputs and their
// checksums, calibration results and the outcomes so far.
type suite struct {
	t    *testing.T
	bin  string
	root string // everything the suite writes lives here
	rng  *rand.Rand

	corpus string // a held-out shard, the corpus of train and refine
	big    string // the shard 60 times: convert's and eval's input
	model  string // a tiny trained checkpoint: refine's and sample's model

	inputs  map[string]string // path -> SHA-256 of every shared input
	cmds    []*command        // the commands under test, with their measured durations
	startup time.Duration     // how long "dgtext --version" takes: loading the binary

	results []*result
	byKey   map[string]*result
}

// result aggregates the trials of one scenario and command.
type result struct {
	Scenario, Command string
	Trials            int
	Outcomes          map[string]int
	Slowest           time.Duration // longest time from a signal to the end of the run
	Losses            []string
}

func (s *suite) result(scenario, command string) *result {
	key := scenario + "\x00" + command
	if r, ok := s.byKey[key]; ok {
		return r
	}
	r := &result{Scenario: scenario, Command: command, Outcomes: map[string]int{}}
	s.byKey[key] = r
	s.results = append(s.results, r)
	return r
}

// record adds one trial: its outcome (what happened, for the table) and the
// problems found (each one a loss).
func (s *suite) record(scenario, command, outcome string, problems []string) {
	r := s.result(scenario, command)
	r.Trials++
	r.Outcomes[outcome]++
	if len(problems) > 0 {
		msg := fmt.Sprintf("%s / %s trial %d (%s): %s", scenario, command, r.Trials, outcome, strings.Join(problems, "; "))
		r.Losses = append(r.Losses, msg)
		s.t.Error(msg)
	} else {
		s.t.Logf("%s / %s trial %d: %s", scenario, command, r.Trials, outcome)
	}
}

// proc is one running dgtext process.
type proc struct {
	name           string // the dgtext command ("train", "data", ...)
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	start          time.Time
	done           chan struct{}
	end            time.Time
}

// startCmd starts dgtext with args; extraEnv adds environment variables and
// wrap, when not nil, runs it through "sh -c" with a prefix (ulimit).
func (s *suite) startCmd(shellPrefix string, args ...string) *proc {
	s.t.Helper()
	var cmd *exec.Cmd
	if shellPrefix != "" {
		cmd = exec.Command("sh", append([]string{"-c", shellPrefix + `; exec "$0" "$@"`, s.bin}, args...)...)
	} else {
		cmd = exec.Command(s.bin, args...)
	}
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), "DGTEXT_CACHE_DIR="+filepath.Join(s.root, "cache"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: args[0], cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %v: %v", args, err)
	}
	go func() {
		cmd.Wait()
		p.end = time.Now()
		close(p.done)
	}()
	return p
}

// wait waits up to limit for p to end and tells whether it did.
func (p *proc) wait(limit time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		return false
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// kill ends p for good (the whole process group) and waits for it.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// exit describes how p ended: "exit N" or "killed by SIGNAL".
func (p *proc) exit() string {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		switch sig := ws.Signal(); sig {
		case syscall.SIGKILL:
			return "killed by SIGKILL"
		case syscall.SIGINT:
			return "killed by SIGINT"
		case syscall.SIGTERM:
			return "killed by SIGTERM"
		default:
			return "killed by signal " + sig.String()
		}
	}
	return fmt.Sprintf("exit %d", p.cmd.ProcessState.ExitCode())
}

func (p *proc) ok() bool { return p.cmd.ProcessState.ExitCode() == 0 }

// panicked tells whether p crashed rather than failing with an error.
func (p *proc) panicked() bool {
	e := p.stderr.String()
	return strings.Contains(e, "panic:") || strings.Contains(e, "fatal error:") || strings.Contains(e, "SIGSEGV") ||
		p.cmd.ProcessState.ExitCode() == 2
}

// lastLine is p's last stderr line, for messages.
func (p *proc) lastLine() string {
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	return lines[len(lines)-1]
}

// runCmd runs dgtext to the end (at most limit) and returns the process.
func (s *suite) runCmd(limit time.Duration, args ...string) *proc {
	s.t.Helper()
	p := s.startCmd("", args...)
	if !p.wait(limit) {
		p.kill()
		s.t.Fatalf("dgtext %s: still running after %v\n%s", strings.Join(args, " "), limit, p.stderr.String())
	}
	return p
}

// mustRun runs dgtext and fails the suite if it does not succeed.
func (s *suite) mustRun(args ...string) *proc {
	s.t.Helper()
	p := s.runCmd(10*time.Minute, args...)
	if !p.ok() {
		s.t.Fatalf("dgtext %s: %s\n%s", strings.Join(args, " "), p.exit(), p.stderr.String())
	}
	return p
}

func fileSHA(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "missing: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// checksums returns the SHA-256 of every file under the paths.
func checksums(paths ...string) map[string]string {
	out := map[string]string{}
	for _, root := range paths {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out[p] = fileSHA(p)
			}
			return nil
		})
	}
	return out
}

// inputsChanged compares the shared inputs with their checksums at the start.
func (s *suite) inputsChanged() []string {
	var bad []string
	now := checksums(s.corpus, s.big, s.model)
	for p, sum := range s.inputs {
		if now[p] != sum {
			bad = append(bad, "input "+p+" changed")
		}
	}
	sort.Strings(bad)
	return bad
}

// tempFiles lists temporary files and folders under dir (hidden names with
// ".tmp" in them, as dgtext's writers use), recursively.
func tempFiles(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".tmp") {
			out = append(out, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// sampleKey identifies one row of a refine or sample output.
func sampleKey(r data.Sample) string { return fmt.Sprintf("%d/%d", r.ID, r.Step) }

// sameSamples compares a file's rows with a complete run's, exactly.
func sameSamples(path string, want []data.Sample) string {
	got, err := data.ReadSamples(path)
	if err != nil {
		return fmt.Sprintf("%s unreadable: %v", path, err)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%s holds %d rows, a complete run %d", path, len(got), len(want))
	}
	for i := range got {
		a, b := got[i], want[i]
		if a.ID != b.ID || a.Step != b.Step || a.Text != b.Text || a.Method != b.Method || a.Critic != b.Critic {
			return fmt.Sprintf("%s row %d differs from a complete run: %+v vs %+v", path, i, a, b)
		}
	}
	return ""
}

// partOfSamples checks a partial file: readable, and every row one of the
// complete run's rows.
func partOfSamples(path string, want []data.Sample) string {
	got, err := data.ReadSamples(path)
	if err != nil {
		return fmt.Sprintf("partial file %s unreadable: %v", path, err)
	}
	index := map[string]data.Sample{}
	for _, r := range want {
		index[sampleKey(r)] = r
	}
	for _, r := range got {
		w, ok := index[sampleKey(r)]
		if !ok || w.Text != r.Text || w.Critic != r.Critic {
			return fmt.Sprintf("partial file %s: row %s is not the complete run's", path, sampleKey(r))
		}
	}
	if len(got) >= len(want) {
		return fmt.Sprintf("partial file %s holds all %d rows", path, len(got))
	}
	return ""
}

// linesDigest reads a corpus file and returns its line count and a digest of
// its lines.
func linesDigest(path string) (int64, string, error) {
	h := sha256.New()
	st, err := data.ForEachLine([]string{path}, data.ReadOptions{}, func(l string) error {
		io.WriteString(h, l)
		h.Write([]byte{'\n'})
		return nil
	})
	return st.Lines, hex.EncodeToString(h.Sum(nil)), err
}

// checkpoints lists the ckpt-* folders of a training output.
func checkpoints(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "ckpt-") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out
}

// loads tells whether dgtext can sample from a checkpoint.
func (s *suite) loads(ckpt string) string {
	out := filepath.Join(s.root, "ckpt-check.txt")
	defer os.Remove(out)
	p := s.runCmd(5*time.Minute, "sample", "--model", ckpt, "--n", "2", "--batch", "2", "--out", out, "--threads", "1")
	if !p.ok() {
		return fmt.Sprintf("checkpoint %s does not load: %s", ckpt, p.lastLine())
	}
	return ""
}

// mountTmpfs mounts a tmpfs of size (e.g. "64k") at dir, read-only if asked.
// It returns an unmount function, or an error when mounting is not allowed.
func mountTmpfs(dir, size string, readOnly bool) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	opts := "size=" + size
	if readOnly {
		opts = "ro," + opts
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mount tmpfs: %v: %s", err, bytes.TrimSpace(out))
	}
	return func() { exec.Command("umount", "-l", dir).Run() }, nil
}

// overwriteRandom writes random bytes over path in place, the whole file, so a
// reader with the file open sees them from where it is.
func overwriteRandom(path string, rng *rand.Rand) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < info.Size(); off += int64(len(buf)) {
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		n := min(int64(len(buf)), info.Size()-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// randomDelay is a uniform moment in [lo, hi).
func (s *suite) randomDelay(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

// table renders the results as a Markdown table.
func (s *suite) table(seed uint64, took time.Duration) string {
	var b strings.Builder
	total, losses := 0, 0
	fmt.Fprintf(&b, "| scenario | command | trials | outcomes | losses |\n|---|---|---|---|---|\n")
	for _, r := range s.results {
		var parts []string
		keys := make([]string, 0, len(r.Outcomes))
		for k := range r.Outcomes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%d× %s", r.Outcomes[k], k))
		}
		if r.Slowest > 0 {
			parts = append(parts, fmt.Sprintf("slowest stop %.1f s", r.Slowest.Seconds()))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %d |\n", r.Scenario, r.Command, r.Trials, strings.Join(parts, "; "), len(r.Losses))
		total += r.Trials
		losses += len(r.Losses)
	}
	fmt.Fprintf(&b, "| **all** | | **%d** | seed %d, %s | **%d** |\n", total, seed, took.Round(time.Second), losses)
	for _, r := range s.results {
		for _, l := range r.Losses {
			fmt.Fprintf(&b, "\n- loss: %s", l)
		}
	}
	return b.String()
}
