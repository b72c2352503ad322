package main

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"
	"golang.org/x/term"

	"github.com/dgtext/dgtext/torch"
)

// computeFlags are the flags every command that runs a model shares.
type computeFlags struct {
	Device  string
	Threads int
	warn    io.Writer // where device() explains a clamped --threads; nil means os.Stderr
}

func (f *computeFlags) addTo(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Device, "device", "auto", "compute device: auto (first GPU, else CPU), cpu, cuda or cuda:N")
	cmd.Flags().IntVar(&f.Threads, "threads", 0, fmt.Sprintf("CPU threads for libtorch: 0 = one per core, at most the number of cores (%d here)", runtime.NumCPU()))
	cmd.PreRun = chainPreRun(cmd.PreRun, func(cmd *cobra.Command, _ []string) { f.warn = cmd.ErrOrStderr() })
	_ = cmd.RegisterFlagCompletionFunc("device", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return append([]string{"auto"}, torch.DeviceNames()...), cobra.ShellCompDirectiveNoFileComp
	})
}

// chainPreRun runs first (if any), then next.
func chainPreRun(first, next func(*cobra.Command, []string)) func(*cobra.Command, []string) {
	if first == nil {
		return next
	}
	return func(cmd *cobra.Command, args []string) {
		first(cmd, args)
		next(cmd, args)
	}
}

// threads checks --threads: negative is an error; more than the machine's
// cores is clamped with a note, since oversubscribed libtorch threads spin
// against each other (1000 threads ran 40x slower on 2 cores).
func (f *computeFlags) threads() (int, error) {
	cores := runtime.NumCPU()
	switch {
	case f.Threads < 0:
		return 0, fmt.Errorf("--threads %d: give 0 (one per core, %d here) or a count from 1 to %d", f.Threads, cores, cores)
	case f.Threads == 0:
		return cores, nil
	case f.Threads > cores:
		w := f.warn
		if w == nil {
			w = os.Stderr
		}
		fmt.Fprintf(w, "dgtext: --threads %d is more than this machine's %d cores; using %d (extra threads only slow libtorch down)\n", f.Threads, cores, cores)
		return cores, nil
	}
	return f.Threads, nil
}

// device applies --threads and resolves --device.
func (f *computeFlags) device() (gotch.Device, error) {
	n, err := f.threads()
	if err != nil {
		return gotch.CPU, err
	}
	torch.SetThreads(n)
	return torch.ParseDevice(f.Device)
}

// showBar tells whether a progress bar belongs on w: only on a terminal, so logs and
// CI output are not flooded with redraws.
func showBar(w io.Writer, quiet bool) bool {
	if quiet {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
