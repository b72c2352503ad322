// Command dgtext-setup prepares this checkout to build dgtext against whatever libtorch
// the machine has. `make setup` runs it; it uses only the Go standard library, because
// it runs before gotch can be compiled.
//
// It finds libtorch (LIBTORCH, then an importable Python torch, then Debian's system
// libtorch, installing that with apt when running as root and nothing is found),
// generates a private copy of gotch with cgo directives for that libtorch, replaces
// every generated C++ wrapper that this libtorch cannot compile with one that returns
// an error naming the op, wires the copy in with a git-ignored go.work, and compiles it
// once so later builds come from the Go build cache. The result is cached per
// (gotch version, libtorch path, version, CPU/CUDA), so a second run is quick and quiet.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	gotchModule  = "github.com/sugarme/gotch"
	gotchVersion = "v0.9.1"
	// setupRevision changes whenever the generated copy would differ, so stale caches
	// are rebuilt instead of trusted.
	setupRevision = "7"
	depsDir       = ".deps"
	// builtMarker holds setupRevision once the generated copy has compiled; only then
	// is the cache trusted.
	builtMarker = "dgtext-built"
)

// Libtorch describes one libtorch installation.
type Libtorch struct {
	Source   string   `json:"source"` // "LIBTORCH", "python", "system"
	Dir      string   `json:"dir"`    // folder with include/ and lib/ ("/usr" for Debian)
	IncDirs  []string `json:"include_dirs"`
	LibDir   string   `json:"lib_dir"`
	Version  string   `json:"version"`
	CUDA     bool     `json:"cuda"`
	CXX11ABI int      `json:"cxx11_abi"`
	BLAS     string   `json:"blas"`
}

// Manifest is written next to the generated gotch copy and compiled into it, so
// `dgtext doctor` can report how the binary was built.
type Manifest struct {
	Libtorch     Libtorch `json:"libtorch"`
	GotchVersion string   `json:"gotch_version"`
	Stubbed      []string `json:"stubbed"`
	CreatedAt    string   `json:"created_at"`
	GoArch       string   `json:"goarch"`
}

