// Package charlm is the character-level WGAN-GP language model that dgtext refines:
// its configuration and presets, the generator and critic (as gotch modules), WGAN-GP
// training with exact resume, checkpoint bundles (safetensors + JSON manifest),
// sampling with argmax decoding, and the bundled pretrained model.
//
// The generator maps z [B, Latent] to per-position character probabilities
// [B, SeqLen, Vocab]; the critic maps such a tensor (softmax output, or one-hot real
// text) to one score per sample. Both satisfy refine's Generator and Critic, and
// nothing text-specific crosses that boundary.
package charlm

import (
	"fmt"
	"sort"
	"strings"
)

// Config fixes the architecture. Vocab comes from the charmap.
type Config struct {
	Preset   string  `json:"preset"`
	SeqLen   int     `json:"seq_len"`
	Latent   int     `json:"latent"`
	Dim      int     `json:"dim"`
	Blocks   int     `json:"blocks"`
	Kernel   int     `json:"kernel"`
	ResScale float64 `json:"res_scale"`
	Vocab    int     `json:"vocab"`
	// VocabCap is the largest charmap built for training (unk included).
	VocabCap int `json:"vocab_cap"`
}

// Presets are named architectures. "paper" is the published model (Gulrajani et al.
// 2017): DIM 512, five residual blocks scaled by 0.3, kernel 5, latent 128. "small"
// is what a 2-core CPU can train in an hour or two; "tiny" is for tests.
var Presets = map[string]Config{
	"paper": {Preset: "paper", SeqLen: 32, Latent: 128, Dim: 512, Blocks: 5, Kernel: 5, ResScale: 0.3, VocabCap: 2048},
	"small": {Preset: "small", SeqLen: 32, Latent: 128, Dim: 128, Blocks: 5, Kernel: 5, ResScale: 0.3, VocabCap: 2048},
	"tiny":  {Preset: "tiny", SeqLen: 32, Latent: 32, Dim: 32, Blocks: 1, Kernel: 5, ResScale: 0.3, VocabCap: 128},
}

// PresetNames lists the presets in a stable order for help texts.
func PresetNames() []string {
	var n []string
	for k := range Presets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Preset returns a copy of a named preset.
func Preset(name string) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q: choose one of %s", name, strings.Join(PresetNames(), ", "))
	}
	return c, nil
}

// Validate checks that the architecture can be built.
func (c Config) Validate() error {
	switch {
	case c.SeqLen < 1:
		return fmt.Errorf("seq_len %d: must be at least 1", c.SeqLen)
	case c.Latent < 1:
		return fmt.Errorf("latent %d: must be at least 1", c.Latent)
	case c.Dim < 1:
		return fmt.Errorf("dim %d: must be at least 1", c.Dim)
	case c.Blocks < 0:
		return fmt.Errorf("blocks %d: must not be negative", c.Blocks)
	case c.Kernel < 1 || c.Kernel%2 == 0:
		return fmt.Errorf("kernel %d: must be odd, so 'same' padding keeps the length", c.Kernel)
	case c.Vocab < 2:
		return fmt.Errorf("vocab %d: a charmap needs unk plus at least one character", c.Vocab)
	}
	return nil
}
