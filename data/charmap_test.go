package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestBuildCharmap(t *testing.T) {
	// Counts with padding to 6: a=4, b=2, c=2, `=1+2+3=6 ... computed below.
	lines := []string{"aab", "acb", "aé", "zzzzzzzzz"}
	cm := BuildCharmap(lines, 6, 0)
	// padded: "aab```" "acb```" "aé````" "zzzzzz" -> `:10 z:6 a:4 b:2 c:1 é:1
	want := []rune{UnkRune, '`', 'z', 'a', 'b', 'c', 'é'}
	if cm.Size() != len(want) {
		t.Fatalf("size %d, want %d", cm.Size(), len(want))
	}
	for i, r := range want {
		if cm.Rune(i) != r {
			t.Fatalf("index %d is %q, want %q (ties broken by code point)", i, cm.Rune(i), r)
		}
		if i > 0 && cm.Index(r) != i {
			t.Fatalf("Index(%q) = %d, want %d", r, cm.Index(r), i)
		}
	}
	if cm.Count(1) != 10 || cm.Count(2) != 6 || cm.Count(6) != 1 {
		t.Fatalf("counts %d %d %d", cm.Count(1), cm.Count(2), cm.Count(6))
	}
	if cm.Index('q') != 0 || cm.Index('日') != 0 || cm.Rune(99) != UnkRune || cm.Rune(-1) != UnkRune {
		t.Fatal("unknown runes must map to unk")
	}
	enc := cm.Encode("aéq", 5)
	if !reflect.DeepEqual(enc, []int{3, 6, 0, 1, 1}) {
		t.Fatalf("Encode = %v", enc)
	}
	if got := cm.Decode(enc); got != "aé\uFFFD``" {
		t.Fatalf("Decode = %q", got)
	}
	// The cap keeps unk plus the most frequent.
	small := BuildCharmap(lines, 6, 3)
	if small.Size() != 3 || small.Rune(1) != '`' || small.Rune(2) != 'z' || small.Index('a') != 0 {
		t.Fatalf("capped map: size %d", small.Size())
	}
	// Deterministic whatever the input order.
	rev := []string{lines[3], lines[2], lines[1], lines[0]}
	a, _ := json.Marshal(cm)
	b, _ := json.Marshal(BuildCharmap(rev, 6, 0))
	if string(a) != string(b) {
		t.Fatal("charmap depends on line order")
	}
}

// A charmap of the shared train split fits in the default cap, with the
// padding character most frequent (most lines are longer than 32 runes, so
// the space is a close second).
func TestCharmapSharedTrain(t *testing.T) {
	c, err := SharedSplit(sharedBillionWords(t))
	if err != nil {
		t.Fatal(err)
	}
	counts := NewCharCounts(DefaultSeqLen)
	if _, err := ForEachLine(c.Train, ReadOptions{}, func(l string) error { counts.Add(l); return nil }); err != nil {
		t.Fatal(err)
	}
	cm := counts.Charmap(0)
	if cm.Size() < 50 || cm.Size() > DefaultCharmapSize {
		t.Fatalf("size %d", cm.Size())
	}
	var total int64
	for i := 1; i < cm.Size(); i++ {
		total += cm.Count(i)
		if i > 1 && cm.Count(i) > cm.Count(i-1) {
			t.Fatalf("not sorted by count at %d", i)
		}
	}
	if total != 19202*DefaultSeqLen {
		t.Fatalf("counted %d runes, want 19202*32", total)
	}
	top := map[rune]bool{cm.Rune(1): true, cm.Rune(2): true}
	if !top[' '] || !top['e'] && !top['`'] {
		t.Fatalf("top runes %q %q", cm.Rune(1), cm.Rune(2))
	}
}

func TestCharmapJSONRoundTrip(t *testing.T) {
	cm := BuildCharmap([]string{"hello, wörld ’quote’", "\t\"esc\" \u2028"}, 32, 0)
	path := filepath.Join(t.TempDir(), "charmap.json")
	if err := cm.SaveCharmap(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadCharmap(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cm, back) {
		t.Fatal("charmap changed through JSON")
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"unk"`) || !strings.Contains(string(raw), `"dgtext-charmap"`) {
		t.Fatalf("saved form: %s", raw)
	}
	// Without counts.
	m, err := NewCharmap([]rune("abc"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	var m2 Charmap
	if err := json.Unmarshal(b, &m2); err != nil || m2.Size() != 4 || m2.Index('c') != 3 {
		t.Fatalf("no counts: %v %s", err, b)
	}
}

func TestCharmapValidation(t *testing.T) {
	cases := map[string]struct{ json, want string }{
		"not json":        {`{"format":`, "invalid charmap JSON"},
		"wrong format":    {`{"format":"x","version":1,"chars":["unk","a"]}`, "format"},
		"wrong version":   {`{"format":"dgtext-charmap","version":2,"chars":["unk","a"]}`, "version 2"},
		"no unk":          {`{"format":"dgtext-charmap","version":1,"chars":["a","b"]}`, `entry 0 is "a"`},
		"only unk":        {`{"format":"dgtext-charmap","version":1,"chars":["unk"]}`, "at least one character"},
		"two runes":       {`{"format":"dgtext-charmap","version":1,"chars":["unk","ab"]}`, "exactly one character"},
		"empty entry":     {`{"format":"dgtext-charmap","version":1,"chars":["unk",""]}`, "exactly one character"},
		"duplicate":       {`{"format":"dgtext-charmap","version":1,"chars":["unk","a","b","a"]}`, "appears twice"},
		"counts length":   {`{"format":"dgtext-charmap","version":1,"chars":["unk","a"],"counts":[0]}`, "1 counts for 2"},
		"negative count":  {`{"format":"dgtext-charmap","version":1,"chars":["unk","a"],"counts":[0,-1]}`, "negative"},
		"unknown field":   {`{"format":"dgtext-charmap","version":1,"chars":["unk","a"],"extra":1}`, "unknown field"},
		"trailing data":   {`{"format":"dgtext-charmap","version":1,"chars":["unk","a"]} {}`, "after the object"},
		"chars not array": {`{"format":"dgtext-charmap","version":1,"chars":"abc"}`, "invalid charmap JSON"},
	}
	for name, c := range cases {
		var m Charmap
		err := m.UnmarshalJSON([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "bad.json")
	writeFile(t, path, []byte(`{"format":"dgtext-charmap","version":1,"chars":["unk","a","a"]}`))
	if _, err := LoadCharmap(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("LoadCharmap error should name the file: %v", err)
	}
	if _, err := NewCharmap([]rune{'a', 'a'}); err == nil {
		t.Fatal("NewCharmap accepted a duplicate")
	}
	if _, err := NewCharmap([]rune{0xD800}); err == nil {
		t.Fatal("NewCharmap accepted a surrogate")
	}
}
