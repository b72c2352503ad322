package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The reference implementation below is deliberately simple and shares no code with the
// package: []rune conversion, string-keyed maps of float64 and the textbook formula.

// naiveSymbols returns the symbols of line as strings.
func naiveSymbols(line string, seqLen int, words bool) []string {
	r := []rune(line)
	if len(r) > seqLen {
		r = r[:seqLen]
	}
	if words {
		s := strings.TrimRight(string(r), "`")
		return strings.Fields(strings.ToLower(s))
	}
	var out []string
	for _, c := range r {
		out = append(out, string(c))
	}
	for len(out) < seqLen {
		out = append(out, "`")
	}
	return out
}

// naiveCounts counts the n-grams of lines; keys join the symbols with NUL.
func naiveCounts(lines []string, n, seqLen int, words bool) map[string]float64 {
	m := map[string]float64{}
	for _, l := range lines {
		s := naiveSymbols(l, seqLen, words)
		for i := 0; i+n <= len(s); i++ {
			m[strings.Join(s[i:i+n], "\x00")]++
		}
	}
	return m
}

func naiveJS(a, b map[string]float64) float64 {
	norm := func(m map[string]float64) map[string]float64 {
		t := 0.0
		for _, v := range m {
			t += v
		}
		p := map[string]float64{}
		for k, v := range m {
			p[k] = v / t
		}
		return p
	}
	p, q := norm(a), norm(b)
	kl := func(p, q map[string]float64) float64 {
		s := 0.0
		for k, pv := range p {
			m := (pv + q[k]) / 2
			s += pv * math.Log(pv/m)
		}
		return s
	}
	return 0.5 * (kl(p, q) + kl(q, p)) / math.Ln2
}

// checkCounts compares every table of s with the naive counts of lines.
func checkCounts(t *testing.T, name string, s *Stats, lines []string) {
	t.Helper()
	o := s.Options()
	for _, n := range o.Orders {
		want := naiveCounts(lines, n, o.SeqLen, o.Words)
		got := map[string]float64{}
		sep := ""
		if o.Words {
			sep = " "
		}
		for g, c := range s.Grams(n) {
			var key string
			if o.Words {
				key = strings.ReplaceAll(g, sep, "\x00")
			} else {
				key = strings.Join(strings.Split(g, ""), "\x00")
				// strings.Split on "" splits invalid UTF-8 per byte; symbols are valid here.
			}
			if _, dup := got[key]; dup {
				t.Fatalf("%s n=%d: gram %q listed twice", name, n, g)
			}
			got[key] = float64(c)
		}
		if len(got) != len(want) || s.Distinct(n) != len(want) {
			t.Fatalf("%s n=%d: %d distinct grams listed, Distinct()=%d, want %d", name, n, len(got), s.Distinct(n), len(want))
		}
		total := 0.0
		for k, c := range want {
			total += c
			if got[k] != c {
				t.Fatalf("%s n=%d: gram %q counted %v times, want %v", name, n, k, got[k], c)
			}
		}
		if float64(s.Total(n)) != total {
			t.Fatalf("%s n=%d: Total()=%d, want %v", name, n, s.Total(n), total)
		}
	}
	if s.Lines() != int64(len(lines)) {
		t.Fatalf("%s: Lines()=%d, want %d", name, s.Lines(), len(lines))
	}
}

// checkJS compares JS and JSAll with the naive JS for every order.
func checkJS(t *testing.T, name string, a, b []string, opt Options) map[int]float64 {
	t.Helper()
	sa, err := Count(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Count(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, name+"/a", sa, a)
	checkCounts(t, name+"/b", sb, b)
	all, err := JSAll(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	o := sa.Options()
	for _, n := range o.Orders {
		want := naiveJS(naiveCounts(a, n, o.SeqLen, o.Words), naiveCounts(b, n, o.SeqLen, o.Words))
		got, err := JS(sa, sb, n)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 || all[n] != got {
			t.Errorf("%s n=%d: JS=%.17g JSAll=%.17g, naive %.17g (diff %.3g)", name, n, got, all[n], want, got-want)
		}
		rev, err := JS(sb, sa, n)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rev-got) > 1e-15 {
			t.Errorf("%s n=%d: JS not symmetric: %.17g vs %.17g", name, n, got, rev)
		}
	}
	return all
}

var (
	asciiRunes   = []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;'`\"-")
	unicodeRunes = []rune("éèüößøåñçłžÆŒ€£¥°±×÷αβγδλπΣΩжщяЖ你好世界中文日本語한국어😀🙂🎉𝄞𝔸\u0301\u200b\ufffd")
)

// randLine returns a random line of up to maxLen runes drawn from alphabet.
func randLine(r *rand.Rand, alphabet []rune, maxLen int) string {
	n := r.IntN(maxLen + 1)
	var sb strings.Builder
	for range n {
		sb.WriteRune(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}

func randLines(r *rand.Rand, k int, alphabet []rune, maxLen int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = randLine(r, alphabet, maxLen)
	}
	return out
}

func TestJSRandomAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mixed := append(slices.Clone(asciiRunes), unicodeRunes...)
	cases := []struct {
		name     string
		alphabet []rune
		opt      Options
		maxLen   int
	}{
		{"ascii-default", asciiRunes, Options{}, 50},
		{"ascii-1to8", asciiRunes[:6], Options{Orders: []int{1, 2, 3, 4, 5, 6, 7, 8}}, 40},
		{"unicode-4-6", mixed, Options{}, 45},
		{"unicode-short-seq", mixed, Options{SeqLen: 5, Orders: []int{1, 3, 5}}, 9},
		{"high-orders", asciiRunes[:4], Options{SeqLen: 14, Orders: []int{2, 9, 12}}, 16},
		{"single-order", mixed, Options{Orders: []int{3}}, 40},
		{"words", []rune("ab AB cd  "), Options{Words: true, Orders: []int{1, 2, 3}}, 40},
		{"words-high", []rune("aAb c"), Options{Words: true, SeqLen: 40, Orders: []int{1, 4, 6}}, 40},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for rep := range 3 {
				a := randLines(r, 1+r.IntN(300), tc.alphabet, tc.maxLen)
				b := randLines(r, 1+r.IntN(300), tc.alphabet, tc.maxLen)
				checkJS(t, fmt.Sprint(tc.name, rep), a, b, tc.opt)
			}
		})
	}
}

