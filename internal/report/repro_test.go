package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guestforge/guestforge/internal/initrd"
	"github.com/guestforge/guestforge/internal/release/repro"
)

// packInitrd is a real zstd newc initrd whose etc/machine-id holds id.
func packInitrd(t *testing.T, id string) []byte {
	t.Helper()
	tr := initrd.NewTree()
	for _, err := range []error{
		tr.AddFile("etc/hostname", 0o644, []byte("guestforge\n")),
		tr.AddFile("etc/machine-id", 0o444, []byte(id)),
		tr.AddFile("init", 0o755, []byte("#!/bin/sh\n")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := initrd.Pack(&b, tr, initrd.WriteOptions{Epoch: 1767225600}, initrd.Zstd); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeFiles writes rel -> content under root.
func writeFiles(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// The gate's verdict on two real trees reaches report.json and report.html: yes
// for the artifact both builds made alike (and the dist tree holds), no with the
// first differing member for the one they did not, unknown for what the gate
// never compared and for bytes other than the ones it compared.
func TestReproVerdictReachesTheReport(t *testing.T) {
	const (
		kernel = "x86_64/vmlinuz-6.12.117-3f2a9c1d"
		config = "x86_64/config-6.12.117-3f2a9c1d"
		initrd = "x86_64/initrd-default.img"
		hashes = "x86_64/root_hash.txt"
		sbom   = "x86_64/sbom-default.spdx.json"
	)
	same := map[string][]byte{
		kernel: bytes.Repeat([]byte("vmlinuz\n"), 512),
		config: []byte("CONFIG_A=y\n"),
		hashes: []byte("abcd  rootfs-default.img\n"),
	}
	root := t.TempDir()
	a, b, dist := filepath.Join(root, "repro", "a"), filepath.Join(root, "repro", "b"), filepath.Join(root, "dist")
	writeFiles(t, a, same)
	writeFiles(t, b, same)
	writeFiles(t, a, map[string][]byte{initrd: packInitrd(t, "1111\n")})
	writeFiles(t, b, map[string][]byte{initrd: packInitrd(t, "2222\n")})
	// The dist tree `make` built: tree a's bytes, but for a config from other inputs,
	// and an SBOM the gate's trees do not have.
	writeFiles(t, dist, same)
	writeFiles(t, dist, map[string][]byte{initrd: packInitrd(t, "1111\n"), config: []byte("CONFIG_A=m\n"), sbom: []byte("{}\n")})

	// The gate as `release repro compare --json` runs it, its verdict read back from the file.
	g, err := repro.Compare(context.Background(), a, b, repro.Options{NoDiffoscope: true})
	if err != nil {
		t.Fatal(err)
	}
	verdict := filepath.Join(root, "repro", "report.json")
	var buf bytes.Buffer
	if err := g.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(verdict, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err = repro.ReadJSON(verdict)
	if err != nil {
		t.Fatal(err)
	}

	r, err := Build(Options{Dist: dist, Repro: g})
	if err != nil {
		t.Fatal(err)
	}
	jsonFile, htmlFile := filepath.Join(dist, JSONFile), filepath.Join(dist, HTMLFile)
	if err := WriteJSON(jsonFile, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(r, HTMLOptions{Dist: dist, Out: htmlFile}); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	diff := "member etc/machine-id differs: content sha256 " + short("1111\n") + "… != " + short("2222\n") + "…"
	// The exact bytes of the initrd's verdict in report.json.
	if want := "\"reproducible\": \"no\",\n      \"repro_diff\": \"" + diff + "\","; !bytes.Contains(data, []byte(want)) {
		t.Errorf("report.json lacks\n%s\nin\n%s", want, data)
	}
	var got struct {
		Totals    Totals
		Artifacts []struct{ Path, Reproducible, ReproDiff string }
	}
	if err := json.Unmarshal(bytes.ReplaceAll(data, []byte(`"repro_diff"`), []byte(`"reprodiff"`)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		kernel: {"yes", ""},
		hashes: {"yes", ""},
		initrd: {"no", diff},
		config: {"unknown", ""}, // the gate saw CONFIG_A=y twice; dist holds CONFIG_A=m
		sbom:   {"unknown", ""}, // not compared
	}
	if len(got.Artifacts) != len(want) {
		t.Fatalf("%d artifacts in report.json, want %d:\n%s", len(got.Artifacts), len(want), data)
	}
	for _, art := range got.Artifacts {
		if w := want[art.Path]; art.Reproducible != w[0] || art.ReproDiff != w[1] {
			t.Errorf("%s: reproducible %q repro_diff %q, want %q %q", art.Path, art.Reproducible, art.ReproDiff, w[0], w[1])
		}
	}
	if got.Totals.Reproducible != 2 || got.Totals.Unreproduced != 1 {
		t.Errorf("totals = %+v, want 2 reproducible, 1 not", got.Totals)
	}

	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, cell := range map[string]string{
		"vmlinuz-6.12.117-3f2a9c1d": `<td><span class="tri yes">yes</span></td>`,
		"initrd-default.img":        `<td title="first difference: ` + diff + `"><span class="tri no">no</span></td>`,
		"config-6.12.117-3f2a9c1d":  `<td><span class="tri unknown">unknown</span></td>`,
		"sbom-default.spdx.json":    `<td><span class="tri unknown">unknown</span></td>`,
		"root_hash.txt":             `<td><span class="tri yes">yes</span></td>`,
	} {
		if got := reproCell(t, string(page), name); got != cell {
			t.Errorf("%s: Reproducible cell\n%s\nwant\n%s", name, got, cell)
		}
	}
	if !strings.Contains(string(page), `<span class="l">reproducible, 1 not</span>`) {
		t.Error("the totals card does not count the artifact that is not reproducible")
	}
}

var triCell = regexp.MustCompile(`<td(?: title="[^"]*")?><span class="tri [a-z]+">[a-z]+</span></td>`)

// reproCell is the Reproducible cell of the artifact table's row for name (the
// row's second yes/no/unknown cell; the first is Cache hit).
func reproCell(t *testing.T, page, name string) string {
	t.Helper()
	start := strings.Index(page, `<td data-v="`+name+`"`)
	if start < 0 {
		t.Fatalf("no row for %s", name)
	}
	row := page[start:]
	row = row[:strings.Index(row, "</tr>")]
	cells := triCell.FindAllString(row, -1)
	if len(cells) != 2 {
		t.Fatalf("row %s has %d yes/no cells, want 2:\n%s", name, len(cells), row)
	}
	return cells[1]
}

// `make repro` leaves its trees and verdict in dist/repro/ beside a build's
// arch directories; the report of that build is not disturbed by them.
func TestReproDirBesideTheArches(t *testing.T) {
	dir := t.TempDir()
	writeBytes(t, dir, "x86_64/vmlinuz-6.12.117-abc", 10)
	writeBytes(t, dir, ReproDir+"/a/x86_64/vmlinuz-6.12.117-abc", 10)
	writeBytes(t, dir, ReproDir+"/"+ReproFile, 10)
	r, err := Build(Options{Dist: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Artifacts) != 1 || r.Artifacts[0].Path != "x86_64/vmlinuz-6.12.117-abc" {
		t.Fatalf("artifacts = %+v", r.Artifacts)
	}
	// Nor is a dist directory of release trees.
	many := t.TempDir()
	writeBytes(t, many, "v1.0.0/x86_64/initrd-default.img", 10)
	writeBytes(t, many, ReproDir+"/a/x86_64/initrd-default.img", 10)
	if r, err := Build(Options{Dist: many}); err != nil || r.Version != "v1.0.0" {
		t.Fatalf("release tree beside repro/: %v %+v", err, r)
	}
}

func TestReadReproVerdictRefusesWhatNoGateWrites(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ body, want string }{
		{`{"schema":"guestforge.report/v1","version":"v1"}`, `unknown field "schema"`},
		{`{"a":"/a","b":"/b","identical":true,"artifacts":[]}`, "no artifacts"},
		{`{"a":"/a","b":"/b","identical":true,"artifacts":[{"path":"../x","identical":true}]}`, `path "../x" is not a clean relative path`},
		{`{"a":"/a","b":"/b","identical":true,"artifacts":[{"path":"x","identical":true},{"path":"x","identical":true}]}`, `path "x" listed twice`},
		{`{"a":"/a","b":"/b","identical":true,"artifacts":[{"path":"x","identical":false}]}`, "identical is true, but 1 of 1 artifacts differ"},
	} {
		p := filepath.Join(dir, "v.json")
		if err := os.WriteFile(p, []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := repro.ReadJSON(p); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: want an error naming the file with %q, got %v", tt.body, tt.want, err)
		}
	}
	if _, err := repro.ReadJSON("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}
