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
	"github.com/dgtext/dgtext/pipeline"
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
			out := filepath.Join(dir, ds+"-"+method+".parquet")
			args := []string{"toy", "refine", "--model", model, "--n", "300", "--batch", "150", "--seed", "1", "--real", "300", "--json",
				"--threads", "1", "--method", method, "--keff-pairs", "64", "--steps", "3", "--out", out}
			if method == "dgflow" {
				args = append(args, "--plot", filepath.Join(dir, ds+".png"))
			}
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", ds, method, err, stderr)
			}
			// The JSON contract: kind, method, and at step 0 and the last step HQ and
			// KDE, and modes only where the data set has modes.
			var rep pipeline.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("refine --json printed more than JSON: %v\n%s", err, stdout)
			}
			if rep.Kind != "2d" || !strings.HasPrefix(rep.Method, method) || rep.N != 300 || rep.RefSize != 300 || len(rep.Steps) != 2 {
				t.Fatalf("report: kind %v, method %v, n %d, reference %d, steps %+v", rep.Kind, rep.Method, rep.N, rep.RefSize, rep.Steps)
			}
			for _, s := range []pipeline.StepRow{rep.Base(), rep.Last()} {
				hq, ok := s.Scores["HQ"]
				if !ok || hq < 0 || hq > 1 {
					t.Errorf("step %d HQ %v", s.Step, s.Scores)
				}
				if _, ok := s.Scores["KDE"]; !ok {
					t.Errorf("step %d KDE missing", s.Step)
				}
				_, hasModes := s.Scores["modes"]
				if hasModes != (ds == "25gaussians") {
					t.Errorf("step %d: modes present = %v for %s", s.Step, hasModes, ds)
				}
			}
			// Every saved step of every sample is in the file, as 2D points.
			rows, err := data.ReadSamples(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 600 || len(rows[0].X) != 2 || rows[599].Step != 3 {
				t.Fatalf("%d rows, first %+v", len(rows), rows[0])
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
	args := func(extra ...string) []string {
		return append([]string{"toy", "refine", "--n", "10", "--batch", "10", "--real", "10", "--steps", "2", "--threads", "1"}, extra...)
	}
	stdout, _, err := runCLI(t, args("--dataset", "swissroll")...)
	if err == nil || !strings.Contains(err.Error(), "dgtext toy train --dataset swissroll") {
		t.Errorf("missing default model: %v", err)
	}
	if _, _, err := runCLI(t, args("--dataset", "circles")...); err == nil || !strings.Contains(err.Error(), "25gaussians or swissroll") {
		t.Errorf("unknown dataset: %v", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	if _, _, err := runCLI(t, args("--model", bad)...); err == nil || !strings.Contains(err.Error(), "not a valid safetensors") {
		t.Errorf("corrupt model: %v", err)
	}
	if stdout != "" {
		t.Errorf("errors printed to stdout: %q", stdout)
	}
}
