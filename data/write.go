package data

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Sample is one generated sample, as written by a SampleWriter.
type Sample struct {
	ID     int64     // sample number within the run
	Text   string    // decoded text
	Method string    // "gan", "dgflow", "ddls", "dot", ...
	Step   int       // refinement step (0 = G(z)); must fit in int32
	Seed   int64     // random seed of the run
	Critic float64   // critic output d(G(z))
	Z      []float32 // latent; written only with WriterOptions.Latents
	X      []float32 // the sample's values (an image or a vector, flattened); written only with WriterOptions.Values
}

// WriterOptions configures sample and line writers.
type WriterOptions struct {
	// Latents adds the z column (Parquet) or field (JSON Lines) to samples.
	// Every sample must then have a latent of the same length.
	Latents bool
	// Values adds the x column (Parquet) or field (JSON Lines): the samples of
	// models whose output is not text. Every sample must then have as many values.
	Values bool
	// Compression is the Parquet codec: "snappy" (default), "zstd", "gzip" or "none".
	Compression string
	// RowGroupBytes bounds the text buffered per Parquet row group (default
	// 16 MiB); it bounds the writer's memory whatever the number of rows.
	RowGroupBytes int
	// CreatedBy is the Parquet "created_by" field, by convention
	// "dgtext version V (build B)"; empty means "dgtext".
	CreatedBy string
}

// SampleWriter writes samples to a file. Nothing appears under the final name
// until Close succeeds; Abort (or a failed Close) removes the temporary file.
//
// ClosePartial is for a run that stopped early (interrupted, or stopped by an
// error): it flushes what was written and renames it to PartialPath(path), never
// to the final name, and returns that path.
type SampleWriter interface {
	Write(s Sample) error
	Close() error                  // flush and rename into place
	ClosePartial() (string, error) // flush and rename to PartialPath(path)
	Abort() error                  // remove the temporary file
}

// LineWriter writes corpus lines (one text per row or line), as "dgtext data
// convert" does. Nothing appears under the final name until Close succeeds.
type LineWriter interface {
	WriteLine(line string) error
	Close() error // flush and rename into place
	Abort() error // remove the temporary file
}

// Output formats chosen by extension.
func outputFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return formatParquet, nil
	case ".txt", ".text":
		return formatText, nil
	case ".jsonl", ".ndjson":
		return formatJSONL, nil
	}
	return "", fmt.Errorf("output %s: unknown extension; use .parquet, .txt or .jsonl", path)
}

func codecOf(name string) (compress.Codec, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return &parquet.Snappy, nil
	case "zstd":
		return &parquet.Zstd, nil
	case "gzip":
		return &parquet.Gzip, nil
	case "none", "uncompressed":
		return &parquet.Uncompressed, nil
	}
	return nil, fmt.Errorf("unknown Parquet compression %q; use snappy, zstd, gzip or none", name)
}

// CreateSampleWriter creates a sample writer for path, by extension: .parquet
// (schema in the package documentation), .txt (the text, one sample per line) or
// .jsonl. Missing parent folders are created.
func CreateSampleWriter(path string, opt WriterOptions) (SampleWriter, error) {
	format, err := outputFormat(path)
	if err != nil {
		return nil, err
	}
	if format == formatParquet {
		if opt.Values {
			return newValuesOut(path, opt)
		}
		if opt.Latents {
			return newParquetOut(path, opt, "sample/v1", func(s Sample) (sampleRowZ, int, error) {
				r, n, err := toSampleRow(s)
				return sampleRowZ{r.ID, r.Text, r.Method, r.Step, r.Seed, r.Critic, s.Z}, n + 4*len(s.Z), err
			})
		}
		return newParquetOut(path, opt, "sample/v1", toSampleRow)
	}
	a, err := createAtomic(path)
	if err != nil {
		return nil, explainWrite(err)
	}
	if format == formatText {
		if opt.Values {
			a.Abort()
			return nil, fmt.Errorf("output %s: these samples are values, not text; write .parquet or .jsonl", path)
		}
		return &textOut[Sample]{a: a, text: func(s Sample) string { return s.Text }}, nil
	}
	return &jsonlSampleOut{a: a, latents: opt.Latents, values: opt.Values, zdim: -1, xdim: -1}, nil
}

