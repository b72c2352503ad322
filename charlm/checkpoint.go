package charlm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/nn"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/torch"
)

// A model bundle is a folder with two or three files:
//
//	manifest.json          format, code version, architecture (Config), charmap,
//	                       training config and metadata; see Manifest
//	model.safetensors      "generator.<param>" and "critic.<param>" tensors, F32 or F16
//	optimizer.safetensors  (checkpoints only) Adam moments "adam.generator.m.<param>",
//	                       "adam.generator.v.<param>", and the same for "critic"
//
// Parameter names follow the modules: fc.weight, block0.conv1.weight, ..., out.weight
// for the generator; in.weight, block<i>..., fc.weight for the critic. Conv weights are
// [out, in, kernel] and linear weights [out, in], as in PyTorch, so a state_dict of
// the same architecture maps one to one. Nothing in a bundle is executable.
//
// Training writes checkpoints as ckpt-<iteration> folders under its output folder,
// each first written as a hidden temporary folder and renamed into place when
// complete, so a crash or SIGKILL never leaves a partial checkpoint under a real name.

// ManifestFormat identifies the manifest schema.
const ManifestFormat = "dgtext-charlm/1"

// Manifest describes a bundle.
type Manifest struct {
	Format      string        `json:"format"`
	CodeVersion string        `json:"code_version"`
	Config      Config        `json:"config"`
	Charmap     *data.Charmap `json:"charmap"`
	Train       *TrainConfig  `json:"train,omitempty"`
	Iter        int           `json:"iter"`
	AdamStepG   int64         `json:"adam_step_generator,omitempty"`
	AdamStepD   int64         `json:"adam_step_critic,omitempty"`
	Corpus      string        `json:"corpus,omitempty"`
	Device      string        `json:"trained_on,omitempty"`
	Seconds     float64       `json:"train_seconds,omitempty"`
	SavedAt     string        `json:"saved_at"`
	History     []StepStats   `json:"history,omitempty"`
	Precision   string        `json:"precision"` // "f32" or "f16"
}

// CodeVersion is recorded in manifests; cmd/dgtext sets it from its build version.
var CodeVersion = "dev"

func varArrays(prefix string, vs *nn.VarStore, out map[string]torch.Array) error {
	for name, p := range namedParams(vs) {
		a, err := torch.ToArray(p)
		if err != nil {
			return err
		}
		out[prefix+name] = a
	}
	return nil
}

func (m *Model) weightArrays() (map[string]torch.Array, error) {
	arrays := map[string]torch.Array{}
	if err := varArrays("generator.", m.GVars, arrays); err != nil {
		return nil, err
	}
	if err := varArrays("critic.", m.DVars, arrays); err != nil {
		return nil, err
	}
	return arrays, nil
}

func (m *Model) manifest() Manifest {
	return Manifest{Format: ManifestFormat, CodeVersion: CodeVersion, Config: m.Config, Charmap: m.Charmap,
		SavedAt: time.Now().UTC().Format(time.RFC3339), Precision: "f32", Device: torch.DeviceName(m.Device)}
}