func main() {
	verbose := flag.Bool("v", false, "print what is found even when nothing needs doing")
	noBuild := flag.Bool("no-prebuild", false, "skip compiling the bindings after generating them")
	flag.Parse()
	if err := run(*verbose, !*noBuild); err != nil {
		fmt.Fprintln(os.Stderr, "dgtext setup: error:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "setup: "+format+"\n", a...) }

func run(verbose, prebuild bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run from the dgtext checkout (the folder with go.mod); `make setup` does that")
	}
	lt, err := findLibtorch()
	if err != nil {
		return err
	}
	if lt.BLAS == "reference" {
		logf("WARNING: libtorch will use the reference BLAS (libblas.so.3 -> %s); matmul is about 30x slower.", blasTarget())
		logf("         Fix: apt-get install libopenblas0-pthread (it takes over libblas.so.3).")
	}
	key := cacheKey(lt)
	copyDir := filepath.Join(depsRoot(root), "gotch-"+gotchVersion+"-"+key)
	if marker, err := os.ReadFile(filepath.Join(copyDir, builtMarker)); err == nil && strings.TrimSpace(string(marker)) == setupRevision {
		if verbose {
			logf("libtorch %s (%s, %s) at %s; cached bindings in %s", lt.Version, cpuOrCUDA(lt), lt.Source, lt.Dir, rel(root, copyDir))
		}
		return writeGoWork(root, copyDir)
	}
	logf("libtorch %s (%s) found via %s at %s", lt.Version, cpuOrCUDA(lt), lt.Source, lt.Dir)
	if err := generate(lt, copyDir); err != nil {
		return err
	}
	if err := writeGoWork(root, copyDir); err != nil {
		return err
	}
	if prebuild {
		logf("compiling the libtorch bindings (once per libtorch; about 2-4 min on 2 cores)...")
		start := time.Now()
		cmd := exec.Command("go", "build", gotchModule+"/ts", gotchModule+"/nn")
		cmd.Dir = root
		// `make setup` runs this program with GOWORK=off; the build must use the new go.work.
		cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			os.RemoveAll(copyDir)
			os.Remove(filepath.Join(root, "go.work"))
			return fmt.Errorf("compiling gotch against libtorch %s failed (%v); the generated copy was removed. Report the compiler output above with `dgtext-setup -v` output", lt.Version, err)
		}
		logf("bindings compiled in %s", time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(copyDir, builtMarker), []byte(setupRevision+"\n"), 0o644); err != nil {
		return err
	}
	return nil
}

func cpuOrCUDA(lt Libtorch) string {
	if lt.CUDA {
		return "CUDA"
	}
	return "CPU"
}

// depsRoot is where the generated gotch copies live: $DGTEXT_DEPS_DIR when set (so
// several clones of dgtext share one copy, and with it Go's build cache, instead of
// compiling the bindings once per clone), else .deps/ in the checkout.
func depsRoot(root string) string {
	if d := os.Getenv("DGTEXT_DEPS_DIR"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	return filepath.Join(root, depsDir)
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

func cacheKey(lt Libtorch) string {
	h := sha256.New()
	// The revision is not part of the key: the folder keeps its path across setup
	// revisions, so the Go build cache still holds the compiled C++ when only the Go
	// side of the patch changes. The marker file records the revision instead.
	fmt.Fprintf(h, "%s|%s|%s|%s|%v|%d", gotchVersion, lt.Dir, lt.LibDir, lt.Version, lt.CUDA, lt.CXX11ABI)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// findLibtorch looks in the documented order and installs Debian's libtorch as a
// last resort.
func findLibtorch() (Libtorch, error) {
	if dir, ok := os.LookupEnv("LIBTORCH"); ok && dir != "" {
		lt, err := libtorchAt(dir, "LIBTORCH")
		if err != nil {
			return Libtorch{}, fmt.Errorf("LIBTORCH=%s: %v\n  LIBTORCH must be a folder with include/ and lib/ (the official libtorch archive, or the folder printed by\n  python3 -c 'import torch; print(torch.__path__[0])'). Unset it to use Debian's libtorch instead", dir, err)
		}
		return lt, nil
	}
	if dir := pythonTorchDir(); dir != "" {
		if lt, err := libtorchAt(dir, "python"); err == nil {
			return lt, nil
		}
	}
	if lt, err := systemLibtorch(); err == nil {
		return lt, nil
	}
	if os.Geteuid() == 0 && haveCmd("apt-get") {
		logf("no libtorch found; installing Debian's libtorch-dev and libopenblas0-pthread (about 1 min)...")
		if err := aptInstall("libtorch-dev", "libopenblas0-pthread"); err != nil {
			return Libtorch{}, fmt.Errorf("apt-get install libtorch-dev libopenblas0-pthread failed: %v", err)
		}
		return systemLibtorch()
	}
	return Libtorch{}, errors.New(`no libtorch found. Do one of:
  - as root on Debian/Ubuntu: apt-get install libtorch-dev libopenblas0-pthread
  - download libtorch from pytorch.org, unpack it and set LIBTORCH=/path/to/libtorch
  - set LIBTORCH to an installed PyTorch: LIBTORCH=$(python3 -c 'import torch; print(torch.__path__[0])')`)
}

func haveCmd(name string) bool { _, err := exec.LookPath(name); return err == nil }

func aptInstall(pkgs ...string) error {
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	up := exec.Command("apt-get", "update", "-qq")
	up.Env, up.Stdout, up.Stderr = env, os.Stderr, os.Stderr
	if err := up.Run(); err != nil {
		return err
	}
	inst := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)...)
	inst.Env = env
	out, err := inst.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, tail(string(out), 2000))
	}
	return nil
}

func pythonTorchDir() string {
	for _, py := range []string{"python3", "python"} {
		if !haveCmd(py) {
			continue
		}
		out, err := exec.Command(py, "-c", "import torch; print(torch.__path__[0])").Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}

func libtorchAt(dir, source string) (Libtorch, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Libtorch{}, err
	}
	inc, lib := filepath.Join(abs, "include"), filepath.Join(abs, "lib")
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return Libtorch{}, errors.New("no such folder")
	}
	if _, err := os.Stat(filepath.Join(inc, "torch", "csrc", "api", "include", "torch", "torch.h")); err != nil {
		return Libtorch{}, fmt.Errorf("missing %s", filepath.Join("include", "torch", "csrc", "api", "include", "torch", "torch.h"))
	}
	if !fileExists(filepath.Join(lib, "libtorch_cpu.so")) && !fileExists(filepath.Join(lib, "libtorch.so")) {
		return Libtorch{}, errors.New("missing lib/libtorch_cpu.so")
	}
	lt := Libtorch{
		Source:   source,
		Dir:      abs,
		IncDirs:  []string{inc, filepath.Join(inc, "torch", "csrc", "api", "include")},
		LibDir:   lib,
		CUDA:     fileExists(filepath.Join(lib, "libtorch_cuda.so")),
		CXX11ABI: abiOf(filepath.Join(lib, "libtorch_cpu.so")),
		BLAS:     "bundled",
	}
	lt.Version = headerVersion(inc)
	if source == "python" || fileExists(filepath.Join(abs, "version.py")) {
		if v := pythonVersionFile(abs); v != "" {
			lt.Version = v
		}
	}
	return lt, nil
}

