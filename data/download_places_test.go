package data

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolatePlaces points every default place at empty temporary folders.
func isolatePlaces(t *testing.T) (xdg, wd string) {
	t.Helper()
	xdg, wd = t.TempDir(), t.TempDir()
	t.Setenv(DataDirEnv, "")
	t.Setenv("XDG_DATA_HOME", xdg)
	t.Chdir(wd)
	return xdg, wd
}

func TestCorpusPlacesOrder(t *testing.T) {
	xdg, _ := isolatePlaces(t)
	env := t.TempDir()
	t.Setenv(DataDirEnv, env)
	var got []string
	for _, p := range CorpusPlaces("") {
		got = append(got, p.Source+"="+p.Dir)
	}
	want := []string{"$DGTEXT_DATA_DIR=" + env, "XDG data folder=" + filepath.Join(xdg, "dgtext"), "./data=data"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("places %q, want %q", got, want)
	}
	if p := CorpusPlaces("/x"); len(p) != 1 || p[0].Dir != "/x" || p[0].Source != "--data-dir" {
		t.Fatalf("with --data-dir: %+v", p)
	}
	// A relative $XDG_DATA_HOME is ignored, as the XDG specification says.
	t.Setenv("XDG_DATA_HOME", "rel")
	home, _ := os.UserHomeDir()
	if p := CorpusPlaces(""); p[1].Dir != filepath.Join(home, ".local", "share", "dgtext") {
		t.Fatalf("relative XDG_DATA_HOME: %+v", p[1])
	}
	for _, s := range []string{"--data-dir", "$DGTEXT_DATA_DIR", "XDG_DATA_HOME", "~/.local/share/dgtext", "./data"} {
		if !strings.Contains(CorpusPlacesHelp, s) {
			t.Errorf("CorpusPlacesHelp lacks %q: %s", s, CorpusPlacesHelp)
		}
	}
}

// A default download lands where --corpus billion-words finds it with no flags.
func TestDownloadLandsInASearchedPlace(t *testing.T) {
	xdg, _ := isolatePlaces(t)
	dest, err := DefaultDownloadDir()
	if err != nil || dest != filepath.Join(xdg, "dgtext", BillionWords) {
		t.Fatalf("default download folder %q, %v", dest, err)
	}
	_, err = ResolveCorpus(BillionWords, CorpusOptions{})
	var nf *CorpusNotFoundError
	if !errors.As(err, &nf) || len(nf.Looked) != 2 {
		t.Fatalf("before the download: %v", err)
	}

	rel := makeRelease(t, 50)
	srv := newReleaseServer(t, rel.tgz)
	res, err := DownloadCorpus(context.Background(), BillionWords, DownloadOptions{URL: srv.url(), SHA256: rel.sha, MD5Sums: rel.md5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != filepath.Join(dest, BillionWordsRelease) || res.FoundVia != "XDG data folder" {
		t.Fatalf("downloaded to %s, found via %q", res.Dir, res.FoundVia)
	}
	c, err := ResolveCorpus(BillionWords, CorpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != dest || len(c.Eval) != 1 || len(c.Train) != 2 {
		t.Fatalf("resolved %+v", c)
	}

	// With $DGTEXT_DATA_DIR set, downloads go there, and it is searched first.
	env := filepath.Join(t.TempDir(), "bw")
	t.Setenv(DataDirEnv, env)
	res, err = DownloadCorpus(context.Background(), BillionWords, DownloadOptions{URL: srv.url(), SHA256: rel.sha, MD5Sums: rel.md5})
	if err != nil || res.Dir != filepath.Join(env, BillionWordsRelease) || res.FoundVia != "$"+DataDirEnv {
		t.Fatalf("with $%s: %+v %v", DataDirEnv, res, err)
	}
	// A --dest outside the places is reported as not found by default.
	res, err = DownloadCorpus(context.Background(), BillionWords, DownloadOptions{Dest: t.TempDir(), URL: srv.url(), SHA256: rel.sha, MD5Sums: rel.md5})
	if err != nil || res.FoundVia != "" {
		t.Fatalf("--dest elsewhere: %+v %v", res, err)
	}
}

func TestCorpusNotFoundNamesPlacesAndDownload(t *testing.T) {
	xdg, wd := isolatePlaces(t)
	_, err := ResolveCorpus(BillionWords, CorpusOptions{})
	var nf *CorpusNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want a *CorpusNotFoundError, got %T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{filepath.Join(xdg, "dgtext") + " (XDG data folder): does not exist",
		"data = " + filepath.Join(wd, "data") + " (./data): does not exist", "$DGTEXT_DATA_DIR is not set",
		"\n  dgtext data download billion-words ", "--heldout-only", "--data-dir DIR"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	hint := nf.Hint()
	if strings.Contains(hint, "\n") || !strings.Contains(hint, filepath.Join(xdg, "dgtext")) || !strings.HasSuffix(hint, "get it with: dgtext data download billion-words") {
		t.Errorf("hint %q", hint)
	}
	// With --data-dir, only it is consulted, and the download command targets it.
	_, err = ResolveCorpus(BillionWords, CorpusOptions{DataDir: "my data"})
	if !errors.As(err, &nf) || len(nf.Looked) != 1 || !strings.Contains(nf.Hint(), "--dest 'my data'") ||
		!strings.Contains(err.Error(), "were not consulted because --data-dir was given") {
		t.Fatalf("with --data-dir: %v / %s", err, nf.Hint())
	}
}
