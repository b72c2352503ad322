package torch

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
)

func TestMain(m *testing.M) {
	runtime.LockOSThread()
	os.Exit(m.Run())
}

func TestSelfCheckOnCPU(t *testing.T) {
	r := SelfCheck(gotch.CPU)
	if !r.OK || r.MaxErr > 1e-4 {
		t.Fatalf("self-check failed: %+v", r)
	}
}

func TestParseDevice(t *testing.T) {
	if d, err := ParseDevice("cpu"); err != nil || d != gotch.CPU {
		t.Fatalf("cpu: %v %v", d, err)
	}
	if d, err := ParseDevice("auto"); err != nil || (CUDACount() == 0 && d != gotch.CPU) {
		t.Fatalf("auto: %v %v", d, err)
	}
	for _, bad := range []string{"gpu", "cuda:x", "tpu:0"} {
		_, err := ParseDevice(bad)
		if err == nil || !strings.Contains(err.Error(), "devices here: cpu") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	_, err := ParseDevice("cuda:99")
	if err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("cuda:99: %v", err)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	arrays := map[string]Array{
		"a.weight": {Shape: []int64{2, 3}, Data: []float32{1, -2, 3.5, 0, 1e-3, -7}},
		"b":        {Shape: []int64{1}, Data: []float32{42}},
	}
	for _, half := range []bool{false, true} {
		p := filepath.Join(t.TempDir(), "x.safetensors")
		if err := WriteSafetensors(p, arrays, map[string]string{"k": "v"}, half); err != nil {
			t.Fatal(err)
		}
		got, meta, err := ReadSafetensors(p)
		if err != nil {
			t.Fatal(err)
		}
		if meta["k"] != "v" || len(got) != 2 {
			t.Fatalf("meta %v, %d tensors", meta, len(got))
		}
		for n, a := range arrays {
			g := got[n]
			if len(g.Shape) != len(a.Shape) || g.Shape[0] != a.Shape[0] {
				t.Fatalf("%s shape %v, want %v", n, g.Shape, a.Shape)
			}
			for i := range a.Data {
				tol := 0.0
				if half {
					tol = 1e-3 * math.Max(1, math.Abs(float64(a.Data[i])))
				}
				if math.Abs(float64(g.Data[i]-a.Data[i])) > tol {
					t.Fatalf("half=%v %s[%d] = %v, want %v", half, n, i, g.Data[i], a.Data[i])
				}
			}
		}
		// Every truncation is an error, never a panic.
		b, _ := os.ReadFile(p)
		for cut := 0; cut < len(b); cut += 7 {
			os.WriteFile(p, b[:cut], 0o644)
			if _, _, err := ReadSafetensors(p); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", cut, len(b))
			}
		}
	}
}

func TestHalfConversion(t *testing.T) {
	for _, v := range []float32{0, 1, -1, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, 1.0009765625, -3.140625} {
		if got := halfToFloat32(float32ToHalf(v)); got != v {
			t.Errorf("%v → %v", v, got)
		}
	}
	if got := halfToFloat32(float32ToHalf(1e6)); !math.IsInf(float64(got), 1) {
		t.Errorf("1e6 → %v, want +Inf", got)
	}
	// Round to nearest even: 1 + 2⁻¹¹ lies halfway between 1 and 1 + 2⁻¹⁰.
	if got := halfToFloat32(float32ToHalf(1 + 1.0/2048)); got != 1 {
		t.Errorf("1+2^-11 → %v, want 1", got)
	}
}

func TestErrStripsStackTraces(t *testing.T) {
	e := Err(errorString("Libtorch API Error: shape mismatch\nException raised from foo\ngoroutine 1 [running]:\nmain.main()"))
	if e.Error() != "shape mismatch" {
		t.Fatalf("%q", e.Error())
	}
	if !IsOOM(errorString("CUDA out of memory. Tried to allocate 2.00 GiB")) {
		t.Fatal("OOM not recognised")
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestTryRecoversPanics(t *testing.T) {
	err := Try(func() error { panic(errorString("Libtorch API Error: boom\ngoroutine 7")) })
	if err == nil || err.Error() != "boom" {
		t.Fatalf("%v", err)
	}
}

func TestFromArrayCopiesValuesAndShape(t *testing.T) {
	a := Array{Shape: []int64{2, 3}, Data: []float32{1, -2.5, 3e-8, 4, 5, float32(math.Inf(1))}}
	x, err := FromArray(a, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer x.MustDrop()
	a.Data[0] = 99 // the tensor holds a copy
	got, err := ToArray(x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -2.5, 3e-8, 4, 5, float32(math.Inf(1))}
	if len(got.Shape) != 2 || got.Shape[0] != 2 || got.Shape[1] != 3 {
		t.Fatalf("shape %v, want [2 3]", got.Shape)
	}
	for i := range want {
		if got.Data[i] != want[i] {
			t.Fatalf("value %d = %v, want %v", i, got.Data[i], want[i])
		}
	}
	if _, err := FromArray(Array{Shape: []int64{2, 2}, Data: []float32{1}}, gotch.CPU); err == nil {
		t.Fatal("a shape that does not match the data was accepted")
	}
	empty, err := FromArray(Array{Shape: []int64{0, 4}, Data: nil}, gotch.CPU)
	if err != nil || empty.MustSize()[0] != 0 {
		t.Fatalf("empty array: %v", err)
	}
}
