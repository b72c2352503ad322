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
)

// toyTrainTiny trains a few iterations of a small toy GAN into dir through the command.
func toyTrainTiny(t *testing.T, dataset, dir string) string {
	t.Helper()
	out := filepath.Join(dir, dataset+".safetensors")
	opts := &toyTrainOptions{Dataset: dataset, Out: out, JSON: true, Train: toyTrainDefaults()}
	opts.compute.Threads = 1
	opts.Model.Latent, opts.Model.Hidden, opts.Model.Layers = 2, 16, 2
	opts.Train.Iters, opts.Train.Batch = 20, 64
	var stdout, stderr bytes.Buffer
	if err := toyTrainRun(context.Background(), opts, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	var res toyTrainResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("train --json printed more than JSON: %v\n%s", err, stdout.String())
	}
	if res.Out != out || res.Train.Iters != 20 || res.Model.Hidden != 16 || res.Dataset != dataset {
		t.Fatalf("train result %+v", res)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestToyCommands(t *testing.T) {
	dir := t.TempDir()
	for _, ds := range []string{"25gaussians", "swissroll"} {
		model := toyTrainTiny(t, ds, dir)
		for _, method := range []string{"dgflow", "ddls", "dot"} {
			opts := &toyRefineOptions{Model: model, N: 300, Batch: 150, Seed: 1, Real: 300, JSON: true}
			opts.compute.Threads = 1
			opts.method = methodFlags{Method: method, F: "kl", Eta: 0.1, Gamma: 0.01, Eps: 0.01, DotLR: 0.01, KeffPairs: 64, Steps: "3", SaveEvery: 5}
			if method == "dgflow" {
				opts.Plot = filepath.Join(dir, ds+".png")
			}
			var stdout, stderr bytes.Buffer
			if err := toyRefineRun(context.Background(), opts, &stdout, &stderr); err != nil {
				t.Fatalf("%s %s: %v", ds, method, err)
			}
			// The JSON contract: dataset, method, base and refined with
			// high_quality, kde_ll, and modes only where the data set has modes.
			var raw map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
				t.Fatalf("refine --json printed more than JSON: %v\n%s", err, stdout.String())
			}
			if raw["dataset"] != ds || !strings.HasPrefix(raw["method"].(string), method) {
				t.Errorf("dataset %v, method %v", raw["dataset"], raw["method"])
			}
			for _, side := range []string{"base", "refined"} {
				m, ok := raw[side].(map[string]any)
				if !ok {
					t.Fatalf("%s missing: %s", side, stdout.String())
				}
				hq, ok := m["high_quality"].(float64)
				if !ok || hq < 0 || hq > 1 {
					t.Errorf("%s high_quality %v", side, m["high_quality"])
				}
				if _, ok := m["kde_ll"].(float64); !ok {
					t.Errorf("%s kde_ll missing", side)
				}
				_, hasModes := m["modes"]
				if hasModes != (ds == "25gaussians") {
					t.Errorf("%s: modes present = %v for %s", side, hasModes, ds)
				}
			}
		}
		f, err := os.Open(filepath.Join(dir, ds+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 3*img.Bounds().Dy()/2 {
			t.Errorf("scatter plot: %v, size %v (want three panels side by side)", err, img.Bounds())
		}
	}
}

func TestToyRefineErrors(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(dir)
	opts := &toyRefineOptions{Dataset: "swissroll", N: 10, Batch: 10, Real: 10}
	opts.method = methodFlags{Method: "dgflow", F: "kl", Eta: 0.1, Steps: "2"}
	var stdout, stderr bytes.Buffer
	err := toyRefineRun(context.Background(), opts, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "dgtext toy train --dataset swissroll") {
		t.Errorf("missing default model: %v", err)
	}
	opts.Dataset = "circles"
	if err := toyRefineRun(context.Background(), opts, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "25gaussians or swissroll") {
		t.Errorf("unknown dataset: %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	opts.Model = bad
	if err := toyRefineRun(context.Background(), opts, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "not a valid safetensors") {
		t.Errorf("corrupt model: %v", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("errors printed to stdout: %q", stdout.String())
	}
}
