package mnist

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// subset loads the first n images of a split onto the CPU.
func subset(t *testing.T, s Split, n int) *Tensors {
	t.Helper()
	set, err := Load(mnistDir(t), s)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := set.Head(n).ToTensors(gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func setup(t *testing.T) {
	runtime.LockOSThread()
	torch.SetThreads(1)
	torch.Seed(1)
}

func TestBatchScalesPixels(t *testing.T) {
	setup(t)
	train := subset(t, Train, 100)
	set, _ := Load(mnistDir(t), Train)
	err := torch.Try(func() error {
		x, y := train.Batch([]int64{0, 7})
		defer x.MustDrop()
		defer y.MustDrop()
		if got := x.MustSize(); len(got) != 4 || got[0] != 2 || got[1] != 1 || got[2] != 28 || got[3] != 28 {
			t.Fatalf("batch shape %v", got)
		}
		v := torch.Float64s(x)
		for i, p := range set.Images.Image(7) {
			want := float64(p)*2/255 - 1
			if d := v[784+i] - want; d > 1e-6 || d < -1e-6 {
				t.Fatalf("pixel %d of image 7: %v, want %v", i, v[784+i], want)
			}
		}
		if l := torch.Float64s(y); l[0] != 5 || l[1] != float64(set.Labels[7]) {
			t.Fatalf("labels %v", l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A few hundred steps on a few thousand images already classify most test digits:
// the classifier, its loss and Adam are wired correctly.
func TestClassifierLearns(t *testing.T) {
	setup(t)
	train, test := subset(t, Train, 5000), subset(t, Test, 1000)
	c, err := NewClassifier(gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Train(context.Background(), train, test, ClassifierConfig{Epochs: 2, Batch: 50, LR: 2e-3, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Accuracy < 0.85 {
		t.Errorf("test accuracy %.3f after 200 steps, want ≥ 0.85", c.Accuracy)
	}
	path := filepath.Join(t.TempDir(), "clf.safetensors")
	if err := c.Save(path, DefaultClassifierConfig()); err != nil {
		t.Fatal(err)
	}
	back, err := LoadClassifier(path, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if acc, _ := back.Evaluate(test); acc != c.Accuracy || back.Accuracy != c.Accuracy {
		t.Errorf("reloaded accuracy %v (recorded %v), want %v", acc, back.Accuracy, c.Accuracy)
	}
	// The wrong kind of file is refused.
	if _, err := LoadVAE(path, gotch.CPU); err == nil {
		t.Error("a classifier file loaded as a VAE")
	}
}

// The corrector on an untrained GAN critic learns to tell real digits from an
// untrained VAE's grey blobs, and the refine core moves the VAE's latents with it.
func TestCorrectorAndRefine(t *testing.T) {
	setup(t)
	train, test := subset(t, Train, 2000), subset(t, Test, 500)
	g, err := NewGAN(GANConfig{Latent: 8, Width: 8}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVAE(VAEConfig{Latent: 4, Hidden: 32}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCorrector(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Train(context.Background(), v, train, test, CorrectorConfig{Steps: 60, Batch: 32, LR: 2e-3, Seed: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Accuracy < 0.95 {
		t.Errorf("corrector accuracy %.3f, want ≥ 0.95 on so easy a task", c.Accuracy)
	}
	// The borrowed discriminator stayed frozen and equal to the GAN's critic.
	err = torch.Try(func() error {
		x, y := test.Batch([]int64{1, 2, 3})
		defer x.MustDrop()
		y.MustDrop()
		var a, b []float64
		ts.NoGrad(func() {
			a, b = torch.Float64s(g.Score(x)), torch.Float64s(c.Discriminator().Score(x))
		})
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("discriminator output %d changed: %v vs the GAN critic's %v", i, b[i], a[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "corr.safetensors")
	if err := c.Save(path, CorrectorConfig{}, "vae", "gan"); err != nil {
		t.Fatal(err)
	}
	critic, err := LoadCritic(path, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := critic.(refine.Sum); !ok {
		t.Fatalf("a corrector file loads as %T, want refine.Sum", critic)
	}
	// DGflow on d = D + c raises the critic's mean (the Fréchet distance and the
	// grid are the pipeline's, tested with it).
	means := map[int]float64{}
	sink := func(s refine.Saved) error {
		for _, d := range s.D {
			means[s.Step] += d / 64
		}
		return nil
	}
	if err := refine.Run(context.Background(), v, critic, refine.DefaultDGflow(), 64, refine.Gaussian(v.LatentDim(), gotch.CPU),
		refine.Options{Steps: 4, SaveEvery: 2, Batch: 32, Seed: 1, Device: gotch.CPU}, sink); err != nil {
		t.Fatal(err)
	}
	if len(means) != 3 || !(means[4] > means[0]) {
		t.Errorf("critic means by step %v: DGflow should climb d = D + c", means)
	}
	if back, err := LoadCorrector(path, gotch.CPU); err != nil || back.Accuracy != c.Accuracy {
		t.Errorf("LoadCorrector: %v, accuracy %v want %v", err, back, c.Accuracy)
	}
}

func TestGANTrainsAndReloads(t *testing.T) {
	setup(t)
	train := subset(t, Train, 500)
	g, err := NewGAN(GANConfig{Latent: 8, Width: 8}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gan.DefaultConfig(3, 16)
	tr, err := g.NewTrainer(train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for tr.Iter < cfg.Iters {
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if st.GP <= 0 {
			t.Errorf("gradient penalty %v at iteration %d", st.GP, st.Iter)
		}
	}
	path := filepath.Join(t.TempDir(), "gan.safetensors")
	if err := g.Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	back, err := LoadGAN(path, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	err = torch.Try(func() error {
		z := ts.MustRandn([]int64{4, 8}, gotch.Float, gotch.CPU)
		defer z.MustDrop()
		ts.NoGrad(func() {
			x := g.Generate(z)
			defer x.MustDrop()
			if s := x.MustSize(); s[0] != 4 || s[1] != 1 || s[2] != 28 || s[3] != 28 {
				t.Fatalf("generator output %v", s)
			}
			a, b := torch.Float64s(g.Score(x)), torch.Float64s(back.Score(x))
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("critic differs after reload")
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
