package eval

import (
	"encoding/binary"
	"errors"
	"hash/crc64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// gramMap returns every table of s as gram → count.
func gramMap(s *Stats) map[int]map[string]int64 {
	out := map[int]map[string]int64{}
	for _, n := range s.Orders() {
		m := map[string]int64{}
		for g, c := range s.Grams(n) {
			m[g] = c
		}
		out[n] = m
	}
	return out
}

func sameStats(t *testing.T, a, b *Stats) {
	t.Helper()
	if a.Lines() != b.Lines() || !slices.Equal(a.Orders(), b.Orders()) || a.Options().String() != b.Options().String() {
		t.Fatalf("stats differ: %d lines %v vs %d lines %v", a.Lines(), a.Options(), b.Lines(), b.Options())
	}
	ma, mb := gramMap(a), gramMap(b)
	for n, m := range ma {
		if a.Total(n) != b.Total(n) || len(m) != len(mb[n]) {
			t.Fatalf("n=%d: totals %d/%d, distinct %d/%d", n, a.Total(n), b.Total(n), len(m), len(mb[n]))
		}
		for g, c := range m {
			if mb[n][g] != c {
				t.Fatalf("n=%d gram %q: %d vs %d", n, g, c, mb[n][g])
			}
		}
	}
}

// storeCases returns statistics covering packed and unpacked n-grams, characters and
// words, and merged alphabets.
func storeCases(t *testing.T) map[string]*Stats {
	r := rand.New(rand.NewPCG(11, 12))
	var many []rune
	for i := range 300 {
		many = append(many, rune(0x4E00+i))
	}
	many = append(many, asciiRunes...)
	out := map[string]*Stats{}
	var err error
	if out["chars"], err = Count(randLines(r, 300, asciiRunes, 40), Options{}); err != nil {
		t.Fatal(err)
	}
	// Order 8 forces 7-bit ids, and 370 symbols do not all fit them.
	if out["unpacked"], err = Count(randLines(r, 300, many, 30), Options{SeqLen: 16, Orders: []int{1, 2, 8}}); err != nil {
		t.Fatal(err)
	}
	if len(out["unpacked"].order(8).esc) == 0 || out["unpacked"].order(8).tab.len() == 0 {
		t.Fatal("test data should have packed and unpacked 9-grams")
	}
	if out["words"], err = Count(randLines(r, 300, []rune("abc ABC d"), 40), Options{Words: true, Orders: []int{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	m, _ := Count(randLines(r, 50, asciiRunes, 40), Options{})
	other, _ := Count(randLines(r, 50, many, 40), Options{})
	if err := m.Merge(other); err != nil {
		t.Fatal(err)
	}
	out["merged"] = m
	return out
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, s := range storeCases(t) {
		path := filepath.Join(dir, name+".ngrams")
		if err := SaveStats(path, s); err != nil {
			t.Fatal(err)
		}
		got, err := LoadStats(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameStats(t, s, got)
		for _, n := range s.Orders() {
			a, err1 := JS(s, got, n)
			if err1 != nil || a != 0 {
				t.Errorf("%s n=%d: JS(saved, loaded) = %v, %v", name, n, a, err1)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d files in the folder, want 4 (temporary files left behind?)", len(entries))
	}
}

// rewrite replaces the payload of a saved file and fixes its header, so that only
// the content checks can catch the change.
func rewrite(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	payload := edit(slices.Clone(b[headerSize:]))
	hdr := slices.Clone(b[:headerSize])
	binary.LittleEndian.PutUint64(hdr[len(storeMagic)+4:], uint64(len(payload)))
	binary.LittleEndian.PutUint64(hdr[len(storeMagic)+12:], crc64.Checksum(payload, crcTable))
	if err := os.WriteFile(path, append(hdr, payload...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	s := storeCases(t)["unpacked"]
	good := filepath.Join(dir, "good.ngrams")
	if err := SaveStats(good, s); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(good)
	r := rand.New(rand.NewPCG(13, 14))
	corrupt := map[string][]byte{
		"empty":     {},
		"truncated": orig[:len(orig)-1],
		"short":     orig[:headerSize-3],
		"appended":  append(slices.Clone(orig), 0),
		"magic":     append([]byte("not-ngrams-file!"), orig[16:]...),
		"version":   func() []byte { b := slices.Clone(orig); b[16] = 99; return b }(),
		"text":      []byte(strings.Repeat("hello world\n", 100)),
	}
	for i := range 40 {
		b := slices.Clone(orig)
		pos := r.IntN(len(b))
		b[pos] ^= byte(1 + r.IntN(255))
		corrupt["flip"+string(rune('A'+i))] = b
	}
	for name, b := range corrupt {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadStats(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: LoadStats error %v, want ErrCorrupt", name, err)
		}
	}
	// Payload edits with a recomputed checksum: caught by the content checks.
	edits := map[string]func([]byte) []byte{
		"drop-last-byte": func(p []byte) []byte { return p[:len(p)-1] },
		"count-changed":  func(p []byte) []byte { p[len(p)-1] ^= 1; return p },
		"garbage":        func(p []byte) []byte { return []byte{5, 1, 2, 3} },
	}
	for name, edit := range edits {
		p := filepath.Join(dir, name)
		os.WriteFile(p, orig, 0o644)
		rewrite(t, p, edit)
		if _, err := LoadStats(p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: LoadStats error %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := LoadStats(good); err != nil {
		t.Errorf("intact file: %v", err)
	}
}

func TestReferenceCache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	ref := filepath.Join(dir, "ref.txt")
	r := rand.New(rand.NewPCG(15, 16))
	lines := randLines(r, 500, asciiRunes, 40)
	for i, l := range lines {
		if strings.TrimSpace(l) == "" || strings.Contains(l, "\r") {
			lines[i] = "x" + l
		}
	}
	if err := os.WriteFile(ref, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := Options{Orders: []int{2, 4}}
	ro := ReferenceOptions{CacheDir: cache}
	want, _ := Count(lines, opt)

	s1, info, err := Reference([]string{ref}, opt, ro)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cached || info.CacheNote != "" || info.CachePath == "" {
		t.Fatalf("first call: %+v", info)
	}
	sameStats(t, want, s1)
	if _, err := os.Stat(info.CachePath); err != nil {
		t.Fatalf("cache not written: %v", err)
	}

	s2, info2, err := Reference([]string{ref}, opt, ro)
	if err != nil || !info2.Cached || info2.CachePath != info.CachePath {
		t.Fatalf("second call not from the cache: %+v, %v", info2, err)
	}
	sameStats(t, want, s2)

	// Other options: another cache entry.
	_, info3, err := Reference([]string{ref}, Options{Orders: []int{2}}, ro)
	if err != nil || info3.Cached || info3.CachePath == info.CachePath {
		t.Fatalf("other options reused the cache: %+v, %v", info3, err)
	}

	// A corrupt cache file is rebuilt, not used.
	if err := os.WriteFile(info.CachePath, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	s4, info4, err := Reference([]string{ref}, opt, ro)
	if err != nil || info4.Cached || !strings.Contains(info4.CacheNote, "corrupt") {
		t.Fatalf("corrupt cache: %+v, %v", info4, err)
	}
	sameStats(t, want, s4)
	if _, err := LoadStats(info.CachePath); err != nil {
		t.Fatalf("cache not rewritten after corruption: %v", err)
	}

	// Changed file, same size, new modification time: recounted.
	lines[0] = strings.Map(func(r rune) rune {
		if r == 'a' {
			return 'b'
		}
		return 'a'
	}, lines[0])
	if err := os.WriteFile(ref, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(ref, future, future)
	want2, _ := Count(lines, opt)
	s5, info5, err := Reference([]string{ref}, opt, ro)
	if err != nil || info5.Cached || !strings.Contains(info5.CacheNote, "stale") {
		t.Fatalf("changed file: %+v, %v", info5, err)
	}
	sameStats(t, want2, s5)
	s6, info6, err := Reference([]string{ref}, opt, ro)
	if err != nil || !info6.Cached {
		t.Fatalf("after recount: %+v, %v", info6, err)
	}
	sameStats(t, want2, s6)

	// Changed content with size and mtime kept: caught by the content sample.
	st, _ := os.Stat(ref)
	lines[1] = strings.ToUpper(lines[1]) + ""
	b := []byte(strings.Join(lines, "\n") + "\n")
	if int64(len(b)) != st.Size() {
		t.Fatal("test edit changed the size")
	}
	os.WriteFile(ref, b, 0o644)
	os.Chtimes(ref, st.ModTime(), st.ModTime())
	want3, _ := Count(lines, opt)
	s7, info7, err := Reference([]string{ref}, opt, ro)
	if err != nil || info7.Cached {
		t.Fatalf("same size and mtime, new content: %+v, %v", info7, err)
	}
	sameStats(t, want3, s7)

	// NoCache neither reads nor writes.
	nc := filepath.Join(dir, "nocache")
	_, info8, err := Reference([]string{ref}, opt, ReferenceOptions{CacheDir: nc, NoCache: true})
	if err != nil || info8.Cached || info8.CachePath != "" {
		t.Fatalf("no-cache: %+v, %v", info8, err)
	}
	if _, err := os.Stat(nc); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no-cache created %s", nc)
	}

	// The environment variable chooses the default folder.
	env := filepath.Join(dir, "env")
	t.Setenv(CacheDirEnv, env)
	_, info9, err := Reference([]string{ref}, opt, ReferenceOptions{})
	if err != nil || !strings.HasPrefix(info9.CachePath, env) {
		t.Fatalf("%s ignored: %+v, %v", CacheDirEnv, info9, err)
	}

	if _, _, err := Reference([]string{filepath.Join(dir, "missing.txt")}, opt, ro); err == nil {
		t.Error("missing reference file gave no error")
	}
}

func TestScore(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	ref, _ := Count(randLines(r, 400, asciiRunes, 40), Options{Orders: []int{1, 4}})
	samples := randLines(r, 50, asciiRunes, 40)
	got, err := Score(samples, ref)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Count(samples, ref.Options())
	for _, n := range []int{1, 4} {
		want, _ := JS(s, ref, n)
		if got[n] != want || len(got) != 2 {
			t.Errorf("Score %v, JS-%d %v", got, n, want)
		}
	}
}

// Issue 11 item 9: a reference edited in place with its size and modification
// time kept (cp -p, rsync -t), in the middle where the head/tail sample does not
// look, is recounted by default; --cache-trust-mtime (TrustMtime) opts out.
func TestReferenceCacheInPlaceEdit(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.txt")
	r := rand.New(rand.NewPCG(21, 22))
	var lines []string
	for size := 0; size < 400<<10; { // well past the 2 x 64 KiB sample
		lines = append(lines, "x"+randLines(r, 1, []rune("abcdefgh ij"), 60)[0])
		size += len(lines[len(lines)-1]) + 1
	}
	write := func() {
		if err := os.WriteFile(ref, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	opt := Options{Orders: []int{1, 4}}
	ro := ReferenceOptions{CacheDir: filepath.Join(dir, "cache")}
	if _, info, err := Reference([]string{ref}, opt, ro); err != nil || info.Cached {
		t.Fatalf("first call: %+v %v", info, err)
	}
	if _, info, err := Reference([]string{ref}, opt, ro); err != nil || !info.Cached || info.Check != "content" {
		t.Fatalf("unchanged file not served from the cache: %+v %v", info, err)
	}

	// Edit the middle, same size, same modification time.
	before, _ := os.Stat(ref)
	mid := len(lines) / 2
	for i := mid; i < mid+50; i++ {
		lines[i] = strings.Repeat("z", len(lines[i]))
	}
	write()
	if err := os.Chtimes(ref, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(ref); after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the edit changed the size or the modification time")
	}
	want, _ := Count(lines, opt)
	got, info, err := Reference([]string{ref}, opt, ro)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cached {
		t.Fatal("an in-place edit with size and mtime kept was served from the cache")
	}
	if !strings.Contains(info.CacheNote, "content changed") {
		t.Errorf("note %q should say the content changed", info.CacheNote)
	}
	sameStats(t, want, got)

	// The opt-out trusts stamps: a second same-stamp edit is not seen.
	lines[mid] = strings.Repeat("y", len(lines[mid]))
	write()
	os.Chtimes(ref, before.ModTime(), before.ModTime())
	trust := ro
	trust.TrustMtime = true
	if _, info, err := Reference([]string{ref}, opt, trust); err != nil || !info.Cached || info.Check != "mtime" {
		t.Fatalf("TrustMtime: %+v %v", info, err)
	}
	// Touching a file without changing it keeps the entry (by content).
	future := time.Now().Add(time.Hour)
	os.Chtimes(ref, future, future)
	if _, info, err := Reference([]string{ref}, opt, ro); err != nil || info.Cached {
		t.Fatalf("changed content after a touch: %+v %v", info, err)
	}
	os.Chtimes(ref, before.ModTime(), before.ModTime())
	if _, info, err := Reference([]string{ref}, opt, ro); err != nil || !info.Cached {
		t.Fatalf("touched but unchanged file recounted: %+v %v", info, err)
	}
}

// Issue 11 item 7, for the eval cache: a save removes the temporary files of
// killed processes, and names its own with its pid.
func TestSaveStatsRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ref.ngrams")
	dead := filepath.Join(dir, ".ref.ngrams.tmp-999999999-123")
	os.WriteFile(dead, []byte("left by a killed process"), 0o644)
	s, _ := Count([]string{"abc"}, Options{Orders: []int{2}})
	if err := SaveStats(path, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file of a dead process kept: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "ref.ngrams" {
		t.Errorf("folder holds %v", ents)
	}
}
