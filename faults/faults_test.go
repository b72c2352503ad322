package faults

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgtext/dgtext/data"
)

// command is one dgtext command under test.
type command struct {
	name string
	// args runs the command with its outputs in dir.
	args func(dir string) []string
	// check inspects dir (and the process) after a trial: the outcome, for the
	// table, and the problems found.
	check func(dir string, p *proc) (string, []string)
	// next runs the command again to the same outputs, uninterrupted, and
	// returns the problems found in its result.
	next func(dir string) []string
	dur  time.Duration // an uninterrupted run, measured at set-up
}

// Sizes of the runs: small enough for 100+ trials on 2 cores, long enough
// (seconds) for a random moment to land inside the work.
const (
	refineN   = 128
	sampleN   = 4096
	nextN     = 64
	trainIter = 100
)

// trainFlags are the training settings every train trial uses.
func trainFlags(corpus string) []string {
	return []string{"--preset", "tiny", "--corpus", corpus, "--batch", "8", "--critic-iters", "1", "--eval-samples", "0",
		"--checkpoint-every", "10", "--log-every", "0", "--quiet", "--threads", "1"}
}

func TestFaults(t *testing.T) {
	if os.Getenv("DGTEXT_FAULTS") == "" {
		t.Skip("the fault-injection suite runs with make test-faults (DGTEXT_FAULTS=1); it takes 15-30 minutes")
	}
	s := newSuite(t)
	seed := s.seed()
	s.rng = rand.New(rand.NewPCG(seed, 0xfa17))
	scale := 1.0
	if v := os.Getenv("DGTEXT_FAULTS_SCALE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			t.Fatalf("DGTEXT_FAULTS_SCALE=%q: give a number in (0, 1]", v)
		}
		scale = f
	}
	only := map[string]bool{}
	for _, name := range strings.Split(os.Getenv("DGTEXT_FAULTS_ONLY"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			only[name] = true
		}
	}
	// trials scales a trial count, and gives 0 for commands DGTEXT_FAULTS_ONLY leaves out.
	trials := func(n int, command string) int {
		if len(only) > 0 && !only[command] {
			return 0
		}
		return max(1, int(math.Round(float64(n)*scale)))
	}
	start := time.Now()
	cmds := s.commands()
	s.cmds = cmds
	byName := map[string]*command{}
	for _, c := range cmds {
		byName[c.name] = c
	}

	// kill -9 at random moments: 20 trials each of train, refine and convert.
	for _, n := range []struct {
		name   string
		trials int
	}{{"train", 20}, {"refine", 20}, {"convert", 20}, {"sample", 6}, {"eval", 6}} {
		for range trials(n.trials, n.name) {
			s.interruptTrial("kill -9", byName[n.name], syscall.SIGKILL)
		}
	}
	// SIGINT and SIGTERM at random moments.
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, c := range cmds {
			for range trials(3, c.name) {
				s.interruptTrial(signalName(sig), c, sig)
			}
		}
	}
	for _, c := range cmds {
		for range min(1, trials(1, c.name)) {
			s.fullDiskTrial(c)
			s.unwritableTrial(c)
		}
	}
	for range trials(4, "convert") {
		s.swapConvertTrial()
	}
	for range trials(4, "eval") {
		s.swapEvalTrial()
	}
	for range trials(3, "refine") {
		s.swapModelTrial()
	}
	for range trials(3, "train") {
		s.swapCorpusTrial()
	}

	table := s.table(seed, time.Since(start))
	t.Logf("fault-injection results:\n%s", table)
	report := os.Getenv("DGTEXT_FAULTS_REPORT")
	if report == "" {
		report = filepath.Join("..", "out", "faults.md")
	}
	if err := os.MkdirAll(filepath.Dir(report), 0o755); err == nil {
		os.WriteFile(report, []byte(table+"\n"), 0o644)
	}
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return "kill -9"
}

func (s *suite) seed() uint64 {
	if v := os.Getenv("DGTEXT_FAULTS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.t.Fatalf("DGTEXT_FAULTS_SEED=%q: %v", v, err)
		}
		return n
	}
	return 11
}

