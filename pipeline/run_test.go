package pipeline

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/refine"
	"github.com/dgtext/dgtext/torch"
)

// The kind in these tests is small enough to follow by hand: G(z) = 2z in 3
// dimensions, critic d(x) = −½‖x‖² (finite for any x unless poisoned).

type doubleG struct{}

func (doubleG) Generate(z *ts.Tensor) *ts.Tensor { return z.MustMulScalar(ts.FloatScalar(2), false) }
func (doubleG) LatentDim() int                   { return 3 }

type normC struct{}

func (normC) Score(x *ts.Tensor) *ts.Tensor {
	return x.MustSquare(false).MustSumDimIntlist([]int64{1}, false, gotch.Float, true).MustMulScalar(ts.FloatScalar(-0.5), true)
}

// sumC is d(x) = Σx: a constant gradient, so any step size stays finite.
type sumC struct{}

func (sumC) Score(x *ts.Tensor) *ts.Tensor {
	return x.MustSumDimIntlist([]int64{1}, false, gotch.Float, false)
}

// hooked wraps an Output and calls hook on every saved batch before the output sees it.
type hooked struct {
	Output
	hook func(s refine.Saved)
}

func (h hooked) Rows(s refine.Saved) ([]Sample, error) {
	h.hook(s)
	return h.Output.Rows(s)
}

func testKind(hook func(refine.Saved)) Kind {
	var out Output = NewVectors(nil, nil, Reference{})
	if hook != nil {
		out = hooked{out, hook}
	}
	return Compose(Parts{Info: About{Kind: "vectors", Model: "test", N: 12, Batch: 4}, G: doubleG{}, C: normC{}, Device: gotch.CPU}, out)
}

func testOptions(t *testing.T, out string) Options {
	runtime.LockOSThread()
	torch.SetThreads(1)
	o := Options{Method: DefaultMethod(), Seed: 1, Device: gotch.CPU, Out: out}
	o.Method.Steps, o.Method.SaveEvery = "3", 1
	return o
}

// An interrupted run keeps the samples refined to the end under NAME.partial.EXT,
// nothing under the final name, and says how far it got (not "context canceled").
func TestRunInterruptedKeepsCompleteSamplesAsPartial(t *testing.T) {
	out := filepath.Join(t.TempDir(), "y.parquet")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := testKind(func(s refine.Saved) {
		if s.First == 4 && s.Step == 2 { // the second batch, halfway
			cancel()
		}
	})
	_, err := Run(ctx, k, testOptions(t, out))
	want := "interrupted after 4 of 12 samples; partial samples in " + data.PartialPath(out)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted run left %s: %v", out, err)
	}
	rows, err := data.ReadSamples(data.PartialPath(out))
	if err != nil {
		t.Fatal(err)
	}
	// The first batch, at steps 0..3; none of the cut batch.
	if len(rows) != 16 {
		t.Fatalf("%d partial rows, want 4 samples × 4 steps", len(rows))
	}
	for _, r := range rows {
		if r.ID >= 4 || len(r.X) != 3 {
			t.Fatalf("partial row %+v", r)
		}
	}
}

