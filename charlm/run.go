package charlm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"
)

// RunOptions controls Trainer.Run.
type RunOptions struct {
	// Dir receives ckpt-<iter> checkpoints every Config.CheckpointEvery iterations,
	// at the end, on cancellation and on divergence.
	Dir string
	// Log receives the log lines (stderr in the CLI); nil is silent.
	Log io.Writer
	// Bar adds a progress bar on Log.
	Bar bool
	// OnLog, if set, sees every logged step (tests use it).
	OnLog func(StepStats)
}

// Run trains until Config.Iters generator iterations are done or ctx is cancelled,
// logging every Config.LogEvery iterations (losses, Wasserstein estimate, gradient
// penalty, held-out JS-4) and checkpointing as configured. On cancellation it saves
// a checkpoint and returns ctx's error; on divergence it saves the last good state
// and returns an error wrapping ErrDiverged.
func (t *Trainer) Run(ctx context.Context, opt RunOptions) error {
	t.started = time.Now()
	if opt.Dir != "" {
		removeStaleTemps(opt.Dir)
	}
	defer func() { t.priorSeconds, t.started = t.elapsed(), time.Time{} }()
	startIter := t.Iter
	var bar *progressbar.ProgressBar
	out := opt.Log
	if out == nil {
		out = io.Discard
	}
	if opt.Log != nil && opt.Bar {
		bar = progressbar.NewOptions(t.Config.Iters-startIter,
			progressbar.OptionSetWriter(opt.Log),
			progressbar.OptionSetDescription(fmt.Sprintf("train %s", t.Model.Config.Preset)),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("it"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(500*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	logf := func(format string, a ...any) {
		if bar != nil {
			bar.Clear()
		}
		fmt.Fprintf(out, format+"\n", a...)
		if bar != nil {
			bar.RenderBlank()
		}
	}
	save := func() (string, error) {
		if opt.Dir == "" {
			return "", nil
		}
		return t.SaveCheckpoint(opt.Dir, t.Config.KeepLast)
	}
	for t.Iter < t.Config.Iters {
		if err := ctx.Err(); err != nil {
			p, serr := save()
			if serr != nil {
				return fmt.Errorf("interrupted, and saving failed: %w", serr)
			}
			logf("interrupted at iteration %d; saved %s (continue with --resume %s)", t.Iter, p, opt.Dir)
			return err
		}
		st, err := t.Step()
		if err != nil {
			if errors.Is(err, ErrDiverged) {
				p, serr := save()
				if serr != nil {
					return fmt.Errorf("%v; saving the last good state failed too: %w", err, serr)
				}
				return fmt.Errorf("%w. The last good state (iteration %d) is saved in %s: lower --lr (or raise --lambda) and continue with --resume %s", err, t.Iter, p, opt.Dir)
			}
			return err
		}
		st.Seconds = t.elapsed()
		if bar != nil {
			bar.Add(1)
		}
		last := t.Iter == t.Config.Iters
		if t.Config.LogEvery > 0 && (t.Iter%t.Config.LogEvery == 0 || last) {
			st.JS4 = math.NaN()
			if js, err := t.HeldOutJS4(t.Config.EvalSamples); err == nil {
				st.JS4 = js
			}
			t.History = append(t.History, st)
			logf("iter %6d  critic %8.4f  gen %8.4f  W %7.4f  GP %6.4f  JS-4 %.4f  (%.2f it/s)",
				st.Iter, st.CriticLoss, st.GenLoss, st.Wasserstein, st.GP, st.JS4, float64(t.Iter-startIter)/time.Since(t.started).Seconds())
			if math.IsNaN(st.JS4) {
				t.History[len(t.History)-1].JS4 = 0
			}
			if opt.OnLog != nil {
				opt.OnLog(st)
			}
		}
		if t.Config.CheckpointEvery > 0 && (t.Iter%t.Config.CheckpointEvery == 0 || last) {
			if _, err := save(); err != nil {
				return err
			}
		}
	}
	if bar != nil {
		bar.Finish()
	}
	return nil
}