// CreateLineWriter creates a corpus writer for path, by extension: .parquet (one
// "text" column, see the package documentation), .txt or .jsonl ({"text":...}).
func CreateLineWriter(path string, opt WriterOptions) (LineWriter, error) {
	format, err := outputFormat(path)
	if err != nil {
		return nil, err
	}
	if format == formatParquet {
		w, err := newParquetOut(path, opt, "corpus/v1", func(s string) (lineRow, int, error) {
			return lineRow{s}, len(s), nil
		})
		if err != nil {
			return nil, err
		}
		return lineOut{w}, nil
	}
	a, err := createAtomic(path)
	if err != nil {
		return nil, explainWrite(err)
	}
	if format == formatText {
		return lineOut{&textOut[string]{a: a, text: func(s string) string { return s }}}, nil
	}
	return lineOut{&jsonlLineOut{a: a}}, nil
}

type lineOut struct {
	w interface {
		Write(string) error
		Close() error
		Abort() error
	}
}

func (l lineOut) WriteLine(s string) error { return l.w.Write(s) }
func (l lineOut) Close() error             { return l.w.Close() }
func (l lineOut) Abort() error             { return l.w.Abort() }

// outputError is the error for a failed write of path.
func outputError(path string, err error) error {
	return explainWrite(fmt.Errorf("write %s: %w", path, err))
}

// explainWrite adds what to do to the write errors users meet: a full disk or
// quota, a read-only file system.
func explainWrite(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w (the disk is full: free some space or write elsewhere)", err)
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (a read-only file system: write elsewhere)", err)
	}
	return err
}

// Parquet rows.
type sampleRow struct {
	ID     int64   `parquet:"id"`
	Text   string  `parquet:"text"`
	Method string  `parquet:"method,dict"`
	Step   int32   `parquet:"step"`
	Seed   int64   `parquet:"seed"`
	Critic float64 `parquet:"critic"`
}

type sampleRowZ struct {
	ID     int64     `parquet:"id"`
	Text   string    `parquet:"text"`
	Method string    `parquet:"method,dict"`
	Step   int32     `parquet:"step"`
	Seed   int64     `parquet:"seed"`
	Critic float64   `parquet:"critic"`
	Z      []float32 `parquet:"z,list"`
}

type lineRow struct {
	Text string `parquet:"text"`
}

func toSampleRow(s Sample) (sampleRow, int, error) {
	if s.Step < math.MinInt32 || s.Step > math.MaxInt32 {
		return sampleRow{}, 0, fmt.Errorf("sample %d: step %d does not fit in int32", s.ID, s.Step)
	}
	return sampleRow{s.ID, s.Text, s.Method, int32(s.Step), s.Seed, s.Critic}, len(s.Text) + len(s.Method) + 28, nil
}

// parquetOut writes rows of type R made from values of type V, flushing a row
// group whenever RowGroupBytes of data are buffered.
type parquetOut[V, R any] struct {
	a       *atomicFile
	w       *parquet.GenericWriter[R]
	conv    func(V) (R, int, error)
	buf     []R
	pending int // bytes in rows not yet in a flushed row group
	limit   int
	zdim    int
	latent  func(V) int // latent length, nil when rows have none
	err     error
}

func newParquetOut[V, R any](path string, opt WriterOptions, schema string, conv func(V) (R, int, error)) (*parquetOut[V, R], error) {
	codec, err := codecOf(opt.Compression)
	if err != nil {
		return nil, err
	}
	a, err := createAtomic(path)
	if err != nil {
		return nil, explainWrite(err)
	}
	limit := opt.RowGroupBytes
	if limit <= 0 {
		limit = 16 << 20
	}
	w := parquet.NewGenericWriter[R](a,
		parquet.Compression(codec),
		&parquet.WriterConfig{CreatedBy: cmp.Or(opt.CreatedBy, "dgtext")},
		parquet.KeyValueMetadata("dgtext.schema", schema),
		// Page-header statistics would copy the longest and smallest text of
		// every page into its header, up to four times (see
		// trimLargeStatistics for the footer's copy).
		parquet.SkipPageStatistics("text"),
	)
	p := &parquetOut[V, R]{a: a, w: w, conv: conv, buf: make([]R, 0, 1024), limit: limit, zdim: -1}
	if opt.Latents {
		p.latent = func(v V) int {
			if s, ok := any(v).(Sample); ok {
				return len(s.Z)
			}
			return 0
		}
	}
	return p, nil
}