func TestJSIdenticalIsZero(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := randLines(r, 500, append(slices.Clone(asciiRunes), unicodeRunes...), 40)
	b := slices.Clone(a)
	r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	// The same distribution at twice the size is identical too.
	c := append(slices.Clone(a), b...)
	opt := Options{Orders: []int{1, 2, 4, 6, 8}}
	for _, other := range [][]string{b, c} {
		js := checkJS(t, "identical", a, other, opt)
		for n, v := range js {
			if v != 0 {
				t.Errorf("n=%d: JS of identical distributions = %g, want exactly 0", n, v)
			}
		}
	}
	s, _ := Count(a, opt)
	if v, _ := JS(s, s, 4); v != 0 {
		t.Errorf("JS(s, s) = %g, want 0", v)
	}
}

func TestJSDisjointIsOne(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	// Full-length lines, so padding is not shared; different alphabets.
	full := func(alphabet []rune, k int) []string {
		out := make([]string, k)
		for i := range out {
			var sb strings.Builder
			for range 12 + r.IntN(10) {
				sb.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
			out[i] = sb.String()
		}
		return out
	}
	a := full([]rune("abcdefghijklm"), 200)
	b := full([]rune("nopqrstuvwxyz你好"), 300)
	js := checkJS(t, "disjoint", a, b, Options{SeqLen: 12, Orders: []int{1, 3, 12}})
	for n, v := range js {
		if v != 1 {
			t.Errorf("n=%d: JS of disjoint distributions = %.17g, want exactly 1", n, v)
		}
	}
}

func TestJSAdversarial(t *testing.T) {
	long := strings.Repeat("the quick brown fox ", 10)
	cases := []struct {
		name string
		a, b []string
		opt  Options
	}{
		{"one-line-each", []string{"hello world"}, []string{"hello there"}, Options{}},
		{"one-vs-many", []string{"a"}, []string{"a", "b", "ab", "ba", ""}, Options{Orders: []int{1, 2, 4}}},
		{"empty-lines", []string{"", "", ""}, []string{"", "x", ""}, Options{Orders: []int{1, 4, 6}}},
		{"only-empty-both", []string{""}, []string{"", ""}, Options{}},
		{"unicode", []string{"héllo wörld", "你好，世界", "🙂🙃🙂🙃 emoji", "𝔸𝔹ℂ"}, []string{"hello world", "你好世界", "🙂 emoji 🙂", "ℂ𝔹𝔸"}, Options{Orders: []int{1, 2, 3, 4, 6}}},
		{"longer-than-seq", []string{long, long[3:], long[7:]}, []string{long[1:], long[5:]}, Options{Orders: []int{4, 6}}},
		{"exactly-seq", []string{strings.Repeat("ab", 16)}, []string{strings.Repeat("ba", 16)}, Options{Orders: []int{2, 32}}},
		{"shorter-than-n", []string{"ab", "c"}, []string{"abc"}, Options{SeqLen: 8, Orders: []int{2, 7, 8}}},
		{"invalid-utf8", []string{"a\xffb\xfe", "\xc3"}, []string{"a\ufffdb", "\xc3("}, Options{Orders: []int{1, 2, 3}}},
		{"pad-char-in-text", []string{"``a``", "````"}, []string{"a", ""}, Options{SeqLen: 6, Orders: []int{1, 2, 6}}},
		{"words-empty", []string{"", "   ", "A b"}, []string{"a B", "a b c"}, Options{Words: true, Orders: []int{1, 2}}},
		{"words-padding", []string{"the cat``````"}, []string{"The Cat"}, Options{Words: true, SeqLen: 12, Orders: []int{1, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkJS(t, tc.name, tc.a, tc.b, tc.opt) })
	}
}

// TestCountManyChunks crosses chunk boundaries, spills counts beyond the packed count
// field, and adds thousands of symbols after the first chunk fixed the id width, so
// that many n-grams take the unpacked path. It also runs with an odd worker count.
func TestCountManyChunks(t *testing.T) {
	defer func(old int) { chunkLines = old }(chunkLines)
	chunkLines = 500
	r := rand.New(rand.NewPCG(7, 8))
	var lines []string
	for range 1200 {
		lines = append(lines, randLine(r, asciiRunes[:20], 20))
	}
	for i := range 3000 {
		// Fresh code points from the CJK block: far more than packed ids allow.
		lines = append(lines, randLine(r, asciiRunes[:20], 10)+string(rune(0x4E00+i))+randLine(r, asciiRunes[:20], 10))
	}
	for range 1000 {
		lines = append(lines, "")
	}
	for _, procs := range []int{1, 3} {
		old := runtime.GOMAXPROCS(procs)
		s, err := Count(lines, Options{Orders: []int{1, 2, 4, 8}})
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if s.width*8 != maxKeyBits {
			t.Fatalf("id width %d: the test expects 8-grams to fill the packed key", s.width)
		}
		if g := s.order(8); len(g.esc) == 0 || g.tab.len() == 0 {
			t.Fatal("the test expects packed and unpacked 8-grams")
		}
		checkCounts(t, fmt.Sprint("procs", procs), s, lines)
	}
	// Words: a vocabulary that keeps growing after the first chunk.
	var wlines []string
	for i := range 3000 {
		var ws []string
		for range r.IntN(9) {
			ws = append(ws, fmt.Sprintf("w%d", r.IntN(1+i*i)))
		}
		wlines = append(wlines, strings.Join(ws, " "))
	}
	s, err := Count(wlines, Options{Words: true, SeqLen: 40, Orders: []int{1, 2, 3, 5}})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, "words", s, wlines)
}

func TestMergeEqualsWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	mixed := append(slices.Clone(asciiRunes), unicodeRunes...)
	for _, opt := range []Options{{Orders: []int{1, 4, 6}}, {Words: true, Orders: []int{1, 2}}} {
		alphabet := mixed
		if opt.Words {
			alphabet = []rune("abc ABC  ")
		}
		shards := [][]string{randLines(r, 300, asciiRunes, 40), randLines(r, 200, alphabet, 40), randLines(r, 1, alphabet, 3)}
		var all []string
		var merged *Stats
		for _, sh := range shards {
			all = append(all, sh...)
			s, err := Count(sh, opt)
			if err != nil {
				t.Fatal(err)
			}
			if merged == nil {
				merged = s
			} else if err := merged.Merge(s); err != nil {
				t.Fatal(err)
			}
		}
		checkCounts(t, "merged", merged, all)
		other, _ := Count(randLines(r, 100, alphabet, 40), opt)
		whole, _ := Count(all, opt)
		for _, n := range merged.Orders() {
			a, _ := JS(merged, other, n)
			b, _ := JS(whole, other, n)
			if math.Abs(a-b) > 1e-12 {
				t.Errorf("n=%d: JS after merge %.17g, of the whole %.17g", n, a, b)
			}
		}
	}
}

