package eval

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// Stats holds n-gram counts of a set of lines for several orders at once. Build it with
// Count, CountSeq or a Counter; combine shards with Merge; compare with JS or JSAll.
// A Stats is safe for concurrent reads; Merge must not run concurrently with anything
// else on the same Stats.
type Stats struct {
	opt     Options
	lines   int64
	width   uint              // bits per packed symbol id; ids 1..1<<width-1 are packed
	symbols []string          // symbols[id-1]: a character or a word
	index   map[string]uint32 // symbol → id
	grams   []*grams          // aligned with opt.Orders
}

// grams holds the counts of one order.
type grams struct {
	n     int
	total uint64            // number of n-grams counted (with multiplicity)
	tab   *table            // packed n-grams; nil when n*width > maxKeyBits
	esc   map[string]uint64 // n-grams that cannot be packed, keyed by escKey
}

func newGrams(n int, width uint) *grams {
	g := &grams{n: n, esc: make(map[string]uint64)}
	if uint(n)*width <= maxKeyBits {
		g.tab = newTable(uint(n) * width)
	}
	return g
}

// Options returns the normalized options the statistics were built with.
func (s *Stats) Options() Options {
	o := s.opt
	o.Orders = slices.Clone(o.Orders)
	return o
}

// Lines returns the number of lines counted.
func (s *Stats) Lines() int64 { return s.lines }

// Orders returns the n-gram orders held, ascending.
func (s *Stats) Orders() []int { return slices.Clone(s.opt.Orders) }

// Symbols returns the number of distinct symbols (characters or words) seen, padding
// included.
func (s *Stats) Symbols() int { return len(s.symbols) }

func (s *Stats) order(n int) *grams {
	for _, g := range s.grams {
		if g.n == n {
			return g
		}
	}
	return nil
}

// Total returns the number of n-grams of order n counted, with multiplicity, or 0 if
// the order was not counted.
func (s *Stats) Total(n int) int64 {
	if g := s.order(n); g != nil {
		return int64(g.total)
	}
	return 0
}

// Distinct returns the number of distinct n-grams of order n, or 0 if the order was
// not counted.
func (s *Stats) Distinct(n int) int {
	g := s.order(n)
	if g == nil {
		return 0
	}
	d := len(g.esc)
	if g.tab != nil {
		d += g.tab.len()
	}
	return d
}

// packable reports whether ids fit a packed key.
func (s *Stats) packable(ids []uint32) bool {
	if uint(len(ids))*s.width > maxKeyBits {
		return false
	}
	dmax := uint32(1)<<s.width - 1
	for _, id := range ids {
		if id > dmax {
			return false
		}
	}
	return true
}

func pack(ids []uint32, width uint) uint64 {
	var k uint64
	for _, id := range ids {
		k = k<<width | uint64(id)
	}
	return k
}

// unpack decodes a packed key of n symbols into ids.
func unpack(ids []uint32, k uint64, n int, width uint) []uint32 {
	ids = slices.Grow(ids[:0], n)[:n]
	m := uint64(1)<<width - 1
	for i := n - 1; i >= 0; i-- {
		ids[i] = uint32(k & m)
		k >>= width
	}
	return ids
}

// packedLen returns the number of symbols in a packed key (ids are never 0).
func packedLen(k uint64, width uint) int {
	return (bits.Len64(k) + int(width) - 1) / int(width)
}

// get returns the count of the n-gram ids (in s's id space).
func (g *grams) get(s *Stats, ids []uint32, buf []byte) uint64 {
	if g.tab != nil && s.packable(ids) {
		return g.tab.get(pack(ids, s.width))
	}
	return g.esc[string(escKey(buf, ids))]
}

// addIDs adds c to the count of the n-gram ids (in s's id space); single goroutine only.
func (g *grams) addIDs(s *Stats, ids []uint32, c uint64, buf []byte) {
	if g.tab != nil && s.packable(ids) {
		k := pack(ids, s.width)
		h := hashKey(k)
		g.tab.add(&g.tab.parts[partOf(h)], k, h, c)
		return
	}
	g.esc[string(escKey(buf, ids))] += c
}

