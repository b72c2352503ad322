package eval

import (
	"bufio"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dgtext/dgtext/data"
)

// Benchmarks (not run by plain `go test`):
//
//	go test ./eval -run '^$' -bench 'JS|Speedup' -benchtime 1x
//	go test ./eval -run '^$' -bench Memory -benchtime 1x
//
// The reference is 1M lines made deterministically from the shared billion-words
// shards by shuffling the words of randomly chosen lines (fixed seeds); the samples are
// 10k more such lines. n = 4 and 6 together.

const (
	benchRefLines    = 1_000_000
	benchSampleLines = 10_000
)

var benchOrders = []int{4, 6}

// repoRoot returns the module root (the folder holding go.mod) above the package.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// billionWords returns the shared billion-words folder.
func billionWords(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), "..", "shared", "data", "billion-words")
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("shared data missing: %v (see shared/data/README.md)", err)
	}
	return dir
}

// heldoutShard returns the path of held-out shard NN.
func heldoutShard(tb testing.TB, nn int) string {
	return filepath.Join(billionWords(tb), "1-billion-word-language-modeling-benchmark-r13output",
		"heldout-monolingual.tokenized.shuffled", fmt.Sprintf("news.en.heldout-%05d-of-00050", nn))
}

func readLinesFile(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

var (
	sourceOnce  sync.Once
	sourceWords [][]string
)

// benchSource returns the words of every line of the four held-out shards and the
// training sample.
func benchSource(tb testing.TB) [][]string {
	sourceOnce.Do(func() {
		paths := []string{heldoutShard(tb, 10), heldoutShard(tb, 11), heldoutShard(tb, 12), heldoutShard(tb, 13),
			filepath.Join(billionWords(tb), "training-sample", "news.en-00001-of-00100.first-1000-lines.txt")}
		for _, p := range paths {
			for _, l := range readLinesFile(tb, p) {
				sourceWords = append(sourceWords, strings.Fields(l))
			}
		}
	})
	return sourceWords
}

// synthLines yields k lines, each the words of a random source line in random order.
func synthLines(src [][]string, k int, seed uint64) iter.Seq[string] {
	return func(yield func(string) bool) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		var w []string
		for range k {
			w = append(w[:0], src[r.IntN(len(src))]...)
			r.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
			if !yield(strings.Join(w, " ")) {
				return
			}
		}
	}
}

func collect(seq iter.Seq[string]) []string {
	var out []string
	for l := range seq {
		out = append(out, l)
	}
	return out
}

var (
	benchOnce             sync.Once
	benchRef, benchSample []string
)

func benchInputs(tb testing.TB) (ref, samples []string) {
	benchOnce.Do(func() {
		src := benchSource(tb)
		benchRef = collect(synthLines(src, benchRefLines, 1))
		benchSample = collect(synthLines(src, benchSampleLines, 2))
	})
	return benchRef, benchSample
}

// fastJS is the package's path: count both sides, then JS for every order.
func fastJS(tb testing.TB, ref, samples []string) map[int]float64 {
	opt := Options{Orders: benchOrders}
	r, err := Count(ref, opt)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Count(samples, opt)
	if err != nil {
		tb.Fatal(err)
	}
	js, err := JSAll(s, r)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// baselineJS is the straightforward implementation the issue measures against: one
// map[string]int per side and order, keyed by the n-gram as a string, on one core.
func baselineJS(ref, samples []string, orders []int, seqLen int) map[int]float64 {
	count := func(lines []string) []map[string]int {
		ms := make([]map[string]int, len(orders))
		for i := range ms {
			ms[i] = map[string]int{}
		}
		for _, l := range lines {
			r := []rune(l)
			if len(r) > seqLen {
				r = r[:seqLen]
			}
			for len(r) < seqLen {
				r = append(r, '`')
			}
			for i, n := range orders {
				for j := 0; j+n <= len(r); j++ {
					ms[i][string(r[j:j+n])]++
				}
			}
		}
		return ms
	}
	p, q := count(samples), count(ref)
	out := map[int]float64{}
	for i, n := range orders {
		tp, tq := 0, 0
		for _, c := range p[i] {
			tp += c
		}
		for _, c := range q[i] {
			tq += c
		}
		js := 0.0
		for g, c := range p[i] {
			x := float64(c) / float64(tp)
			y := float64(q[i][g]) / float64(tq)
			js += x * math.Log2(2*x/(x+y))
		}
		for g, c := range q[i] {
			y := float64(c) / float64(tq)
			x := float64(p[i][g]) / float64(tp)
			js += y * math.Log2(2*y/(x+y))
		}
		out[n] = js / 2
	}
	return out
}

// BenchmarkJS: 1M reference lines + 10k samples, JS-4 and JS-6, all cores.
func BenchmarkJS(b *testing.B) {
	ref, samples := benchInputs(b)
	cpu0 := cpuTime()
	for b.Loop() {
		fastJS(b, ref, samples)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJSBaseline: the same with the straightforward implementation.
func BenchmarkJSBaseline(b *testing.B) {
	ref, samples := benchInputs(b)
	b.ResetTimer()
	for b.Loop() {
		baselineJS(ref, samples, benchOrders, DefaultSeqLen)
	}
}

// BenchmarkJSSpeedup runs both in the same process, checks they agree, and reports
// the ratio of their times (x-faster), each taken as the best of its runs.
func BenchmarkJSSpeedup(b *testing.B) {
	ref, samples := benchInputs(b)
	var fastBest, baseBest time.Duration
	for b.Loop() {
		runtime.GC()
		t0 := time.Now()
		got := fastJS(b, ref, samples)
		tf := time.Since(t0)
		runtime.GC()
		t0 = time.Now()
		want := baselineJS(ref, samples, benchOrders, DefaultSeqLen)
		tb := time.Since(t0)
		if fastBest == 0 || tf < fastBest {
			fastBest = tf
		}
		if baseBest == 0 || tb < baseBest {
			baseBest = tb
		}
		for _, n := range benchOrders {
			if math.Abs(got[n]-want[n]) > 1e-10 { // the baseline sums 1.7M terms naively
				b.Fatalf("n=%d: fast %.17g, baseline %.17g", n, got[n], want[n])
			}
		}
		b.Logf("JS-4 %.6f JS-6 %.6f; fast %v, baseline %v, GOMAXPROCS %d", got[4], got[6], tf, tb, runtime.GOMAXPROCS(0))
	}
	b.ReportMetric(float64(fastBest.Milliseconds()), "fast-ms")
	b.ReportMetric(float64(baseBest.Milliseconds()), "baseline-ms")
	b.ReportMetric(float64(baseBest)/float64(fastBest), "x-faster")
}

// BenchmarkMemory streams 1M and 4M generated lines through a Counter (never holding
// them) and reports the live heap with the statistics held: it follows the number of
// distinct n-grams, not the number of lines.
func BenchmarkMemory(b *testing.B) {
	src := benchSource(b)
	for _, k := range []int{1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("lines=%dM", k/1_000_000), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				s, err := CountSeq(synthLines(src, k, 1), Options{Orders: benchOrders})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
				b.ReportMetric(heap/(1<<20), "heap-MiB")
				b.ReportMetric(float64(s.Distinct(4)+s.Distinct(6)), "distinct-grams")
				b.ReportMetric(heap/float64(s.Distinct(4)+s.Distinct(6)), "B/distinct")
				runtime.KeepAlive(s)
			}
		})
	}
}

