package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A README section under check is delimited by two HTML comments, invisible on
// GitHub, naming the check:
//
//	<!-- readme-check demo -->
//	```console
//	$ make demo
//	...what it prints...
//	```
//	<!-- /readme-check demo -->
//
// Each check (see checks) says which command its section must show, how to run
// it, and how to read figures from the section and from the command's output.
var (
	openRe  = regexp.MustCompile(`<!-- readme-check ([a-z0-9-]+) -->`)
	closeRe = regexp.MustCompile(`<!-- /readme-check ([a-z0-9-]+) -->`)
	fenceRe = regexp.MustCompile("(?m)^```([a-z]*)\n((?s:.*?))^```\n")
)

// section is the text between a check's markers.
type section struct {
	id         string
	body       string
	start, end int // byte offsets of body in the README
	line       int // line of the opening marker
}

// parseSections finds every marked section. Markers must pair up, in order,
// and each id may appear once.
func parseSections(readme string) (map[string]*section, error) {
	out := map[string]*section{}
	opens := openRe.FindAllStringSubmatchIndex(readme, -1)
	closes := closeRe.FindAllStringSubmatchIndex(readme, -1)
	if len(opens) != len(closes) {
		return nil, fmt.Errorf("%d opening and %d closing readme-check markers: each <!-- readme-check ID --> needs its <!-- /readme-check ID -->", len(opens), len(closes))
	}
	prevEnd := 0
	for i, o := range opens {
		c := closes[i]
		id, cid := readme[o[2]:o[3]], readme[c[2]:c[3]]
		line := strings.Count(readme[:o[0]], "\n") + 1
		if id != cid || c[0] < o[1] || o[0] < prevEnd {
			return nil, fmt.Errorf("line %d: readme-check marker %q is closed by %q; sections must not nest or cross", line, id, cid)
		}
		if out[id] != nil {
			return nil, fmt.Errorf("line %d: readme-check section %q appears twice", line, id)
		}
		out[id] = &section{id: id, body: readme[o[1]:c[0]], start: o[1], end: c[0], line: line}
		prevEnd = c[1]
	}
	return out, nil
}

// codeBlock is one fenced block of a section.
type codeBlock struct {
	info, text string
	start, end int // offsets of text within the section body
}

func (s *section) blocks() []codeBlock {
	var out []codeBlock
	for _, m := range fenceRe.FindAllStringSubmatchIndex(s.body, -1) {
		out = append(out, codeBlock{info: s.body[m[2]:m[3]], text: s.body[m[4]:m[5]], start: m[4], end: m[5]})
	}
	return out
}

