package data

// PadChar pads lines to a fixed length, as in the WGAN-GP language model.
const PadChar = '`'

// DefaultSeqLen is the number of characters per line the WGAN-GP language model uses.
const DefaultSeqLen = 32

// PadRunes cuts line to seqLen runes and right-pads it with PadChar. Characters
// are runes (Unicode code points); an invalid UTF-8 byte counts as one U+FFFD
// rune. A seqLen of zero or less gives an empty slice.
func PadRunes(line string, seqLen int) []rune {
	if seqLen <= 0 {
		return []rune{}
	}
	out := make([]rune, seqLen)
	n := 0
	for _, r := range line {
		if n == seqLen {
			break
		}
		out[n] = r
		n++
	}
	for ; n < seqLen; n++ {
		out[n] = PadChar
	}
	return out
}

// TrimPad removes trailing PadChar runes, undoing the padding of PadRunes for
// display. (A line that really ended in backticks loses them too.)
func TrimPad(s string) string {
	i := len(s)
	for i > 0 && s[i-1] == byte(PadChar) {
		i--
	}
	return s[:i]
}
