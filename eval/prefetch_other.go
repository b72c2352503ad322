//go:build !amd64

package eval

import "unsafe"

// prefetch does nothing on this architecture.
func prefetch(p unsafe.Pointer) {}
