package kind

import (
	"fmt"

	"github.com/dgtext/dgtext/charlm"
	"github.com/dgtext/dgtext/eval"
	"github.com/dgtext/dgtext/pipeline"
)

// openText loads a character model (dir "" is the bundled one) and its reference:
// the evaluation split of o.Corpus.
func openText(dir string, o Options) (pipeline.Kind, error) {
	if err := noCritic("text", o); err != nil {
		return nil, err
	}
	m, man, err := charlm.LoadModel(dir, o.Device)
	if err != nil {
		return nil, err
	}
	about := pipeline.About{Kind: "text", Model: dir, N: 10000, Batch: 256,
		Detail: fmt.Sprintf("%s, dim %d, vocab %d, trained %d iterations", man.Config.Preset, man.Config.Dim, man.Config.Vocab, man.Iter)}
	if dir == "" {
		about.Model = charlm.BundledName
	} else {
		about.Files = []string{dir}
	}
	opt := eval.Options{SeqLen: m.Config.SeqLen, Orders: o.Orders}
	ref, info, err := pipeline.TextReference(o.Corpus, opt, o.log())
	if err != nil {
		return nil, err
	}
	model := pipeline.Parts{Info: about, G: m, C: m, Device: o.Device}
	return pipeline.Compose(model, pipeline.NewText(m.Decode, ref, opt, info, o.Show)), nil
}
