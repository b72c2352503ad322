package pipeline

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/dgtext/dgtext/data"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/refine"
)

// Text is the Output of models whose samples are character distributions
// [B, L, V]: decoded to lines, written as text rows, scored with n-gram JS against
// a reference corpus at every saved step, plotted as JS and critic score against step.
type Text struct {
	decode   func(x *ts.Tensor) []string
	ref      *eval.Stats
	opt      eval.Options
	orders   []int
	info     Reference
	show     int
	counters map[int]*eval.Counter
	picker   *examplePicker
	last     int
}

// NewText returns the text Output. decode turns a batch of samples into lines (for
// example ArgmaxDecoder); ref is the reference's n-gram statistics, counted with opt
// (nil: no JS, only critic scores); info describes it; show is the number of random
// base → refined pairs to report.
func NewText(decode func(x *ts.Tensor) []string, ref *eval.Stats, opt eval.Options, info Reference, show int) *Text {
	orders := slices.Clone(opt.Orders)
	if len(orders) == 0 {
		orders = eval.DefaultOrders
	}
	return &Text{decode: decode, ref: ref, opt: opt, orders: orders, info: info, show: show, counters: map[int]*eval.Counter{}}
}

// ArgmaxDecoder decodes samples [B, L, V] by taking the most likely character of the
// charmap at each position and removing the trailing padding.
func ArgmaxDecoder(cm *data.Charmap) func(x *ts.Tensor) []string {
	return func(x *ts.Tensor) []string {
		idx := x.MustArgmax([]int64{2}, false, false).MustTo(gotch.CPU, true)
		defer idx.MustDrop()
		shape := idx.MustSize()
		flat := idx.Int64Values()
		l := int(shape[1])
		out := make([]string, shape[0])
		row := make([]int, l)
		for b := range out {
			for j := range row {
				row[j] = int(flat[b*l+j])
			}
			out[b] = data.TrimPad(cm.Decode(row))
		}
		return out
	}
}

// Reference implements Output.
func (t *Text) Reference() Reference { return t.info }

// Columns implements Output: JS-n for every order, when there is a reference.
func (t *Text) Columns() []Column {
	if t.ref == nil {
		return nil
	}
	var cols []Column
	for _, o := range t.orders {
		cols = append(cols, Column{Name: "JS-" + strconv.Itoa(o)})
	}
	return cols
}

// Begin implements Output.
func (t *Text) Begin(r RunInfo) error {
	t.picker = newExamplePicker(t.show, r.N, r.Seed)
	t.last = r.Steps
	return nil
}

// Rows implements Output.
func (t *Text) Rows(s refine.Saved) ([]Sample, error) {
	texts := t.decode(s.X)
	c := t.counters[s.Step]
	if c == nil && t.ref != nil {
		var err error
		if c, err = eval.NewCounter(t.opt); err != nil {
			return nil, err
		}
		t.counters[s.Step] = c
	}
	rows := make([]Sample, len(texts))
	for i, line := range texts {
		rows[i].Text = line
		if c != nil {
			c.Add(line)
		}
		t.picker.offer(s.First+int64(i), s.Step, t.last, line)
	}
	return rows, nil
}

// Score implements Output.
func (t *Text) Score(step int) (map[string]float64, error) {
	c := t.counters[step]
	if c == nil {
		return nil, nil
	}
	js, err := eval.JSAll(c.Stats(), t.ref)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for o, v := range js {
		out["JS-"+strconv.Itoa(o)] = v
	}
	return out, nil
}

// Plot implements Output: JS-n against step (when there is JS) beside the mean critic score.
func (t *Text) Plot(path string, rep *Report) error {
	return PlotSteps(path, rep, "n-gram JS", "JS divergence (bits)")
}

// Examples implements Exampler.
func (t *Text) Examples() [][2]string { return t.picker.pairs() }

// Corpus says where a text reference comes from: the evaluation split of a corpus,
// as the --corpus, --data-dir, --split, --eval-files and --column flags give it.
type Corpus struct {
	Name    string // "billion-words", or a file, folder or glob
	Options data.CorpusOptions
	Read    data.ReadOptions
	NoCache bool // neither read nor write the statistics cache
	// Given is true when the user chose the corpus. Then a corpus that is there
	// but cannot be used is an error; otherwise it is a note and the run goes on
	// with critic scores only. A billion-words corpus that is not installed is
	// always a note, with how to get it.
	Given bool
}

// TextReference counts (or reads from the cache) the n-gram statistics of the
// corpus's evaluation split. Without the billion-words corpus it returns nil
// statistics and a Reference whose Note lists the places looked and whose Hint
// gives the download command (data.CorpusNotFoundError).
func TextReference(c Corpus, opt eval.Options, log io.Writer) (*eval.Stats, Reference, error) {
	corpus, err := data.ResolveCorpus(c.Name, c.Options)
	var files []string
	if err == nil {
		files, err = corpus.EvalFiles()
	}
	if err != nil {
		name := c.Name
		if name == "" {
			name = data.BillionWords
		}
		var missing *data.CorpusNotFoundError
		if errors.As(err, &missing) {
			return nil, Reference{Note: "JS not computed: " + missing.Error(), Hint: "JS not computed: " + missing.Hint()}, nil
		}
		if c.Given {
			return nil, Reference{}, fmt.Errorf("--corpus %s: %w", name, err)
		}
		return nil, Reference{
			Note: "JS not computed: " + err.Error(),
			Hint: "JS not computed: no usable evaluation corpus; pass --corpus PATH (or --data-dir and --eval-files for billion-words)",
		}, nil
	}
	ref, info, err := eval.Reference(files, opt, eval.ReferenceOptions{Read: c.Read, NoCache: c.NoCache})
	if err != nil {
		if c.Given {
			return nil, Reference{}, fmt.Errorf("--corpus %s: %w", c.Name, err)
		}
		return nil, Reference{Note: "JS not computed: " + err.Error(), Hint: "JS not computed: the evaluation corpus could not be read (see the note above)"}, nil
	}
	how := "counted"
	if info.Cached {
		how = "from cache"
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	desc := strings.Join(names, ", ")
	fmt.Fprintf(log, "refine: reference %s: %d lines (%s)\n", desc, ref.Lines(), how)
	return ref, Reference{Desc: desc, Size: ref.Lines(), Files: info.Files}, nil
}

// examplePicker keeps the base and final text of a few samples chosen at random
// (by id, before any text is seen), so the pairs shown are not cherry-picked.
type examplePicker struct {
	ids  map[int64]int
	base []string
	last []string
}

func newExamplePicker(k int, n int64, seed int64) *examplePicker {
	p := &examplePicker{ids: map[int64]int{}}
	if k <= 0 || n <= 0 {
		return p
	}
	k = int(min(int64(k), n))
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for len(p.ids) < k {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		id := int64(x % uint64(n))
		if _, ok := p.ids[id]; !ok {
			p.ids[id] = len(p.ids)
		}
	}
	p.base = make([]string, k)
	p.last = make([]string, k)
	return p
}

func (p *examplePicker) offer(id int64, step, lastStep int, text string) {
	i, ok := p.ids[id]
	if !ok {
		return
	}
	if step == 0 {
		p.base[i] = text
	}
	if step == lastStep {
		p.last[i] = text
	}
}

func (p *examplePicker) pairs() [][2]string {
	var out [][2]string
	for i := range p.base {
		out = append(out, [2]string{p.base[i], p.last[i]})
	}
	return out
}
