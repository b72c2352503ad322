package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mnistDir is ../shared/data/mnist beside the repository root.
func mnistDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "data", "mnist"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("shared MNIST data missing: %v", err)
	}
	return dir
}

func TestLoadOfficialFiles(t *testing.T) {
	dir := mnistDir(t)
	for _, c := range []struct {
		split       Split
		n           int
		first, last uint8
	}{{Train, 60000, 5, 8}, {Test, 10000, 7, 6}} {
		s, err := Load(dir, c.split)
		if err != nil {
			t.Fatal(err)
		}
		im := s.Images
		if im.N != c.n || im.Rows != 28 || im.Cols != 28 || len(im.Pix) != c.n*784 || len(s.Labels) != c.n {
			t.Fatalf("%s: %d images of %d×%d, %d labels", c.split, im.N, im.Rows, im.Cols, len(s.Labels))
		}
		// The first and last labels of the official files.
		if s.Labels[0] != c.first || s.Labels[c.n-1] != c.last {
			t.Errorf("%s: labels start %d and end %d, want %d and %d", c.split, s.Labels[0], s.Labels[c.n-1], c.first, c.last)
		}
		var counts [10]int
		for _, l := range s.Labels {
			counts[l]++
		}
		for d, k := range counts {
			if k < c.n/14 { // every digit is roughly a tenth of the set
				t.Errorf("%s: digit %d appears only %d times", c.split, d, k)
			}
		}
		// Digits are drawn in the middle: the border rows are (almost) blank and the
		// centre is not.
		var border, centre int
		for i := 0; i < im.N; i++ {
			p := im.Image(i)
			border += int(p[0]) + int(p[27]) + int(p[27*28])
			centre += int(p[14*28+14])
		}
		if border != 0 || centre < 50*im.N {
			t.Errorf("%s: border sum %d, centre mean %d: pixels look misaligned", c.split, border, centre/im.N)
		}
	}
}

func idxBytes(magic uint32, dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	binary.Write(&b, binary.BigEndian, dims)
	b.Write(body)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := idxBytes(magicImages, []uint32{2, 28, 28}, make([]byte, 2*784))
	if im, err := ReadImages(write("good", good)); err != nil || im.N != 2 {
		t.Fatalf("plain IDX: %v", err)
	}
	if im, err := ReadImages(write("good.gz", gz(good))); err != nil || im.N != 2 {
		t.Fatalf("gzip IDX: %v", err)
	}
	cases := []struct {
		name string
		data []byte
		read func(string) error
		want string
	}{
		{"truncated", good[:len(good)-10], readImg, "truncated"},
		{"truncated-gz", gz(good[:len(good)-10]), readImg, "truncated"},
		{"short-header", good[:6], readImg, "header cut short"},
		{"labels-as-images", idxBytes(magicLabels, []uint32{2, 28, 28}, make([]byte, 2*784)), readImg, "magic number"},
		{"trailing", append(append([]byte{}, good...), 1, 2, 3), readImg, "continues after"},
		{"bad-label", idxBytes(magicLabels, []uint32{3}, []byte{1, 12, 3}), readLbl, "not a digit"},
		{"huge", idxBytes(magicImages, []uint32{1 << 30, 28, 28}, nil), readImg, "implausibly large"},
		{"corrupt-gz", append([]byte{0x1f, 0x8b}, make([]byte, 30)...), readImg, "gzip"},
	}
	for _, c := range cases {
		err := c.read(write(c.name, c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// Images and labels that do not belong together.
	sub := filepath.Join(dir, "mismatch")
	os.Mkdir(sub, 0o755)
	img, lbl := Train.Files()
	os.WriteFile(filepath.Join(sub, img), gz(good), 0o644)
	os.WriteFile(filepath.Join(sub, lbl), gz(idxBytes(magicLabels, []uint32{3}, []byte{1, 2, 3})), 0o644)
	if _, err := Load(sub, Train); err == nil || !strings.Contains(err.Error(), "2 images but 3 labels") {
		t.Errorf("mismatched counts: %v", err)
	}
	if _, err := ResolveDir(filepath.Join(dir, "nowhere")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing folder: %v", err)
	}
}

func readImg(p string) error { _, err := ReadImages(p); return err }
func readLbl(p string) error { _, err := ReadLabels(p); return err }
