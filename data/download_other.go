//go:build !unix

package data

// lockFolder does nothing where flock is not available.
func lockFolder(string) (func(), error) { return func() {}, nil }

// freeBytes is unknown here; the download then relies on write errors.
func freeBytes(string) (int64, bool) { return 0, false }
