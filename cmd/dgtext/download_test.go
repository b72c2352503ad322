package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgtext/dgtext/data"
)

// sharedReleaseArchive packs the shared copy of the release folder (four
// official held-out shards and the release READMEs) with GNU tar, as the
// published archive was made, and returns its path and SHA-256.
func sharedReleaseArchive(t *testing.T) (string, string) {
	t.Helper()
	tgz := filepath.Join(t.TempDir(), data.BillionWordsRelease+".tar.gz")
	cmd := exec.Command("tar", "czf", tgz, "-C", filepath.Join(sharedData(t), "billion-words"), data.BillionWordsRelease)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return tgz, hex.EncodeToString(sum[:])
}

// A new user's path: download into the default place, then --corpus
// billion-words resolves with no flags.
func TestDataDownloadCommand(t *testing.T) {
	tgz, sha := sharedReleaseArchive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, tgz) }))
	defer srv.Close()
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	t.Setenv(data.DataDirEnv, "")
	t.Chdir(t.TempDir())

	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"data", "download", "billion-words", "--url", srv.URL + "/lm1b.tar.gz", "--sha256", sha})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\nstderr: %s", err, errOut.String())
	}
	s := out.String()
	release := filepath.Join(xdg, "dgtext", "billion-words", data.BillionWordsRelease)
	for _, want := range []string{"in " + release, "SHA-256 " + sha + " matches", "4 match the MD5s of the release's README.corpus_generation_checkpoints",
		"lacks 146 of the files", "finds it with no flags (via the XDG data folder)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// Not a terminal: progress comes as occasional log lines, not bar redraws.
	if !strings.Contains(errOut.String(), "%") || strings.Contains(errOut.String(), "\r") {
		t.Errorf("progress on a non-terminal:\n%q", errOut.String())
	}

	c, err := (&corpusFlags{Corpus: data.BillionWords, EvalFiles: []string{data.HeldoutFolder + "/news.en.heldout-00013-of-00050"}}).resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Eval) != 1 || !strings.HasPrefix(c.Eval[0], release) {
		t.Fatalf("resolved %+v", c)
	}

	// Again: nothing to do, and --json says so.
	out.Reset()
	root = newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"data", "download", "billion-words", "--url", srv.URL + "/lm1b.tar.gz", "--sha256", sha, "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var res data.DownloadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.Already || res.Files != 6 || res.Dir != release {
		t.Fatalf("second run: %+v %v\n%s", res, err, out.String())
	}
}

func TestDataDownloadCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "download"}, "name the corpus to download: dgtext data download billion-words"},
		{[]string{"data", "download", "mnist"}, `unknown corpus "mnist"`},
		{[]string{"data", "download", "billion-words", "--md5sums", "/nonexistent/list"}, "--md5sums"},
		{[]string{"data", "download", "billion-words", "--dest", t.TempDir(), "--sha256", "12"}, "64 hexadecimal digits"},
	} {
		var out, errOut bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(tc.args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