func (p *parquetOut[V, R]) Write(v V) error {
	if p.err != nil {
		return p.err
	}
	if p.latent != nil {
		n := p.latent(v)
		if p.zdim < 0 {
			p.zdim = n
		}
		if n != p.zdim || n == 0 {
			p.err = fmt.Errorf("write %s: every sample needs a latent of the same length (first had %d values, this one %d)", p.a.final, p.zdim, n)
			return p.err
		}
	}
	row, n, err := p.conv(v)
	if err != nil {
		return err
	}
	p.buf = append(p.buf, row)
	p.pending += n
	if len(p.buf) == cap(p.buf) {
		return p.flushRows(false)
	}
	return nil
}

// flushRows hands buffered rows to parquet-go and ends the row group when it is
// large enough (or when final).
func (p *parquetOut[V, R]) flushRows(final bool) error {
	if len(p.buf) > 0 {
		if _, err := p.w.Write(p.buf); err != nil {
			p.err = outputError(p.a.final, err)
			return p.err
		}
		clear(p.buf)
		p.buf = p.buf[:0]
	}
	if p.pending >= p.limit && !final {
		if err := p.w.Flush(); err != nil {
			p.err = outputError(p.a.final, err)
			return p.err
		}
		p.pending = 0
	}
	return nil
}

func (p *parquetOut[V, R]) Close() error {
	if p.err != nil {
		p.a.Abort()
		return p.err
	}
	if err := p.flushRows(true); err != nil {
		p.a.Abort()
		return err
	}
	if err := p.w.Close(); err != nil {
		p.a.Abort()
		return outputError(p.a.final, err)
	}
	if err := p.a.buf.Flush(); err != nil {
		p.a.Abort()
		return outputError(p.a.final, err)
	}
	if err := trimLargeStatistics(p.a.f, maxStatisticsBytes); err != nil {
		p.a.Abort()
		return outputError(p.a.final, err)
	}
	return explainWrite(p.a.Commit())
}

// maxStatisticsBytes is the longest min or max value kept in the footer's
// column-chunk statistics; Arrow's writer drops statistics past 4 KiB the same
// way. Query engines use them to skip row groups; a 10 MB line as a bound
// skips nothing and would be stored twice more.
const maxStatisticsBytes = 4 << 10

// trimLargeStatistics rewrites the footer of the finished Parquet file f,
// dropping the min and max of every column chunk whose bounds exceed limit
// bytes (the null count stays). parquet-go copies the smallest and largest
// value of each chunk into the footer in full and has no option to truncate
// them, so a corpus of long lines would hold its longest lines up to three
// times. The column index (truncated to 16 bytes by parquet-go) is untouched.
func trimLargeStatistics(f *os.File, limit int) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if string(tail[4:]) != "PAR1" || footerLen > size-12 {
		return errors.New("parquet-go wrote no valid footer")
	}
	footer := make([]byte, footerLen)
	if _, err := f.ReadAt(footer, size-8-footerLen); err != nil {
		return err
	}
	var md format.FileMetaData
	var proto thrift.CompactProtocol
	if err := thrift.Unmarshal(&proto, footer, &md); err != nil {
		return fmt.Errorf("re-reading the footer: %w", err)
	}
	changed := false
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			st := &md.RowGroups[i].Columns[j].MetaData.Statistics
			if max(len(st.Min), len(st.Max), len(st.MinValue), len(st.MaxValue)) > limit {
				st.Min, st.Max, st.MinValue, st.MaxValue = nil, nil, nil, nil
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	b, err := thrift.Marshal(&proto, &md)
	if err != nil {
		return err
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(b)))
	b = append(b, "PAR1"...)
	start := size - 8 - footerLen
	if _, err := f.WriteAt(b, start); err != nil {
		return err
	}
	return f.Truncate(start + int64(len(b)))
}

func (p *parquetOut[V, R]) Abort() error { return p.a.Abort() }

// ClosePartial implements SampleWriter.
func (p *parquetOut[V, R]) ClosePartial() (string, error) { return closePartial(p.a, p.Close) }

// closePartial marks a as partial and closes its writer through closeFn.
func closePartial(a *atomicFile, closeFn func() error) (string, error) {
	a.partial = true
	return PartialPath(a.final), closeFn()
}