func writeManifest(path string, man Manifest) error {
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return torch.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// Export writes the model alone (no optimiser state) as a bundle in dir. With half
// set the weights are stored as F16, which halves the size; they load back as F32.
func (m *Model) Export(dir string, half bool, meta Manifest) error {
	arrays, err := m.weightArrays()
	if err != nil {
		return err
	}
	man := m.manifest()
	man.Train, man.Iter, man.Corpus, man.Seconds, man.History = meta.Train, meta.Iter, meta.Corpus, meta.Seconds, meta.History
	if half {
		man.Precision = "f16"
	}
	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp")
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := torch.WriteSafetensors(filepath.Join(tmp, "model.safetensors"), arrays, map[string]string{"format": ManifestFormat}, half); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := writeManifest(filepath.Join(tmp, "manifest.json"), man); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return replaceDir(tmp, dir)
}

// replaceDir moves the complete folder tmp to dir, replacing an older dir.
func replaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old")
		os.RemoveAll(old)
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// SaveCheckpoint writes everything needed to resume exactly as ckpt-<iter> in dir, and
// keeps only the newest keep checkpoints (all when keep <= 0).
func (t *Trainer) SaveCheckpoint(dir string, keep int) (string, error) {
	final := filepath.Join(dir, fmt.Sprintf("ckpt-%08d", t.Iter))
	tmp := filepath.Join(dir, fmt.Sprintf(".ckpt-%08d.tmp", t.Iter))
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	fail := func(err error) (string, error) { os.RemoveAll(tmp); return "", fmt.Errorf("save checkpoint: %w", err) }
	arrays, err := t.Model.weightArrays()
	if err != nil {
		return fail(err)
	}
	if err := torch.WriteSafetensors(filepath.Join(tmp, "model.safetensors"), arrays, map[string]string{"format": ManifestFormat}, false); err != nil {
		return fail(err)
	}
	opt := map[string]torch.Array{}
	for _, o := range []struct {
		name string
		a    *adam
	}{{"generator", t.optG}, {"critic", t.optD}} {
		for i, n := range o.a.names {
			mv, err := torch.ToArray(o.a.m[i])
			if err != nil {
				return fail(err)
			}
			vv, err := torch.ToArray(o.a.v[i])
			if err != nil {
				return fail(err)
			}
			opt["adam."+o.name+".m."+n] = mv
			opt["adam."+o.name+".v."+n] = vv
		}
	}
	if err := torch.WriteSafetensors(filepath.Join(tmp, "optimizer.safetensors"), opt, nil, false); err != nil {
		return fail(err)
	}
	man := t.Model.manifest()
	cfg := t.Config
	man.Train, man.Iter, man.Corpus, man.History = &cfg, t.Iter, t.Corpus, t.History
	man.AdamStepG, man.AdamStepD = t.optG.step, t.optD.step
	man.Seconds = t.elapsed()
	if err := writeManifest(filepath.Join(tmp, "manifest.json"), man); err != nil {
		return fail(err)
	}
	if err := replaceDir(tmp, final); err != nil {
		return fail(err)
	}
	if keep > 0 {
		cks, _ := ListCheckpoints(dir)
		for i := 0; i < len(cks)-keep; i++ {
			os.RemoveAll(cks[i])
		}
	}
	return final, nil
}

// ListCheckpoints returns the complete checkpoints in dir, oldest first. Temporary
// folders of a save in progress, or left by an interrupted one, are ignored.
func ListCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type ck struct {
		iter int
		path string
	}
	var cks []ck
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, "ckpt-") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, "ckpt-"))
		if err != nil {
			continue
		}
		cks = append(cks, ck{n, filepath.Join(dir, name)})
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].iter < cks[j].iter })
	out := make([]string, len(cks))
	for i, c := range cks {
		out[i] = c.path
	}
	return out, nil
}

// removeStaleTemps deletes temporary checkpoint folders left in dir by a process that
// was killed while saving. Only the trainer that owns dir calls it.
func removeStaleTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".ckpt-") {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// ReadManifest reads and validates a bundle's manifest.
func ReadManifest(dir string) (Manifest, error) { return readManifestFS(os.DirFS(dir), dir) }

func readManifestFS(fsys fs.FS, dir string) (Manifest, error) {
	var man Manifest
	p := filepath.Join(dir, "manifest.json")
	b, err := fs.ReadFile(fsys, "manifest.json")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return man, fmt.Errorf("%s is not a dgtext model: no manifest.json (point --model at a folder written by dgtext train)", dir)
		}
		return man, err
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return man, fmt.Errorf("%s: corrupt manifest: %v", p, err)
	}
	if man.Format != ManifestFormat {
		return man, fmt.Errorf("%s: format %q, this dgtext reads %q", p, man.Format, ManifestFormat)
	}
	if man.Charmap == nil {
		return man, fmt.Errorf("%s: no charmap", p)
	}
	if man.Config.Vocab != man.Charmap.Size() {
		return man, fmt.Errorf("%s: vocabulary mismatch: model vocab %d, charmap %d; the manifest was edited or comes from another model", p, man.Config.Vocab, man.Charmap.Size())
	}
	if pre, ok := Presets[man.Config.Preset]; ok {
		c := man.Config
		if c.Dim != pre.Dim || c.Blocks != pre.Blocks || c.Latent != pre.Latent || c.Kernel != pre.Kernel || c.SeqLen != pre.SeqLen {
			return man, fmt.Errorf("%s: config %+v does not match preset %q", p, c, c.Preset)
		}
	}
	if err := man.Config.Validate(); err != nil {
		return man, fmt.Errorf("%s: %v", p, err)
	}
	return man, nil
}

// Load reads a bundle (an exported model or a checkpoint) onto device d, checking
// every tensor's name and shape against the architecture in the manifest.
func Load(dir string, d gotch.Device) (*Model, Manifest, error) { return loadFS(os.DirFS(dir), dir, d) }

// copyInto copies a into p; it runs on one OS thread because it switches grad mode.
func copyInto(p *ts.Tensor, a torch.Array, name, dir string) error {
	return torch.Try(func() error { return copyArray(p, a, name, dir) })
}

