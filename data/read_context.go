package data

import (
	"context"
	"errors"
	"os"
	"time"
)

// ctxFile is an input file whose reads stop when a context is done. Reads of
// pollable files (FIFOs, pipes, sockets) are woken by a read deadline; reads of
// regular files return soon anyway, and each call checks the context first.
type ctxFile struct {
	ctx  context.Context
	f    *os.File
	stop func() bool // unregisters the deadline trigger
}

// openContext opens path for reading. Opening a FIFO blocks until a writer
// opens it, and no deadline reaches an open(2) in progress: when ctx is done
// first, openContext returns at once and the opening goroutine closes the file
// if the open ever completes.
func openContext(ctx context.Context, path string) (*ctxFile, error) {
	if ctx.Done() == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return &ctxFile{ctx: ctx, f: f, stop: func() bool { return true }}, nil
	}
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result) // unbuffered: an abandoned open is closed, not left in the channel
	abandoned := make(chan struct{})
	go func() {
		f, err := os.Open(path)
		select {
		case done <- result{f, err}:
		case <-abandoned:
			if f != nil {
				f.Close()
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		f := r.f
		stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
		return &ctxFile{ctx: ctx, f: f, stop: stop}, nil
	case <-ctx.Done():
		close(abandoned)
		// The open may have completed just now; the goroutine closes it then.
		return nil, ctx.Err()
	}
}

func (c *ctxFile) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.f.Read(p)
	return n, c.explain(err)
}

func (c *ctxFile) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.f.ReadAt(p, off)
	return n, c.explain(err)
}

// explain turns the deadline set on cancellation into the context's error.
func (c *ctxFile) explain(err error) error {
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	return err
}

func (c *ctxFile) Close() error {
	c.stop()
	return c.f.Close()
}