// textOut writes one text per line. Newlines inside a text become spaces, so
// that each value stays one line.
type textOut[V any] struct {
	a    *atomicFile
	text func(V) string
	err  error
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func (t *textOut[V]) Write(v V) error {
	if t.err != nil {
		return t.err
	}
	s := t.text(v)
	if strings.ContainsAny(s, "\r\n") {
		s = lineBreaks.Replace(s)
	}
	if _, err := t.a.WriteString(s); err != nil {
		t.err = outputError(t.a.final, err)
		return t.err
	}
	if _, err := t.a.Write([]byte{'\n'}); err != nil {
		t.err = outputError(t.a.final, err)
		return t.err
	}
	return nil
}

func (t *textOut[V]) Close() error {
	if t.err != nil {
		t.a.Abort()
		return t.err
	}
	return explainWrite(t.a.Commit())
}

func (t *textOut[V]) Abort() error { return t.a.Abort() }

// ClosePartial implements SampleWriter.
func (t *textOut[V]) ClosePartial() (string, error) { return closePartial(t.a, t.Close) }

// jsonlLineOut writes {"text":...} per line.
type jsonlLineOut struct {
	a   *atomicFile
	err error
}

func (j *jsonlLineOut) Write(s string) error {
	if j.err != nil {
		return j.err
	}
	b, err := json.Marshal(struct {
		Text string `json:"text"`
	}{s})
	if err == nil {
		_, err = j.a.Write(append(b, '\n'))
	}
	if err != nil {
		j.err = outputError(j.a.final, err)
	}
	return j.err
}

func (j *jsonlLineOut) Close() error {
	if j.err != nil {
		j.a.Abort()
		return j.err
	}
	return explainWrite(j.a.Commit())
}

func (j *jsonlLineOut) Abort() error { return j.a.Abort() }

// sampleJSON is the JSON Lines form of a sample.
type sampleJSON struct {
	ID     int64         `json:"id"`
	Text   string        `json:"text"`
	Method string        `json:"method"`
	Step   int           `json:"step"`
	Seed   int64         `json:"seed"`
	Critic jsonFloat     `json:"critic"`
	Z      []jsonFloat32 `json:"z,omitempty"`
	X      []jsonFloat32 `json:"x,omitempty"`
}

// jsonFloat writes non-finite values as null and reads null as NaN.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", truncate(string(b), 20))
	}
	*f = jsonFloat(v)
	return nil
}

type jsonFloat32 float32

func (f jsonFloat32) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(f), 'g', -1, 32), nil
}

func (f *jsonFloat32) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat32(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 32)
	if err != nil {
		return fmt.Errorf("not a number: %s", truncate(string(b), 20))
	}
	*f = jsonFloat32(v)
	return nil
}

type jsonlSampleOut struct {
	a          *atomicFile
	latents    bool
	values     bool
	zdim, xdim int
	err        error
}

func (j *jsonlSampleOut) Write(s Sample) error {
	if j.err != nil {
		return j.err
	}
	js := sampleJSON{ID: s.ID, Text: s.Text, Method: s.Method, Step: s.Step, Seed: s.Seed, Critic: jsonFloat(s.Critic)}
	if j.latents {
		if js.Z, j.err = sameLength(s.Z, &j.zdim); j.err != nil {
			j.err = fmt.Errorf("write %s: every sample needs a latent of the same length (%w)", j.a.final, j.err)
			return j.err
		}
	}
	if j.values {
		if js.X, j.err = sameLength(s.X, &j.xdim); j.err != nil {
			j.err = fmt.Errorf("write %s: every sample needs the same number of values (%w)", j.a.final, j.err)
			return j.err
		}
	}
	b, err := json.Marshal(js)
	if err == nil {
		_, err = j.a.Write(append(b, '\n'))
	}
	if err != nil {
		j.err = outputError(j.a.final, err)
	}
	return j.err
}

// sameLength converts v for JSON after checking that it is not empty and as long
// as the first vector (*dim, −1 until then).
func sameLength(v []float32, dim *int) ([]jsonFloat32, error) {
	if *dim < 0 {
		*dim = len(v)
	}
	if len(v) != *dim || len(v) == 0 {
		return nil, fmt.Errorf("first had %d values, this one %d", *dim, len(v))
	}
	out := make([]jsonFloat32, len(v))
	for i, x := range v {
		out[i] = jsonFloat32(x)
	}
	return out, nil
}