func loadFS(fsys fs.FS, dir string, d gotch.Device) (*Model, Manifest, error) {
	man, err := readManifestFS(fsys, dir)
	if err != nil {
		return nil, man, err
	}
	b, err := fs.ReadFile(fsys, "model.safetensors")
	if err != nil {
		return nil, man, fmt.Errorf("%s: %w", dir, err)
	}
	arrays, _, err := torch.ParseSafetensors(b, filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, man, err
	}
	m, err := NewModel(man.Config, man.Charmap, d)
	if err != nil {
		return nil, man, err
	}
	if err := loadVars(m.GVars, "generator.", arrays, dir); err != nil {
		return nil, man, err
	}
	if err := loadVars(m.DVars, "critic.", arrays, dir); err != nil {
		return nil, man, err
	}
	if len(arrays) > 0 {
		var extra []string
		for k := range arrays {
			extra = append(extra, k)
		}
		sort.Strings(extra)
		return nil, man, fmt.Errorf("%s: unexpected tensors %v for this architecture", dir, extra)
	}
	return m, man, nil
}

// loadVars copies arrays[prefix+name] into each parameter and deletes them from arrays.
func loadVars(vs *nn.VarStore, prefix string, arrays map[string]torch.Array, dir string) error {
	for name, p := range namedParams(vs) {
		a, ok := arrays[prefix+name]
		if !ok {
			return fmt.Errorf("%s: missing tensor %s%s; the file does not match the manifest's architecture", dir, prefix, name)
		}
		if err := copyInto(p, a, prefix+name, dir); err != nil {
			return err
		}
		delete(arrays, prefix+name)
	}
	return nil
}

func copyArray(p *ts.Tensor, a torch.Array, name, dir string) error {
	want := p.MustSize()
	if !sameShape(want, a.Shape) {
		return fmt.Errorf("%s: tensor %s has shape %v, but the architecture in manifest.json needs %v; model.safetensors and manifest.json come from different models (was one of them replaced or edited?)", dir, name, a.Shape, want)
	}
	for _, v := range a.Data {
		if !finite(float64(v)) {
			return fmt.Errorf("%s: tensor %s holds NaN or Inf; the checkpoint is from a diverged run or corrupt", dir, name)
		}
	}
	src, err := torch.FromArray(a, p.MustDevice())
	if err != nil {
		return err
	}
	ts.NoGrad(func() { p.Copy_(src) })
	src.MustDrop()
	return nil
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Resume rebuilds a Trainer from the newest checkpoint in dir, with its optimiser
// state, iteration and configuration, ready to continue exactly.
func Resume(dir string, d gotch.Device, trainLines, evalLines []string) (*Trainer, string, error) {
	cks, err := ListCheckpoints(dir)
	if err != nil {
		return nil, "", fmt.Errorf("resume: %w", err)
	}
	if len(cks) == 0 {
		return nil, "", fmt.Errorf("resume: no checkpoint in %s (expected ckpt-NNNNNNNN folders written by dgtext train)", dir)
	}
	last := cks[len(cks)-1]
	m, man, err := Load(last, d)
	if err != nil {
		return nil, "", err
	}
	if man.Train == nil {
		return nil, "", fmt.Errorf("resume: %s holds no training state (an exported model, not a checkpoint)", last)
	}
	t, err := NewTrainer(m, *man.Train, trainLines, evalLines, man.Corpus)
	if err != nil {
		return nil, "", err
	}
	t.Iter, t.History = man.Iter, man.History
	t.optG.step, t.optD.step = man.AdamStepG, man.AdamStepD
	t.priorSeconds = man.Seconds
	arrays, _, err := torch.ReadSafetensors(filepath.Join(last, "optimizer.safetensors"))
	if err != nil {
		return nil, "", err
	}
	for _, o := range []struct {
		name string
		a    *adam
	}{{"generator", t.optG}, {"critic", t.optD}} {
		for i, n := range o.a.names {
			for _, mv := range []struct {
				key string
				dst *ts.Tensor
			}{{"adam." + o.name + ".m." + n, o.a.m[i]}, {"adam." + o.name + ".v." + n, o.a.v[i]}} {
				a, ok := arrays[mv.key]
				if !ok {
					return nil, "", fmt.Errorf("%s: optimizer state lacks %s", last, mv.key)
				}
				if err := copyInto(mv.dst, a, mv.key, last); err != nil {
					return nil, "", err
				}
			}
		}
	}
	return t, last, nil
}
