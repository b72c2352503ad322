package eval

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// Issue 11 item 10: a long --seq-len no longer multiplies the memory by the
// number of lines in a chunk. 9.8 GB were used for a 0.8 MB reference at
// --seq-len 65536: every line becomes 65536 padded positions, and a chunk of
// 32768 lines held all their keys at once. Chunks are now bounded by positions.
func TestLongSeqLenMemoryIsBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	lines := randLines(r, 400, asciiRunes, 40)
	opt := Options{SeqLen: MaxSeqLen, Orders: []int{4, 6}}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := Count(lines, opt)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d lines at seq-len %d: %.1f MiB allocated", len(lines), MaxSeqLen, float64(alloc)/(1<<20))
	if limit := uint64(128 << 20); alloc > limit {
		t.Errorf("counting %d short lines at seq-len %d allocated %d MiB (limit %d MiB)", len(lines), MaxSeqLen, alloc>>20, limit>>20)
	}
	// Still exact: every padded position counts.
	if want := int64(len(lines)) * int64(MaxSeqLen-4+1); s.Total(4) != want {
		t.Errorf("4-gram total %d, want %d", s.Total(4), want)
	}
}