func (j *jsonlSampleOut) Close() error {
	if j.err != nil {
		j.a.Abort()
		return j.err
	}
	return explainWrite(j.a.Commit())
}

func (j *jsonlSampleOut) Abort() error { return j.a.Abort() }

// ClosePartial implements SampleWriter.
func (j *jsonlSampleOut) ClosePartial() (string, error) { return closePartial(j.a, j.Close) }

// ReadSamples reads samples written by a SampleWriter: .parquet (the sample
// schema; the z column is optional), .jsonl, or .txt (texts only, numbered from 0).
func ReadSamples(path string) ([]Sample, error) {
	format, err := outputFormat(path)
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	var out []Sample
	switch format {
	case formatParquet:
		out, err = readSamplesParquet(path)
	case formatJSONL:
		out, err = readSamplesJSONL(path)
	default:
		lines, _, err := ReadLines([]string{path}, ReadOptions{})
		if err != nil {
			return nil, fmt.Errorf("read samples: %w", err)
		}
		for i, l := range lines {
			out = append(out, Sample{ID: int64(i), Text: l})
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read samples %s: %w", path, err)
	}
	return out, nil
}

func readSamplesJSONL(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Sample
	err = forEachRawLine(f, true, func(lineNo int64, line []byte) error {
		if len(strings.TrimSpace(string(line))) == 0 {
			return nil
		}
		var js sampleJSON
		dec := json.NewDecoder(strings.NewReader(string(line)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&js); err != nil {
			return fmt.Errorf("line %d: not a sample object: %v", lineNo, err)
		}
		s := Sample{ID: js.ID, Text: js.Text, Method: js.Method, Step: js.Step, Seed: js.Seed, Critic: float64(js.Critic)}
		if js.Z != nil {
			s.Z = make([]float32, len(js.Z))
			for i, v := range js.Z {
				s.Z[i] = float32(v)
			}
		}
		if js.X != nil {
			s.X = make([]float32, len(js.X))
			for i, v := range js.X {
				s.X[i] = float32(v)
			}
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func readSamplesParquet(path string) (out []Sample, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := openParquet(f, info.Size())
	if err != nil {
		return nil, err
	}
	// parquet-go may panic on odd schemas or pages: those are corrupt files.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, corruptParquet(fmt.Errorf("%v", r))
		}
	}()
	want := []struct {
		name string
		kind parquet.Kind
	}{{"id", parquet.Int64}, {"text", parquet.ByteArray}, {"method", parquet.ByteArray},
		{"step", parquet.Int32}, {"seed", parquet.Int64}, {"critic", parquet.Double}}
	for _, w := range want {
		name, kind := w.name, w.kind
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return nil, fmt.Errorf("not a dgtext sample file: no column %q (columns: %s)", name, parquetColumns(pf.Schema()))
		}
		if k := leaf.Node.Type().Kind(); k != kind || leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("not a dgtext sample file: column %q has type %s, want %s", name, k, kind)
		}
	}
	if leaf, ok := pf.Schema().Lookup("x", "list", "element"); ok && leaf.Node.Type().Kind() == parquet.Float {
		return readValueRows(pf)
	}
	if leaf, ok := pf.Schema().Lookup("z", "list", "element"); ok && leaf.Node.Type().Kind() == parquet.Float {
		rows, err := readAllRows[sampleRowZ](pf)
		if err != nil {
			return nil, err
		}
		out = make([]Sample, len(rows))
		for i, r := range rows {
			out[i] = Sample{ID: r.ID, Text: r.Text, Method: r.Method, Step: int(r.Step), Seed: r.Seed, Critic: r.Critic, Z: r.Z}
		}
		return out, nil
	}
	rows, err := readAllRows[sampleRow](pf)
	if err != nil {
		return nil, err
	}
	out = make([]Sample, len(rows))
	for i, r := range rows {
		out[i] = Sample{ID: r.ID, Text: r.Text, Method: r.Method, Step: int(r.Step), Seed: r.Seed, Critic: r.Critic}
	}
	return out, nil
}

func readAllRows[R any](pf *parquet.File) ([]R, error) {
	r := parquet.NewGenericReader[R](pf)
	defer r.Close()
	var out []R
	buf := make([]R, 256)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, corruptParquet(err)
		}
		if n == 0 {
			return nil, corruptParquet(errors.New("reader made no progress"))
		}
	}
}
