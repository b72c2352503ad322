package main

import (
	"github.com/spf13/cobra"
)

// version is the code version recorded in checkpoints and printed by --version.
// The Makefile overrides it with -ldflags from git describe.
var version = "dev"

// commandBuilders holds one constructor per top-level subcommand. Each command's file
// adds its own in an init function, so commands stay independent of each other.
var commandBuilders []func() *cobra.Command

func register(build func() *cobra.Command) { commandBuilders = append(commandBuilders, build) }

// newRootCmd builds the dgtext command tree.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "dgtext",
		Short: "Train, refine (DGflow) and score character-level text GANs",
		Long: `dgtext trains a WGAN-GP character-level language GAN, refines its samples with
DGflow (discriminator gradient flow in latent space), decodes them and scores them
with n-gram Jensen–Shannon divergence against a reference corpus.

Logs and progress go to stderr; results go to stdout (--json for scripts).`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, build := range commandBuilders {
		root.AddCommand(build())
	}
	return root
}
