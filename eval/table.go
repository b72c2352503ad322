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
	sink  uint64  // keeps prefetching loads alive
	_     [8]byte // one cache line per partition: workers own different partitions
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
		t.parts[i].init(10)
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
	slots := p.slots
	if len(slots) == 0 {
		return
	}
	mask := uint(len(slots) - 1)
	cbits := t.cbits & 63
	i := uint((h << partBits) >> (p.shift & 63))
	for {
		i &= mask
		s := slots[i]
		if s == 0 {
			if c > t.cmask {
				t.spill(p, k, c)
				c = 0
			}
			slots[i] = k<<cbits | c
			p.used++
			if p.used*4 > len(slots)*3 {
				t.grow(p)
			}
			return
		}
		if s>>cbits == k {
			if f := s & t.cmask; c > t.cmask-f {
				t.spill(p, k, f+c)
				slots[i] = k << cbits
			} else {
				slots[i] = s + c
			}
			return
		}
		i++
	}
}

func (t *table) spill(p *part, k, c uint64) {
	if p.over == nil {
		p.over = make(map[uint64]uint64)
	}
	p.over[k] += c
}

func (t *table) grow(p *part) {
	old, used := p.slots, p.used
	p.init(uint(bits.Len(uint(len(old)))))
	rehash(p.slots, old, p.shift, t.cbits)
	p.used = used
}

// rehash moves the slots of old into the empty, larger slots.
func rehash(slots, old []uint64, shift, cbits uint) {
	if len(slots) == 0 {
		return
	}
	mask := uint(len(slots) - 1)
	shift &= 63
	cbits &= 63
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := uint((hashKey(s>>cbits) << partBits) >> shift)
		for slots[i&mask] != 0 {
			i++
		}
		slots[i&mask] = s
	}
}

// incAll adds one to the count of every key in keys, all of partition p.
func (t *table) incAll(p *part, keys []uint64) {
	if len(keys) == 0 {
		return
	}
	// Stream the partition into cache first when enough keys will use it: a
	// sequential read is far cheaper than the random misses it saves.
	if len(keys) >= len(p.slots)/64 {
		var sink uint64
		for i := 0; i < len(p.slots); i += 8 {
			sink += p.slots[i]
		}
		p.sink += sink
	}
	for len(keys) > 0 {
		var n int
		n, p.used = incRun(p.slots, p.shift, t.cbits, t.cmask, keys, p.used, len(p.slots)*3/4+1)
		keys = keys[n:]
		switch {
		case p.used*4 > len(p.slots)*3:
			t.grow(p)
		case len(keys) > 0: // keys[0]'s count field is full
			h := hashKey(keys[0])
			t.add(p, keys[0], h, 1)
			keys = keys[1:]
		}
	}
}

// incRun is the loop of incAll without its rare cases: it counts keys in order and
// stops when the table needs to grow (used reaches limit) or before a key whose
// count field is full. It returns the number of keys counted and the new used.
func incRun(slots []uint64, shift, cbits uint, cmask uint64, keys []uint64, used, limit int) (int, int) {
	if len(slots) == 0 {
		return 0, used
	}
	mask := uint(len(slots) - 1)
	shift &= 63
	cbits &= 63
	for n, k := range keys {
		i := uint((hashKey(k) << partBits) >> shift)
		for {
			i &= mask
			s := slots[i]
			if s>>cbits == k {
				if s&cmask == cmask {
					return n, used
				}
				slots[i] = s + 1
				break
			}
			if s == 0 {
				slots[i] = k<<cbits | 1
				used++
				if used >= limit {
					return n + 1, used
				}
				break
			}
			i++
		}
	}
	return len(keys), used
}

// get returns the count of key k.
func (t *table) get(k uint64) uint64 {
	h := hashKey(k)
	p := &t.parts[partOf(h)]
	slots := p.slots
	if len(slots) == 0 {
		return 0
	}
	mask := uint(len(slots) - 1)
	cbits := t.cbits & 63
	i := uint((h << partBits) >> (p.shift & 63))
	for {
		i &= mask
		s := slots[i]
		if s == 0 {
			return 0
		}
		if s>>cbits == k {
			c := s & t.cmask
			if p.over != nil {
				c += p.over[k]
			}
			return c
		}
		i++
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