// BenchmarkReferenceCache measures what the content-checked cache costs on the
// 1M-line reference, written to a file:
//
//	go test ./eval -run '^$' -bench ReferenceCache -benchtime 3x
//
// count-ms: counting the file (no cache); hash-overhead: counting with the
// SHA-256 computed while reading, relative to counting alone; miss-ms: a cache
// miss (count, hash, save); hit-ms: a hit checked by content (the files are
// hashed); trust-ms: a hit with TrustMtime (stamps only). CPU time in the same
// runs is reported as *-cpu-ms.
func BenchmarkReferenceCache(b *testing.B) {
	ref, _ := benchInputs(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "ref.txt")
	if err := os.WriteFile(path, []byte(strings.Join(ref, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	opt := Options{Orders: benchOrders}
	timed := func(fn func()) (wall, cpu time.Duration) {
		runtime.GC()
		c0, t0 := cpuTime(), time.Now()
		fn()
		return time.Since(t0), cpuTime() - c0
	}
	count := func(hash bool) {
		c, err := NewCounter(opt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := data.ForEachLine([]string{path}, data.ReadOptions{ContentHash: hash}, func(l string) error {
			c.Add(l)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		c.Stats()
	}
	reference := func(ro ReferenceOptions, wantCached bool) {
		_, info, err := Reference([]string{path}, opt, ro)
		if err != nil || info.Cached != wantCached {
			b.Fatalf("cached %v (want %v): %v %s", info.Cached, wantCached, err, info.CacheNote)
		}
	}
	var plain, hashed, miss, hit, trust, plainCPU, hashedCPU, missCPU, hitCPU, trustCPU time.Duration
	for i := 0; b.Loop(); i++ {
		cache := filepath.Join(dir, fmt.Sprint("cache", i))
		w, c := timed(func() { count(false) })
		plain, plainCPU = plain+w, plainCPU+c
		w, c = timed(func() { count(true) })
		hashed, hashedCPU = hashed+w, hashedCPU+c
		w, c = timed(func() { reference(ReferenceOptions{CacheDir: cache}, false) })
		miss, missCPU = miss+w, missCPU+c
		w, c = timed(func() { reference(ReferenceOptions{CacheDir: cache}, true) })
		hit, hitCPU = hit+w, hitCPU+c
		w, c = timed(func() { reference(ReferenceOptions{CacheDir: cache, TrustMtime: true}, true) })
		trust, trustCPU = trust+w, trustCPU+c
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / n }
	b.ReportMetric(ms(plain), "count-ms")
	b.ReportMetric(ms(plainCPU), "count-cpu-ms")
	b.ReportMetric(float64(hashed)/float64(plain)-1, "hash-overhead")
	b.ReportMetric(float64(hashedCPU)/float64(plainCPU)-1, "hash-overhead-cpu")
	b.ReportMetric(ms(miss), "miss-ms")
	b.ReportMetric(ms(hit), "hit-ms")
	b.ReportMetric(ms(hitCPU), "hit-cpu-ms")
	b.ReportMetric(ms(trust), "trust-ms")
	b.ReportMetric(ms(trustCPU), "trust-cpu-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("reference %d lines, %.1f MiB", len(ref), float64(len(strings.Join(ref, "\n")))/(1<<20))
}
