package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"
	"golang.org/x/term"

	"github.com/dgtext/dgtext/torch"
)

// computeFlags are the flags every command that runs a model shares.
type computeFlags struct {
	Device  string
	Threads int
}

func (f *computeFlags) addTo(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Device, "device", "auto", "compute device: auto (first GPU, else CPU), cpu, cuda or cuda:N")
	cmd.Flags().IntVar(&f.Threads, "threads", 0, "CPU threads for libtorch (0 = one per core)")
	_ = cmd.RegisterFlagCompletionFunc("device", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return append([]string{"auto"}, torch.DeviceNames()...), cobra.ShellCompDirectiveNoFileComp
	})
}

// device applies --threads and resolves --device.
func (f *computeFlags) device() (gotch.Device, error) {
	torch.SetThreads(f.Threads)
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
