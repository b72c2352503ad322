package gan

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

// A model file is one safetensors file: every parameter as "<part>.<name>" (for
// example "generator.fc0.weight"), F32, and string metadata with "format" (what kind
// of model it is) and "config" (its architecture and training settings as JSON).
// Nothing in it is executable.

// Save writes the parameters of the named stores and the metadata to path, atomically.
// config is stored as JSON under "config".
func Save(path, format string, config any, stores map[string]*nn.VarStore) error {
	cfg, err := json.Marshal(config)
	if err != nil {
		return err
	}
	arrays := map[string]torch.Array{}
	for part, vs := range stores {
		for name := range vs.Variables() {
			a, err := torch.ToArray(vs.Root().MustGet(name))
			if err != nil {
				return fmt.Errorf("save %s: %w", path, err)
			}
			arrays[part+"."+name] = a
		}
	}
	if err := torch.WriteSafetensors(path, arrays, map[string]string{"format": format, "config": string(cfg)}, false); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// File is a model file read into memory.
type File struct {
	Path   string
	Format string
	Arrays map[string]torch.Array
	config string
}

// Open reads a model file and checks that it holds the expected format (one of formats).
func Open(path string, formats ...string) (*File, error) {
	arrays, meta, err := torch.ReadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	f := &File{Path: path, Format: meta["format"], Arrays: arrays, config: meta["config"]}
	if len(formats) > 0 && !slices.Contains(formats, f.Format) {
		return nil, fmt.Errorf("%s holds a %q model, not %v: pass the file written by the matching train command", path, f.Format, formats)
	}
	return f, nil
}

// Config decodes the stored configuration into v.
func (f *File) Config(v any) error {
	if err := json.Unmarshal([]byte(f.config), v); err != nil {
		return fmt.Errorf("%s: unreadable config in the file's metadata (%v); retrain the model", f.Path, err)
	}
	return nil
}

// Load copies the file's parameters into the stores. Every parameter of every store
// must be in the file with the same shape.
func (f *File) Load(stores map[string]*nn.VarStore) error {
	return torch.Try(func() error {
		parts := make([]string, 0, len(stores))
		for p := range stores {
			parts = append(parts, p)
		}
		sort.Strings(parts)
		for _, part := range parts {
			vs := stores[part]
			for name := range vs.Variables() {
				key := part + "." + name
				a, ok := f.Arrays[key]
				if !ok {
					return fmt.Errorf("%s has no tensor %s: the file was written for another architecture; retrain or pass the matching flags", f.Path, key)
				}
				p := vs.Root().MustGet(name)
				if !slices.Equal(a.Shape, p.MustSize()) {
					return fmt.Errorf("%s: %s has shape %v, the model expects %v: the file was written for another architecture", f.Path, key, a.Shape, p.MustSize())
				}
				t, err := torch.FromArray(a, p.MustDevice())
				if err != nil {
					return err
				}
				ts.NoGrad(func() { p.Copy_(t) })
				t.MustDrop()
			}
		}
		return nil
	})
}