func systemLibtorch() (Libtorch, error) {
	libDir := "/usr/lib/" + multiarch()
	if !fileExists("/usr/include/torch/csrc/api/include/torch/torch.h") || !fileExists(filepath.Join(libDir, "libtorch_cpu.so")) {
		return Libtorch{}, errors.New("no system libtorch")
	}
	lt := Libtorch{
		Source:   "system",
		Dir:      "/usr",
		IncDirs:  []string{"/usr/include", "/usr/include/torch/csrc/api/include"},
		LibDir:   libDir,
		CUDA:     fileExists(filepath.Join(libDir, "libtorch_cuda.so")),
		CXX11ABI: 1,
		BLAS:     blasKind(),
	}
	// Debian's headers say 1.13.0 for the 1.13.1 package; the package version is the truth.
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "libtorch-dev").Output(); err == nil && len(out) > 0 {
		v := string(out)
		if i := strings.IndexAny(v, "+-~"); i > 0 {
			v = v[:i]
		}
		lt.Version = v
	} else {
		lt.Version = headerVersion("/usr/include")
	}
	return lt, nil
}

func multiarch() string {
	if out, err := exec.Command("gcc", "-print-multiarch").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		return strings.TrimSpace(string(out))
	}
	return runtime.GOARCH + "-linux-gnu"
}

func blasTarget() string {
	t, err := filepath.EvalSymlinks("/usr/lib/" + multiarch() + "/libblas.so.3")
	if err != nil {
		return "missing"
	}
	return t
}

// blasKind names the BLAS that Debian's libtorch will load through libblas.so.3.
func blasKind() string {
	t := blasTarget()
	switch {
	case strings.Contains(t, "openblas"):
		return "openblas"
	case strings.Contains(t, "blis"):
		return "blis"
	case strings.Contains(t, "mkl"):
		return "mkl"
	case strings.Contains(t, "/blas/"):
		return "reference"
	default:
		return "unknown (" + t + ")"
	}
}

var versionRe = regexp.MustCompile(`TORCH_VERSION\s*\\?\s*"([^"]+)"`)

func headerVersion(inc string) string {
	b, err := os.ReadFile(filepath.Join(inc, "torch", "csrc", "api", "include", "torch", "version.h"))
	if err != nil {
		return "unknown"
	}
	if m := versionRe.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "unknown"
}

func pythonVersionFile(torchDir string) string {
	b, err := os.ReadFile(filepath.Join(torchDir, "version.py"))
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`__version__\s*=\s*'([^']+)'`).FindSubmatch(b)
	if m == nil {
		m = regexp.MustCompile(`__version__\s*=\s*"([^"]+)"`).FindSubmatch(b)
	}
	if m == nil {
		return ""
	}
	return string(m[1])
}