// newSuite prepares the inputs: a held-out shard as corpus, 60 copies of it for
// convert and eval, and a tiny model trained on it.
func newSuite(t *testing.T) *suite {
	s := &suite{t: t, byKey: map[string]*result{}}
	s.bin = os.Getenv("DGTEXT_BIN")
	if s.bin == "" {
		s.bin = filepath.Join(t.TempDir(), "dgtext")
		build := exec.Command("go", "build", "-o", s.bin, "../cmd/dgtext")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build dgtext (or set DGTEXT_BIN): %v\n%s", err, out)
		}
	}
	root, err := os.MkdirTemp("", "dgtext-faults-")
	if err != nil {
		t.Fatal(err)
	}
	s.root = root
	t.Cleanup(func() { os.RemoveAll(root) })
	shard := filepath.Join("..", "..", "shared", "data", "billion-words", data.BillionWordsRelease,
		"heldout-monolingual.tokenized.shuffled", "news.en.heldout-00010-of-00050")
	s.corpus = filepath.Join(root, "in", "corpus.txt")
	if err := copyFile(s.corpus, shard); err != nil {
		t.Fatalf("shared data (../shared/data): %v", err)
	}
	text, _ := os.ReadFile(s.corpus)
	s.big = filepath.Join(root, "in", "big.txt")
	f, err := os.Create(s.big)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		f.Write(text)
	}
	f.Close()
	run := filepath.Join(root, "in", "model-run")
	s.mustRun(append([]string{"train", "--out", run, "--iters", "20"}, trainFlags(s.corpus)...)...)
	cks := checkpoints(run)
	if len(cks) == 0 {
		t.Fatal("the set-up training run wrote no checkpoint")
	}
	s.model = filepath.Join(root, "in", "model")
	for _, name := range []string{"manifest.json", "model.safetensors"} {
		if err := copyFile(filepath.Join(s.model, name), filepath.Join(cks[len(cks)-1], name)); err != nil {
			t.Fatal(err)
		}
	}
	os.RemoveAll(run)
	s.inputs = checksums(s.corpus, s.big, s.model)
	var best time.Duration
	for range 3 {
		p := s.mustRun("--version")
		if d := p.end.Sub(p.start); best == 0 || d < best {
			best = d
		}
	}
	s.startup = best
	return s
}