// each calls fn with the ids and count of every distinct n-gram; ids is reused.
func (g *grams) each(s *Stats, fn func(ids []uint32, c uint64)) {
	var ids []uint32
	if g.tab != nil {
		g.tab.each(func(k, c uint64) {
			ids = unpack(ids, k, g.n, s.width)
			fn(ids, c)
		})
	}
	for k, c := range g.esc {
		ids = escIDs(ids, k)
		fn(ids, c)
	}
}

// gramIDs splits a gram given as text into symbol ids of s, or returns false when it
// has the wrong length or a symbol s has never seen.
func (s *Stats) gramIDs(n int, gram string) ([]uint32, bool) {
	var parts []string
	if s.opt.Words {
		parts = strings.Fields(gram)
	} else {
		for _, r := range gram {
			parts = append(parts, string(r))
		}
	}
	if len(parts) != n {
		return nil, false
	}
	ids := make([]uint32, n)
	for i, p := range parts {
		id, ok := s.index[p]
		if !ok {
			return nil, false
		}
		ids[i] = id
	}
	return ids, true
}

// Lookup returns how often the n-gram gram was counted: n characters, or n words
// separated by spaces with Options.Words. It returns 0 for unknown grams and orders.
func (s *Stats) Lookup(n int, gram string) int64 {
	g := s.order(n)
	if g == nil {
		return 0
	}
	ids, ok := s.gramIDs(n, gram)
	if !ok {
		return 0
	}
	return int64(g.get(s, ids, nil))
}

// Grams iterates over the distinct n-grams of order n and their counts, in no
// particular order. Word n-grams are joined with single spaces.
func (s *Stats) Grams(n int) iter.Seq2[string, int64] {
	return func(yield func(string, int64) bool) {
		g := s.order(n)
		if g == nil {
			return
		}
		sep := ""
		if s.opt.Words {
			sep = " "
		}
		stop := false
		var sb strings.Builder
		g.each(s, func(ids []uint32, c uint64) {
			if stop {
				return
			}
			sb.Reset()
			for i, id := range ids {
				if i > 0 {
					sb.WriteString(sep)
				}
				sb.WriteString(s.symbols[id-1])
			}
			if !yield(sb.String(), int64(c)) {
				stop = true
			}
		})
	}
}

// buildIndex fills s.index from s.symbols.
func (s *Stats) buildIndex() {
	s.index = make(map[string]uint32, len(s.symbols))
	for i, sym := range s.symbols {
		s.index[sym] = uint32(i + 1)
	}
}

// remap returns, for every id of o, the id of the same symbol in s (0 where s lacks it).
// With add, symbols s lacks are appended to s.
func (s *Stats) remap(o *Stats, add bool) []uint32 {
	m := make([]uint32, len(o.symbols)+1)
	for i, sym := range o.symbols {
		id, ok := s.index[sym]
		if !ok && add {
			s.symbols = append(s.symbols, sym)
			id = uint32(len(s.symbols))
			s.index[sym] = id
		}
		m[i+1] = id
	}
	return m
}

// Merge adds the counts of o to s, as if s had also counted o's lines. Both must have
// been built with the same sequence length, orders and kind (characters or words).
func (s *Stats) Merge(o *Stats) error {
	if s == o {
		return fmt.Errorf("eval: merge statistics with themselves: count the lines twice instead")
	}
	if !sameShape(s.opt, o.opt) || !slices.Equal(s.opt.Orders, o.opt.Orders) {
		return fmt.Errorf("eval: merge statistics built with different options (%v and %v): count both with the same options", s.opt, o.opt)
	}
	m := s.remap(o, true)
	var mapped []uint32
	var buf []byte
	for i, g := range s.grams {
		og := o.grams[i]
		og.each(o, func(ids []uint32, c uint64) {
			mapped = mapped[:0]
			for _, id := range ids {
				mapped = append(mapped, m[id])
			}
			g.addIDs(s, mapped, c, buf)
		})
		g.total += og.total
	}
	s.lines += o.lines
	return nil
}

// validSymbol reports whether sym can be a symbol: one code point, or one word.
func validSymbol(words bool, sym string) bool {
	if words {
		f := strings.Fields(sym)
		return len(f) == 1 && f[0] == sym
	}
	return utf8.RuneCountInString(sym) == 1
}