// abiOf tells whether a libtorch was built with the C++11 std::string ABI, from the
// mangled names it exports. Official pre-2.6 archives come in both flavours.
func abiOf(lib string) int {
	out, err := exec.Command("sh", "-c", "nm -D --defined-only "+shellQuote(lib)+" 2>/dev/null | grep -m1 -c '__cxx11'").Output()
	if err == nil && strings.TrimSpace(string(out)) == "1" {
		return 1
	}
	if err != nil && !haveCmd("nm") {
		return 1
	}
	return 0
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// generate writes the patched gotch copy into dir via a temporary folder and a rename,
// so an interrupted setup never leaves a copy that looks finished.
func generate(lt Libtorch, dir string) error {
	src, err := gotchSource()
	if err != nil {
		return err
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := copyTree(src, tmp); err != nil {
		return fmt.Errorf("copy gotch: %w", err)
	}
	defer os.RemoveAll(tmp)
	libtch := filepath.Join(tmp, "libtch")
	if err := os.WriteFile(filepath.Join(libtch, "lib.go"), []byte(cgoDirectives(lt)), 0o644); err != nil {
		return err
	}
	if err := panicInsteadOfExit(tmp); err != nil {
		return err
	}
	if err := freeResultSlots(tmp); err != nil {
		return err
	}
	if err := dropBallast(tmp); err != nil {
		return err
	}
	stubbed, err := stubUntilItCompiles(lt, libtch)
	if err != nil {
		return err
	}
	m := Manifest{Libtorch: lt, GotchVersion: gotchVersion, Stubbed: stubbed, CreatedAt: time.Now().UTC().Format(time.RFC3339), GoArch: runtime.GOARCH}
	js, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "dgtext-setup.json"), js, 0o644); err != nil {
		return err
	}
	// The manifest is also compiled into libtch so the binary can report how it was built.
	goSrc := "// Code generated by dgtext-setup. DO NOT EDIT.\n\npackage libtch\n\n// DgtextSetup is the JSON manifest written by dgtext-setup for this build.\nconst DgtextSetup = " + strconv.Quote(string(js)) + "\n"
	if err := os.WriteFile(filepath.Join(libtch, "dgtext_setup.go"), []byte(goSrc), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(libtch, "dgtext_extra.go"), []byte(extraBindings), 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if len(stubbed) > 0 {
		logf("%d generated wrappers do not compile against libtorch %s and now return an error when called", len(stubbed), lt.Version)
	}
	return nil
}

// extraBindings exposes C functions that torch_api.cpp defines but gotch v0.9.1 does not
// bind in Go: seeding libtorch's generators, and the CPU thread count.
const extraBindings = `// Code generated by dgtext-setup. DO NOT EDIT.

package libtch

//#include "stddef.h"
//#include "stdbool.h"
//#include "torch_api.h"
import "C"

// AtManualSeed seeds every libtorch generator (CPU and CUDA).
func AtManualSeed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }

// AtSetNumThreads sets libtorch's intra-op CPU thread count.
func AtSetNumThreads(n int) { C.at_set_num_threads(C.int(n)) }

// AtGetNumThreads reports libtorch's intra-op CPU thread count.
func AtGetNumThreads() int { return int(C.at_get_num_threads()) }
`

// panicInsteadOfExit makes gotch's Must* helpers panic on a libtorch error instead of
// calling log.Fatal, which ends the process before dgtext can report the error
// cleanly, save its state, or halve a batch after a CUDA out-of-memory error.
func panicInsteadOfExit(root string) error {
	for _, sub := range []string{"ts", "nn"} {
		files, _ := filepath.Glob(filepath.Join(root, sub, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			s := string(b)
			if !strings.Contains(s, "log.Fatal(err)") {
				continue
			}
			s = strings.ReplaceAll(s, "log.Fatal(err)", "panic(err)")
			if !strings.Contains(s, "log.") {
				s += "\nvar _ = log.Println // keep the import after dgtext-setup's panic patch\n"
			}
			if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// freeResultSlots fixes how gotch's generated ops receive their results: each call
// mallocs a 0-byte slot, lets C write one or more tensor pointers into it, and never
// frees it. That leaks a heap chunk per op (gigabytes over a long training run) and
// overflows the chunk for ops with many outputs. The patch allocates room for eight
// results and frees the slot when the Go wrapper returns, after the pointers have
// been copied out.
func freeResultSlots(root string) error {
	const old = "ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(0)))"
	const repl = "ptr := (*lib.Ctensor)(unsafe.Pointer(C.malloc(64)))\n  defer C.free(unsafe.Pointer(ptr))"
	f := filepath.Join(root, "ts", "tensor-generated.go")
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	s := string(b)
	if !strings.Contains(s, old) {
		return fmt.Errorf("%s: the result-slot pattern was not found; this gotch version needs a new setup patch", f)
	}
	return os.WriteFile(f, []byte(strings.ReplaceAll(s, old, repl)), 0o644)
}

// dropBallast removes the 100 KB Go allocation gotch attaches to every tensor to make
// Go's collector run more often. dgtext frees tensors itself and collects once per
// training or refinement step (torch.Collect), and the ballast made small ops about
// 50× slower (a relu and its drop: 60 µs against 1.2 µs without it).
func dropBallast(root string) error {
	const ballast = "\tx.d = new(bigStruct)\n"
	f := filepath.Join(root, "ts", "tensor.go")
	b, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), ballast) {
		return fmt.Errorf("%s: gotch's per-tensor ballast was not found; this gotch version needs a new setup patch", f)
	}
	return os.WriteFile(f, []byte(strings.Replace(string(b), ballast, "", 1)), 0o644)
}

func gotchSource() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), gotchModule+"@"+gotchVersion)
	if !fileExists(filepath.Join(dir, "libtch", "torch_api.cpp")) {
		cmd := exec.Command("go", "mod", "download", gotchModule+"@"+gotchVersion)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go mod download %s@%s: %v\n%s", gotchModule, gotchVersion, err, b)
		}
	}
	return dir, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, r)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// cgoDirectives replaces gotch's libtch/lib.go, which hard-codes CUDA libraries and
