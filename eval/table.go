package eval

import (
	"encoding/binary"
	"math/bits"
)

// Hash partitions: every packed key belongs to one of numParts partitions (the top bits
// of its hash), and each partition is owned by exactly one worker while counting.
const (
	partBits = 8
	numParts = 1 << partBits
)

// maxKeyBits is the widest packed key stored in a compact table; the remaining bits of
// a slot (at least 8) hold the count.
const maxKeyBits = 56

// hashKey mixes a packed key; its top partBits bits choose the partition and the next
// bits the slot.
func hashKey(k uint64) uint64 {
	k ^= k >> 31
	return k * 0x9E3779B97F4A7C15
}

func partOf(h uint64) int { return int(h >> (64 - partBits)) }

// part is one partition of a compact table: open addressing with linear probing over
// slots that hold key<<cbits | count. A zero slot is empty (packed keys are never 0
// because symbol ids start at 1). Counts that do not fit the count field spill into over.
type part struct {
	slots []uint64
	shift uint // 64 - log2(len(slots))
	used  int
	over  map[uint64]uint64
	_     [16]byte // one cache line per partition: workers own different partitions
}

// table counts packed keys of kbits bits. It is safe for concurrent use as long as each
// partition is written by one goroutine at a time.
type table struct {
	cbits uint   // bits of the count field: 64 - key bits
	cmask uint64 // 1<<cbits - 1
	parts [numParts]part
}

func newTable(keyBits uint) *table {
	t := &table{cbits: 64 - keyBits}
	t.cmask = 1<<t.cbits - 1
	for i := range t.parts {
		t.parts[i].init(4)
	}
	return t
}

func (p *part) init(logSize uint) {
	p.slots = make([]uint64, 1<<logSize)
	p.shift = 64 - logSize
	p.used = 0
}

// add adds c to the count of key k with hash h; p must be t.parts[partOf(h)].
func (t *table) add(p *part, k, h, c uint64) {
	mask := uint64(len(p.slots) - 1)
	i := (h << partBits) >> p.shift
	for {
		s := p.slots[i]
		if s == 0 {
			if c > t.cmask {
				t.spill(p, k, c)
				c = 0
			}
			p.slots[i] = k<<t.cbits | c
			p.used++
			if p.used*4 > len(p.slots)*3 {
				t.grow(p)
			}
			return
		}
		if s>>t.cbits == k {
			if f := s & t.cmask; c > t.cmask-f {
				t.spill(p, k, f+c)
				p.slots[i] = k << t.cbits
			} else {
				p.slots[i] = s + c
			}
			return
		}
		i = (i + 1) & mask
	}
}

// inc adds one to the count of key k with hash h; the hot path of counting.
func (t *table) inc(k, h uint64) {
	p := &t.parts[partOf(h)]
	mask := uint64(len(p.slots) - 1)
	i := (h << partBits) >> p.shift
	for {
		s := p.slots[i]
		if s>>t.cbits == k {
			if s&t.cmask == t.cmask {
				t.spill(p, k, t.cmask)
				s = k << t.cbits
			}
			p.slots[i] = s + 1
			return
		}
		if s == 0 {
			p.slots[i] = k<<t.cbits | 1
			p.used++
			if p.used*4 > len(p.slots)*3 {
				t.grow(p)
			}
			return
		}
		i = (i + 1) & mask
	}
}

func (t *table) spill(p *part, k, c uint64) {
	if p.over == nil {
		p.over = make(map[uint64]uint64)
	}
	p.over[k] += c
}

func (t *table) grow(p *part) {
	old := p.slots
	p.init(uint(bits.Len(uint(len(old)))))
	mask := uint64(len(p.slots) - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := (hashKey(s>>t.cbits) << partBits) >> p.shift
		for p.slots[i] != 0 {
			i = (i + 1) & mask
		}
		p.slots[i] = s
		p.used++
	}
}

// incAll adds one to the count of every key in keys, all of partition p.
func (t *table) incAll(p *part, keys []uint64) {
	cbits, cmask := t.cbits, t.cmask
	slots, shift := p.slots, p.shift
	mask := uint64(len(slots) - 1)
	for _, k := range keys {
		i := (hashKey(k) << partBits) >> shift
		for {
			i &= mask
			s := slots[i]
			if s>>cbits == k {
				if s&cmask == cmask {
					t.spill(p, k, cmask)
					s = k << cbits
				}
				slots[i] = s + 1
				break
			}
			if s == 0 {
				slots[i] = k<<cbits | 1
				p.used++
				if p.used*4 > len(slots)*3 {
					t.grow(p)
					slots, shift = p.slots, p.shift
					mask = uint64(len(slots) - 1)
				}
				break
			}
			i++
		}
	}
}

// get returns the count of key k.
func (t *table) get(k uint64) uint64 {
	h := hashKey(k)
	p := &t.parts[partOf(h)]
	mask := uint64(len(p.slots) - 1)
	i := (h << partBits) >> p.shift
	for {
		s := p.slots[i]
		if s == 0 {
			return 0
		}
		if s>>t.cbits == k {
			return s&t.cmask + p.over[k]
		}
		i = (i + 1) & mask
	}
}

// len returns the number of distinct keys.
func (t *table) len() int {
	n := 0
	for i := range t.parts {
		n += t.parts[i].used
	}
	return n
}

// eachPart calls fn for every key and count of partition i.
func (t *table) eachPart(i int, fn func(k, c uint64)) {
	p := &t.parts[i]
	for _, s := range p.slots {
		if s != 0 {
			k := s >> t.cbits
			c := s & t.cmask
			if p.over != nil {
				c += p.over[k]
			}
			fn(k, c)
		}
	}
}

// each calls fn for every key and count.
func (t *table) each(fn func(k, c uint64)) {
	for i := range t.parts {
		t.eachPart(i, fn)
	}
}

// escKey encodes symbol ids as a string map key (4 bytes each, little-endian), for
// n-grams that do not fit a packed key.
func escKey(buf []byte, ids []uint32) []byte {
	buf = buf[:0]
	for _, id := range ids {
		buf = binary.LittleEndian.AppendUint32(buf, id)
	}
	return buf
}

// escIDs decodes an escKey into ids.
func escIDs(ids []uint32, key string) []uint32 {
	ids = ids[:0]
	for i := 0; i+4 <= len(key); i += 4 {
		ids = append(ids, uint32(key[i])|uint32(key[i+1])<<8|uint32(key[i+2])<<16|uint32(key[i+3])<<24)
	}
	return ids
}
