package mnist

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The IDX format (LeCun et al., the MNIST distribution): a big-endian header of a
// magic number (two zero bytes, a type code, and the number of dimensions), one
// uint32 per dimension, then the values. MNIST uses type 0x08 (unsigned byte):
// images have magic 0x00000803 and dimensions [n, 28, 28], labels 0x00000801 and [n].
// The official files are gzip-compressed; both forms are read.

const (
	magicImages = 0x00000803
	magicLabels = 0x00000801
)

// Images holds n grey-scale images of Rows×Cols pixels, 0 (background) to 255, row
// after row.
type Images struct {
	N, Rows, Cols int
	Pix           []uint8
}

// Image returns the pixels of image i.
func (im *Images) Image(i int) []uint8 {
	s := im.Rows * im.Cols
	return im.Pix[i*s : (i+1)*s]
}

// open returns a reader of the file's IDX bytes, decompressing .gz files (recognised
// by their content, not their name).
func open(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	head, err := br.Peek(2)
	if err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: bad gzip header: %w", path, err)
		}
		return zr, f.Close, nil
	}
	return br, f.Close, nil
}

func readHeader(r io.Reader, path string, magic uint32, dims int) ([]int, error) {
	hdr := make([]uint32, 1+dims)
	if err := binary.Read(r, binary.BigEndian, hdr); err != nil {
		return nil, fmt.Errorf("%s: IDX header cut short (%v): the file is truncated or not an MNIST file", path, err)
	}
	if hdr[0] != magic {
		what := "labels"
		if magic == magicImages {
			what = "images"
		}
		return nil, fmt.Errorf("%s: magic number 0x%08x, want 0x%08x for MNIST %s: wrong file, or a corrupt download", path, hdr[0], magic, what)
	}
	out := make([]int, dims)
	for i := range out {
		if hdr[1+i] > 1<<26 {
			return nil, fmt.Errorf("%s: dimension %d is %d, implausibly large: the file is corrupt", path, i, hdr[1+i])
		}
		out[i] = int(hdr[1+i])
	}
	return out, nil
}

// readBody reads exactly n bytes and checks that nothing follows.
func readBody(r io.Reader, path string, n int) ([]uint8, error) {
	buf := make([]uint8, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("%s: the header promises %d bytes of data but the file ends early (%v): it is truncated; download it again", path, n, err)
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		return nil, fmt.Errorf("%s: data continues after the %d bytes the header promises: the file is corrupt", path, n)
	}
	return buf, nil
}

// ReadImages reads an IDX image file (plain or gzip-compressed).
func ReadImages(path string) (*Images, error) {
	r, closeFn, err := open(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	d, err := readHeader(r, path, magicImages, 3)
	if err != nil {
		return nil, err
	}
	if d[1] < 1 || d[2] < 1 {
		return nil, fmt.Errorf("%s: images of %d×%d pixels: the file is corrupt", path, d[1], d[2])
	}
	pix, err := readBody(r, path, d[0]*d[1]*d[2])
	if err != nil {
		return nil, err
	}
	return &Images{N: d[0], Rows: d[1], Cols: d[2], Pix: pix}, nil
}

// ReadLabels reads an IDX label file (plain or gzip-compressed); every label must be
// a digit 0–9.
func ReadLabels(path string) ([]uint8, error) {
	r, closeFn, err := open(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	d, err := readHeader(r, path, magicLabels, 1)
	if err != nil {
		return nil, err
	}
	labels, err := readBody(r, path, d[0])
	if err != nil {
		return nil, err
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("%s: label %d is %d, not a digit: the file is corrupt", path, i, l)
		}
	}
	return labels, nil
}

// Split is one of the two official MNIST sets.
type Split string

// The official splits: 60,000 training and 10,000 test images.
const (
	Train Split = "train"
	Test  Split = "t10k"
)

// Set is images with their labels.
type Set struct {
	Images *Images
	Labels []uint8
}

// Head returns a set of the first n images (all when n ≥ the set's size).
func (s *Set) Head(n int) *Set {
	if n >= s.Images.N {
		return s
	}
	im := *s.Images
	im.N, im.Pix = n, im.Pix[:n*im.Rows*im.Cols]
	return &Set{Images: &im, Labels: s.Labels[:n]}
}

// Files returns the official file names of a split's images and labels.
func (s Split) Files() (images, labels string) {
	return string(s) + "-images-idx3-ubyte.gz", string(s) + "-labels-idx1-ubyte.gz"
}

// Load reads one split from dir, which holds the four official files (gzip-compressed
// as published, or decompressed without the .gz).
func Load(dir string, s Split) (*Set, error) {
	imgName, lblName := s.Files()
	find := func(name string) string {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			if q := strings.TrimSuffix(p, ".gz"); fileExists(q) {
				return q
			}
		}
		return p
	}
	imgs, err := ReadImages(find(imgName))
	if err != nil {
		return nil, fmt.Errorf("MNIST %s images: %w", s, err)
	}
	labels, err := ReadLabels(find(lblName))
	if err != nil {
		return nil, fmt.Errorf("MNIST %s labels: %w", s, err)
	}
	if len(labels) != imgs.N {
		return nil, fmt.Errorf("MNIST %s: %d images but %d labels in %s: the files do not belong together", s, imgs.N, len(labels), dir)
	}
	return &Set{Images: imgs, Labels: labels}, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// ErrNoData says that no MNIST folder was found.
var ErrNoData = errors.New("MNIST files not found")

// ResolveDir finds the folder with the MNIST files: dir when given, else
// $DGTEXT_MNIST_DIR, else ../shared/data/mnist and ./data/mnist.
func ResolveDir(dir string) (string, error) {
	cands := []string{dir}
	if dir == "" {
		cands = []string{os.Getenv("DGTEXT_MNIST_DIR"), filepath.Join("..", "shared", "data", "mnist"), filepath.Join("data", "mnist")}
	}
	img, _ := Train.Files()
	for _, c := range cands {
		if c == "" {
			continue
		}
		if fileExists(filepath.Join(c, img)) || fileExists(strings.TrimSuffix(filepath.Join(c, img), ".gz")) {
			return c, nil
		}
	}
	if dir != "" {
		return "", fmt.Errorf("%w in %s: it must hold %s and the three other official IDX files", ErrNoData, dir, img)
	}
	return "", fmt.Errorf("%w: pass --data-dir (or set $DGTEXT_MNIST_DIR) to the folder with the four official IDX files, e.g. ../shared/data/mnist", ErrNoData)
}
