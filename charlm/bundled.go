package charlm

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sugarme/gotch"
)

// bundled holds the pretrained model shipped in the binary: charlm/bundled/manifest.json
// and model.safetensors, written by `dgtext train --export charlm/bundled --half`.
// README.md in that folder records how it was trained.
//
//go:embed bundled
var bundled embed.FS

// BundledName is how the bundled model is named in outputs and errors.
const BundledName = "bundled"

// HasBundled tells whether this binary carries a pretrained model.
func HasBundled() bool {
	_, err := fs.Stat(bundled, "bundled/manifest.json")
	return err == nil
}

// LoadBundled loads the pretrained model embedded in the binary onto device d.
func LoadBundled(d gotch.Device) (*Model, Manifest, error) {
	if !HasBundled() {
		return nil, Manifest{}, errors.New("this dgtext binary carries no bundled model (charlm/bundled is empty); pass --model DIR with a model written by dgtext train --export")
	}
	sub, err := fs.Sub(bundled, "bundled")
	if err != nil {
		return nil, Manifest{}, err
	}
	return loadFS(sub, BundledName, d)
}

// LoadModel loads the model in dir, or the bundled model when dir is "". A
// path that is not a model folder gets an error saying what it is instead and
// what to pass: a file (its folder, when it is a bundle's manifest.json or
// model.safetensors), or a training run folder (its newest ckpt-* checkpoint).
func LoadModel(dir string, d gotch.Device) (*Model, Manifest, error) {
	if dir == "" {
		return LoadBundled(d)
	}
	if err := checkModelDir(dir); err != nil {
		return nil, Manifest{}, err
	}
	return Load(dir, d)
}

// checkModelDir explains a --model path that is not a model folder.
func checkModelDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("model %s: %w", dir, err)
	}
	if !info.IsDir() {
		switch filepath.Base(dir) {
		case "manifest.json", "model.safetensors":
			return fmt.Errorf("model %s is a file; pass the folder that holds it: --model %s", dir, filepath.Dir(dir))
		}
		return fmt.Errorf("model %s is a file, not a model folder; pass a folder written by dgtext train or --export (it holds manifest.json and model.safetensors)", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return nil
	}
	if cks, err := ListCheckpoints(dir); err == nil && len(cks) > 0 {
		return fmt.Errorf("%s is a training run folder, not a model; pass one of its %d checkpoints, e.g. the newest: --model %s", dir, len(cks), cks[len(cks)-1])
	}
	return nil // Load says what is missing
}