// commands builds the commands under test and measures an uninterrupted run
// of each, which also gives the expected complete outputs.
func (s *suite) commands() []*command {
	calib := filepath.Join(s.root, "calib")
	timed := func(args ...string) (*proc, time.Duration) {
		p := s.mustRun(args...)
		return p, p.end.Sub(p.start)
	}

	// convert: the shard 60 times to Parquet.
	bigLines, bigDigest, err := linesDigest(s.big)
	if err != nil {
		s.t.Fatal(err)
	}
	smallLines, smallDigest, _ := linesDigest(s.corpus)
	convert := &command{name: "convert"}
	convert.args = func(dir string) []string {
		return []string{"data", "convert", "--in", s.big, "--out", filepath.Join(dir, "out.parquet")}
	}
	convert.check = func(dir string, _ *proc) (string, []string) {
		out := filepath.Join(dir, "out.parquet")
		if !exists(out) {
			return "nothing written", nil
		}
		n, d, err := linesDigest(out)
		if err != nil || n != bigLines || d != bigDigest {
			return "incomplete output", []string{fmt.Sprintf("%s: %d lines (want %d), digest match %v, %v", out, n, bigLines, d == bigDigest, err)}
		}
		return "complete output", nil
	}
	convert.next = func(dir string) []string {
		out := filepath.Join(dir, "out.parquet")
		p := s.runCmd(5*time.Minute, "data", "convert", "--in", s.corpus, "--out", out)
		var probs []string
		if !p.ok() {
			return []string{"next run failed: " + p.lastLine()}
		}
		if n, d, err := linesDigest(out); err != nil || n != smallLines || d != smallDigest {
			probs = append(probs, fmt.Sprintf("next run's output is not the corpus: %d lines, %v", n, err))
		}
		return append(probs, noTemps(dir)...)
	}
	_, convert.dur = timed(convert.args(filepath.Join(calib, "convert"))...)

	// refine: a tiny model's samples, 25 DGflow steps.
	refine := s.samplesCommand("refine", "y.parquet", func(dir string, n int) []string {
		return []string{"refine", "--model", s.model, "--corpus", s.corpus, "--n", strconv.Itoa(n), "--batch", "32",
			"--steps", "25", "--out", filepath.Join(dir, "y.parquet"), "--quiet", "--show", "0", "--threads", "1", "--no-cache"}
	}, refineN)
	// sample: base samples of the tiny model.
	sample := s.samplesCommand("sample", "s.parquet", func(dir string, n int) []string {
		return []string{"sample", "--model", s.model, "--n", strconv.Itoa(n), "--batch", "64", "--seed", "3",
			"--out", filepath.Join(dir, "s.parquet"), "--threads", "1"}
	}, sampleN)

	// train: the tiny preset, a checkpoint every 10 iterations.
	train := &command{name: "train"}
	train.args = func(dir string) []string {
		return append([]string{"train", "--out", filepath.Join(dir, "run"), "--iters", strconv.Itoa(trainIter)}, trainFlags(s.corpus)...)
	}
	train.check = func(dir string, _ *proc) (string, []string) {
		cks := checkpoints(filepath.Join(dir, "run"))
		var probs []string
		for _, ck := range cks {
			if msg := s.loads(ck); msg != "" {
				probs = append(probs, msg)
			}
		}
		if len(cks) == 0 {
			return "no checkpoint yet", probs
		}
		return "checkpoints load", probs
	}
	train.next = func(dir string) []string {
		run := filepath.Join(dir, "run")
		cks := checkpoints(run)
		var args []string
		if len(cks) == 0 {
			args = append([]string{"train", "--out", run, "--iters", "4"}, trainFlags(s.corpus)...)
		} else {
			iter, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(cks[len(cks)-1]), "ckpt-"))
			args = []string{"train", "--resume", run, "--iters", strconv.Itoa(iter + 2), "--corpus", s.corpus, "--quiet", "--threads", "1"}
		}
		p := s.runCmd(10*time.Minute, args...)
		if !p.ok() {
			return []string{fmt.Sprintf("next run (%s) failed: %s", strings.Join(args[:3], " "), p.lastLine())}
		}
		var probs []string
		if cks := checkpoints(run); len(cks) == 0 {
			probs = append(probs, "next run wrote no checkpoint")
		} else if msg := s.loads(cks[len(cks)-1]); msg != "" {
			probs = append(probs, msg)
		}
		return append(probs, noTemps(dir)...)
	}
	_, train.dur = timed(train.args(filepath.Join(calib, "train"))...)

	// eval: the shard against its 60 copies, with the cache.
	evalArgs := func(dir string) []string {
		return []string{"eval", "--samples", s.corpus, "--reference", s.big, "-n", "4,6", "--json", "--cache-dir", filepath.Join(dir, "cache")}
	}
	p, evalDur := timed(evalArgs(filepath.Join(calib, "eval"))...)
	wantJS, err := evalJS(p)
	if err != nil {
		s.t.Fatal(err)
	}
	eval := &command{name: "eval", args: evalArgs, dur: evalDur}
	eval.check = func(dir string, p *proc) (string, []string) {
		if !p.ok() {
			return "no result", nil
		}
		if js, err := evalJS(p); err != nil || !sameJS(js, wantJS) {
			return "wrong result", []string{fmt.Sprintf("JS %v, want %v (%v)", js, wantJS, err)}
		}
		return "correct result", nil
	}
	eval.next = func(dir string) []string {
		var probs []string
		for i := range 2 { // the first may count and save, the second must load the cache
			p := s.runCmd(5*time.Minute, evalArgs(dir)...)
			js, err := evalJS(p)
			if !p.ok() || err != nil || !sameJS(js, wantJS) {
				probs = append(probs, fmt.Sprintf("next run %d: JS %v, want %v (%s, %v)", i+1, js, wantJS, p.exit(), err))
			}
		}
		return append(probs, noTemps(dir)...)
	}
	s.t.Logf("process start %v; uninterrupted runs: convert %v, refine %v, sample %v, train %v, eval %v",
		s.startup.Round(time.Millisecond), convert.dur.Round(time.Millisecond), refine.dur.Round(time.Millisecond), sample.dur.Round(time.Millisecond),
		train.dur.Round(time.Millisecond), eval.dur.Round(time.Millisecond))
	return []*command{convert, refine, sample, train, eval}
}