// consoleBlock returns the section's one console block, split into the command
// (its first line, after "$ ") and what follows it.
func (s *section) consoleBlock() (cmd, output string, b codeBlock, err error) {
	var found []codeBlock
	for _, b := range s.blocks() {
		if b.info == "console" || b.info == "" || b.info == "text" {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		return "", "", b, fmt.Errorf("section %q (line %d) should hold one console block (```console, first line \"$ COMMAND\"), found %d", s.id, s.line, len(found))
	}
	b = found[0]
	first, rest, _ := strings.Cut(b.text, "\n")
	cmd, ok := strings.CutPrefix(first, "$ ")
	if !ok {
		return "", "", b, fmt.Errorf("section %q (line %d): the console block must start with \"$ COMMAND\", not %q", s.id, s.line, first)
	}
	return cmd, rest, b, nil
}

// figure is one value the README states: a key that names it, the value as
// written, and the class that says how it is compared.
type figure struct {
	key, value string
	class      class
}

// class says how a README figure is compared with the figure printed now.
type class struct {
	name string
	// ok tells whether the printed value passes against the README's.
	ok func(readme, now string) bool
	// compared is false for figures that are noted, not compared (set-up).
	compared bool
}

// The classes and their tolerances. README.md states the same tolerances in
// words ("Which figures are exact where"); TestREADMEStatesTolerances keeps the two in step.
const (
	jsTolerance     = 0.005 // demo JS-4/JS-6: the largest difference seen across CPUs was 0.0017
	criticTolerance = 0.05  // demo mean critic score
	timingFactor    = 10.0  // timings and error magnitudes: within 10x either way
)

var (
	exact = class{name: "exact", compared: true, ok: func(r, n string) bool { return r == n }}
	// exactDecimals compares a number at the precision the README prints it with.
	exactDecimals = class{name: "exact", compared: true, ok: func(r, n string) bool {
		v, err := strconv.ParseFloat(n, 64)
		return err == nil && r == strconv.FormatFloat(v, 'f', decimals(r), 64)
	}}
	jsClass       = within("JS (±0.005)", jsTolerance)
	criticClass   = within("critic (±0.05)", criticTolerance)
	timingClass   = ratio("timing (×10)", timingFactor, 5)
	magnitude     = ratio("magnitude (×10)", timingFactor, 0)
	setup         = class{name: "set-up (not compared)"}
	machineText   = class{name: "sample text (not compared)"}
	numberPattern = `-?[0-9]+(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?`
)

// decimals counts the digits after the point in a number as written.
func decimals(s string) int {
	_, frac, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	return len(frac)
}

func within(name string, tol float64) class {
	return class{name: name, compared: true, ok: func(r, n string) bool {
		a, err1 := strconv.ParseFloat(r, 64)
		b, err2 := strconv.ParseFloat(n, 64)
		return err1 == nil && err2 == nil && math.Abs(a-b) <= tol+1e-12
	}}
}

// ratio passes values within factor of each other, or within slack absolutely.
func ratio(name string, factor, slack float64) class {
	return class{name: name, compared: true, ok: func(r, n string) bool {
		a, err1 := strconv.ParseFloat(r, 64)
		b, err2 := strconv.ParseFloat(n, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if math.Abs(a-b) <= slack {
			return true
		}
		return a > 0 && b > 0 && b <= a*factor && a <= b*factor
	}}
}

// check is one README section and the command behind it.
type check struct {
	id      string
	command string // the command the section must show, exactly
	// figures reads the figures from the section (readme = true) or from the
	// command's output.
	readme func(s *section) ([]figure, error)
	output func(stdout string) ([]figure, error)
	// update rewrites the section body from the command's output (nil: the
	// section is maintained by hand).
	update func(s *section, stdout string) (string, error)
}

// checks lists the README sections whose figures are checked.
var checks = []check{
	{
		id:      "doctor",
		command: "./bin/dgtext doctor",
		readme:  fromConsole(doctorFigures),
		output:  doctorFigures,
	},
	{
		id: "eval-calibration",
		command: "S=../shared/data/billion-words/1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled\n" +
			"./bin/dgtext eval --samples $S/news.en.heldout-00010-of-00050 --reference $S/news.en.heldout-00013-of-00050 -n 1,2,3,4,6 --json",
		readme: evalTableFigures,
		output: evalJSONFigures,
	},
	{
		id:      "demo",
		command: "make demo",
		readme:  fromConsole(demoFigures),
		output:  demoFigures,
		update: func(s *section, stdout string) (string, error) {
			report, err := demoReport(stdout)
			if err != nil {
				return "", err
			}
			_, _, b, err := s.consoleBlock()
			if err != nil {
				return "", err
			}
			return s.body[:b.start] + "$ make demo\n" + report + s.body[b.end:], nil
		},
	},
}

// fromConsole reads a section's figures from its console block with parse,
// the same parser that reads the command's output.
func fromConsole(parse func(string) ([]figure, error)) func(*section) ([]figure, error) {
	return func(s *section) ([]figure, error) {
		_, out, _, err := s.consoleBlock()
		if err != nil {
			return nil, err
		}
		return parse(out)
	}
}

// commandOf returns the command a section shows: the "$ " line of its console
// block, or the text of its one ```sh block.
func commandOf(s *section) (string, error) {
	if cmd, _, _, err := s.consoleBlock(); err == nil {
		return cmd, nil
	}
	var sh []codeBlock
	for _, b := range s.blocks() {
		if b.info == "sh" {
			sh = append(sh, b)
		}
	}
	if len(sh) != 1 {
		return "", fmt.Errorf("section %q (line %d) shows no command: want a ```console block starting with \"$ COMMAND\" or one ```sh block", s.id, s.line)
	}
	return strings.TrimSpace(sh[0].text), nil
}

// doctorFigures reads `dgtext doctor`'s report: the set-up lines are noted, the
// self-check's status is compared exactly, its error and time by magnitude.
func doctorFigures(out string) ([]figure, error) {
	lineRe := regexp.MustCompile(`^  (\S[^ ]*(?: [^ ]+)?)\s{2,}(.*)$`)
	selfRe := regexp.MustCompile(`^(\S+)\s+(\S+) \(max error (` + numberPattern + `), (` + numberPattern + `) ms\)$`)
	var figs []figure
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if i == 0 {
			if !strings.HasPrefix(l, "dgtext ") {
				return nil, fmt.Errorf("doctor report starts with %q, want \"dgtext VERSION (GO)\"", l)
			}
			figs = append(figs, figure{"version", l, setup})
			continue
		}
		if strings.HasPrefix(l, "    ") { // a GPU listed under "CUDA devices"
			figs = append(figs, figure{"device " + strings.TrimSpace(l), l, setup})
			continue
		}
		m := lineRe.FindStringSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("doctor line %q is not \"  LABEL  VALUE\"", l)
		}
		label, value := m[1], m[2]
		switch label {
		case "self-check":
			s := selfRe.FindStringSubmatch(value)
			if s == nil {
				return nil, fmt.Errorf("self-check line %q is not \"DEVICE STATUS (max error E, T ms)\"", value)
			}
			dev := s[1]
			figs = append(figs, figure{"self-check " + dev + " status", s[2], exact},
				figure{"self-check " + dev + " max error", s[3], magnitude},
				figure{"self-check " + dev + " ms", s[4], timingClass})
		case "problem":
			figs = append(figs, figure{"problem " + value, value, exact})
		default:
			figs = append(figs, figure{label, value, setup})
		}
	}
	return figs, nil
}

