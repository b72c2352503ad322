package eval

import (
	"fmt"
	"slices"
	"strings"
)

// PadChar is the padding character appended to lines shorter than the sequence length.
// It is the same character as data.PadChar.
const PadChar = '`'

// DefaultSeqLen is the line length (in code points) used when Options.SeqLen is 0.
const DefaultSeqLen = 32

// MaxSeqLen is the largest sequence length Options accepts.
const MaxSeqLen = 1 << 16

// DefaultOrders are the n-gram orders used when Options.Orders is empty: JS-4 and JS-6.
var DefaultOrders = []int{4, 6}

// Options says how lines are turned into n-grams. The zero value means 32-character
// lines and character n-grams of orders 4 and 6.
type Options struct {
	// SeqLen is the number of code points each line is cut to (and, for characters,
	// right-padded to with PadChar). 0 means DefaultSeqLen.
	SeqLen int
	// Orders are the n-gram orders to count, each between 1 and SeqLen.
	// Empty means DefaultOrders. Order and duplicates do not matter.
	Orders []int
	// Words counts n-grams of lower-cased words (split on white space) instead of
	// characters. Lines are still cut to SeqLen code points first; trailing padding
	// is removed and never becomes a word.
	Words bool
}

// normalize returns a copy of o with defaults filled in and orders sorted and unique,
// or an error saying what is wrong.
func (o Options) normalize() (Options, error) {
	out := Options{SeqLen: o.SeqLen, Words: o.Words}
	if out.SeqLen == 0 {
		out.SeqLen = DefaultSeqLen
	}
	if out.SeqLen < 1 || out.SeqLen > MaxSeqLen {
		return Options{}, fmt.Errorf("eval: sequence length %d out of range: use 1 to %d", o.SeqLen, MaxSeqLen)
	}
	orders := o.Orders
	if len(orders) == 0 {
		orders = DefaultOrders
	}
	out.Orders = slices.Clone(orders)
	slices.Sort(out.Orders)
	out.Orders = slices.Compact(out.Orders)
	for _, n := range out.Orders {
		if n < 1 || n > out.SeqLen {
			return Options{}, fmt.Errorf("eval: n-gram order %d out of range: use 1 to the sequence length %d", n, out.SeqLen)
		}
	}
	return out, nil
}

// String describes the options, e.g. "chars seq-len=32 n=4,6".
func (o Options) String() string {
	kind := "chars"
	if o.Words {
		kind = "words"
	}
	ns := make([]string, len(o.Orders))
	for i, n := range o.Orders {
		ns[i] = fmt.Sprint(n)
	}
	return fmt.Sprintf("%s seq-len=%d n=%s", kind, o.SeqLen, strings.Join(ns, ","))
}

// sameShape reports whether statistics built with a and b (both normalized) count the
// same kind of n-grams of the same lines, so that they can be compared or merged.
func sameShape(a, b Options) bool { return a.SeqLen == b.SeqLen && a.Words == b.Words }

// Words returns the words whose n-grams are counted with Options.Words: line cut to
// seqLen code points, trailing PadChar removed, lower-cased and split on white space.
func Words(line string, seqLen int) []string {
	return strings.Fields(strings.ToLower(cutWords(line, seqLen)))
}

// cutWords cuts line to seqLen code points and removes trailing padding.
func cutWords(line string, seqLen int) string {
	k := 0
	for i := range line {
		if k == seqLen {
			line = line[:i]
			break
		}
		k++
	}
	return strings.TrimRight(line, string(PadChar))
}
