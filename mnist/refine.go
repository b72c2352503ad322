package mnist

import (
	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/gan"
)

// LoadCorrector reads a corrector file written by Corrector.Save: the frozen
// discriminator it was trained on top of, and the correction. Its Critic, D + c,
// is the critic DGflow uses for a model without one of its own (the VAE).
func LoadCorrector(path string, dev gotch.Device) (*Corrector, error) {
	f, err := gan.Open(path, CorrectorFormat)
	if err != nil {
		return nil, err
	}
	return correctorFromFile(f, dev)
}
