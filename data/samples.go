package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// IsSampleFile tells whether path holds samples written by a SampleWriter in a
// format that records their step: Parquet with the sample schema's id, text,
// method and step columns, or JSON Lines whose first object has those fields.
// Plain text, corpora and unreadable files are not sample files (reading them
// reports their errors).
func IsSampleFile(path string) bool {
	switch format, err := outputFormat(path); {
	case err != nil:
		return false
	case format == formatParquet:
		return isSampleParquet(path)
	case format == formatJSONL:
		return isSampleJSONL(path)
	}
	return false
}

// openRegular opens path if it is a regular file (a FIFO would block the sniffing).
func openRegular(path string) (*os.File, int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, false
	}
	return f, info.Size(), true
}

func isSampleParquet(path string) (ok bool) {
	f, size, ok := openRegular(path)
	if !ok {
		return false
	}
	defer f.Close()
	pf, err := openParquet(f, size)
	if err != nil {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	for name, kind := range map[string]parquet.Kind{"id": parquet.Int64, "text": parquet.ByteArray, "method": parquet.ByteArray, "step": parquet.Int32} {
		leaf, found := pf.Schema().Lookup(name)
		if !found || leaf.Node.Type().Kind() != kind || leaf.MaxRepetitionLevel > 0 {
			return false
		}
	}
	return true
}

func isSampleJSONL(path string) bool {
	f, _, ok := openRegular(path)
	if !ok {
		return false
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var obj map[string]json.RawMessage
			if json.Unmarshal(line, &obj) != nil {
				return false
			}
			for _, k := range []string{"id", "text", "method", "step"} {
				if _, ok := obj[k]; !ok {
					return false
				}
			}
			return true
		}
		if err != nil {
			return false
		}
	}
}

// SampleSteps returns the distinct steps of samples, ascending.
func SampleSteps(samples []Sample) []int {
	seen := map[int]bool{}
	var steps []int
	for _, s := range samples {
		if !seen[s.Step] {
			seen[s.Step] = true
			steps = append(steps, s.Step)
		}
	}
	slices.Sort(steps)
	return steps
}