// samplesCommand is a command writing samples to dir/out: argsN(dir, n) runs it
// for n samples. An uninterrupted run of n samples (and one of nextN, the next
// run's size) gives the expected outputs and the duration.
func (s *suite) samplesCommand(name, out string, argsN func(dir string, n int) []string, n int) *command {
	calib := filepath.Join(s.root, "calib", name)
	c := &command{name: name, args: func(dir string) []string { return argsN(dir, n) }}
	p := s.mustRun(c.args(calib)...)
	c.dur = p.end.Sub(p.start)
	full := s.readSamples(filepath.Join(calib, out))
	s.mustRun(argsN(calib+"-next", nextN)...)
	next := s.readSamples(filepath.Join(calib+"-next", out))
	c.check = func(dir string, _ *proc) (string, []string) { return s.checkSamples(filepath.Join(dir, out), full) }
	c.next = func(dir string) []string { return s.nextSamples(dir, filepath.Join(dir, out), next, argsN(dir, nextN)) }
	return c
}

func (s *suite) readSamples(path string) []data.Sample {
	rows, err := data.ReadSamples(path)
	if err != nil || len(rows) == 0 {
		s.t.Fatalf("calibration output %s: %d rows, %v", path, len(rows), err)
	}
	return rows
}

// checkSamples checks a sample output and its partial file against a complete run.
func (s *suite) checkSamples(out string, full []data.Sample) (string, []string) {
	partial := data.PartialPath(out)
	var probs []string
	var what []string
	if exists(out) {
		what = append(what, "complete output")
		if msg := sameSamples(out, full); msg != "" {
			probs = append(probs, msg)
			what[0] = "incomplete output under the final name"
		}
	}
	if exists(partial) {
		what = append(what, "partial kept")
		if msg := partOfSamples(partial, full); msg != "" {
			probs = append(probs, msg)
		}
	}
	if len(what) == 0 {
		return "nothing written", probs
	}
	return strings.Join(what, " + "), probs
}

// nextSamples runs a sample-writing command again to the same output and checks
// its result: complete, no partial file beside it, no temporary files.
func (s *suite) nextSamples(dir, out string, want []data.Sample, args []string) []string {
	p := s.runCmd(10*time.Minute, args...)
	if !p.ok() {
		return []string{"next run failed: " + p.lastLine()}
	}
	var probs []string
	if msg := sameSamples(out, want); msg != "" {
		probs = append(probs, "next run: "+msg)
	}
	if exists(data.PartialPath(out)) {
		probs = append(probs, "a partial file is left beside the complete output of the next run")
	}
	return append(probs, noTemps(dir)...)
}

func noTemps(dir string) []string {
	if tmp := tempFiles(dir); len(tmp) > 0 {
		return []string{fmt.Sprintf("temporary files left after the next run: %v", tmp)}
	}
	return nil
}

