package eval

import (
	"cmp"
	"iter"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// chunkLines is the most lines handed to the workers at once.
var chunkLines = 1 << 15

// chunkPositions bounds the positions (lines x sequence length) of a chunk, and
// with it the packed keys the workers hold: 32768 lines of the default 32
// characters, 8 MiB of keys. Without it a chunk of 32768 lines at --seq-len 65536
// held 16 GiB.
const chunkPositions = 1 << 20

// chunkFor returns how many lines of seqLen positions make one chunk.
func chunkFor(seqLen int) int { return max(1, min(chunkLines, chunkPositions/seqLen)) }

// Count counts the n-grams of lines.
func Count(lines []string, opt Options) (*Stats, error) {
	c, err := NewCounter(opt)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		c.Add(l)
	}
	return c.Stats(), nil
}

// CountSeq counts the n-grams of the lines seq yields, holding only a bounded number
// of them in memory at a time.
func CountSeq(seq iter.Seq[string], opt Options) (*Stats, error) {
	c, err := NewCounter(opt)
	if err != nil {
		return nil, err
	}
	for l := range seq {
		c.Add(l)
	}
	return c.Stats(), nil
}

// Counter builds Stats from a stream of lines: call Add for every line, then Stats once.
// It counts with GOMAXPROCS workers while the caller keeps adding lines. A Counter is
// not safe for concurrent use.
type Counter struct {
	opt   Options
	maxN  int  // highest order: the only one counted position by position
	tails bool // lower orders requested: keep each line's last window

	nw    int
	owner [numParts]int // worker that owns each partition
	ws    []*worker

	chunk      int // lines per chunk (chunkFor the sequence length)
	buf, spare []string
	inflight   chan struct{}
	started    bool
	result     *Stats

	alpha alphabet
	width uint   // bits per packed id
	dmax  uint32 // largest packed id
	padID uint32
	top   *grams // counts of order maxN
	tail  *grams // counts of line tails (last maxN symbols, or the whole shorter line)
}

// worker holds one goroutine's caches and buffers.
type worker struct {
	c       *Counter
	bmp     []uint32          // rune id cache for the basic multilingual plane (0: unknown)
	other   map[rune]uint32   // rune id cache beyond it
	wordIDs map[string]uint32 // word id cache
	ids     []uint32
	kbuf    []byte

	outTop, outTail [][]uint64 // packed keys by partition
	escTop, escTail map[string]uint64
	totals          []uint64 // n-grams per order
	lines           int64
}

// alphabet assigns symbol ids (from 1) shared by all workers.
type alphabet struct {
	mu      sync.Mutex
	symbols []string
	ids     map[string]uint32
}

func (a *alphabet) id(sym string) uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.ids[sym]; ok {
		return id
	}
	a.symbols = append(a.symbols, sym)
	id := uint32(len(a.symbols))
	a.ids[sym] = id
	return id
}

// NewCounter returns a Counter for opt, or an error if opt is invalid.
func NewCounter(opt Options) (*Counter, error) {
	o, err := opt.normalize()
	if err != nil {
		return nil, err
	}
	c := &Counter{opt: o, maxN: o.Orders[len(o.Orders)-1], tails: len(o.Orders) > 1}
	c.alpha.ids = make(map[string]uint32)
	c.nw = min(max(runtime.GOMAXPROCS(0), 1), numParts)
	for p := range c.owner {
		c.owner[p] = p % c.nw
	}
	c.chunk = chunkFor(o.SeqLen)
	c.buf = make([]string, 0, c.chunk)
	c.spare = make([]string, 0, c.chunk)
	return c, nil
}

// Add counts one line. Lines are used as given: an empty line is a line of padding in
// character mode (readers that skip empty lines do so before Add).
func (c *Counter) Add(line string) {
	if c.result != nil {
		panic("eval: Counter.Add called after Counter.Stats")
	}
	c.buf = append(c.buf, line)
	if len(c.buf) == c.chunk {
		c.flush()
	}
}

// flush hands the buffered lines to the workers and returns while they count.
func (c *Counter) flush() {
	c.wait()
	if !c.started {
		c.start(c.buf)
	}
	lines := c.buf
	c.buf, c.spare = c.spare[:0], lines
	done := make(chan struct{})
	c.inflight = done
	go func() {
		c.process(lines)
		close(done)
	}()
}