// evalTableFigures reads the section's markdown table: a header row "| n | 1 |
// 2 | ... |" and one row of JS values.
func evalTableFigures(s *section) ([]figure, error) {
	var rows [][]string
	for _, l := range strings.Split(s.body, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "|---") || strings.HasPrefix(l, "| ---") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) != 2 || len(rows[0]) != len(rows[1]) || len(rows[0]) < 2 || rows[0][0] != "n" {
		return nil, fmt.Errorf("section %q (line %d): want a table with a header row \"| n | 1 | 2 | ... |\" and one row of JS values", s.id, s.line)
	}
	var figs []figure
	for i, n := range rows[0][1:] {
		figs = append(figs, figure{"JS n=" + n, rows[1][i+1], exactDecimals})
	}
	return figs, nil
}

// evalJSONFigures reads `dgtext eval --json`.
func evalJSONFigures(stdout string) ([]figure, error) {
	var r struct {
		JS map[string]float64 `json:"js"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		return nil, fmt.Errorf("eval --json output: %v", err)
	}
	var ns []int
	for k := range r.JS {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("eval --json: n-gram order %q", k)
		}
		ns = append(ns, n)
	}
	sort.Ints(ns)
	var figs []figure
	for _, n := range ns {
		v := r.JS[strconv.Itoa(n)]
		figs = append(figs, figure{"JS n=" + strconv.Itoa(n), strconv.FormatFloat(v, 'g', -1, 64), exactDecimals})
	}
	return figs, nil
}

var (
	demoHeaderRe = regexp.MustCompile(`^\S+, [0-9]+ samples, seed [0-9]+, model \S+$`)
	demoRowRe    = regexp.MustCompile(`^ +([0-9]+) +(` + numberPattern + `) +(` + numberPattern + `) +(` + numberPattern + `)$`)
	demoPairRe   = regexp.MustCompile(`^  ".*" → ".*"$`)
)

// demoReport is the part of `make demo`'s output that the README shows: from
// refine's report header to the end (make's echo of the recipe comes before).
func demoReport(stdout string) (string, error) {
	lines := strings.Split(stdout, "\n")
	for i, l := range lines {
		if demoHeaderRe.MatchString(l) {
			return strings.TrimRight(strings.Join(lines[i:], "\n"), "\n") + "\n", nil
		}
	}
	return "", fmt.Errorf("no refine report (a line like \"dgflow-kl, 2000 samples, seed 1, model bundled\") in the output:\n%s", stdout)
}

// demoFigures reads refine's report: the JS table within tolerance, the text
// lines exactly, the sample pairs counted but not compared.
func demoFigures(out string) ([]figure, error) {
	report, err := demoReport(out)
	if err != nil {
		return nil, err
	}
	var figs []figure
	pairs := 0
	for _, l := range strings.Split(strings.TrimRight(report, "\n"), "\n") {
		switch {
		case demoRowRe.MatchString(l):
			m := demoRowRe.FindStringSubmatch(l)
			figs = append(figs, figure{"step " + m[1] + " JS-4", m[2], jsClass},
				figure{"step " + m[1] + " JS-6", m[3], jsClass},
				figure{"step " + m[1] + " critic mean", m[4], criticClass})
		case demoPairRe.MatchString(l):
			pairs++
			figs = append(figs, figure{fmt.Sprintf("sample pair %d", pairs), l, machineText})
		case strings.TrimSpace(l) == "":
		default:
			figs = append(figs, figure{"line " + strings.Join(strings.Fields(l), " "), l, exact})
		}
	}
	return figs, nil
}

// mismatch is one figure that differs, is missing or is extra.
type mismatch struct {
	key, readme, now, class string
}

func (m mismatch) String() string {
	switch {
	case m.readme == "":
		return fmt.Sprintf("%s: printed now (%q) but not in the README", m.key, m.now)
	case m.now == "":
		return fmt.Sprintf("%s: in the README (%q) but not printed now", m.key, m.readme)
	}
	return fmt.Sprintf("%s: README %s, now %s (%s)", m.key, m.readme, m.now, m.class)
}

// compare matches README figures with printed ones by key. It returns the
// mismatches and how many figures were compared (set-up values are not).
func compare(readme, now []figure) (bad []mismatch, compared, notes int) {
	got := map[string]figure{}
	for _, f := range now {
		got[f.key] = f
	}
	seen := map[string]bool{}
	for _, r := range readme {
		seen[r.key] = true
		n, ok := got[r.key]
		if !ok {
			bad = append(bad, mismatch{key: r.key, readme: r.value})
			continue
		}
		if !r.class.compared {
			notes++
			continue
		}
		compared++
		if !r.class.ok(r.value, n.value) {
			bad = append(bad, mismatch{r.key, r.value, n.value, r.class.name})
		}
	}
	for _, n := range now {
		if !seen[n.key] {
			bad = append(bad, mismatch{key: n.key, now: n.value})
		}
	}
	return bad, compared, notes
}
