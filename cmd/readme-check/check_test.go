package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A README in the layout of the real one, with the three checked sections.
const fakeREADME = "# x\n\nSome text.\n\n" +
	"<!-- readme-check doctor -->\n```\n$ ./bin/dgtext doctor\n" + doctorOut + "```\n<!-- /readme-check doctor -->\n\n" +
	"Calibration:\n\n<!-- readme-check eval-calibration -->\n```sh\n" +
	"S=../shared/data/billion-words/1-billion-word-language-modeling-benchmark-r13output/heldout-monolingual.tokenized.shuffled\n" +
	"./bin/dgtext eval --samples $S/news.en.heldout-00010-of-00050 --reference $S/news.en.heldout-00013-of-00050 -n 1,2,3,4,6 --json\n```\n\n" +
	"| n | 1 | 2 | 3 | 4 | 6 |\n|---|---|---|---|---|---|\n| JS (shard 00010 vs 00013) | 0.000133 | 0.004220 | 0.031159 | 0.108858 | 0.391745 |\n" +
	"<!-- /readme-check eval-calibration -->\n\n" +
	"The demo:\n\n<!-- readme-check demo -->\n```console\n$ make demo\n" + demoOut + "```\n<!-- /readme-check demo -->\n\nThe end.\n"

const doctorOut = `dgtext dev (go1.26.8)
  libtorch      1.13.1 (CPU) from system: /usr
  BLAS          openblas
  CPU threads   2
  CUDA devices  0
  default       --device auto = cpu
  stubbed       104 gotch wrappers (ops this libtorch lacks; calling one returns an error)
  self-check    cpu     ok (max error 2.1e-07, 4 ms)
`

const evalOut = `{"samples": 6111, "js": {"1": 0.0001334936991676477, "2": 0.004219593269097843, "3": 0.03115851678100147,
 "4": 0.10885765861091988, "6": 0.3917451948842247}}`

const demoOut = `dgflow-kl, 2000 samples, seed 1, model bundled
  step      JS-4      JS-6   critic mean
     0    0.4523    0.8376       -0.9800
    25    0.4144    0.7752       -0.4852

random samples, base → refined:
  "\" S6'( Neeb , Kayuwfiven icnicir" → "\"FS6'\" beid has corcogal etal bo"
  "Shiouly affho was lavert the ven" → "Srringing the Gost erert the nec"
`

// fakeRunner answers the three commands with canned output; edit may change it.
func fakeRunner(t *testing.T, edit func(cmd, out string) string) (runner, *[]string) {
	var ran []string
	return func(cmd string) (string, error) {
		ran = append(ran, cmd)
		var out string
		switch {
		case cmd == "./bin/dgtext doctor":
			out = doctorOut
		case strings.Contains(cmd, "dgtext eval"):
			out = evalOut
		case cmd == "make demo":
			out = "./bin/dgtext refine --corpus billion-words ...\n" + demoOut // make echoes the recipe first
		default:
			t.Fatalf("unexpected command %q", cmd)
		}
		if edit != nil {
			out = edit(cmd, out)
		}
		return out, nil
	}, &ran
}

func writeREADME(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runOn(t *testing.T, readme string, sh runner, update bool) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	ok, err := run(options{readme: writeREADME(t, readme), update: update}, sh, &out)
	if err != nil {
		t.Fatal(err)
	}
	return ok, out.String()
}

