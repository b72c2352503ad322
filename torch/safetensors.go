package torch

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unsafe"

	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/internal/atomicfile"
)

// This file reads and writes the safetensors format (huggingface/safetensors, the
// published spec): an 8-byte little-endian header length, a JSON header mapping each
// tensor name to {dtype, shape, data_offsets} plus an optional "__metadata__" map of
// strings, then the raw little-endian tensor bytes. Nothing in it executes code, so
// loading an untrusted file is safe. Only F32 and F16 are used by dgtext.

// Array is a tensor held in Go memory: float32 values in row-major order.
type Array struct {
	Shape []int64
	Data  []float32
}

// Numel is the number of elements the shape describes.
func (a Array) Numel() int64 {
	n := int64(1)
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header we are willing to parse (the spec allows 100 MB).
const maxHeader = 100 << 20

// WriteSafetensors writes arrays to path atomically (temporary file, then rename).
// With half set, values are stored as F16, halving the file.
func WriteSafetensors(path string, arrays map[string]Array, metadata map[string]string, half bool) error {
	names := make([]string, 0, len(arrays))
	for n := range arrays {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	dtype, width := "F32", int64(4)
	if half {
		dtype, width = "F16", 2
	}
	var off int64
	for _, n := range names {
		a := arrays[n]
		if a.Numel() != int64(len(a.Data)) {
			return fmt.Errorf("safetensors: %s has shape %v but %d values", n, a.Shape, len(a.Data))
		}
		size := int64(len(a.Data)) * width
		header[n] = stEntry{DType: dtype, Shape: a.Shape, Offsets: [2]int64{off, off + size}}
		off += size
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hb)%8 != 0 { // the spec recommends 8-byte alignment of the data
		hb = append(hb, ' ')
	}
	return WriteFileAtomic(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hb)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hb); err != nil {
			return err
		}
		for _, n := range names {
			d := arrays[n].Data
			buf := make([]byte, int64(len(d))*width)
			for i, v := range d {
				if half {
					binary.LittleEndian.PutUint16(buf[2*i:], float32ToHalf(v))
				} else {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
				}
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadSafetensors reads every tensor of a safetensors file as float32 arrays, with the
// header's metadata. Any inconsistency (short file, offsets out of range or
// overlapping, an unknown dtype) is an error that names the file.
func ReadSafetensors(path string) (map[string]Array, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return ParseSafetensors(b, path)
}

// ParseSafetensors decodes a safetensors file held in memory; name is used in errors.
func ParseSafetensors(b []byte, path string) (map[string]Array, map[string]string, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s is not a valid safetensors file: %s (the file is truncated or corrupt; re-copy or retrain it)", path, fmt.Sprintf(format, a...))
	}
	if len(b) < 8 {
		return nil, nil, fail("only %d bytes", len(b))
	}
	hlen := binary.LittleEndian.Uint64(b[:8])
	if hlen > maxHeader || 8+hlen > uint64(len(b)) {
		return nil, nil, fail("header length %d does not fit in %d bytes", hlen, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hlen], &raw); err != nil {
		return nil, nil, fail("header: %v", err)
	}
	data := b[8+hlen:]
	arrays := map[string]Array{}
	var meta map[string]string
	type span struct{ a, b int64 }
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fail("metadata: %v", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fail("entry %q: %v", name, err)
		}
		var width int64
		switch e.DType {
		case "F32":
			width = 4
		case "F16":
			width = 2
		default:
			return nil, nil, fail("tensor %q has dtype %s; dgtext reads F32 and F16", name, e.DType)
		}
		a := Array{Shape: e.Shape}
		n := a.Numel()
		if n < 0 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > int64(len(data)) || e.Offsets[1]-e.Offsets[0] != n*width {
			return nil, nil, fail("tensor %q: offsets %v do not match shape %v in %d data bytes", name, e.Offsets, e.Shape, len(data))
		}
		seg := data[e.Offsets[0]:e.Offsets[1]]
		a.Data = make([]float32, n)
		for i := range a.Data {
			if width == 4 {
				a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(seg[4*i:]))
			} else {
				a.Data[i] = halfToFloat32(binary.LittleEndian.Uint16(seg[2*i:]))
			}
		}
		arrays[name] = a
		spans = append(spans, span{e.Offsets[0], e.Offsets[1]})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].a < spans[j].a })
	var end int64
	for _, s := range spans {
		if s.a < end {
			return nil, nil, fail("tensor data overlaps")
		}
		end = s.b
	}
	if end != int64(len(data)) {
		return nil, nil, fail("%d trailing bytes after the last tensor", int64(len(data))-end)
	}
	return arrays, meta, nil
}

// ToArray copies a tensor (any device, any float dtype) into Go memory.
func ToArray(t *ts.Tensor) (Array, error) {
	var out Array
	err := Try(func() error {
		c := t.MustDetach(false).MustTo(gotch.CPU, true).MustTotype(gotch.Float, true).MustContiguous(true)
		defer c.MustDrop()
		out.Shape = c.MustSize()
		out.Data = make([]float32, out.Numel())
		c.MustCopyData(out.Data, uint(len(out.Data)))
		return nil
	})
	return out, err
}

// FromArray builds a float32 tensor on device d. libtorch copies the values
// straight from Go memory (gotch's NewTensorFromData encodes them one by one
// through reflection, about 40× slower than drawing them: 16 ms for 256×128 values).
func FromArray(a Array, d gotch.Device) (*ts.Tensor, error) {
	if a.Numel() != int64(len(a.Data)) {
		return nil, fmt.Errorf("array has shape %v but %d values", a.Shape, len(a.Data))
	}
	var out *ts.Tensor
	err := Try(func() error {
		var t *ts.Tensor
		if len(a.Data) == 0 || len(a.Shape) == 0 {
			var err error
			if t, err = ts.NewTensorFromData(a.Data, a.Shape); err != nil {
				return err
			}
		} else {
			// at_tensor_of_data allocates the tensor and memcpys the values during the
			// call; the Go slice holds no Go pointers, so passing it is allowed.
			c := lib.AtTensorOfData(unsafe.Pointer(&a.Data[0]), a.Shape, uint(len(a.Shape)), 4, int(gotch.Float.CKind()))
			if err := ts.TorchErr(); err != nil {
				return err
			}
			t = ts.New(c)
		}
		if d.IsCuda() {
			out = t.MustTo(d, true)
		} else {
			out = t
		}
		return nil
	})
	return out, err
}

// WriteFileAtomic writes a file through a temporary file in the same folder and a
// rename, so readers never see a half-written file under the final name (package
// atomicfile: missing folders created, stale temporary files of dead processes
// removed).
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	return atomicfile.WriteFile(path, write)
}

// float32ToHalf converts with round-to-nearest-even; values beyond the F16 range
// become ±Inf, which loading then reports.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int((b >> 23) & 0xff)
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal or zero in half precision
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := mant >> shift
		rem := mant & ((1 << shift) - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is still correct rounding
	}
	return sign | uint16(half)
}

func halfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant · 2⁻²⁴
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
