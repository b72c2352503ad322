package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"unicode/utf8"
)

// DefaultCharmapSize is the default vocabulary cap, 'unk' included (the
// WGAN-GP language model keeps 'unk' and the 2047 most frequent characters).
const DefaultCharmapSize = 2048

// UnkToken is the name of index 0 in a saved charmap, as in the original model.
const UnkToken = "unk"

// UnkRune is what Rune and Decode give for index 0 (and for indexes out of range).
const UnkRune = utf8.RuneError

// charmapFormat identifies dgtext charmap JSON files.
const charmapFormat = "dgtext-charmap"

// Charmap maps characters (runes) to indexes: index 0 is 'unk', for every rune
// not in the map, then runes from the most to the least frequent (ties broken by
// the smaller code point first, so building is deterministic). The zero value is
// a map holding only 'unk'.
type Charmap struct {
	runes  []rune  // index -> rune; runes[0] = UnkRune
	counts []int64 // index -> count when built (0 for unk); may be nil after loading
	ascii  [utf8.RuneSelf]int32
	index  map[rune]int
}

// CharCounts counts the characters of padded lines, to build a Charmap from a
// stream of lines.
type CharCounts struct {
	seqLen int
	ascii  [utf8.RuneSelf]int64
	other  map[rune]int64
}

// NewCharCounts counts the runes of each line as PadRunes(line, seqLen) gives
// them, padding included; seqLen <= 0 counts whole lines without padding.
func NewCharCounts(seqLen int) *CharCounts {
	return &CharCounts{seqLen: seqLen, other: map[rune]int64{}}
}

// Add counts one line.
func (c *CharCounts) Add(line string) {
	n := 0
	for _, r := range line {
		if c.seqLen > 0 && n == c.seqLen {
			break
		}
		c.add(r, 1)
		n++
	}
	if c.seqLen > n {
		c.add(PadChar, int64(c.seqLen-n))
	}
}

func (c *CharCounts) add(r rune, k int64) {
	if r >= 0 && r < utf8.RuneSelf {
		c.ascii[r] += k
	} else {
		c.other[r] += k
	}
}

// Charmap builds the map of the counted runes: 'unk', then at most maxSize-1
// runes by decreasing count (maxSize <= 0 means DefaultCharmapSize).
func (c *CharCounts) Charmap(maxSize int) *Charmap {
	if maxSize <= 0 {
		maxSize = DefaultCharmapSize
	}
	type rc struct {
		r rune
		n int64
	}
	all := make([]rc, 0, len(c.other)+utf8.RuneSelf)
	for r, n := range c.ascii {
		if n > 0 {
			all = append(all, rc{rune(r), n})
		}
	}
	for r, n := range c.other {
		all = append(all, rc{r, n})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].r < all[j].r
	})
	if len(all) > maxSize-1 {
		all = all[:max(maxSize-1, 0)]
	}
	runes := make([]rune, len(all))
	counts := make([]int64, len(all))
	for i, x := range all {
		runes[i], counts[i] = x.r, x.n
	}
	cm, _ := newCharmap(runes, counts) // runes are distinct by construction
	return cm
}

// BuildCharmap builds a charmap from lines cut and padded to seqLen runes (the
// padding character counts like any other), keeping 'unk' and at most maxSize-1
// characters (maxSize <= 0 means DefaultCharmapSize).
func BuildCharmap(lines []string, seqLen, maxSize int) *Charmap {
	c := NewCharCounts(seqLen)
	for _, l := range lines {
		c.Add(l)
	}
	return c.Charmap(maxSize)
}

// NewCharmap makes a charmap of 'unk' followed by runes, in that order. It is an
// error if a rune repeats or is not a valid code point.
func NewCharmap(runes []rune) (*Charmap, error) { return newCharmap(runes, nil) }

func newCharmap(runes []rune, counts []int64) (*Charmap, error) {
	c := &Charmap{runes: make([]rune, 1, len(runes)+1), index: make(map[rune]int, len(runes))}
	c.runes[0] = UnkRune
	if counts != nil {
		c.counts = append([]int64{0}, counts...)
	}
	for _, r := range runes {
		if !utf8.ValidRune(r) {
			return nil, fmt.Errorf("charmap entry %d: %U is not a valid character", len(c.runes), r)
		}
		if c.Index(r) != 0 {
			return nil, fmt.Errorf("charmap entry %d: %q appears twice", len(c.runes), r)
		}
		i := len(c.runes)
		c.runes = append(c.runes, r)
		if r < utf8.RuneSelf {
			c.ascii[r] = int32(i)
		} else {
			c.index[r] = i
		}
	}
	return c, nil
}

