package data

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Benchmark corpora are generated on first use from the shared shards and kept
// in one temporary folder for the whole run (removed by TestMain).
var (
	benchMu    sync.Mutex
	benchDir   string
	benchFiles = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchCorpus returns a text file of n lines made from the 25,321 lines of the
// shared shards: line i is shared line i mod 25,321 with its words rotated left
// by i / 25,321 places, so every pass over the shards gives new lines.
func benchCorpus(b *testing.B, n int) string {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := "text-" + strconv.Itoa(n)
	if p, ok := benchFiles[key]; ok {
		return p
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "dgtext-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	paths := append(heldoutShards(b), filepath.Join(sharedBillionWords(b), "training-sample", "news.en-00001-of-00100.first-1000-lines.txt"))
	base, _, err := ReadLines(paths, ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	words := make([][]string, len(base))
	for i, l := range base {
		words[i] = strings.Fields(l)
	}
	p := filepath.Join(benchDir, key+".txt")
	err = WriteFileAtomic(p, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		for i := 0; i < n; i++ {
			ws := words[i%len(words)]
			r := (i / len(words)) % len(ws)
			for j := range ws {
				if j > 0 {
					bw.WriteByte(' ')
				}
				bw.WriteString(ws[(j+r)%len(ws)])
			}
			bw.WriteByte('\n')
		}
		return bw.Flush()
	})
	if err != nil {
		b.Fatal(err)
	}
	benchFiles[key] = p
	return p
}

// benchParquet returns the Parquet version of benchCorpus(n).
func benchParquet(b *testing.B, n int) string {
	text := benchCorpus(b, n)
	benchMu.Lock()
	defer benchMu.Unlock()
	key := "parquet-" + strconv.Itoa(n)
	if p, ok := benchFiles[key]; ok {
		return p
	}
	p := filepath.Join(benchDir, key+".parquet")
	w, err := CreateLineWriter(p, WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ForEachLine([]string{text}, ReadOptions{}, w.WriteLine); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	benchFiles[key] = p
	return p
}

// oneCore runs the benchmark body with GOMAXPROCS=1.
func oneCore(b *testing.B) func() {
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

const benchReadLines = 500_000

// BenchmarkReadText reads a 500k-line text corpus with ForEachLine on one core.
// Baseline, timed in the same iterations: bufio.Scanner counting lines without
// making strings, checking UTF-8 or counting runes (a floor for any reader).
func BenchmarkReadText(b *testing.B) {
	path := benchCorpus(b, benchReadLines)
	defer oneCore(b)()
	b.ResetTimer()
	var ours, base time.Duration
	var lines int64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var n int64
		for sc.Scan() {
			if len(sc.Bytes()) > 0 {
				n++
			}
		}
		f.Close()
		t1 := time.Now()
		st, err := ForEachLine([]string{path}, ReadOptions{}, func(string) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if st.Lines != n || n != benchReadLines {
			b.Fatalf("read %d lines, baseline %d", st.Lines, n)
		}
		base += t1.Sub(t0)
		ours += t2.Sub(t1)
		lines += n
	}
	b.ReportMetric(float64(lines)/ours.Seconds(), "lines/s")
	b.ReportMetric(float64(lines)/base.Seconds(), "baseline-lines/s")
	b.ReportMetric(ours.Seconds()/base.Seconds(), "time-vs-baseline")
}

// BenchmarkReadParquet reads the same corpus as Parquet with ForEachLine on
// one core. Baseline, timed in the same iterations: parquet-go's
// GenericReader decoding the rows into structs.
func BenchmarkReadParquet(b *testing.B) {
	path := benchParquet(b, benchReadLines)
	defer oneCore(b)()
	b.ResetTimer()
	var ours, base time.Duration
	var lines int64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := parquet.NewGenericReader[lineRow](f)
		buf := make([]lineRow, 1024)
		var n int64
		for {
			k, err := r.Read(buf)
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
		f.Close()
		t1 := time.Now()
		st, err := ForEachLine([]string{path}, ReadOptions{}, func(string) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if st.Lines != n || n != benchReadLines {
			b.Fatalf("read %d lines, baseline %d", st.Lines, n)
		}
		base += t1.Sub(t0)
		ours += t2.Sub(t1)
		lines += n
	}
	b.ReportMetric(float64(lines)/ours.Seconds(), "lines/s")
	b.ReportMetric(float64(lines)/base.Seconds(), "baseline-lines/s")
	b.ReportMetric(ours.Seconds()/base.Seconds(), "time-vs-baseline")
}

// peakHeap samples the live heap every millisecond while fn runs and returns
// the largest value seen, in bytes (after a GC before fn starts).
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak
}

// peakRSS resets the kernel's peak resident set (Linux) and returns a function
// reading it back, in bytes; 0 when unavailable.
func peakRSS() func() uint64 {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	return func() uint64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 0
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				var kb uint64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &kb)
				return kb << 10
			}
		}
		return 0
	}
}

// BenchmarkConvertToParquet converts generated 1M- and 4M-line text corpora to
// Parquet (what "dgtext data convert" does) and reports the peak live heap and
// peak RSS of each. Memory must not grow with the line count: the 1M corpus is
// the baseline, and heap-4M-vs-1M should stay near 1.
func BenchmarkConvertToParquet(b *testing.B) {
	small, large := benchCorpus(b, 1_000_000), benchCorpus(b, 4_000_000)
	out := filepath.Join(filepath.Dir(small), "out.parquet")
	convert := func(in string) (heap, rss uint64, secs float64) {
		readRSS := peakRSS()
		t0 := time.Now()
		heap = peakHeap(func() {
			w, err := CreateLineWriter(out, WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ForEachLine([]string{in}, ReadOptions{}, w.WriteLine); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
		return heap, readRSS(), time.Since(t0).Seconds()
	}
	b.ResetTimer()
	var h1, h4, r1, r4 uint64
	var s1, s4 float64
	for i := 0; i < b.N; i++ {
		h, r, s := convert(small)
		h1, r1, s1 = max(h1, h), max(r1, r), s1+s
		h, r, s = convert(large)
		h4, r4, s4 = max(h4, h), max(r4, r), s4+s
	}
	const mib = 1 << 20
	b.ReportMetric(float64(h1)/mib, "peak-heap-MiB-1M")
	b.ReportMetric(float64(h4)/mib, "peak-heap-MiB-4M")
	b.ReportMetric(float64(h4)/float64(h1), "heap-4M-vs-1M")
	b.ReportMetric(float64(r1)/mib, "peak-RSS-MiB-1M")
	b.ReportMetric(float64(r4)/mib, "peak-RSS-MiB-4M")
	b.ReportMetric(float64(b.N)*1e6/s1, "lines/s-1M")
	b.ReportMetric(float64(b.N)*4e6/s4, "lines/s-4M")
}
