package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/mnist"
)

func mnistFlagsFor(t *testing.T, out string) mnistFlags {
	f := mnistFlags{DataDir: filepath.Join(sharedData(t), "mnist"), Out: out, JSON: true, Limit: 1000}
	f.compute.Threads = 1
	return f
}

func decodeJSON(t *testing.T, b *bytes.Buffer, v any) {
	t.Helper()
	if err := json.Unmarshal(b.Bytes(), v); err != nil {
		t.Fatalf("--json printed more than JSON: %v\n%s", err, b.String())
	}
	b.Reset()
}

// The whole MNIST chain through the commands, each model trained for a token number
// of steps: classifier, GAN, VAE, corrector, then refinement of the GAN with its own
// critic and of the VAE with discriminator + corrector.
func TestMNISTCommands(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	ctx := context.Background()
	var stdout, stderr bytes.Buffer

	clf := &mnistTrainClassifierOptions{mnistFlags: mnistFlagsFor(t, p("clf.safetensors")), Train: mnist.ClassifierConfig{Epochs: 1, Batch: 32, LR: 1e-3, Seed: 1}}
	if err := mnistTrainClassifierRun(ctx, clf, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var tr mnistTrainResult
	decodeJSON(t, &stdout, &tr)
	if tr.Accuracy == nil || *tr.Accuracy < 0.2 || *tr.Accuracy > 1 {
		t.Errorf("classifier test accuracy %v after 31 steps on 1000 images", tr.Accuracy)
	}

	g := &mnistTrainGANOptions{mnistFlags: mnistFlagsFor(t, p("gan.safetensors")), Model: mnist.GANConfig{Latent: 8, Width: 4}, Train: gan.DefaultConfig(2, 8)}
	if err := mnistTrainGANRun(ctx, g, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, &stdout, &tr)

	v := &mnistTrainVAEOptions{mnistFlags: mnistFlagsFor(t, p("vae.safetensors")), Model: mnist.VAEConfig{Latent: 4, Hidden: 16}, Train: mnist.VAETrainConfig{Epochs: 0.5, Batch: 64, LR: 1e-3, Seed: 1}}
	if err := mnistTrainVAERun(ctx, v, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, &stdout, &tr)

	c := &mnistTrainCorrectorOptions{mnistFlags: mnistFlagsFor(t, p("corr.safetensors")), Model: p("vae.safetensors"), Discriminator: p("gan.safetensors"),
		Train: mnist.CorrectorConfig{Steps: 5, Batch: 16, LR: 1e-3, Seed: 1}}
	if err := mnistTrainCorrectorRun(ctx, c, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, &stdout, &tr)
	if tr.Accuracy == nil {
		t.Error("corrector accuracy missing")
	}

	for _, run := range []struct{ model, critic, grid string }{
		{p("gan.safetensors"), "", p("gan.png")},
		{p("vae.safetensors"), p("corr.safetensors"), p("vae.png")},
	} {
		r := &mnistRefineOptions{mnistFlags: mnistFlagsFor(t, ""), Model: run.model, Critic: run.critic, Classifier: p("clf.safetensors"),
			N: 40, Batch: 20, Seed: 1, Grid: run.grid, Keep: 8}
		r.method = methodFlags{Method: "dgflow", F: "kl", Eta: 0.1, Gamma: 0.01, Steps: "2", SaveEvery: 1}
		if err := mnistRefineRun(ctx, r, &stdout, &stderr); err != nil {
			t.Fatalf("refine %s: %v", run.model, err)
		}
		var res mnistRefineResult
		decodeJSON(t, &stdout, &res)
		if len(res.Steps) != 3 || res.Base.FD != res.Steps[0].FD || res.Refined.FD != res.Steps[2].FD || !(res.Base.FD > 0) {
			t.Errorf("refine %s: %+v", run.model, res)
		}
		f, err := os.Open(run.grid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("grid %s: %v", run.grid, err)
		}
		f.Close()
	}

	// A VAE has no critic of its own.
	r := &mnistRefineOptions{mnistFlags: mnistFlagsFor(t, ""), Model: p("vae.safetensors"), Classifier: p("clf.safetensors"), N: 4, Batch: 4, Keep: 0}
	r.method = methodFlags{Method: "dgflow", F: "kl", Eta: 0.1, Steps: "1"}
	if err := mnistRefineRun(ctx, r, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--critic") {
		t.Errorf("VAE without critic: %v", err)
	}
	// A missing data folder names the flag to use.
	bad := &mnistTrainClassifierOptions{mnistFlags: mnistFlagsFor(t, p("x.safetensors")), Train: mnist.DefaultClassifierConfig()}
	bad.DataDir = dir
	if err := mnistTrainClassifierRun(ctx, bad, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
		t.Errorf("missing MNIST: %v", err)
	}
}
