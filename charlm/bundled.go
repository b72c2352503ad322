package charlm

import (
	"embed"
	"errors"
	"io/fs"

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

// LoadModel loads the model in dir, or the bundled model when dir is "".
func LoadModel(dir string, d gotch.Device) (*Model, Manifest, error) {
	if dir == "" {
		return LoadBundled(d)
	}
	return Load(dir, d)
}
