package data

import (
	"fmt"

	"github.com/parquet-go/parquet-go"
)

// Samples that are values rather than text (images, 2D points, vectors) carry an
// x column, list<float>, the sample flattened in row-major order; their text is "".

type sampleRowX struct {
	ID     int64     `parquet:"id"`
	Text   string    `parquet:"text"`
	Method string    `parquet:"method,dict"`
	Step   int32     `parquet:"step"`
	Seed   int64     `parquet:"seed"`
	Critic float64   `parquet:"critic"`
	X      []float32 `parquet:"x,list"`
}

type sampleRowXZ struct {
	ID     int64     `parquet:"id"`
	Text   string    `parquet:"text"`
	Method string    `parquet:"method,dict"`
	Step   int32     `parquet:"step"`
	Seed   int64     `parquet:"seed"`
	Critic float64   `parquet:"critic"`
	Z      []float32 `parquet:"z,list"`
	X      []float32 `parquet:"x,list"`
}

// newValuesOut writes samples with an x column (and z with opt.Latents).
func newValuesOut(path string, opt WriterOptions) (SampleWriter, error) {
	xdim := -1
	checkX := func(s Sample) error {
		if xdim < 0 {
			xdim = len(s.X)
		}
		if len(s.X) != xdim || len(s.X) == 0 {
			return fmt.Errorf("write %s: every sample needs the same number of values (first had %d, this one %d)", path, xdim, len(s.X))
		}
		return nil
	}
	if opt.Latents {
		return newParquetOut(path, opt, "sample/v1", func(s Sample) (sampleRowXZ, int, error) {
			r, n, err := toSampleRow(s)
			if err == nil {
				err = checkX(s)
			}
			return sampleRowXZ{r.ID, r.Text, r.Method, r.Step, r.Seed, r.Critic, s.Z, s.X}, n + 4*len(s.Z) + 4*len(s.X), err
		})
	}
	return newParquetOut(path, opt, "sample/v1", func(s Sample) (sampleRowX, int, error) {
		r, n, err := toSampleRow(s)
		if err == nil {
			err = checkX(s)
		}
		return sampleRowX{r.ID, r.Text, r.Method, r.Step, r.Seed, r.Critic, s.X}, n + 4*len(s.X), err
	})
}

// readValueRows reads a sample file that has an x column.
func readValueRows(pf *parquet.File) ([]Sample, error) {
	if leaf, ok := pf.Schema().Lookup("z", "list", "element"); ok && leaf.Node.Type().Kind() == parquet.Float {
		rows, err := readAllRows[sampleRowXZ](pf)
		if err != nil {
			return nil, err
		}
		out := make([]Sample, len(rows))
		for i, r := range rows {
			out[i] = Sample{ID: r.ID, Text: r.Text, Method: r.Method, Step: int(r.Step), Seed: r.Seed, Critic: r.Critic, Z: r.Z, X: r.X}
		}
		return out, nil
	}
	rows, err := readAllRows[sampleRowX](pf)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, len(rows))
	for i, r := range rows {
		out[i] = Sample{ID: r.ID, Text: r.Text, Method: r.Method, Step: int(r.Step), Seed: r.Seed, Critic: r.Critic, X: r.X}
	}
	return out, nil
}