func TestOptionsAndErrors(t *testing.T) {
	if _, err := Count(nil, Options{SeqLen: -1}); err == nil {
		t.Error("negative sequence length accepted")
	}
	if _, err := Count(nil, Options{SeqLen: 4, Orders: []int{5}}); err == nil {
		t.Error("order above the sequence length accepted")
	}
	if _, err := Count(nil, Options{Orders: []int{0}}); err == nil {
		t.Error("order 0 accepted")
	}
	s, err := Count([]string{"abc"}, Options{Orders: []int{6, 4, 6}})
	if err != nil {
		t.Fatal(err)
	}
	if o := s.Options(); o.SeqLen != 32 || !slices.Equal(o.Orders, []int{4, 6}) || o.Words {
		t.Errorf("normalized options %+v", o)
	}
	empty, _ := Count(nil, Options{})
	if _, err := JS(s, empty, 4); err == nil {
		t.Error("JS against no lines gave no error")
	}
	if _, err := JS(s, s, 3); err == nil {
		t.Error("JS of an order not counted gave no error")
	}
	w, _ := Count([]string{"abc"}, Options{Words: true, Orders: []int{1, 4}})
	if _, err := JS(s, w, 4); err == nil {
		t.Error("JS of characters against words gave no error")
	}
	if err := s.Merge(w); err == nil {
		t.Error("merge of characters and words gave no error")
	}
	if s.Lookup(4, "abc`") != 1 || s.Lookup(4, "zzzz") != 0 || s.Lookup(4, "ab") != 0 {
		t.Error("Lookup gives wrong counts")
	}
	if w.Lookup(1, "abc") != 1 {
		t.Error("word Lookup gives wrong counts")
	}
}
