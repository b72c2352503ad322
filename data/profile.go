package data

import "unicode/utf8"

// LengthBuckets are the upper bounds (in runes, inclusive) of the line length
// histogram of a Profile; the last bucket holds every longer line.
var LengthBuckets = []int{8, 16, 32, 64, 128, 256, 512, 1024}

// Profile summarises lines for "dgtext data stats": characters, vocabulary and
// the distribution of line lengths in runes. The zero value is ready to use.
type Profile struct {
	Lines   int64
	Chars   int64
	MinLen  int     // shortest line, in runes
	MaxLen  int     // longest line, in runes
	Hist    []int64 // len(LengthBuckets)+1 counts, see LengthBuckets
	OverLen int64   // lines longer than DefaultSeqLen runes (cut by training)
	counts  *CharCounts
}

// Add counts one line.
func (p *Profile) Add(line string) {
	if p.counts == nil {
		p.counts = NewCharCounts(0)
		p.Hist = make([]int64, len(LengthBuckets)+1)
	}
	p.counts.Add(line)
	n := utf8.RuneCountInString(line)
	if p.Lines == 0 || n < p.MinLen {
		p.MinLen = n
	}
	if n > p.MaxLen {
		p.MaxLen = n
	}
	p.Lines++
	p.Chars += int64(n)
	if n > DefaultSeqLen {
		p.OverLen++
	}
	b := len(LengthBuckets)
	for i, ub := range LengthBuckets {
		if n <= ub {
			b = i
			break
		}
	}
	p.Hist[b]++
}

// Vocab returns the number of distinct runes seen.
func (p *Profile) Vocab() int {
	if p.counts == nil {
		return 0
	}
	n := len(p.counts.other)
	for _, c := range p.counts.ascii {
		if c > 0 {
			n++
		}
	}
	return n
}

// MeanLen is the mean line length in runes.
func (p *Profile) MeanLen() float64 {
	if p.Lines == 0 {
		return 0
	}
	return float64(p.Chars) / float64(p.Lines)
}

// TopChars returns up to n of the most frequent runes with their counts
// (ties by code point), as a Charmap of the whole lines would order them.
func (p *Profile) TopChars(n int) ([]rune, []int64) {
	if p.counts == nil || n <= 0 {
		return nil, nil
	}
	cm := p.counts.Charmap(n + 1)
	runes := make([]rune, cm.Size()-1)
	counts := make([]int64, cm.Size()-1)
	for i := range runes {
		runes[i], counts[i] = cm.Rune(i+1), cm.Count(i+1)
	}
	return runes, counts
}
