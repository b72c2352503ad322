package data

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// openParquet opens a Parquet file's footer. parquet-go may panic on some
// corrupt inputs; the panic becomes an error here.
func openParquet(r io.ReaderAt, size int64) (f *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, corruptParquet(fmt.Errorf("%v", p))
		}
	}()
	if size < 12 {
		return nil, fmt.Errorf("not a Parquet file: only %d bytes (a Parquet file has at least 12)", size)
	}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, err
	}
	if string(magic[:]) != "PAR1" {
		return nil, fmt.Errorf("not a Parquet file: it does not start with \"PAR1\" (starts with %q)", magic[:])
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, err
	}
	if string(tail[4:]) != "PAR1" {
		return nil, errors.New("truncated or corrupt Parquet file: it does not end with \"PAR1\" (was it cut short while copying?)")
	}
	if footer := int64(binary.LittleEndian.Uint32(tail[:4])); footer > size-12 {
		return nil, fmt.Errorf("truncated or corrupt Parquet file: its footer claims %d bytes but the file has %d", footer, size)
	}
	f, err = parquet.OpenFile(r, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(256<<10),
	)
	if err != nil {
		return nil, corruptParquet(err)
	}
	if err := checkParquetLayout(f, size); err != nil {
		return nil, err
	}
	for i, rg := range f.Metadata().RowGroups {
		for j := range rg.Columns {
			if err := checkChunkPages(r, &rg.Columns[j].MetaData); err != nil {
				return nil, corruptParquet(fmt.Errorf("row group %d column %d: %v", i, j, err))
			}
		}
	}
	return f, nil
}

// Limits on what one page may claim. Real writers make pages of about 1 MiB
// (parquet-go 256 KiB, Arrow and Spark 1 MiB); parquet-go allocates whatever a
// page header claims, so a damaged header could otherwise ask for gigabytes.
const (
	maxPageBytes  = 256 << 20
	maxPageValues = 1 << 26
)

// checkChunkPages walks the page headers of a column chunk and rejects sizes
// and counts that cannot be right: a page running past its chunk, or claiming
// more than maxPageBytes or maxPageValues. It reads only the headers.
//
// A header is usually a few dozen bytes, but writers that copy long values into
// page statistics (parquet-go's defaults, older Arrow and parquet-mr) make
// headers of several MiB. The header buffer grows until the header decodes, up
// to what is left of the chunk, so memory stays bounded by the file's own size;
// fields are decoded from that buffer, never allocated from what they declare.
func checkChunkPages(r io.ReaderAt, m *format.ColumnMetaData) error {
	start := m.DataPageOffset
	if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
		start = m.DictionaryPageOffset
	}
	end := start + m.TotalCompressedSize
	var proto thrift.CompactProtocol
	buf := make([]byte, 4<<10)
	for off := start; off < end; {
		n := int(min(int64(len(buf)), end-off))
		if got, err := r.ReadAt(buf[:n], off); got < n {
			return fmt.Errorf("reading page header at offset %d: %v", off, err)
		}
		var h format.PageHeader
		pr := proto.NewReaderFromBytes(buf[:n])
		if err := thrift.NewDecoder(pr).Decode(&h); err != nil {
			if n == len(buf) && int64(n) < end-off && len(buf) < maxPageBytes && isShortRead(err) {
				buf = make([]byte, min(4*int64(len(buf)), end-off, maxPageBytes))
				continue
			}
			return fmt.Errorf("bad page header at offset %d: %v", off, err)
		}
		body := end - off - int64(pr.BytesRead())
		var values int32
		switch {
		case h.DataPageHeader.Valid:
			values = h.DataPageHeader.V.NumValues
		case h.DataPageHeaderV2.Valid:
			values = h.DataPageHeaderV2.V.NumValues
			v2 := h.DataPageHeaderV2.V
			if v2.NumNulls < 0 || v2.NumRows < 0 || v2.RepetitionLevelsByteLength < 0 || v2.DefinitionLevelsByteLength < 0 ||
				int64(v2.RepetitionLevelsByteLength)+int64(v2.DefinitionLevelsByteLength) > int64(h.CompressedPageSize) {
				return fmt.Errorf("page at offset %d has inconsistent level sizes", off)
			}
		case h.DictionaryPageHeader.Valid:
			values = h.DictionaryPageHeader.V.NumValues
		}
		switch {
		case h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > body:
			return fmt.Errorf("page at offset %d claims %d bytes, its column chunk has %d left", off, h.CompressedPageSize, body)
		case h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes:
			return fmt.Errorf("page at offset %d claims %d bytes uncompressed (limit %d MiB)", off, h.UncompressedPageSize, maxPageBytes>>20)
		case values < 0 || values > maxPageValues:
			return fmt.Errorf("page at offset %d claims %d values (limit %d)", off, values, maxPageValues)
		}
		off += int64(pr.BytesRead()) + int64(h.CompressedPageSize)
	}
	return nil
}