// include paths under its own folder, with directives for the libtorch found.
func cgoDirectives(lt Libtorch) string {
	var b strings.Builder
	b.WriteString("// Code generated by dgtext-setup for libtorch " + lt.Version + " (" + cpuOrCUDA(lt) + ") at " + lt.Dir + ". DO NOT EDIT.\n\npackage libtch\n\n")
	ld := "-lstdc++ -L" + lt.LibDir + " -Wl,-rpath," + lt.LibDir
	if lt.CUDA {
		// Nothing in the wrappers references CUDA symbols directly, so without
		// --no-as-needed the linker would drop libtorch_cuda and CUDA would be absent.
		ld += " -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed"
	}
	ld += " -ltorch -ltorch_cpu -lc10"
	fmt.Fprintf(&b, "// #cgo LDFLAGS: %s\n", ld)
	b.WriteString("// #cgo CFLAGS: -I${SRCDIR} -O3 -Wall -Wno-unused-variable -Wno-deprecated-declarations -Wno-c++11-narrowing -g -Wno-sign-compare -Wno-unused-function\n")
	fmt.Fprintf(&b, "// #cgo CXXFLAGS: -std=c++17 -I${SRCDIR} -g -O3 -w -D_GLIBCXX_USE_CXX11_ABI=%d", lt.CXX11ABI)
	for _, inc := range lt.IncDirs {
		b.WriteString(" -I" + inc)
	}
	b.WriteString("\nimport \"C\"\n")
	return b.String()
}

var errLineRe = regexp.MustCompile(`(?m)^[^:\s]*?(torch_api\.cpp|torch_api_generated\.cpp\.h):(\d+):\d+: (?:error|required from here)`)

// stubUntilItCompiles asks the C++ compiler which wrappers fail against this libtorch
// and replaces each failing function body with one that reports the missing op. It
// repeats until the translation unit compiles, since fixing one error can reveal others.
func stubUntilItCompiles(lt Libtorch, libtch string) ([]string, error) {
	var stubbed []string
	for round := 1; round <= 8; round++ {
		logf("checking gotch's C++ wrappers against libtorch %s (round %d, about 1-2 min)...", lt.Version, round)
		args := []string{"-fsyntax-only", "-std=c++17", "-w", fmt.Sprintf("-D_GLIBCXX_USE_CXX11_ABI=%d", lt.CXX11ABI), "-I" + libtch}
		for _, inc := range lt.IncDirs {
			args = append(args, "-I"+inc)
		}
		args = append(args, filepath.Join(libtch, "torch_api.cpp"))
		cmd := exec.Command("g++", args...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return stubbed, nil
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("running g++: %v (install it with apt-get install g++)", err)
		}
		lines := map[string][]int{}
		for _, m := range errLineRe.FindAllStringSubmatch(string(out), -1) {
			n, _ := strconv.Atoi(m[2])
			lines[m[1]] = append(lines[m[1]], n)
		}
		if len(lines) == 0 {
			return nil, fmt.Errorf("gotch's wrappers do not compile against libtorch %s and the errors are outside them:\n%s", lt.Version, tail(string(out), 3000))
		}
		progress := false
		for file, ls := range lines {
			names, err := stubFunctions(filepath.Join(libtch, file), ls, lt.Version)
			if err != nil {
				return nil, err
			}
			if len(names) > 0 {
				progress = true
			}
			stubbed = append(stubbed, names...)
		}
		if !progress {
			return nil, fmt.Errorf("could not stub the failing wrappers:\n%s", tail(string(out), 3000))
		}
	}
	return nil, errors.New("gotch's wrappers still fail to compile after 8 rounds of stubbing")
}

