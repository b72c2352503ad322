package refine

import (
	"context"
	"math"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/torch"
)

func TestStreamsDependOnlyOnSeedIDPurposeAndCounter(t *testing.T) {
	a, err := Batch{IDs: []int64{5, 6, 7}, Seed: 3}.Normal(ForNoise, 4, 8, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Batch{IDs: []int64{6}, Seed: 3}.Normal(ForNoise, 4, 8, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	av, bv := torch.Float64s(a), torch.Float64s(b)
	for j := range 8 {
		if av[8+j] != bv[j] {
			t.Fatalf("sample 6's draw %d is %v in a batch of 3 and %v alone", j, av[8+j], bv[j])
		}
	}
	row := func(seed, id int64, p Purpose, c uint64) []float32 {
		r := make([]float32, 8)
		NormalRow(seed, id, p, c, r)
		return r
	}
	base := row(3, 6, ForNoise, 4)
	for name, other := range map[string][]float32{
		"seed": row(4, 6, ForNoise, 4), "id": row(3, 7, ForNoise, 4),
		"purpose": row(3, 6, ForLatent, 4), "counter": row(3, 6, ForNoise, 5),
	} {
		same := true
		for j := range base {
			same = same && base[j] == other[j]
		}
		if same {
			t.Errorf("changing the %s gave the same draws", name)
		}
	}
	// Standard normal: mean ≈ 0 and variance ≈ 1 over many draws.
	big := make([]float32, 100_000)
	NormalRow(1, 0, ForLatent, 0, big)
	var sum, sq float64
	for _, v := range big {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean, variance := sum/float64(len(big)), sq/float64(len(big))-(sum/float64(len(big)))*(sum/float64(len(big)))
	if math.Abs(mean) > 0.015 || math.Abs(variance-1) > 0.02 {
		t.Fatalf("draws have mean %.4f and variance %.4f, want 0 and 1", mean, variance)
	}
}

// sizeGen records the batch sizes it is asked to generate.
type sizeGen struct {
	linG
	sizes []int64
}

func (g *sizeGen) Generate(z *ts.Tensor) *ts.Tensor {
	g.sizes = append(g.sizes, z.MustSize()[0])
	return g.linG.Generate(z)
}

func TestLastBatchIsPaddedAndThePaddingDropped(t *testing.T) {
	lg, c := testModels(t)
	g := &sizeGen{linG: lg}
	var real []int64
	var firsts []int64
	opt := Options{Steps: 2, SaveEvery: 1, Batch: 2, Seed: 1, Device: gotch.CPU}
	err := Run(context.Background(), g, c, DefaultDGflow(), tB, fixedSource(t, z0v), opt, func(s Saved) error {
		if s.Step == 0 {
			real = append(real, s.Z.MustSize()[0], s.X.MustSize()[0], int64(len(s.D)))
			firsts = append(firsts, s.First)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.sizes {
		if n != 2 {
			t.Fatalf("the generator saw batches of %v; every batch must have --batch rows", g.sizes)
		}
	}
	if want := []int64{2, 2, 2, 1, 1, 1}; len(real) != len(want) || real[3] != 1 || real[0] != 2 {
		t.Fatalf("the sink saw rows %v, want %v (padding dropped)", real, want)
	}
	if firsts[0] != 0 || firsts[1] != 2 {
		t.Fatalf("batches start at %v, want [0 2]", firsts)
	}
}

func TestASampleIsRefinedAloneAsInABatch(t *testing.T) {
	// The same sample in batches of 1 and of 3 gets the same latent noise, so its
	// trajectory differs at most by rounding (the kernels' shapes differ).
	run := func(batch int) map[int][]float64 {
		g, c := testModels(t)
		out := map[int][]float64{}
		opt := Options{Steps: 3, SaveEvery: 1, Batch: batch, Seed: 5, Device: gotch.CPU}
		err := Run(context.Background(), g, c, &DGflow{Eta: 0.1, Gamma: 0.5, F: KL}, tB, fixedSource(t, z0v), opt, func(s Saved) error {
			out[s.Step] = append(out[s.Step], torch.Float64s(s.Z)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one, three := run(1), run(3)
	for k := range 4 {
		assertClose(t, "z", one[k], three[k], 1e-6)
	}
}

// BenchmarkNoise compares one step's noise for a batch of 256 paper-size latents
// drawn from the samples' own streams in Go with libtorch's randn, in the same run:
// go test ./refine -run '^$' -bench Noise
func BenchmarkNoise(b *testing.B) {
	const rows, dim = 256, 128
	batch := Batch{IDs: ids(0, rows), Real: rows, Seed: 1}
	b.Run("streams", func(b *testing.B) {
		for i := range b.N {
			batch.MustNormal(ForNoise, uint64(i), dim, gotch.CPU).MustDrop()
		}
	})
	b.Run("libtorch-randn", func(b *testing.B) {
		for range b.N {
			ts.MustRandn([]int64{rows, dim}, gotch.Float, gotch.CPU).MustDrop()
		}
	})
}
