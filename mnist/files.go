package mnist

import (
	"fmt"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/refine"
)

// FromFile builds the generator a GAN or VAE file holds.
func FromFile(f *gan.File, dev gotch.Device) (refine.Generator, error) {
	switch f.Format {
	case GANFormat:
		return ganFromFile(f, dev)
	case VAEFormat:
		return vaeFromFile(f, dev)
	}
	return nil, fmt.Errorf("%s holds a %q model, not an MNIST GAN or VAE", f.Path, f.Format)
}

// LoadCritic reads a critic for refinement: the critic of a GAN file, or the frozen
// discriminator plus corrector of a corrector file, d = D + c.
func LoadCritic(path string, dev gotch.Device) (refine.Critic, error) {
	f, err := gan.Open(path, GANFormat, CorrectorFormat)
	if err != nil {
		return nil, err
	}
	if f.Format == GANFormat {
		return ganFromFile(f, dev)
	}
	c, err := correctorFromFile(f, dev)
	if err != nil {
		return nil, err
	}
	return c.Critic(), nil
}