func TestCheckPassesWhenFiguresMatch(t *testing.T) {
	sh, ran := fakeRunner(t, nil)
	ok, out := runOn(t, fakeREADME, sh, false)
	if !ok || len(*ran) != 3 {
		t.Fatalf("matching README failed (%d commands run):\n%s", len(*ran), out)
	}
	for _, want := range []string{"ok   doctor: 3 figures match, 7 values not compared", "ok   eval-calibration: 5 figures match", "ok   demo: 9 figures match, 2 values not compared"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// The checker must fail on a README that does not match what is printed.
func TestCheckFailsOnMismatchingREADME(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"eval off in the last digit", "0.391745", "0.391746", "JS n=6: README 0.391746, now 0.3917451948842247 (exact)"},
		{"demo JS beyond tolerance", "0.4144    0.7752", "0.4244    0.7752", "step 25 JS-4: README 0.4244, now 0.4144 (JS (±0.005))"},
		{"demo critic beyond tolerance", "-0.4852", "-0.5852", "step 25 critic mean"},
		{"demo step missing from the output", "    25    0.4144", "    20    0.4144", "step 20 JS-4: in the README"},
		{"demo header changed", "seed 1, model", "seed 2, model", "line dgflow-kl, 2000 samples, seed 2"},
		{"a sample pair fewer", "  \"Shiouly affho was lavert the ven\" → \"Srringing the Gost erert the nec\"\n", "", "sample pair 2: printed now"},
		{"doctor timing 100x", "4 ms)", "400 ms)", "self-check cpu ms: README 400, now 4 (timing (×10))"},
		{"doctor line renamed", "  BLAS          openblas", "  BLAS lib      openblas", "BLAS lib: in the README"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(fakeREADME, tc.old) {
				t.Fatalf("fake README lacks %q", tc.old)
			}
			sh, _ := fakeRunner(t, nil)
			ok, out := runOn(t, strings.Replace(fakeREADME, tc.old, tc.new, 1), sh, false)
			if ok || !strings.Contains(out, tc.want) {
				t.Fatalf("want a failure mentioning %q, got ok=%v:\n%s", tc.want, ok, out)
			}
		})
	}
}

// -only runs the checks named, and only those.
func TestOnlySelectsChecks(t *testing.T) {
	sh, ran := fakeRunner(t, nil)
	var out bytes.Buffer
	ok, err := run(options{readme: writeREADME(t, fakeREADME), only: "doctor,eval-calibration"}, sh, &out)
	if err != nil || !ok || len(*ran) != 2 || strings.Contains(out.String(), "demo") {
		t.Fatalf("-only doctor,eval-calibration ran %q: ok=%v %v\n%s", *ran, ok, err, out.String())
	}
	if _, err := run(options{readme: writeREADME(t, fakeREADME), only: "demo,typo"}, sh, &out); err == nil || !strings.Contains(err.Error(), "typo") {
		t.Fatalf("-only with an unknown id: %v", err)
	}
	env := cleanEnv([]string{"PATH=/bin", "MAKEFLAGS=w -- ONLY=demo", "MAKELEVEL=1", "HOME=/root"})
	if strings.Join(env, " ") != "PATH=/bin HOME=/root" {
		t.Fatalf("cleanEnv kept %q", env)
	}
}

// Tolerances: within passes, beyond fails; eval has none.
func TestCheckTolerances(t *testing.T) {
	for _, tc := range []struct {
		cmd, old, new string
		pass          bool
	}{
		{"make demo", "0.4144", "0.4127", true},   // the Xeon's step-25 JS-4 (issue 12)
		{"make demo", "0.4144", "0.4200", false},  // 0.0056 away
		{"make demo", "-0.4852", "-0.5100", true}, // critic within 0.05
		{"./bin/dgtext doctor", "4 ms", "35 ms", true},
		{"./bin/dgtext doctor", "2.1e-07", "4e-05", false},
		{"./bin/dgtext doctor", "ok (max", "FAILED (max", false},
		{"./bin/dgtext doctor", "openblas", "reference", true}, // set-up: noted, not compared
		{"eval", "0.10885765861091988", "0.1088581", true},     // the same at the README's 6 decimals
		{"eval", "0.10885765861091988", "0.1088549", false},    // 0.108855 is not 0.108858
	} {
		sh, _ := fakeRunner(t, func(cmd, out string) string {
			if strings.Contains(cmd, tc.cmd) {
				return strings.Replace(out, tc.old, tc.new, 1)
			}
			return out
		})
		if ok, out := runOn(t, fakeREADME, sh, false); ok != tc.pass {
			t.Errorf("%s printing %s instead of %s: ok=%v, want %v\n%s", tc.cmd, tc.new, tc.old, ok, tc.pass, out)
		}
	}
}

