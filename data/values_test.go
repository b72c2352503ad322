package data

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Samples that are values (images, points) round-trip through Parquet and JSON
// Lines with and without latents; .txt refuses them, and ragged values are an error.
func TestValueSamplesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, z := range []bool{false, true} {
		samples := testSamples(z)
		for i := range samples {
			samples[i].Text = ""
			samples[i].X = []float32{float32(i) / 3, -2, 1e-30, 7}
		}
		for _, ext := range []string{".parquet", ".jsonl"} {
			path := filepath.Join(dir, "v"+ext)
			writeSamples(t, path, WriterOptions{Latents: z, Values: true}, samples)
			got, err := ReadSamples(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, samples) {
				t.Fatalf("%s latents=%v: read back\n%+v\nwant\n%+v", ext, z, got[:2], samples[:2])
			}
		}
	}
	if _, err := CreateSampleWriter(filepath.Join(dir, "v.txt"), WriterOptions{Values: true}); err == nil || !strings.Contains(err.Error(), ".parquet or .jsonl") {
		t.Errorf("values to .txt: %v", err)
	}
	for _, ext := range []string{".parquet", ".jsonl"} {
		w, err := CreateSampleWriter(filepath.Join(dir, "ragged"+ext), WriterOptions{Values: true})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(Sample{X: []float32{1, 2}})
		err = w.Write(Sample{ID: 1, X: []float32{1}})
		if err == nil {
			err = w.Close()
		} else {
			w.Abort()
		}
		if err == nil || !strings.Contains(err.Error(), "same number of values") {
			t.Errorf("%s: ragged values: %v", ext, err)
		}
	}
}
