// Package torch is dgtext's one boundary to libtorch through gotch. Device choice,
// CPU threads, seeding, build information, the self-check behind `dgtext doctor`, and
// the handful of gotch quirks the rest of the code should not know about (errors that
// carry stack traces, tensors that must be freed by hand) live here.
//
// Everything else in dgtext uses gotch's ts and nn packages directly for tensor maths,
// but asks this package for devices, seeds and clean errors.
package torch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/sugarme/gotch"
	lib "github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"
)

// Build describes the libtorch this binary was compiled against, as recorded by
// dgtext-setup (make setup).
type Build struct {
	Libtorch struct {
		Source   string `json:"source"`
		Dir      string `json:"dir"`
		LibDir   string `json:"lib_dir"`
		Version  string `json:"version"`
		CUDA     bool   `json:"cuda"`
		CXX11ABI int    `json:"cxx11_abi"`
		BLAS     string `json:"blas"`
	} `json:"libtorch"`
	GotchVersion string   `json:"gotch_version"`
	Stubbed      []string `json:"stubbed"`
	CreatedAt    string   `json:"created_at"`
}

// BuildInfo returns the setup manifest compiled into the bindings.
func BuildInfo() (Build, error) {
	var b Build
	if err := json.Unmarshal([]byte(lib.DgtextSetup), &b); err != nil {
		return b, fmt.Errorf("setup manifest compiled into the binary is unreadable (%v); rerun make setup", err)
	}
	return b, nil
}

// CUDACount is the number of CUDA devices libtorch can use (0 on a CPU libtorch).
func CUDACount() int {
	if !gotch.CUDA.IsAvailable() {
		return 0
	}
	return int(gotch.CUDA.DeviceCount())
}

// DeviceNames lists the devices that exist on this machine, for error messages.
func DeviceNames() []string {
	names := []string{"cpu"}
	for i := 0; i < CUDACount(); i++ {
		names = append(names, fmt.Sprintf("cuda:%d", i))
	}
	return names
}

var cudaRe = regexp.MustCompile(`^cuda(?::(\d+))?$`)

// ParseDevice turns a --device value into a gotch device. "auto" is the first GPU when
// there is one, else the CPU; "cuda" means "cuda:0".
func ParseDevice(spec string) (gotch.Device, error) {
	s := strings.ToLower(strings.TrimSpace(spec))
	switch s {
	case "", "auto":
		if CUDACount() > 0 {
			return gotch.CudaBuilder(0), nil
		}
		return gotch.CPU, nil
	case "cpu":
		return gotch.CPU, nil
	}
	m := cudaRe.FindStringSubmatch(s)
	if m == nil {
		return gotch.CPU, fmt.Errorf("unknown device %q: use auto, cpu, cuda or cuda:N (devices here: %s)", spec, strings.Join(DeviceNames(), ", "))
	}
	idx := 0
	if m[1] != "" {
		idx, _ = strconv.Atoi(m[1])
	}
	if n := CUDACount(); idx >= n {
		why := "this libtorch has no CUDA support"
		if b, err := BuildInfo(); err == nil && b.Libtorch.CUDA {
			why = "no visible CUDA device"
			if n > 0 {
				why = fmt.Sprintf("only %d CUDA device(s)", n)
			}
		}
		return gotch.CPU, fmt.Errorf("device %q is not available: %s (devices here: %s); see README, GPU section", spec, why, strings.Join(DeviceNames(), ", "))
	}
	return gotch.CudaBuilder(uint(idx)), nil
}

// DeviceName is the --device spelling of d.
func DeviceName(d gotch.Device) string {
	if d.IsCuda() {
		return fmt.Sprintf("cuda:%d", d.Value)
	}
	return "cpu"
}

// SetThreads sets libtorch's CPU thread count; n <= 0 means one per core. (Debian's
// libtorch starts with a single OpenMP thread unless told otherwise.)
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	lib.AtSetNumThreads(n)
}

// Threads reports libtorch's CPU thread count.
func Threads() int { return lib.AtGetNumThreads() }

// Seed seeds libtorch's generators on every device.
func Seed(seed int64) { lib.AtManualSeed(seed) }