var funcNameRe = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// stubFunctions rewrites every top-level function in path that contains one of the
// given (1-based) lines, returning the names of the functions it replaced.
func stubFunctions(path string, errLines []int, ver string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src := strings.Split(string(b), "\n")
	type span struct{ start, headerEnd, end int }
	spans := map[int]span{}
	for _, ln := range errLines {
		i := ln - 1
		if i < 0 || i >= len(src) {
			continue
		}
		start := i
		for start >= 0 && !isTopLevelStart(src[start]) {
			start--
		}
		if start < 0 || strings.Contains(src[start], "template") {
			continue
		}
		h := start
		for h < len(src) && !strings.Contains(src[h], "{") {
			h++
		}
		end := h
		if !(strings.Count(src[h], "{") == strings.Count(src[h], "}") && strings.Count(src[h], "{") > 0) {
			for end = h + 1; end < len(src) && src[end] != "}"; end++ {
			}
		}
		if end >= len(src) || ln-1 > end {
			continue
		}
		spans[start] = span{start, h, end}
	}
	if len(spans) == 0 {
		return nil, nil
	}
	var names []string
	var outLines []string
	for i := 0; i < len(src); i++ {
		s, ok := spans[i]
		if !ok {
			outLines = append(outLines, src[i])
			continue
		}
		header := strings.Join(src[s.start:s.headerEnd+1], "\n")
		header = header[:strings.Index(header, "{")]
		m := funcNameRe.FindStringSubmatch(header)
		name := "unknown"
		if m != nil {
			name = m[1]
		}
		names = append(names, name)
		ret := strings.TrimSpace(header[:strings.Index(header, name)])
		body := fmt.Sprintf("  torch_last_err = strdup(\"%s is not available in libtorch %s (gotch %s wrapper stubbed by dgtext setup)\");", name, ver, gotchVersion)
		if ret != "void" {
			body += "\n  return {};"
		}
		outLines = append(outLines, header+"{", body, "}")
		i = s.end
	}
	return names, os.WriteFile(path, []byte(strings.Join(outLines, "\n")), 0o644)
}

func isTopLevelStart(l string) bool {
	if l == "" {
		return false
	}
	c := l[0]
	if c == ' ' || c == '\t' || c == '}' || c == '#' || c == '/' || c == ')' {
		return false
	}
	return strings.Contains(l, "(")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// writeGoWork points this checkout at the generated copy. It is written atomically and
// only when it changes.
func writeGoWork(root, copyDir string) error {
	target := copyDir // a shared copy ($DGTEXT_DEPS_DIR) by its absolute path
	if r, err := filepath.Rel(root, copyDir); err == nil && !strings.HasPrefix(r, "..") {
		target = "./" + filepath.ToSlash(r)
	}
	want := fmt.Sprintf("// Generated by dgtext-setup; machine-specific, git-ignored.\ngo %s\n\nuse .\n\nreplace %s %s => %s\n", goVersionOfMod(root), gotchModule, gotchVersion, target)
	p := filepath.Join(root, "go.work")
	if b, err := os.ReadFile(p); err == nil && string(b) == want {
		return nil
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(want), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func goVersionOfMod(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err == nil {
		if m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return strings.TrimPrefix(runtime.Version(), "go")
}
