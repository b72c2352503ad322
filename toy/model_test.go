package toy

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// tinyConfig trains in a few seconds on one core: small networks, a few hundred
// iterations, the gradient penalty and learning rate of `dgtext toy train`.
func tinyConfig(iters int) (Config, gan.Config) {
	c := Config{Dataset: Gaussians25, Latent: 2, Hidden: 64, Layers: 3}
	t := gan.DefaultConfig(iters, 128)
	t.LR, t.Lambda, t.Decay, t.Seed = 1e-3, 1, true, 1
	return c, t
}

func trainTiny(t *testing.T, iters int) *Model {
	t.Helper()
	runtime.LockOSThread()
	torch.SetThreads(1)
	c, tc := tinyConfig(iters)
	torch.Seed(tc.Seed)
	m, err := NewModel(c, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.NewTrainer(tc)
	if err != nil {
		t.Fatal(err)
	}
	for tr.Iter < tc.Iters {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// The acceptance test: DGflow raises the share of high-quality samples of a
// tiny 25-Gaussians GAN above the base samples of the same latents.
func TestDGflowRaisesHighQuality(t *testing.T) {
	m := trainTiny(t, 400)
	r, err := Refine(context.Background(), m, refine.DefaultDGflow(), 2000, refine.Options{Steps: 25, Batch: 2000, Seed: 1, Device: gotch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	base, refined := HighQuality(Gaussians25, r.Base), HighQuality(Gaussians25, r.Final)
	t.Logf("high quality: base %.3f, DGflow %.3f; critic mean %.3f → %.3f", base, refined, r.CriticBase, r.CriticFinal)
	if !(refined > base+0.05) {
		t.Errorf("DGflow high-quality share %.3f, base %.3f: want at least 5 points more", refined, base)
	}
	if !(r.CriticFinal > r.CriticBase) {
		t.Errorf("critic mean fell from %.3f to %.3f: the flow should climb the critic", r.CriticBase, r.CriticFinal)
	}
	real := Gaussians25.Sample(rand.New(rand.NewPCG(9, 9)), 2000)
	mb, _ := Evaluate(Gaussians25, r.Base, real)
	mr, _ := Evaluate(Gaussians25, r.Final, real)
	if *mr.Modes < *mb.Modes {
		t.Errorf("DGflow lost modes: %d → %d", *mb.Modes, *mr.Modes)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := trainTiny(t, 5)
	path := filepath.Join(t.TempDir(), "toy.safetensors")
	_, tc := tinyConfig(5)
	if err := m.Save(path, tc); err != nil {
		t.Fatal(err)
	}
	back, tc2, err := Load(path, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config != m.Config || tc2 != tc {
		t.Fatalf("config %+v %+v, want %+v %+v", back.Config, tc2, m.Config, tc)
	}
	err = torch.Try(func() error {
		z := ts.MustRandn([]int64{16, 2}, gotch.Float, gotch.CPU)
		defer z.MustDrop()
		var a, b, da, db []float64
		ts.NoGrad(func() {
			x1, x2 := m.Generate(z), back.Generate(z)
			a, b = torch.Float64s(x1), torch.Float64s(x2)
			s1, s2 := m.Score(x1), back.Score(x1)
			da, db = torch.Float64s(s1), torch.Float64s(s2)
		})
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("generator output %d differs after reload: %v vs %v", i, a[i], b[i])
			}
		}
		for i := range da {
			if da[i] != db[i] {
				t.Fatalf("critic output %d differs after reload", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A file of another kind is refused with a clear error.
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.safetensors"), gotch.CPU); err == nil {
		t.Error("loading a missing file succeeded")
	}
}