// Sync waits for queued work on d to finish (a no-op on the CPU), for honest timings.
func Sync(d gotch.Device) {
	if d.IsCuda() {
		lib.AtcSynchronize(int64(d.Value))
	}
}

// Err turns a gotch error into a short one: gotch appends a Go stack trace to every
// libtorch error message, which helps nobody running the CLI.
func Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "Libtorch API Error: ")
	if i := strings.Index(msg, "\ngoroutine "); i >= 0 {
		msg = msg[:i]
	}
	// libtorch appends its own C++ backtrace after "Exception raised from".
	if i := strings.Index(msg, "\nException raised from"); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(strings.TrimSpace(msg))
}

// IsOOM tells whether err is libtorch running out of device memory.
func IsOOM(err error) bool {
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "out of memory")
}

// init pins the main goroutine to the main OS thread. libtorch keeps per-thread
// state that gotch relies on between calls (grad mode, the last error), so tensor
// work must not hop between OS threads; see also Try.
func init() { runtime.LockOSThread() }

// Try runs fn on one OS thread (libtorch's grad mode and last-error are thread-local,
// and Go may otherwise move a goroutine between threads between two cgo calls) and
// turns a gotch panic into a clean error. Every entry point that does tensor work
// runs inside Try; calls nest.
func Try(fn func() error) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = Err(e)
				return
			}
			err = Err(fmt.Errorf("%v", r))
		}
	}()
	return fn()
}

// GPU is one visible NVIDIA GPU as nvidia-smi reports it.
type GPU struct {
	Index    int    `json:"index"`
	Name     string `json:"name"`
	MemoryMB int    `json:"memory_mib"`
}

// GPUs lists NVIDIA GPUs via nvidia-smi; empty when there is none or no driver.
func GPUs() []GPU {
	out, err := exec.Command("nvidia-smi", "--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits").Output()
	if err != nil {
		return nil
	}
	var gpus []GPU
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 3 {
			continue
		}
		i, _ := strconv.Atoi(strings.TrimSpace(f[0]))
		m, _ := strconv.Atoi(strings.TrimSpace(f[2]))
		gpus = append(gpus, GPU{Index: i, Name: strings.TrimSpace(f[1]), MemoryMB: m})
	}
	return gpus
}

// BLASInUse names the BLAS library mapped into this process, after a matmul has
// forced libtorch to load it.
func BLASInUse() string {
	x := ts.MustOnes([]int64{64, 64}, gotch.Float, gotch.CPU)
	y := x.MustMatmul(x, false)
	y.MustDrop()
	x.MustDrop()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "unknown"
	}
	maps := string(b)
	switch {
	case strings.Contains(maps, "libmkl"):
		return "mkl"
	case strings.Contains(maps, "openblas"):
		return "openblas"
	case strings.Contains(maps, "blis"):
		return "blis"
	case strings.Contains(maps, "/blas/libblas"):
		return "reference"
	case strings.Contains(maps, "libblas"):
		return "libblas (unknown vendor)"
	}
	return "none loaded (libtorch's own kernels)"
}

// Float64s copies a tensor's values (any device, any numeric dtype) to Go.
func Float64s(t *ts.Tensor) []float64 {
	c := t.MustDetach(false).MustTo(gotch.CPU, true).MustTotype(gotch.Double, true)
	defer c.MustDrop()
	return c.Float64Values()
}

// AllFinite tells whether every value of t is finite (no NaN or Inf).
func AllFinite(t *ts.Tensor) bool {
	ok := t.MustIsfinite(false).MustAll(true).MustTotype(gotch.Int64, true).MustTo(gotch.CPU, true)
	defer ok.MustDrop()
	return ok.Int64Values()[0] == 1
}

// Collect runs Go's garbage collector so that gotch tensors nobody refers to any more
// are freed. gotch frees a tensor's C++ memory in a finalizer, and Go's collector
// only runs when the (small) Go heap grows, so without this a long loop that misses
// a Drop can hold gigabytes of tensors. Loops call it once per iteration.
func Collect() { runtime.GC() }