// Size is the number of indexes, 'unk' included.
func (c *Charmap) Size() int {
	if c == nil || len(c.runes) == 0 {
		return 1
	}
	return len(c.runes)
}

// Index returns the index of r, or 0 ('unk') if r is not in the map.
func (c *Charmap) Index(r rune) int {
	if c == nil {
		return 0
	}
	if r >= 0 && r < utf8.RuneSelf {
		return int(c.ascii[r])
	}
	return c.index[r]
}

// Rune returns the rune at index i; UnkRune for 0 and for indexes out of range.
func (c *Charmap) Rune(i int) rune {
	if c == nil || i <= 0 || i >= len(c.runes) {
		return UnkRune
	}
	return c.runes[i]
}

// Count returns how often the rune at index i was seen when the map was built
// (0 when unknown).
func (c *Charmap) Count(i int) int64 {
	if c == nil || i < 0 || i >= len(c.counts) {
		return 0
	}
	return c.counts[i]
}

// Encode cuts and pads line to seqLen runes (PadRunes) and maps each to its index.
func (c *Charmap) Encode(line string, seqLen int) []int {
	rs := PadRunes(line, seqLen)
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = c.Index(r)
	}
	return out
}

// Decode maps indexes back to text; 'unk' and out-of-range indexes become
// UnkRune. Padding is kept (see TrimPad).
func (c *Charmap) Decode(idx []int) string {
	b := make([]byte, 0, len(idx))
	for _, i := range idx {
		b = utf8.AppendRune(b, c.Rune(i))
	}
	return string(b)
}

// charmapJSON is the saved form: chars is index-aligned, chars[0] = "unk" and
// every other entry one character.
type charmapJSON struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Chars   []string `json:"chars"`
	Counts  []int64  `json:"counts,omitempty"`
}

// MarshalJSON saves the map as
//
//	{"format":"dgtext-charmap","version":1,"chars":["unk","`"," ","e",...],"counts":[0,...]}
//
// where chars[i] is the character of index i.
func (c *Charmap) MarshalJSON() ([]byte, error) {
	j := charmapJSON{Format: charmapFormat, Version: 1, Chars: make([]string, c.Size())}
	j.Chars[0] = UnkToken
	for i := 1; i < c.Size(); i++ {
		j.Chars[i] = string(c.runes[i])
	}
	if c != nil && len(c.counts) == c.Size() {
		j.Counts = c.counts
	}
	return json.Marshal(j)
}

// UnmarshalJSON loads a map saved by MarshalJSON and validates it: the format
// and version, "unk" at index 0, exactly one valid character per other entry,
// no duplicates, and counts (if any) non-negative and one per entry.
func (c *Charmap) UnmarshalJSON(b []byte) error {
	var j charmapJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("invalid charmap JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid charmap JSON: data after the object")
	}
	if j.Format != charmapFormat {
		return fmt.Errorf("invalid charmap: format %q, want %q", j.Format, charmapFormat)
	}
	if j.Version != 1 {
		return fmt.Errorf("invalid charmap: version %d, this dgtext reads version 1", j.Version)
	}
	if len(j.Chars) < 2 {
		return fmt.Errorf("invalid charmap: %d entries, want \"unk\" and at least one character", len(j.Chars))
	}
	if j.Chars[0] != UnkToken {
		return fmt.Errorf("invalid charmap: entry 0 is %q, want %q", j.Chars[0], UnkToken)
	}
	runes := make([]rune, 0, len(j.Chars)-1)
	for i, s := range j.Chars[1:] {
		r, size := utf8.DecodeRuneInString(s)
		if s == "" || size != len(s) || (r == utf8.RuneError && size < 3) {
			return fmt.Errorf("invalid charmap: entry %d is %q, want exactly one character", i+1, s)
		}
		runes = append(runes, r)
	}
	var counts []int64
	if j.Counts != nil {
		if len(j.Counts) != len(j.Chars) {
			return fmt.Errorf("invalid charmap: %d counts for %d entries", len(j.Counts), len(j.Chars))
		}
		for i, n := range j.Counts {
			if n < 0 {
				return fmt.Errorf("invalid charmap: entry %d has negative count %d", i, n)
			}
		}
		counts = j.Counts[1:]
	}
	m, err := newCharmap(runes, counts)
	if err != nil {
		return fmt.Errorf("invalid charmap: %w", err)
	}
	*c = *m
	return nil
}

// SaveCharmap writes c as JSON to path (atomically).
func (c *Charmap) SaveCharmap(path string) error {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// LoadCharmap reads and validates a charmap saved by SaveCharmap.
func LoadCharmap(path string) (*Charmap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load charmap: %w", err)
	}
	var c Charmap
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("load charmap %s: %w", path, err)
	}
	return &c, nil
}
