package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitNow ends the process at once; tests replace it.
var exitNow = defaultExit

func defaultExit(code int) { os.Exit(code) }

// signalContext returns a context that the first SIGINT or SIGTERM cancels, so a
// command can stop at its next check, save or write what is complete, and say so.
// A second signal exits at once with the shell's status for it (130 for SIGINT,
// 143 for SIGTERM), for a run the user does not want to wait for. stop releases
// the signal handler.
func signalContext(parent context.Context, stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "\ndgtext: %s: stopping after the current step and keeping what is complete (press Ctrl-C again to quit at once)\n", signalName(s))
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			fmt.Fprintf(stderr, "\ndgtext: %s again: quitting now\n", signalName(s))
			exitNow(128 + signalNumber(s))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "interrupted"
}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGINT)
}
