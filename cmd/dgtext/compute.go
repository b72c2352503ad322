package main

import (
	"github.com/spf13/cobra"
	"github.com/sugarme/gotch"

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