func (c *Counter) wait() {
	if c.inflight != nil {
		<-c.inflight
		c.inflight = nil
	}
}

// start fixes the id width and gives the symbols of the first chunk ids in order of
// falling frequency, so that frequent symbols get packed ids.
func (c *Counter) start(first []string) {
	c.started = true
	L := c.opt.SeqLen
	freq := make(map[string]int64)
	if c.opt.Words {
		for _, l := range first {
			for _, w := range Words(l, L) {
				freq[w]++
			}
		}
	} else {
		bmp := make([]int64, 0x10000)
		bmp[PadChar] = 0
		freq[string(PadChar)] = 0
		for _, l := range first {
			k := 0
			for _, r := range l {
				if k == L {
					break
				}
				if uint32(r) < uint32(len(bmp)) {
					bmp[r]++
				} else {
					freq[string(r)]++
				}
				k++
			}
			bmp[PadChar] += int64(L - k)
		}
		for r, n := range bmp {
			if n > 0 || r == PadChar {
				freq[string(rune(r))] = n
			}
		}
	}
	syms := make([]string, 0, len(freq))
	for s := range freq {
		syms = append(syms, s)
	}
	slices.SortFunc(syms, func(a, b string) int {
		if c := cmp.Compare(freq[b], freq[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, s := range syms {
		c.alpha.id(s)
	}
	if !c.opt.Words {
		c.padID = c.alpha.id(string(PadChar))
	}
	// Room for twice the symbols seen so far, but keep the highest order packable.
	w := uint(bits.Len(uint(len(syms)))) + 1
	w = min(max(w, 7), 24)
	if uint(c.maxN)*w > maxKeyBits {
		w = max(7, maxKeyBits/uint(c.maxN))
	}
	c.width = w
	c.dmax = uint32(1)<<w - 1
	c.top = newGrams(c.maxN, w)
	c.tail = newGrams(c.maxN, w)
	c.ws = make([]*worker, c.nw)
	for i := range c.ws {
		wk := &worker{
			c:       c,
			outTop:  make([][]uint64, numParts),
			outTail: make([][]uint64, numParts),
			escTop:  make(map[string]uint64),
			escTail: make(map[string]uint64),
			totals:  make([]uint64, len(c.opt.Orders)),
		}
		if c.opt.Words {
			wk.wordIDs = make(map[string]uint32)
		} else {
			wk.bmp = make([]uint32, 0x10000)
			wk.other = make(map[rune]uint32)
		}
		c.ws[i] = wk
	}
}

// process counts one chunk: each worker turns its share of the lines into packed keys
// sorted by owner, then each worker adds the keys it owns to its table partitions.
//
// Both steps hand out small tasks (slices of lines, partitions) to whichever worker
// is free, so that a worker the machine delays does not hold the others up.
func (c *Counter) process(lines []string) {
	const slice = 1024
	var wg sync.WaitGroup
	var next atomic.Int64
	for _, w := range c.ws {
		wg.Go(func() {
			for {
				lo := int(next.Add(slice)) - slice
				if lo >= len(lines) {
					return
				}
				w.scan(lines[lo:min(lo+slice, len(lines))])
			}
		})
	}
	wg.Wait()
	next.Store(0)
	for range c.ws {
		wg.Go(func() {
			for {
				p := int(next.Add(1)) - 1
				if p >= numParts {
					return
				}
				c.insert(p)
			}
		})
	}
	wg.Wait()
}

func (w *worker) scan(lines []string) {
	c := w.c
	for i, line := range lines {
		// Lines lie scattered in memory: ask for one a few lines ahead.
		if j := i + 16; j < len(lines) {
			prefetch(unsafe.Pointer(unsafe.StringData(lines[j])))
		}
		var ids []uint32
		if c.opt.Words {
			ids = w.wordSymbols(line)
		} else {
			ids = w.charSymbols(line)
		}
		w.lines++
		for i, n := range c.opt.Orders {
			if len(ids) >= n {
				w.totals[i] += uint64(len(ids) - n + 1)
			}
		}
		w.emitTop(ids)
		if c.tails && len(ids) > 0 {
			w.emitTail(ids[max(0, len(ids)-c.maxN):])
		}
	}
}

// charSymbols returns the ids of line cut and padded to the sequence length.
func (w *worker) charSymbols(line string) []uint32 {
	L := w.c.opt.SeqLen
	ids := w.ids[:0]
	bmp := w.bmp
	for _, r := range line {
		if len(ids) == L {
			break
		}
		var id uint32
		if uint32(r) < uint32(len(bmp)) {
			id = bmp[r]
			if id == 0 {
				id = w.c.alpha.id(string(r))
				bmp[r] = id
			}
		} else {
			var ok bool
			if id, ok = w.other[r]; !ok {
				id = w.c.alpha.id(string(r))
				w.other[r] = id
			}
		}
		ids = append(ids, id)
	}
	for len(ids) < L {
		ids = append(ids, w.c.padID)
	}
	w.ids = ids
	return ids
}

// wordSymbols returns the ids of the words of line.
func (w *worker) wordSymbols(line string) []uint32 {
	ids := w.ids[:0]
	for _, word := range Words(line, w.c.opt.SeqLen) {
		id, ok := w.wordIDs[word]
		if !ok {
			id = w.c.alpha.id(word)
			w.wordIDs[word] = id
		}
		ids = append(ids, id)
	}
	w.ids = ids
	return ids
}

// emitTop queues every n-gram of the highest order in ids.
func (w *worker) emitTop(ids []uint32) {
	c := w.c
	N := c.maxN
	if len(ids) < N {
		return
	}
	if c.top.tab == nil {
		for j := N; j <= len(ids); j++ {
			w.kbuf = escKey(w.kbuf, ids[j-N:j])
			w.escTop[string(w.kbuf)]++
		}
		return
	}
	width, dmax := c.width, c.dmax
	mask := uint64(1)<<(uint(N)*width) - 1
	out := (*[numParts][]uint64)(w.outTop)
	var k uint64
	if slices.Max(ids) <= dmax {
		// Every id packs (the usual case): a plain rolling key.
		for _, id := range ids[:N-1] {
			k = k<<width | uint64(id)
		}
		for _, id := range ids[N-1:] {
			k = (k<<width | uint64(id)) & mask
			p := partOf(hashKey(k))
			out[p] = append(out[p], k)
		}
		return
	}
	clean := 0 // number of packable ids ending at j
	for j, id := range ids {
		if id <= dmax {
			k = (k<<width | uint64(id)) & mask
			clean++
		} else {
			clean = 0
		}
		if j+1 < N {
			continue
		}
		if clean >= N {
			p := partOf(hashKey(k))
			out[p] = append(out[p], k)
		} else {
			w.kbuf = escKey(w.kbuf, ids[j+1-N:j+1])
			w.escTop[string(w.kbuf)]++
		}
	}
}

// emitTail queues a line's tail: its last maxN ids, or all of a shorter line.
func (w *worker) emitTail(t []uint32) {
	c := w.c
	if c.tail.tab != nil && c.fits(t) {
		k := pack(t, c.width)
		p := partOf(hashKey(k))
		w.outTail[p] = append(w.outTail[p], k)
		return
	}
	w.kbuf = escKey(w.kbuf, t)
	w.escTail[string(w.kbuf)]++
}

func (c *Counter) fits(ids []uint32) bool {
	if uint(len(ids))*c.width > maxKeyBits {
		return false
	}
	for _, id := range ids {
		if id > c.dmax {
			return false
		}
	}
	return true
}

// insert adds the queued keys of partition p to the tables.
func (c *Counter) insert(p int) {
	for _, w := range c.ws {
		if t := c.top.tab; t != nil {
			t.incAll(&t.parts[p], w.outTop[p])
			w.outTop[p] = w.outTop[p][:0]
		}
		if t := c.tail.tab; t != nil {
			t.incAll(&t.parts[p], w.outTail[p])
			w.outTail[p] = w.outTail[p][:0]
		}
	}
}

// Stats finishes counting and returns the statistics. Add must not be called after it;
// further calls return the same Stats.
func (c *Counter) Stats() *Stats {
	if c.result != nil {
		return c.result
	}
	if len(c.buf) > 0 || !c.started {
		c.flush()
	}
	c.wait()
	s := &Stats{opt: c.opt, width: c.width, symbols: c.alpha.symbols}
	s.buildIndex()
	totals := make([]uint64, len(c.opt.Orders))
	for _, w := range c.ws {
		s.lines += w.lines
		for i, t := range w.totals {
			totals[i] += t
		}
		for k, v := range w.escTop {
			c.top.esc[k] += v
		}
		for k, v := range w.escTail {
			c.tail.esc[k] += v
		}
	}
	c.ws = nil
	s.grams = make([]*grams, len(c.opt.Orders))
	s.grams[len(s.grams)-1] = c.top
	// Lower orders: the n-grams starting at positions 0..len-maxN of a line are the
	// prefixes of its maxN-grams; the rest lie inside its tail.
	for i := len(s.grams) - 2; i >= 0; i-- {
		s.grams[i] = c.prefixes(s, s.grams[i+1], c.opt.Orders[i])
	}
	for i := 0; i < len(s.grams)-1; i++ {
		c.addTails(s, s.grams[i])
	}
	for i, g := range s.grams {
		g.total = totals[i]
	}
	c.top, c.tail = nil, nil
	c.result = s
	return s
}

// parallel runs fn(o) for every worker index o and waits.
func (c *Counter) parallel(fn func(o int)) {
	var wg sync.WaitGroup
	for o := 0; o < c.nw; o++ {
		wg.Go(func() { fn(o) })
	}
	wg.Wait()
}

// prefixes returns the counts of the n-symbol prefixes of src's grams.
func (c *Counter) prefixes(s *Stats, src *grams, n int) *grams {
	dst := newGrams(n, s.width)
	if src.tab != nil {
		// src packs, so dst packs too: every worker scans all of src and adds the
		// prefixes that fall in its own partitions.
		shift := uint(src.n-n) * s.width
		st, dt := src.tab, dst.tab
		c.parallel(func(o int) {
			for p := range st.parts {
				sp := &st.parts[p]
				for _, sl := range sp.slots {
					if sl == 0 {
						continue
					}
					k, cnt := sl>>st.cbits, sl&st.cmask
					if sp.over != nil {
						cnt += sp.over[k]
					}
					pk := k >> shift
					h := hashKey(pk)
					if q := partOf(h); c.owner[q] == o {
						dt.add(&dt.parts[q], pk, h, cnt)
					}
				}
			}
		})
	}
	var ids []uint32
	var buf []byte
	for k, cnt := range src.esc {
		ids = escIDs(ids, k)
		dst.addIDs(s, ids[:n], cnt, buf)
	}
	return dst
}

// addTails adds to dst the n-grams inside each line's tail that do not start a
// maxN-gram: all of them for lines shorter than maxN, else all but the first.
func (c *Counter) addTails(s *Stats, dst *grams) {
	n, N, width := dst.n, c.maxN, s.width
	if c.tail.tab != nil && dst.tab != nil {
		nmask := uint64(1)<<(uint(n)*width) - 1
		st, dt := c.tail.tab, dst.tab
		c.parallel(func(o int) {
			for p := range st.parts {
				sp := &st.parts[p]
				for _, sl := range sp.slots {
					if sl == 0 {
						continue
					}
					k, cnt := sl>>st.cbits, sl&st.cmask
					if sp.over != nil {
						cnt += sp.over[k]
					}
					m := packedLen(k, width)
					start := 0
					if m == N {
						start = 1
					}
					for off := start; off+n <= m; off++ {
						sk := (k >> (uint(m-off-n) * width)) & nmask
						h := hashKey(sk)
						if q := partOf(h); c.owner[q] == o {
							dt.add(&dt.parts[q], sk, h, cnt)
						}
					}
				}
			}
		})
	}
	var ids []uint32
	var buf []byte
	add := func(t []uint32, cnt uint64) {
		start := 0
		if len(t) == N {
			start = 1
		}
		for off := start; off+n <= len(t); off++ {
			dst.addIDs(s, t[off:off+n], cnt, buf)
		}
	}
	if c.tail.tab != nil && dst.tab == nil {
		c.tail.tab.each(func(k, cnt uint64) {
			ids = unpack(ids, k, packedLen(k, width), width)
			add(ids, cnt)
		})
	}
	for k, cnt := range c.tail.esc {
		ids = escIDs(ids, k)
		add(ids, cnt)
	}
}
