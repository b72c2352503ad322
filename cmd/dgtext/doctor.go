package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/torch"
)

func init() { register(newDoctorCmd) }

type doctorOptions struct {
	JSON bool
}

// doctorReport is what `dgtext doctor --json` prints.
type doctorReport struct {
	Version        string              `json:"dgtext_version"`
	GoVersion      string              `json:"go_version"`
	Libtorch       string              `json:"libtorch_version"`
	LibtorchPath   string              `json:"libtorch_path"`
	LibtorchSource string              `json:"libtorch_source"`
	Kind           string              `json:"kind"` // "cpu" or "cuda"
	CUDADevices    int                 `json:"cuda_devices"`
	GPUs           []torch.GPU         `json:"gpus"`
	BLAS           string              `json:"blas"`
	Threads        int                 `json:"threads"`
	Stubbed        int                 `json:"stubbed_wrappers"`
	DefaultDevice  string              `json:"default_device"`
	Checks         []torch.CheckResult `json:"self_check"`
	OK             bool                `json:"ok"`
	Problems       []string            `json:"problems,omitempty"`
}

func newDoctorCmd() *cobra.Command {
	opts := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report the libtorch build, devices and BLAS, and run a quick self-check",
		Long: `doctor reports how this binary was built (libtorch version and path, CPU or CUDA,
the BLAS libtorch uses, how many gotch wrappers were stubbed because this libtorch
lacks them) and what it can run on, then runs a small forward/backward pass on each
device and compares it with values computed in Go. It exits non-zero when anything
is wrong, with what to do about it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return doctorRun(opts, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

func doctorRun(opts *doctorOptions, stdout io.Writer) error {
	torch.SetThreads(0)
	r := doctorReport{Version: version, GoVersion: runtime.Version(), OK: true}
	b, err := torch.BuildInfo()
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	r.Libtorch, r.LibtorchPath, r.LibtorchSource = b.Libtorch.Version, b.Libtorch.Dir, b.Libtorch.Source
	r.Kind = "cpu"
	if b.Libtorch.CUDA {
		r.Kind = "cuda"
	}
	r.Stubbed = len(b.Stubbed)
	r.CUDADevices = torch.CUDACount()
	r.GPUs = torch.GPUs()
	r.BLAS = torch.BLASInUse()
	r.Threads = torch.Threads()
	d, _ := torch.ParseDevice("auto")
	r.DefaultDevice = torch.DeviceName(d)
	if r.BLAS == "reference" {
		r.Problems = append(r.Problems, "libtorch uses the reference BLAS (matmul about 30x slower): apt-get install libopenblas0-pthread")
	}
	if b.Libtorch.CUDA && r.CUDADevices == 0 {
		r.Problems = append(r.Problems, "this is a CUDA libtorch but no GPU is visible: check nvidia-smi and CUDA_VISIBLE_DEVICES")
	}
	devices := []gotch.Device{gotch.CPU}
	for i := 0; i < r.CUDADevices; i++ {
		devices = append(devices, gotch.CudaBuilder(uint(i)))
	}
	for _, dev := range devices {
		c := torch.SelfCheck(dev)
		r.Checks = append(r.Checks, c)
		if !c.OK {
			r.Problems = append(r.Problems, fmt.Sprintf("self-check on %s failed: %s; rerun make setup, and if it persists remove .deps and run it again", c.Device, c.Error))
		}
	}
	r.OK = len(r.Problems) == 0 || (len(r.Problems) == 1 && r.BLAS == "reference")
	for _, c := range r.Checks {
		r.OK = r.OK && c.OK
	}
	if opts.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		printDoctor(stdout, r)
	}
	if !r.OK {
		return fmt.Errorf("doctor found problems: %s", strings.Join(r.Problems, "; "))
	}
	return nil
}

func printDoctor(w io.Writer, r doctorReport) {
	fmt.Fprintf(w, "dgtext %s (%s)\n", r.Version, r.GoVersion)
	fmt.Fprintf(w, "  libtorch      %s (%s) from %s: %s\n", r.Libtorch, strings.ToUpper(r.Kind), r.LibtorchSource, r.LibtorchPath)
	fmt.Fprintf(w, "  BLAS          %s\n", r.BLAS)
	fmt.Fprintf(w, "  CPU threads   %d\n", r.Threads)
	fmt.Fprintf(w, "  CUDA devices  %d\n", r.CUDADevices)
	for _, g := range r.GPUs {
		fmt.Fprintf(w, "    gpu %d      %s, %d MiB\n", g.Index, g.Name, g.MemoryMB)
	}
	fmt.Fprintf(w, "  default       --device auto = %s\n", r.DefaultDevice)
	fmt.Fprintf(w, "  stubbed       %d gotch wrappers (ops this libtorch lacks; calling one returns an error)\n", r.Stubbed)
	for _, c := range r.Checks {
		status := "ok"
		if !c.OK {
			status = "FAILED: " + c.Error
		}
		fmt.Fprintf(w, "  self-check    %-7s %s (max error %.2g, %.0f ms)\n", c.Device, status, c.MaxErr, c.Seconds*1000)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem       %s\n", p)
	}
}
