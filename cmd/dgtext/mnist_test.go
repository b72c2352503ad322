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

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/mnist"
	"github.com/dgtext/dgtext/pipeline"
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

	for _, run := range []struct{ model, critic, corrector, grid string }{
		{p("gan.safetensors"), "", "", p("gan.png")},
		{p("vae.safetensors"), "", p("corr.safetensors"), p("vae.png")},
		{p("vae.safetensors"), p("corr.safetensors"), "", p("vae-critic.png")}, // the old --critic CORRECTOR form
	} {
		args := []string{"mnist", "refine", "--model", run.model, "--classifier", p("clf.safetensors"), "--data-dir", filepath.Join(sharedData(t), "mnist"),
			"--limit", "1000", "--threads", "1", "--n", "40", "--batch", "20", "--seed", "1", "--grid", run.grid, "--keep", "8",
			"--steps", "2", "--save-every", "1", "--json", "--out", p("samples.parquet")}
		if run.critic != "" {
			args = append(args, "--critic", run.critic)
		}
		if run.corrector != "" {
			args = append(args, "--corrector", run.corrector)
		}
		out, errOut, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("refine %s: %v\n%s", run.model, err, errOut)
		}
		var rep pipeline.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("--json printed more than JSON: %v\n%s", err, out)
		}
		if rep.Kind != "images" || len(rep.Steps) != 3 || !(rep.Base().Scores["FD"] > 0) || rep.Last().Step != 2 || rep.RefSize != 1000 {
			t.Errorf("refine %s: %+v", run.model, rep)
		}
		if (run.critic != "" || run.corrector != "") && !strings.Contains(rep.Critic, "corr.safetensors") {
			t.Errorf("critic %q, want the corrector named", rep.Critic)
		}
		f, err := os.Open(run.grid)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		// Two panels of 8 columns of 28·2 + 2 pixels, plus padding and a gap.
		if err != nil || img.Bounds().Dx() != 2*(8*58+2)+16 {
			t.Errorf("grid %s: %v, %v", run.grid, err, img.Bounds())
		}
		rows, err := data.ReadSamples(p("samples.parquet"))
		if err != nil || len(rows) != 120 || len(rows[0].X) != 784 {
			t.Fatalf("samples: %v, %d rows", err, len(rows))
		}
	}

	// A VAE has no critic of its own.
	if _, _, err := runCLI(t, "mnist", "refine", "--model", p("vae.safetensors"), "--classifier", p("clf.safetensors"), "--n", "4", "--batch", "4",
		"--steps", "1", "--threads", "1", "--out", p("x.parquet")); err == nil || !strings.Contains(err.Error(), "--corrector") {
		t.Errorf("VAE without critic: %v", err)
	}
	// A missing data folder names the flag to use.
	bad := &mnistTrainClassifierOptions{mnistFlags: mnistFlagsFor(t, p("x.safetensors")), Train: mnist.DefaultClassifierConfig()}
	bad.DataDir = dir
	if err := mnistTrainClassifierRun(ctx, bad, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte.gz") {
		t.Errorf("missing MNIST: %v", err)
	}
}
