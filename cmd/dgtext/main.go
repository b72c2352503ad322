// Command dgtext trains a character-level WGAN-GP language model, refines its samples
// with DGflow and scores them with n-gram Jensen–Shannon divergence.
//
// Each subcommand lives in its own file as a thin cobra shell over a run function
// that tests call directly. Logs go to stderr, results to stdout.
package main

import (
	"fmt"
	"os"
)

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "dgtext: error:", err)
		os.Exit(1)
	}
}
