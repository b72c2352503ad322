// Command dgtext trains a character-level WGAN-GP language model, refines its samples
// with DGflow and scores them with n-gram Jensen–Shannon divergence.
//
// Each subcommand lives in its own file as a thin cobra shell over a run function
// that tests call directly. Logs go to stderr, results to stdout.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	// Every command runs under one signal handler: the first Ctrl-C (or SIGTERM)
	// cancels cmd.Context(), a second one quits at once.
	ctx, stop := signalContext(context.Background(), os.Stderr)
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dgtext: error:", err)
		os.Exit(1)
	}
}