func evalJS(p *proc) (map[string]float64, error) {
	var res struct {
		JS map[string]float64 `json:"js"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("eval output is not JSON: %v (%s)", err, p.lastLine())
	}
	return res.JS, nil
}

func sameJS(a, b map[string]float64) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// trialDir returns a fresh folder for one trial.
func (s *suite) trialDir() string {
	dir, err := os.MkdirTemp(s.root, "trial-")
	if err != nil {
		s.t.Fatal(err)
	}
	return dir
}

// interruptTrial runs c and, at a random moment of an uninterrupted run's
// duration, sends sig (SIGKILL: kill -9). A signalled run must stop within its
// grace period. Then it checks the outputs, runs c again to the same outputs
// and checks the inputs.
func (s *suite) interruptTrial(scenario string, c *command, sig syscall.Signal) {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	p := s.startCmd("", c.args(dir)...)
	// Most moments fall in the work, some in the process start (libtorch loads
	// before dgtext installs its signal handler).
	delay := s.randomDelay(min(s.startup*3/4, c.dur/3), c.dur*11/10)
	var probs []string
	interrupted := false
	if !p.wait(delay) {
		interrupted = true
		if sig == syscall.SIGKILL {
			p.kill()
		} else {
			sent := time.Now()
			p.signal(sig)
			grace := 60 * time.Second
			if !p.wait(grace) {
				probs = append(probs, fmt.Sprintf("still running %v after %s", grace, signalName(sig)))
				p.kill()
			} else if r := s.result(scenario, c.name); time.Since(sent) > r.Slowest {
				r.Slowest = time.Since(sent)
			}
		}
	}
	if p.panicked() {
		probs = append(probs, "crashed: "+p.lastLine())
	}
	s.logEnd(c.name, p)
	outcome, more := c.check(dir, p)
	probs = append(probs, more...)
	if !interrupted {
		outcome = "finished before the signal: " + outcome
		// The machine may have been busier at set-up: aim later moments at the
		// quickest run seen, so that they fall inside the work.
		if p.ok() {
			c.dur = min(c.dur, p.end.Sub(p.start))
		}
	}
	probs = append(probs, c.next(dir)...)
	probs = append(probs, s.inputsChanged()...)
	s.record(scenario, c.name, outcome, probs)
}

// fullDiskTrial runs c with its outputs on a tmpfs too small for them (or,
// where mounting is not allowed, under a file-size limit). Writers must fail
// with a clear error, leave no temporary file and no incomplete final file;
// eval must still score, without caching.
func (s *suite) fullDiskTrial(c *command) {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	mnt := filepath.Join(dir, "full")
	size := map[string]string{"convert": "1m", "refine": "16k", "sample": "16k", "train": "256k", "eval": "16k"}[c.name]
	scenario, prefix := "full disk (tmpfs "+size+")", ""
	unmount, err := mountTmpfs(mnt, size, false)
	if err != nil {
		s.t.Logf("no tmpfs (%v): a file-size limit stands in for the full disk", err)
		scenario, prefix = "full disk (ulimit -f)", "ulimit -f 16"
		os.MkdirAll(mnt, 0o755)
	} else {
		defer unmount()
	}
	p := s.startCmd(prefix, c.args(mnt)...)
	probs := s.finish(p, "on a full disk")
	outcome := "clear error"
	reason := strings.Contains(p.stderr.String(), "no space left on device") || strings.Contains(p.stderr.String(), "file too large")
	switch {
	case c.name == "eval":
		outcome = "scored, not cached"
		if got, more := c.check(mnt, p); got != "correct result" {
			probs = append(probs, append(more, "eval failed on a full cache disk: "+p.lastLine())...)
		}
	case p.ok():
		probs = append(probs, "claimed success on a full disk")
	case !reason:
		probs = append(probs, "the error does not say the disk is full: "+p.lastLine())
	}
	if c.name != "eval" {
		if got, more := c.check(mnt, p); got != "nothing written" && got != "no checkpoint yet" {
			probs = append(probs, append(more, "left "+got)...)
		}
	}
	if tmp := tempFiles(mnt); len(tmp) > 0 {
		probs = append(probs, fmt.Sprintf("temporary files left: %v", tmp))
	}
	probs = append(probs, s.inputsChanged()...)
	s.record(scenario, c.name, outcome, probs)
}

// unwritableTrial points c's outputs into a read-only file system (or, where
// mounting is not allowed, under a regular file): a clear error naming the
// path, nothing written; eval scores without its cache.
func (s *suite) unwritableTrial(c *command) {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	mnt := filepath.Join(dir, "ro")
	scenario := "unwritable output (read-only tmpfs)"
	unmount, err := mountTmpfs(mnt, "64k", true)
	if err != nil {
		scenario = "unwritable output (path under a file)"
		os.WriteFile(mnt, []byte("a file, not a folder\n"), 0o644)
	} else {
		defer unmount()
	}
	out := filepath.Join(mnt, "sub")
	p := s.startCmd("", c.args(out)...)
	probs := s.finish(p, "with an unwritable output")
	outcome := "clear error"
	switch {
	case c.name == "eval":
		outcome = "scored, not cached"
		if got, more := c.check(out, p); got != "correct result" {
			probs = append(probs, append(more, "eval failed with an unwritable cache: "+p.lastLine())...)
		}
	case p.ok():
		probs = append(probs, "claimed success writing into a read-only folder")
	case !strings.Contains(p.stderr.String(), mnt):
		probs = append(probs, "the error does not name the output: "+p.lastLine())
	}
	if c.name == "train" {
		// Training must refuse before it trains, not at its first checkpoint.
		if took := p.end.Sub(p.start); took > c.dur {
			outcome += fmt.Sprintf(" (after %.1f s)", took.Seconds())
		}
	}
	probs = append(probs, s.inputsChanged()...)
	s.record(scenario, c.name, outcome, probs)
}

// swapConvertTrial overwrites convert's input with random bytes at a random
// moment while it is read: no crash, and whatever is under the final name is a
// readable file; with the input restored, the next run is complete.
func (s *suite) swapConvertTrial() {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.txt")
	copyFile(in, s.big)
	out := filepath.Join(dir, "out.parquet")
	c := s.commandDur("convert")
	p := s.startCmd("", "data", "convert", "--in", in, "--out", out)
	swapAt(p, s.randomDelay(0, c), in, s.rng)
	probs := s.finish(p, "after its input was overwritten")
	outcome := "clear error"
	if p.ok() {
		outcome = "converted what it read"
		if _, _, err := linesDigest(out); err != nil {
			probs = append(probs, "output unreadable: "+err.Error())
		}
	} else if exists(out) {
		probs = append(probs, "failed but left "+out)
	}
	copyFile(in, s.big)
	probs = append(probs, s.nextConvert(dir, in, out)...)
	probs = append(probs, s.inputsChanged()...)
	s.record("input overwritten mid-read", "convert", outcome, probs)
}

func (s *suite) nextConvert(dir, in, out string) []string {
	p := s.runCmd(5*time.Minute, "data", "convert", "--in", in, "--out", out)
	if !p.ok() {
		return []string{"next run failed: " + p.lastLine()}
	}
	var probs []string
	wantN, wantD, _ := linesDigest(s.big)
	if n, d, err := linesDigest(out); err != nil || n != wantN || d != wantD {
		probs = append(probs, fmt.Sprintf("next run incomplete: %d lines, %v", n, err))
	}
	return append(probs, noTemps(dir)...)
}

// swapEvalTrial overwrites eval's reference with random bytes mid-read, then
// restores it with its old modification time (as cp -p would): the next eval
// must give the true JS, never statistics cached from the random bytes.
func (s *suite) swapEvalTrial() {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	ref := filepath.Join(dir, "ref.txt")
	copyFile(ref, s.big)
	info, _ := os.Stat(ref)
	args := []string{"eval", "--samples", s.corpus, "--reference", ref, "-n", "4,6", "--json", "--cache-dir", filepath.Join(dir, "cache")}
	want := s.runCmd(5*time.Minute, append(args[:len(args)-2:len(args)-2], "--no-cache")...)
	wantJS, err := evalJS(want)
	if err != nil {
		s.t.Fatal(err)
	}
	p := s.startCmd("", args...)
	swapAt(p, s.randomDelay(0, s.commandDur("eval")), ref, s.rng)
	probs := s.finish(p, "after its input was overwritten")
	outcome := "clear error"
	if p.ok() {
		outcome = "scored what it read"
	}
	copyFile(ref, s.big)
	os.Chtimes(ref, info.ModTime(), info.ModTime())
	for i := range 2 {
		q := s.runCmd(5*time.Minute, args...)
		if js, err := evalJS(q); !q.ok() || err != nil || !sameJS(js, wantJS) {
			probs = append(probs, fmt.Sprintf("eval %d after restoring the reference: JS %v, want %v (%v)", i+1, js, wantJS, err))
		}
	}
	probs = append(probs, noTemps(dir)...)
	probs = append(probs, s.inputsChanged()...)
	s.record("input overwritten mid-read", "eval", outcome, probs)
}

// swapModelTrial overwrites the model's weights with random bytes at a random
// moment of refine's start: refine either refined with the intact model
// (complete output) or failed with a clear error and wrote nothing.
func (s *suite) swapModelTrial() {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	model := filepath.Join(dir, "model")
	for _, name := range []string{"manifest.json", "model.safetensors"} {
		copyFile(filepath.Join(model, name), filepath.Join(s.model, name))
	}
	out := filepath.Join(dir, "y.parquet")
	p := s.startCmd("", "refine", "--model", model, "--corpus", s.corpus, "--n", strconv.Itoa(refineN), "--batch", "32",
		"--steps", "25", "--out", out, "--quiet", "--show", "0", "--threads", "1", "--no-cache")
	swapAt(p, s.randomDelay(0, 3*time.Second), filepath.Join(model, "model.safetensors"), s.rng)
	probs := s.finish(p, "after its input was overwritten")
	outcome := "clear error"
	if p.ok() {
		outcome = "refined with the intact model"
		full := s.readSamples(filepath.Join(s.root, "calib", "refine", "y.parquet"))
		if msg := sameSamples(out, full); msg != "" {
			probs = append(probs, msg)
		}
	} else if exists(out) {
		probs = append(probs, "failed but left "+out)
	}
	probs = append(probs, s.inputsChanged()...)
	s.record("input overwritten mid-read", "refine (model)", outcome, probs)
}

// swapCorpusTrial overwrites train's corpus with random bytes at a random
// moment of its start: no crash, and every checkpoint it wrote loads.
func (s *suite) swapCorpusTrial() {
	dir := s.trialDir()
	defer os.RemoveAll(dir)
	corpus := filepath.Join(dir, "corpus.txt")
	copyFile(corpus, s.corpus)
	run := filepath.Join(dir, "run")
	p := s.startCmd("", append([]string{"train", "--out", run, "--iters", "20"}, trainFlags(corpus)...)...)
	swapAt(p, s.randomDelay(0, 3*time.Second), corpus, s.rng)
	probs := s.finish(p, "after its input was overwritten")
	outcome := "clear error"
	if p.ok() {
		outcome = "trained on what it read"
	}
	for _, ck := range checkpoints(run) {
		if msg := s.loads(ck); msg != "" {
			probs = append(probs, msg)
		}
	}
	probs = append(probs, s.inputsChanged()...)
	s.record("input overwritten mid-read", "train (corpus)", outcome, probs)
}

// swapAt overwrites path with random bytes after delay, if p still runs.
func swapAt(p *proc, delay time.Duration, path string, rng *rand.Rand) {
	if p.wait(delay) {
		return
	}
	overwriteRandom(path, rng)
}

// finish waits for a run under a fault (what names it): it must end within 10
// minutes, without crashing.
func (s *suite) finish(p *proc, what string) []string {
	var probs []string
	if !p.wait(10 * time.Minute) {
		p.kill()
		probs = append(probs, "still running after 10 minutes "+what)
	}
	s.logEnd(p.name, p)
	if p.panicked() {
		probs = append(probs, "crashed: "+p.lastLine())
	}
	return probs
}

// commandDur is the measured duration of an uninterrupted run of a command.
func (s *suite) commandDur(name string) time.Duration {
	for _, c := range s.cmds {
		if c.name == name {
			return c.dur
		}
	}
	return 5 * time.Second
}

// logEnd logs how a run ended and its last stderr line (the error, if any).
func (s *suite) logEnd(name string, p *proc) {
	s.t.Logf("  %s: %s after %.1f s: %s", name, p.exit(), p.end.Sub(p.start).Seconds(), p.lastLine())
}