// The README cannot drop a section, change a command or empty a section and still pass.
func TestCheckCannotPassVacuously(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"section removed", "<!-- readme-check demo -->", "", "opening and"},
		{"both markers removed", "<!-- readme-check demo -->", "<!-- x -->", "no section marked <!-- readme-check demo -->"},
		{"another command shown", "$ make demo", "$ echo make demo", "the section shows the command"},
		{"eval command changed", "-n 1,2,3,4,6 --json", "-n 1,2 --json", "but this check runs"},
		{"table emptied", "| JS (shard 00010 vs 00013) | 0.000133 | 0.004220 | 0.031159 | 0.108858 | 0.391745 |\n", "", "want a table"},
		{"unknown section", "The end.", "<!-- readme-check typo -->\n<!-- /readme-check typo -->", "typo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readme := strings.Replace(fakeREADME, tc.old, tc.new, 1)
			if tc.name == "both markers removed" {
				readme = strings.Replace(readme, "<!-- /readme-check demo -->", "", 1)
			}
			sh, _ := fakeRunner(t, nil)
			var out bytes.Buffer
			ok, err := run(options{readme: writeREADME(t, readme)}, sh, &out)
			msg := out.String()
			if err != nil {
				msg += err.Error()
			}
			if ok || !strings.Contains(msg, tc.want) {
				t.Fatalf("want a failure mentioning %q, got ok=%v:\n%s", tc.want, ok, msg)
			}
		})
	}
	// A section whose figures are all set-up values compares nothing: it fails,
	// even when the command prints the same.
	selfCheck := "  self-check    cpu     ok (max error 2.1e-07, 4 ms)\n"
	sh, _ := fakeRunner(t, func(cmd, out string) string { return strings.Replace(out, selfCheck, "", 1) })
	var out bytes.Buffer
	ok, err := run(options{readme: writeREADME(t, strings.Replace(fakeREADME, selfCheck, "", 1)), only: "doctor"}, sh, &out)
	if err != nil || ok || !strings.Contains(out.String(), "compares nothing") {
		t.Fatalf("a section without compared figures: ok=%v %v\n%s", ok, err, out.String())
	}
}

// UPDATE=1 rewrites the demo block from the current output, leaves the rest
// of the README alone, and the result then passes.
func TestUpdateRegeneratesDemoBlock(t *testing.T) {
	newer := func(cmd, out string) string {
		if cmd != "make demo" {
			return out
		}
		out = strings.Replace(out, "    0.4144    0.7752       -0.4852", "    0.3999    0.7001       -0.4000", 1)
		return strings.Replace(out, "Shiouly", "Shapely", 1)
	}
	path := writeREADME(t, fakeREADME)
	sh, _ := fakeRunner(t, newer)
	var out bytes.Buffer
	if ok, _ := run(options{readme: path}, sh, &out); ok {
		t.Fatalf("changed demo output passed before the update:\n%s", out.String())
	}
	out.Reset()
	ok, err := run(options{readme: path, update: true}, sh, &out)
	if err != nil || !ok {
		t.Fatalf("update: %v\n%s", err, out.String())
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	want := strings.Replace(strings.Replace(fakeREADME, "    0.4144    0.7752       -0.4852", "    0.3999    0.7001       -0.4000", 1), "Shiouly", "Shapely", 1)
	if got != want {
		t.Fatalf("updated README differs from the expected rewrite:\n%s", got)
	}
	if strings.Contains(got, "./bin/dgtext refine --corpus") {
		t.Fatal("make's echo of the recipe was copied into the README")
	}
	out.Reset()
	if ok, _ := run(options{readme: path}, sh, &out); !ok {
		t.Fatalf("updated README does not pass:\n%s", out.String())
	}
}

// The project's README: every check has its section, shows the command the
// check runs, and yields figures to compare (without running anything).
func TestProjectREADMEHasEverySection(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections, err := parseSections(string(b))
	if err != nil {
		t.Fatal(err)
	}
	minCompared := map[string]int{"doctor": 3, "eval-calibration": 5, "demo": 12}
	for _, c := range checks {
		s := sections[c.id]
		if s == nil {
			t.Errorf("README.md has no readme-check section %q", c.id)
			continue
		}
		shown, err := commandOf(s)
		if err != nil || normalize(shown) != normalize(c.command) {
			t.Errorf("section %q shows %q (%v), the check runs %q", c.id, shown, err, c.command)
		}
		figs, err := c.readme(s)
		if err != nil {
			t.Errorf("section %q: %v", c.id, err)
			continue
		}
		n := 0
		for _, f := range figs {
			if f.class.compared {
				n++
			}
		}
		if n < minCompared[c.id] {
			t.Errorf("section %q yields %d compared figures, want at least %d", c.id, n, minCompared[c.id])
		}
	}
}

// The README states the tolerances this checker applies.
func TestREADMEStatesTolerances(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("±%g", jsTolerance), fmt.Sprintf("±%g", criticTolerance), fmt.Sprintf("%g×", timingFactor), "make readme-check UPDATE=1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("README.md does not state %q", want)
		}
	}
}
