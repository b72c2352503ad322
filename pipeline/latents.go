package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// ReadLatents reads starting latents from the z column of a samples file (Parquet or
// JSON Lines), taking the rows at step 0 when the file holds several steps, and
// returns them as a refine.Source with their number.
func ReadLatents(path string, dim int, dev gotch.Device) (refine.Source, int64, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq", ".jsonl", ".ndjson":
	default:
		return nil, 0, fmt.Errorf("--latents %s: unknown extension; give a .parquet or .jsonl samples file with a z column (written by dgtext refine --save-z)", path)
	}
	rows, err := data.ReadSamples(path)
	if err != nil {
		return nil, 0, fmt.Errorf("--latents: %w", err)
	}
	var zs [][]float32
	for _, r := range rows {
		if r.Step != 0 {
			continue
		}
		if len(r.Z) == 0 {
			return nil, 0, fmt.Errorf("--latents %s: row %d has no z column; write latents with `dgtext refine --save-z` or a z list<float> column", path, r.ID)
		}
		if len(r.Z) != dim {
			return nil, 0, fmt.Errorf("--latents %s: row %d has a %d-dimensional z, the model's latent has %d", path, r.ID, len(r.Z), dim)
		}
		zs = append(zs, r.Z)
	}
	if len(zs) == 0 {
		return nil, 0, fmt.Errorf("--latents %s: no latents (no rows at step 0)", path)
	}
	src := func(b refine.Batch) (*ts.Tensor, error) {
		flat := make([]float32, len(b.IDs)*dim) // padding rows (ids past the file's) stay 0
		for i, id := range b.IDs {
			if id < int64(len(zs)) {
				copy(flat[i*dim:], zs[id])
			}
		}
		return torch.FromArray(torch.Array{Shape: []int64{int64(len(b.IDs)), int64(dim)}, Data: flat}, dev)
	}
	return src, int64(len(zs)), nil
}