// An interruption before any sample is complete writes nothing at all.
func TestRunInterruptedBeforeFirstBatchWritesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "y.parquet")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := testKind(func(s refine.Saved) {
		if s.Step == 1 {
			cancel()
		}
	})
	_, err := Run(ctx, k, testOptions(t, out))
	if err == nil || !strings.Contains(err.Error(), "interrupted after 0 of 12 samples; no sample was complete, nothing written") {
		t.Fatalf("error %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// The NaN guard also keeps complete samples under the partial name only.
func TestRunNaNGuardKeepsCompleteSamplesAsPartial(t *testing.T) {
	out := filepath.Join(t.TempDir(), "y.jsonl")
	k := testKind(nil)
	src := func(b refine.Batch) (*ts.Tensor, error) {
		n := len(b.IDs)
		v := make([]float32, 3*n)
		if b.IDs[0] >= 8 {
			v[0] = float32(math.NaN())
		}
		return torch.FromArray(torch.Array{Shape: []int64{int64(n), 3}, Data: v}, gotch.CPU)
	}
	k = Compose(priorModel{k, src}, k)
	_, err := Run(context.Background(), k, testOptions(t, out))
	if err == nil || !errors.Is(err, refine.ErrNonFinite) || !strings.Contains(err.Error(), "stopped after 8 of 12 samples; partial samples in "+data.PartialPath(out)) {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the NaN guard left %s: %v", out, err)
	}
	if rows, err := data.ReadSamples(data.PartialPath(out)); err != nil || len(rows) != 32 {
		t.Fatalf("partial: %v, %d rows, want 8 samples × 4 steps", err, len(rows))
	}
}

type priorModel struct {
	Model
	src refine.Source
}

func (p priorModel) Prior() refine.Source { return p.src }

// --save-every 0 keeps step 0 and the last step, as its help says.
func TestRunSaveEveryZeroKeepsStepZero(t *testing.T) {
	o := testOptions(t, filepath.Join(t.TempDir(), "y.parquet"))
	o.Method.SaveEvery = 0
	rep, err := Run(context.Background(), testKind(nil), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 2 || rep.Steps[0].Step != 0 || rep.Steps[1].Step != 3 || !rep.Complete || rep.Done != 12 {
		t.Fatalf("steps %+v", rep.Steps)
	}
	o.Method.SaveEvery = -1
	if _, err := Run(context.Background(), testKind(nil), o); err == nil || !strings.Contains(err.Error(), "--save-every -1") {
		t.Errorf("--save-every -1: %v", err)
	}
}

// Step sizes and γ must be finite numbers.
func TestMethodConfigRejectsNonFinite(t *testing.T) {
	for _, c := range []func(*MethodConfig){
		func(m *MethodConfig) { m.Gamma = math.NaN() },
		func(m *MethodConfig) { m.Gamma = math.Inf(1) },
		func(m *MethodConfig) { m.Eta = math.NaN() },
		func(m *MethodConfig) { m.Eta = math.Inf(1) },
		func(m *MethodConfig) { m.Name, m.Eps = "ddls", math.NaN() },
		func(m *MethodConfig) { m.Name, m.DotLR = "dot", math.Inf(1) },
	} {
		m := DefaultMethod()
		c(&m)
		if _, _, err := m.Build(doubleG{}, normC{}, 1, gotch.CPU); err == nil || !strings.Contains(err.Error(), "finite") {
			t.Errorf("%+v: %v", m, err)
		}
	}
}

// A step size that throws the latents far out of the prior's reach is warned about.
func TestRunWarnsWhenLatentsLeaveTheRadius(t *testing.T) {
	var log bytes.Buffer
	o := testOptions(t, filepath.Join(t.TempDir(), "y.parquet"))
	o.Log = &log
	if _, err := Run(context.Background(), testKind(nil), o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "warning") {
		t.Fatalf("warned at the default step size:\n%s", log.String())
	}
	o.Method.Eta, o.Method.Gamma = 1e30, 0
	k := Compose(Parts{Info: About{Kind: "vectors", Model: "test", N: 4, Batch: 4}, G: doubleG{}, C: sumC{}, Device: gotch.CPU}, NewVectors(nil, nil, Reference{}))
	if _, err := Run(context.Background(), k, o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "warning: at step 1") || !strings.Contains(log.String(), "10·√L") {
		t.Fatalf("no radius warning at η = 1e30:\n%s", log.String())
	}
}

// The samples file may not replace an input, also through a symbolic link, and
// --out and --plot may not be one file.
func TestRunRefusesOutputOverInput(t *testing.T) {
	dir := t.TempDir()
	z := filepath.Join(dir, "z.parquet")
	o := testOptions(t, z)
	o.SaveZ = true
	if _, err := Run(context.Background(), testKind(nil), o); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(z)
	link := filepath.Join(dir, "link.parquet")
	if err := os.Symlink(z, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{z, link} {
		o := testOptions(t, out)
		o.Latents = z
		if _, err := Run(context.Background(), testKind(nil), o); err == nil || !strings.Contains(err.Error(), "is also an input") {
			t.Errorf("--latents %s --out %s: %v", z, out, err)
		}
	}
	o = testOptions(t, filepath.Join(dir, "y.parquet"))
	o.Plot = o.Out
	if _, err := Run(context.Background(), testKind(nil), o); err == nil || !strings.Contains(err.Error(), "same file") {
		t.Errorf("--out = --plot: %v", err)
	}
	// A model folder counts with its files.
	k := Compose(Parts{Info: About{Kind: "vectors", Model: "m", N: 4, Batch: 4, Files: []string{dir}}, G: doubleG{}, C: normC{}, Device: gotch.CPU}, NewVectors(nil, nil, Reference{}))
	if _, err := Run(context.Background(), k, testOptions(t, z)); err == nil || !strings.Contains(err.Error(), "is also an input") {
		t.Errorf("output inside the model folder: %v", err)
	}
	if after, _ := os.ReadFile(z); !bytes.Equal(before, after) {
		t.Error("the latents file changed")
	}
}

func TestReadLatentsNamesTheInput(t *testing.T) {
	_, _, err := ReadLatents("z.csv", 3, gotch.CPU)
	if err == nil || !strings.Contains(err.Error(), "--latents z.csv: unknown extension") || strings.Contains(err.Error(), "output") {
		t.Errorf("unknown extension: %v", err)
	}
}

// The text reference: a missing billion-words corpus is a note that lists the places
// looked and the download command; a corpus the user gave that cannot be read is an
// error; one the user did not give is a note.
func TestTextReference(t *testing.T) {
	empty := t.TempDir()
	opt := eval.Options{Orders: []int{4}}
	ref, info, err := TextReference(Corpus{Name: data.BillionWords, Options: data.CorpusOptions{DataDir: empty}, Given: true}, opt, nil)
	if err != nil || ref != nil {
		t.Fatalf("missing corpus: %v", err)
	}
	if !strings.Contains(info.Note, empty) || !strings.Contains(info.Note, data.DownloadCommand) || !strings.Contains(info.Hint, data.DownloadCommand) || strings.Contains(info.Hint, "--corpus PATH") {
		t.Errorf("note %q, hint %q", info.Note, info.Hint)
	}
	bad := filepath.Join(empty, "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 not really parquet"), 0o644)
	for _, name := range []string{bad, filepath.Join(empty, "missing.txt")} {
		if _, _, err := TextReference(Corpus{Name: name, Given: true, NoCache: true}, opt, nil); err == nil || !strings.Contains(err.Error(), "--corpus "+name) {
			t.Errorf("given unreadable corpus %s: %v", name, err)
		}
		_, info, err := TextReference(Corpus{Name: name, NoCache: true}, opt, nil)
		if err != nil || !strings.HasPrefix(info.Note, "JS not computed") {
			t.Errorf("default unreadable corpus %s: %v, note %q", name, err, info.Note)
		}
	}
}
