package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/dgtext/dgtext/refine"
)

// Report is what a run measured: the figures of every saved step, and what it wrote.
// --json prints it as it is.
type Report struct {
	Kind      string            `json:"kind"`
	Model     string            `json:"model"`
	Critic    string            `json:"critic,omitempty"`
	Method    string            `json:"method"`
	N         int64             `json:"n"` // samples asked for
	Seed      int64             `json:"seed"`
	Batch     int               `json:"batch"`
	Device    string            `json:"device"`
	Params    map[string]any    `json:"params"`
	Reference string            `json:"reference,omitempty"`
	RefSize   int64             `json:"reference_size,omitempty"`
	Note      string            `json:"note,omitempty"`
	Auto      *refine.AutoTrace `json:"auto,omitempty"`
	Columns   []string          `json:"columns"`
	Steps     []StepRow         `json:"steps"`
	Out       string            `json:"out"`
	// Complete is false when the run was interrupted or stopped by the NaN guard;
	// Done samples were then refined to the end and written to Out.
	Complete bool        `json:"complete"`
	Done     int64       `json:"done"`
	Plot     string      `json:"plot,omitempty"`
	Seconds  float64     `json:"seconds"`
	Examples [][2]string `json:"examples,omitempty"`

	columns []Column
	hint    string
}

// StepRow is one saved step: its figures and the mean critic logit of its samples.
type StepRow struct {
	Step       int                `json:"step"`
	Scores     map[string]float64 `json:"scores,omitempty"`
	CriticMean float64            `json:"critic_mean"`
	N          int64              `json:"n"`
}

// Base and Last return the first and the last saved step (zero rows when none).
func (r *Report) Base() StepRow { return r.step(0) }

// Last returns the last saved step.
func (r *Report) Last() StepRow { return r.step(len(r.Steps) - 1) }

func (r *Report) step(i int) StepRow {
	if i < 0 || i >= len(r.Steps) {
		return StepRow{}
	}
	return r.Steps[i]
}

// Format prints a step's figure as its column does ("-" when it is missing).
func (r *Report) Format(s StepRow, column string) string {
	v, ok := s.Scores[column]
	if !ok {
		return "-"
	}
	for _, c := range r.columns {
		if c.Name == column && c.Format != nil {
			return c.Format(v)
		}
	}
	return fmt.Sprintf("%.4f", v)
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints the report as a table: a header line (method, samples, seed,
// model), one row per saved step with a column per figure and the mean critic
// logit, then the example pairs and the hint. (What the figures compare against
// is logged when it is loaded, and is in the JSON.)
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%s, %d samples, seed %d, model %s", r.Method, r.N, r.Seed, r.Model)
	if r.Critic != "" {
		fmt.Fprintf(w, ", critic %s", r.Critic)
	}
	fmt.Fprintln(w)
	widths := make([]int, len(r.Columns))
	for i, c := range r.Columns {
		widths[i] = max(len(c), 8)
	}
	fmt.Fprintf(w, "%6s", "step")
	for i, c := range r.Columns {
		fmt.Fprintf(w, "  %*s", widths[i], c)
	}
	fmt.Fprintf(w, "  %12s\n", "critic mean")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%6d", s.Step)
		for i, c := range r.Columns {
			fmt.Fprintf(w, "  %*s", widths[i], r.Format(s, c))
		}
		fmt.Fprintf(w, "  %12.4f\n", s.CriticMean)
	}
	if len(r.Examples) > 0 {
		fmt.Fprintln(w, "\nrandom samples, base → refined:")
		for _, e := range r.Examples {
			fmt.Fprintf(w, "  %-34q → %q\n", e[0], e[1])
		}
	}
	if r.hint != "" {
		fmt.Fprintln(w, strings.TrimSpace(r.hint))
	}
}
