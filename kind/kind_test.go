package kind

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/gan"
	"github.com/dgtext/dgtext/mnist"
	"github.com/dgtext/dgtext/pipeline"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
	"github.com/dgtext/dgtext/toy"
)

// models writes untrained models of every kind into a folder: what Open detects
// does not depend on training.
func models(t *testing.T) map[string]string {
	t.Helper()
	runtime.LockOSThread()
	torch.SetThreads(1)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	tm, err := toy.NewModel(toy.Config{Dataset: toy.SwissRoll, Latent: 2, Hidden: 8, Layers: 1}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	g, err := mnist.NewGAN(mnist.GANConfig{Latent: 4, Width: 2}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	v, err := mnist.NewVAE(mnist.VAEConfig{Latent: 4, Hidden: 8}, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mnist.NewCorrector(g)
	if err != nil {
		t.Fatal(err)
	}
	clf, err := mnist.NewClassifier(gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		tm.Save(p("toy.safetensors"), gan.DefaultConfig(1, 1)),
		g.Save(p("gan.safetensors"), gan.DefaultConfig(1, 1)),
		v.Save(p("vae.safetensors"), mnist.DefaultVAETrainConfig()),
		c.Save(p("corr.safetensors"), mnist.DefaultCorrectorConfig(), "vae", "gan"),
		clf.Save(p("clf.safetensors"), mnist.DefaultClassifierConfig()),
		os.MkdirAll(p("run/ckpt-00000005"), 0o755),
		os.MkdirAll(p("run/ckpt-00000010"), 0o755),
		os.WriteFile(p("g.pt"), []byte("PK"), 0o644),
		os.WriteFile(p("notes.txt"), []byte("hello"), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"dir": dir, "toy": p("toy.safetensors"), "gan": p("gan.safetensors"), "vae": p("vae.safetensors"),
		"corr": p("corr.safetensors"), "clf": p("clf.safetensors"), "run": p("run"), "pt": p("g.pt"), "txt": p("notes.txt")}
}

func TestOpenDetectsTheKind(t *testing.T) {
	m := models(t)
	noData := pipeline.Corpus{Name: data.BillionWords, Options: data.CorpusOptions{DataDir: m["dir"]}}
	base := Options{Device: gotch.CPU, Seed: 1, Corpus: noData, Classifier: m["clf"], DataDir: m["dir"], Real: 10}
	for _, tc := range []struct {
		path, critic, corrector string
		kind, critDesc          string
	}{
		{"", "", "", "text", ""},
		{m["toy"], "", "", "2d", ""},
		{m["gan"], "", "", "images", ""},
		{m["vae"], "", m["corr"], "images", m["corr"] + " (its discriminator D + correction c)"},
		{m["vae"], m["corr"], "", "images", m["corr"]},
		{m["vae"], m["gan"], m["corr"], "images", m["gan"] + " + the correction of " + m["corr"]},
	} {
		o := base
		o.Critic, o.Corrector = tc.critic, tc.corrector
		if tc.kind == "images" {
			o.DataDir = "" // FD needs the MNIST files; their absence is a note, checked below
		}
		k, err := Open(tc.path, o)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.path, err)
		}
		a := k.About()
		if a.Kind != tc.kind || a.Critic != tc.critDesc || k.Generator() == nil || k.Critic() == nil {
			t.Errorf("Open(%q): %+v", tc.path, a)
		}
		if tc.critic != "" && tc.corrector != "" {
			if _, ok := k.Critic().(refine.Sum); !ok {
				t.Errorf("--critic + --corrector: critic %T, want refine.Sum", k.Critic())
			}
		}
		if tc.path != "" && (len(a.Files) == 0 || a.Files[0] != tc.path) {
			t.Errorf("Open(%q): files %v", tc.path, a.Files)
		}
	}
}

func TestOpenExplainsWhatIsWrong(t *testing.T) {
	m := models(t)
	o := Options{Device: gotch.CPU, Classifier: m["clf"]}
	for _, tc := range []struct {
		path, critic, want string
	}{
		{filepath.Join(m["dir"], "none"), "", "no such file or folder"},
		{m["run"], "", "training run folder, not a model: pass one of its checkpoints, e.g. the newest, --model " + filepath.Join(m["run"], "ckpt-00000010")},
		{m["corr"], "", "pass it as --corrector"},
		{m["clf"], "", "pass it as --classifier"},
		{m["pt"], "", "--generator and --critic"},
		{m["txt"], "", "not a model dgtext knows"},
		{m["vae"], "", "a VAE has no critic of its own: pass --corrector"},
		{m["toy"], m["gan"], "--critic and --corrector apply to image models"},
		{m["gan"], m["vae"], "--critic"},
	} {
		o.Critic = tc.critic
		if _, err := Open(tc.path, o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s, critic %q): %v, want %q", filepath.Base(tc.path), tc.critic, err, tc.want)
		}
	}
}

// Without a classifier or the MNIST files an image model still refines, with a note
// that says how to get FD; a classifier asked for by name must load.
func TestImagesWithoutReference(t *testing.T) {
	m := models(t)
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	os.Chdir(m["dir"]) // no mnist-classifier.safetensors here
	os.Remove(m["clf"])
	k, err := Open(m["gan"], Options{Device: gotch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	if r := k.Reference(); !strings.Contains(r.Note, "dgtext mnist train classifier") || len(k.Columns()) != 0 {
		t.Errorf("reference %+v, columns %v", r, k.Columns())
	}
	if _, err := Open(m["gan"], Options{Device: gotch.CPU, Classifier: m["clf"]}); err == nil || !strings.Contains(err.Error(), "--classifier") {
		t.Errorf("missing --classifier: %v", err)
	}
}