// isShortRead tells whether a thrift decoding error means the header ran past
// the bytes it was given.
func isShortRead(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func corruptParquet(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // the read was interrupted; the file is fine
	}
	return fmt.Errorf("corrupt or truncated Parquet file: %v", err)
}

// checkParquetLayout rejects footers whose column chunks point outside the file,
// before any page is read (a damaged footer would otherwise ask for huge reads).
func checkParquetLayout(f *parquet.File, size int64) error {
	md := f.Metadata()
	if md.NumRows < 0 {
		return corruptParquet(fmt.Errorf("negative row count %d", md.NumRows))
	}
	for i, rg := range md.RowGroups {
		if rg.NumRows < 0 {
			return corruptParquet(fmt.Errorf("row group %d has a negative row count", i))
		}
		for j, cc := range rg.Columns {
			m := cc.MetaData
			start := m.DataPageOffset
			if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
				start = m.DictionaryPageOffset
			}
			if start < 0 || m.TotalCompressedSize < 0 || start > size || m.TotalCompressedSize > size-start {
				return corruptParquet(fmt.Errorf("row group %d column %d lies outside the file (offset %d, %d bytes, file %d bytes)", i, j, start, m.TotalCompressedSize, size))
			}
		}
	}
	return nil
}

// parquetColumns lists the leaf columns of a schema as dotted paths.
func parquetColumns(s *parquet.Schema) string {
	cols := s.Columns()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = strings.Join(c, ".")
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// lookupTextColumn finds the string column named column (dots for nesting).
// parquet-go may panic on odd schemas (a MAP-typed leaf, say); that is an error.
func lookupTextColumn(f *parquet.File, column string) (leaf parquet.LeafColumn, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corruptParquet(fmt.Errorf("unusable schema: %v", p))
		}
	}()
	s := f.Schema()
	leaf, ok := s.Lookup(strings.Split(column, ".")...)
	if !ok || leaf.Node == nil {
		return leaf, fmt.Errorf("no column %q; the file has columns: %s (choose one with --column)", column, parquetColumns(s))
	}
	if k := leaf.Node.Type().Kind(); k != parquet.ByteArray {
		return leaf, fmt.Errorf("column %q has type %s, not a string; choose a string column with --column (columns: %s)", column, k, parquetColumns(s))
	}
	if leaf.MaxRepetitionLevel > 0 {
		return leaf, fmt.Errorf("column %q is a list; choose a column with one string per row (columns: %s)", column, parquetColumns(s))
	}
	return leaf, nil
}

// parquetLines iterates the values of one string column, a page at a time.
// Everything that touches parquet-go runs under recover, and the user's callback
// never does, so a panic in the callback is not mistaken for a corrupt file.
type parquetLines struct {
	f      *parquet.File
	col    int
	rg     int
	pages  parquet.Pages
	values []parquet.Value
	batch  []string // lines of the current page; nulls are counted separately
}

// next fills batch with the next page's lines and returns the page's null
// count; io.EOF at the end.
func (p *parquetLines) next() (nulls int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			nulls, err = 0, corruptParquet(fmt.Errorf("%v", r))
		}
	}()
	p.batch = p.batch[:0]
	for {
		if p.pages == nil {
			groups := p.f.RowGroups()
			if p.rg >= len(groups) {
				return 0, io.EOF
			}
			p.pages = groups[p.rg].ColumnChunks()[p.col].Pages()
			p.rg++
		}
		page, err := p.pages.ReadPage()
		if err == io.EOF {
			p.pages.Close()
			p.pages = nil
			continue
		}
		if err != nil {
			return 0, corruptParquet(err)
		}
		nulls, err := p.readPage(page)
		parquet.Release(page)
		return nulls, err
	}
}

func (p *parquetLines) readPage(page parquet.Page) (nulls int64, err error) {
	vr := page.Values()
	for {
		n, err := vr.ReadValues(p.values)
		for _, v := range p.values[:n] {
			if v.IsNull() {
				nulls++
				continue
			}
			p.batch = append(p.batch, string(v.ByteArray()))
		}
		if err == io.EOF {
			return nulls, nil
		}
		if err != nil {
			return nulls, corruptParquet(err)
		}
		if n == 0 {
			return nulls, corruptParquet(errors.New("page reader made no progress"))
		}
	}
}

func (p *parquetLines) close() {
	defer func() { recover() }()
	if p.pages != nil {
		p.pages.Close()
	}
}

// readParquet streams the string column of a Parquet file into the sink.
func readParquet(r io.ReaderAt, size int64, column string, sink *lineSink) error {
	f, err := openParquet(r, size)
	if err != nil {
		return err
	}
	leaf, err := lookupTextColumn(f, column)
	if err != nil {
		return err
	}
	it := &parquetLines{f: f, col: leaf.ColumnIndex, values: make([]parquet.Value, 1024)}
	defer it.close()
	for {
		nulls, err := it.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for i := int64(0); i < nulls; i++ {
			sink.null()
		}
		for _, line := range it.batch {
			if err := sink.emit(line); err != nil {
				return err
			}
		}
	}
}
