package eval

import "unsafe"

// prefetch asks the CPU to load the cache line at p; it never faults.
//
//go:noescape
func prefetch(p unsafe.Pointer)
