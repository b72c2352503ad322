package eval

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math/bits"
	"os"
	"slices"

	"github.com/dgtext/dgtext/internal/atomicfile"
)

// File format of saved statistics (all integers unsigned varints unless noted):
//
//	header:  magic "dgtext-ngrams\x00\x00\x00" (16 bytes), version (uint32 LE),
//	         payload length (uint64 LE), CRC-64/ECMA of the payload (uint64 LE)
//	payload: tag (length + bytes), seq-len, words (0/1), orders (count, values),
//	         lines, width, symbols (count, then length + bytes each), then per order:
//	         n, total, packed entries (count, then key delta from the previous key
//	         and count, keys ascending), unpacked entries (count, then n ids and count).
//
// Everything read is checked (checksum, lengths, ranges, canonical keys, counts
// summing to totals); a file that fails any check is reported as corrupt, never used.

const (
	storeMagic   = "dgtext-ngrams\x00\x00\x00"
	storeVersion = 1
	headerSize   = len(storeMagic) + 4 + 8 + 8
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// ErrCorrupt is returned (wrapped) for saved statistics that fail validation.
var ErrCorrupt = errors.New("corrupt n-gram statistics file")

// SaveStats writes s to path (through a temporary file renamed into place).
func SaveStats(path string, s *Stats) error { return saveStats(path, s, "") }

// LoadStats reads statistics written by SaveStats.
func LoadStats(path string) (*Stats, error) {
	s, _, err := loadStats(path)
	return s, err
}

// saveStats writes s with tag (a free text the reader can check) atomically.
func saveStats(path string, s *Stats, tag string) (err error) {
	// The temporary file's name carries the pid, so that the next save removes
	// what a killed process left.
	f, err := atomicfile.CreateTemp(path)
	if err != nil {
		return fmt.Errorf("save n-gram statistics: %w", err)
	}
	committed := false
	defer func() {
		if err != nil && !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(make([]byte, headerSize)); err != nil {
		return fmt.Errorf("save n-gram statistics %s: %w", path, err)
	}
	crc := crc64.New(crcTable)
	bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	cw := &countWriter{w: bw}
	if err := s.encode(cw, tag); err != nil {
		return fmt.Errorf("save n-gram statistics %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("save n-gram statistics %s: %w", path, err)
	}
	hdr := make([]byte, 0, headerSize)
	hdr = append(hdr, storeMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, storeVersion)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(cw.n))
	hdr = binary.LittleEndian.AppendUint64(hdr, crc.Sum64())
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("save n-gram statistics %s: %w", path, err)
	}
	committed = true // Commit removes the temporary file itself on failure
	if err := atomicfile.Commit(f, path); err != nil {
		return fmt.Errorf("save n-gram statistics: %w", err)
	}
	return nil
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	buf [binary.MaxVarintLen64]byte
}

func (c *countWriter) uvarint(x uint64) {
	k := binary.PutUvarint(c.buf[:], x)
	c.w.Write(c.buf[:k])
	c.n += int64(k)
}

func (c *countWriter) bytes(b string) {
	c.uvarint(uint64(len(b)))
	c.w.WriteString(b)
	c.n += int64(len(b))
}

func (s *Stats) encode(w *countWriter, tag string) error {
	w.bytes(tag)
	w.uvarint(uint64(s.opt.SeqLen))
	if s.opt.Words {
		w.uvarint(1)
	} else {
		w.uvarint(0)
	}
	w.uvarint(uint64(len(s.opt.Orders)))
	for _, n := range s.opt.Orders {
		w.uvarint(uint64(n))
	}
	w.uvarint(uint64(s.lines))
	w.uvarint(uint64(s.width))
	w.uvarint(uint64(len(s.symbols)))
	for _, sym := range s.symbols {
		w.bytes(sym)
	}
	for _, g := range s.grams {
		w.uvarint(uint64(g.n))
		w.uvarint(g.total)
		var ents [][2]uint64
		if g.tab != nil {
			ents = make([][2]uint64, 0, g.tab.len())
			g.tab.each(func(k, c uint64) { ents = append(ents, [2]uint64{k, c}) })
			slices.SortFunc(ents, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
		}
		w.uvarint(uint64(len(ents)))
		prev := uint64(0)
		for _, e := range ents {
			w.uvarint(e[0] - prev)
			w.uvarint(e[1])
			prev = e[0]
		}
		w.uvarint(uint64(len(g.esc)))
		var ids []uint32
		for k, c := range g.esc {
			ids = escIDs(ids, k)
			for _, id := range ids {
				w.uvarint(uint64(id))
			}
			w.uvarint(c)
		}
	}
	return w.w.Flush()
}

// loadStats reads a file written by saveStats and returns it with its tag.
func loadStats(path string) (*Stats, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, "", fmt.Errorf("%s: %w: header: %v", path, ErrCorrupt, err)
	}
	if string(hdr[:len(storeMagic)]) != storeMagic {
		return nil, "", fmt.Errorf("%s: %w: not a dgtext n-gram statistics file", path, ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(hdr[len(storeMagic):]); v != storeVersion {
		return nil, "", fmt.Errorf("%s: %w: format version %d, this build reads %d", path, ErrCorrupt, v, storeVersion)
	}
	size := binary.LittleEndian.Uint64(hdr[len(storeMagic)+4:])
	sum := binary.LittleEndian.Uint64(hdr[len(storeMagic)+12:])
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if uint64(info.Size()) != uint64(headerSize)+size {
		return nil, "", fmt.Errorf("%s: %w: %d bytes, header says %d", path, ErrCorrupt, info.Size(), uint64(headerSize)+size)
	}
	crc := crc64.New(crcTable)
	r := &decoder{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, int64(size)), crc), 1<<20)}
	s, tag, err := decodeStats(r)
	if err == nil {
		if _, e := r.r.ReadByte(); e != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if crc.Sum64() != sum {
		return nil, "", fmt.Errorf("%s: %w: checksum mismatch", path, ErrCorrupt)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %v", path, ErrCorrupt, err)
	}
	return s, tag, nil
}

type decoder struct {
	r   *bufio.Reader
	err error
}

// uvarint reads one value no larger than max; errors stick.
func (d *decoder) uvarint(max uint64, what string) uint64 {
	if d.err != nil {
		return 0
	}
	x, err := binary.ReadUvarint(d.r)
	if err != nil {
		d.err = fmt.Errorf("%s: %v", what, err)
		return 0
	}
	if x > max {
		d.err = fmt.Errorf("%s %d out of range (at most %d)", what, x, max)
		return 0
	}
	return x
}

func (d *decoder) bytes(max uint64, what string) string {
	n := d.uvarint(max, what+" length")
	if d.err != nil {
		return ""
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = fmt.Errorf("%s: %v", what, err)
		return ""
	}
	return string(b)
}

func decodeStats(d *decoder) (*Stats, string, error) {
	tag := d.bytes(1<<20, "tag")
	s := &Stats{}
	s.opt.SeqLen = int(d.uvarint(MaxSeqLen, "sequence length"))
	s.opt.Words = d.uvarint(1, "words flag") == 1
	norders := d.uvarint(MaxSeqLen, "order count")
	for range norders {
		s.opt.Orders = append(s.opt.Orders, int(d.uvarint(MaxSeqLen, "order")))
	}
	if d.err != nil {
		return nil, "", d.err
	}
	if o, err := s.opt.normalize(); err != nil || !slices.Equal(o.Orders, s.opt.Orders) || o.SeqLen != s.opt.SeqLen {
		return nil, "", fmt.Errorf("invalid options %v", s.opt)
	}
	s.lines = int64(d.uvarint(1<<62, "lines"))
	s.width = uint(d.uvarint(maxKeyBits, "id width"))
	nsym := d.uvarint(1<<31, "symbol count")
	if d.err != nil {
		return nil, "", d.err
	}
	if s.width == 0 {
		return nil, "", errors.New("id width 0")
	}
	s.index = make(map[string]uint32)
	for range nsym {
		sym := d.bytes(1<<20, "symbol")
		if d.err != nil {
			return nil, "", d.err
		}
		if !validSymbol(s.opt.Words, sym) {
			return nil, "", fmt.Errorf("invalid symbol %q", sym)
		}
		if _, dup := s.index[sym]; dup {
			return nil, "", fmt.Errorf("symbol %q listed twice", sym)
		}
		s.symbols = append(s.symbols, sym)
		s.index[sym] = uint32(len(s.symbols))
	}
	dmax := uint64(1)<<s.width - 1
	maxID := min(dmax, nsym)
	var ids []uint32
	var buf []byte
	for _, n := range s.opt.Orders {
		g := newGrams(n, s.width)
		if got := d.uvarint(MaxSeqLen, "order"); d.err == nil && got != uint64(n) {
			return nil, "", fmt.Errorf("order %d where %d was expected", got, n)
		}
		g.total = d.uvarint(1<<62, "total")
		npacked := d.uvarint(1<<40, "entry count")
		if d.err != nil {
			return nil, "", d.err
		}
		if npacked > 0 && g.tab == nil {
			return nil, "", fmt.Errorf("packed %d-grams with id width %d", n, s.width)
		}
		var sum uint64
		key := uint64(0)
		for i := range npacked {
			delta := d.uvarint(1<<63, "key delta")
			c := d.uvarint(1<<62, "count")
			if d.err != nil {
				return nil, "", d.err
			}
			if delta == 0 && i > 0 || c == 0 {
				return nil, "", errors.New("repeated key or zero count")
			}
			key += delta
			if bits.Len64(key) > n*int(s.width) {
				return nil, "", fmt.Errorf("packed %d-gram key %#x too wide", n, key)
			}
			ids = unpack(ids, key, n, s.width)
			for _, id := range ids {
				if id == 0 || uint64(id) > maxID {
					return nil, "", fmt.Errorf("packed %d-gram with symbol id %d out of range", n, id)
				}
			}
			h := hashKey(key)
			g.tab.add(&g.tab.parts[partOf(h)], key, h, c)
			sum += c
		}
		nesc := d.uvarint(1<<40, "entry count")
		for range nesc {
			ids = ids[:0]
			for range n {
				id := d.uvarint(nsym, "symbol id")
				if id == 0 && d.err == nil {
					d.err = errors.New("symbol id 0")
				}
				ids = append(ids, uint32(id))
			}
			c := d.uvarint(1<<62, "count")
			if d.err != nil {
				return nil, "", d.err
			}
			if c == 0 {
				return nil, "", errors.New("zero count")
			}
			if g.tab != nil && s.packable(ids) {
				return nil, "", fmt.Errorf("%d-gram stored unpacked although it packs", n)
			}
			k := string(escKey(buf, ids))
			if _, dup := g.esc[k]; dup {
				return nil, "", errors.New("repeated key")
			}
			g.esc[k] = c
			sum += c
		}
		if sum != g.total {
			return nil, "", fmt.Errorf("%d-gram counts sum to %d, total says %d", n, sum, g.total)
		}
		if !s.opt.Words && g.total != uint64(s.lines)*uint64(s.opt.SeqLen-n+1) {
			return nil, "", fmt.Errorf("%d-gram total %d does not match %d lines", n, g.total, s.lines)
		}
		s.grams = append(s.grams, g)
	}
	return s, tag, d.err
}
