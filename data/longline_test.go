package data

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// longLine returns n bytes of text that compress poorly, so file sizes show
// what the writer adds around the data.
func longLine(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// Issue 11 item 3: lines of 1 MB and 10 MB survive text -> Parquet -> text byte
// for byte, and the Parquet file is about the size of its text (the writer put
// every line into page-header statistics up to four times, and dgtext's own
// page-header check gave up on headers over 1 MiB).
func TestParquetLongLinesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{1 << 20, 10 << 20} {
		lines := []string{"short first line", longLine(size, uint64(size)), "a line after it", longLine(size/3, 7), "zz last"}
		var text strings.Builder
		for _, l := range lines {
			text.WriteString(l + "\n")
		}
		for _, comp := range []string{"none", "snappy"} {
			src := filepath.Join(dir, "in.txt")
			writeFile(t, src, []byte(text.String()))
			pq := filepath.Join(dir, comp+".parquet")
			w, err := CreateLineWriter(pq, WriterOptions{Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ForEachLine([]string{src}, ReadOptions{}, w.WriteLine); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(pq)
			if err != nil {
				t.Fatal(err)
			}
			// Uncompressed, the file holds the text once plus a few KiB of
			// structure; compressed, it is smaller still.
			if limit := int64(text.Len()) + 64<<10; info.Size() > limit {
				t.Errorf("%d-byte line, %s: Parquet file is %d bytes for %d bytes of text (limit %d)", size, comp, info.Size(), text.Len(), limit)
			}
			back := filepath.Join(dir, "back.txt")
			w2, err := CreateLineWriter(back, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ForEachLine([]string{pq}, ReadOptions{}, w2.WriteLine); err != nil {
				t.Fatalf("%d-byte line, %s: reading dgtext's own Parquet back: %v", size, comp, err)
			}
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(back)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != text.String() {
				t.Fatalf("%d-byte line, %s: round trip changed the text (%d bytes back, %d written)", size, comp, len(got), text.Len())
			}
		}
	}
}

// Other writers (parquet-go with its defaults, older Arrow and parquet-mr) copy
// long values into page-header statistics; such headers are several MiB and
// must still be read.
func TestParquetReadsLargePageHeaders(t *testing.T) {
	type row struct {
		Text string `parquet:"text"`
	}
	long := longLine(3<<20, 3)
	rows := []row{{"a"}, {long}, {"b"}}
	path := filepath.Join(t.TempDir(), "big-headers.parquet")
	if err := parquet.WriteFile(path, rows, parquet.DataPageStatistics(true)); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Size() < 2*int64(len(long)) {
		t.Fatalf("fixture has %d bytes; it should carry the long value in its page statistics", info.Size())
	}
	lines, _, err := ReadLines([]string{path}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0] != "a" || lines[1] != long || lines[2] != "b" {
		t.Fatalf("got %d lines", len(lines))
	}
}
