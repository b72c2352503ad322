package toy

import (
	"runtime"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/torch"
)

// BenchmarkTrainStep times one WGAN-GP generator iteration (5 critic updates) of the
// default toy model at the default batch, on one thread.
func BenchmarkTrainStep(b *testing.B) {
	runtime.LockOSThread()
	torch.SetThreads(1)
	m, err := NewModel(DefaultConfig(Gaussians25), gotch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	cfg := gan.DefaultConfig(1<<30, 256)
	cfg.LR, cfg.Lambda = 1e-3, 1
	tr, err := m.NewTrainer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(); err != nil {
			b.Fatal(err)
		}
	}
}
