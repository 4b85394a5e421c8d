package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func buildFixture(t *testing.T) (string, *Report) {
	t.Helper()
	dir := t.TempDir()
	writeDist(t, dir)
	r, err := Build(Options{Dist: dir, Record: fixtureRecord(), Repro: fixtureRepro(t), Toolchain: fixtureToolchain()})
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

func find(t *testing.T, r *Report, name string) Artifact {
	t.Helper()
	for _, a := range r.Artifacts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no artifact %s in report", name)
	return Artifact{}
}

func TestBuildJoinsTreeRecordAndManifest(t *testing.T) {
	_, r := buildFixture(t)
	if r.Version != fixtureVersion || r.Created != "2026-02-15T06:12:44Z" || r.Schema != Schema {
		t.Fatalf("header = %q %q %q", r.Version, r.Created, r.Schema)
	}

	k := find(t, r, "vmlinuz-6.12.117-3f2a9c1d")
	if k.Kind != "vmlinuz" || k.Arch != "x86_64" || k.Variant != "default" || k.Step != "kernel/x86_64/default" ||
		k.DurationMS != 1_520_000 || k.CacheHit != No || k.Reproducible != Yes || k.Status != StatusOK ||
		k.Support != "supported" || strings.Join(k.Maintainers, ",") != "@x86" || k.Log != "logs/kernel-x86_64-default.log" ||
		k.Size != 9_400 || k.Path != fixtureVersion+"/x86_64/vmlinuz-6.12.117-3f2a9c1d" {
		t.Errorf("kernel artifact = %+v", k)
	}
	// The sha256 is of the bytes on disk, computed independently here.
	if want := sha256Of(t, writeOne(t, fixtureVersion+"/x86_64/vmlinuz-6.12.117-3f2a9c1d", 9_400)); k.SHA256 != want {
		t.Errorf("sha256 = %s, want %s", k.SHA256, want)
	}

	// An image artifact belongs to every target of its arch that builds the
	// image: x86_64 default (supported, @x86) and debug (experimental, @debug).
	in := find(t, r, "initrd-default.img")
	if in.Image != "default" || in.CacheHit != Yes || in.Reproducible != No || in.ReproDiff != "member etc/machine-id differs" ||
		in.Support != "supported" || strings.Join(in.Maintainers, ",") != "@debug,@x86" {
		t.Errorf("initrd artifact = %+v", in)
	}
	// A step without a cache verdict stays unknown; kinds come from the layout.
	if v := find(t, r, "rootfs-systemd.img.verity"); v.Kind != "verity" || v.CacheHit != Unknown || v.Image != "systemd" {
		t.Errorf("verity artifact = %+v", v)
	}
	if h := find(t, r, "root_hash.txt"); h.Kind != "root-hash" {
		t.Errorf("root hash kind = %q", h.Kind)
	}
	if s := find(t, r, "sbom-default.spdx.json"); s.Kind != "sbom" || s.Image != "default" {
		t.Errorf("sbom = %+v", s)
	}
	// The signature inherits the target of the file it signs.
	if s := find(t, r, "vmlinuz-6.12.117-3f2a9c1d.sigstore.json"); s.Kind != "signature" || s.Arch != "x86_64" || s.Variant != "default" {
		t.Errorf("signature = %+v", s)
	}
	if s := find(t, r, "SHA256SUMS"); s.Kind != "checksums" || s.Arch != "" || s.Support != "" || len(s.Maintainers) != 0 {
		t.Errorf("checksums = %+v", s)
	}

	// The failed step without outputs gets a row of its own; the output a
	// successful step claimed but the tree lacks is "missing".
	f := find(t, r, "initrd/aarch64/default")
	if f.Status != StatusFailed || f.Path != "" || f.Error != "mmdebstrap: qemu-aarch64 binfmt handler missing" ||
		f.Support != "deprecated" || len(f.Maintainers) != 0 || f.Log != "logs/initrd-aarch64-default.log" {
		t.Errorf("failed step row = %+v", f)
	}
	m := find(t, r, "System.map-6.12.117-77aa0b12")
	if m.Status != StatusMissing || m.Arch != "aarch64" || !strings.Contains(m.Error, "not in the dist tree") {
		t.Errorf("missing output row = %+v", m)
	}

	// Aliases in the record are canonicalised.
	for _, s := range r.Steps {
		if s.ID == "kernel/arm64/default" && s.Arch != "aarch64" {
			t.Errorf("step arch = %q, want aarch64", s.Arch)
		}
	}

	want := Totals{Artifacts: 18, Failed: 2, DurationMS: 1_520_000 + 2_900_000 + 4_100 + 61_000 + 240_000 + 95_000,
		CacheHits: 1, CacheMisses: 4, Reproducible: 1, Unreproduced: 1}
	got := r.Totals
	got.Size = 0
	if got != want {
		t.Errorf("totals = %+v\nwant     %+v", got, want)
	}
	var size int64
	for _, a := range r.Artifacts {
		size += a.Size
	}
	if r.Totals.Size != size || size == 0 {
		t.Errorf("total size %d, sum %d", r.Totals.Size, size)
	}

	// Order: arch table order, kernel files first, release-wide files last.
	var order []string
	for _, a := range r.Artifacts {
		order = append(order, a.Arch+":"+a.Kind)
	}
	if order[0] != "x86_64:vmlinuz" || order[len(order)-1] != ":provenance" || !strings.Contains(strings.Join(order, " "), "x86_64:signature aarch64:vmlinuz") {
		t.Errorf("order = %v", order)
	}
}

// writeOne recreates one fixture file's bytes for an independent digest.
func writeOne(t *testing.T, rel string, n int) []byte {
	dir := t.TempDir()
	writeBytes(t, dir, rel, n)
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReportJSONGolden(t *testing.T) {
	dir, r := buildFixture(t)
	got, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuilding from the same inputs gives the same bytes, JSON and HTML.
	r2, err := Build(Options{Dist: dir, Record: fixtureRecord(), Repro: fixtureRepro(t), Toolchain: fixtureToolchain()})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Marshal(r2)
	if !bytes.Equal(got, again) {
		t.Fatal("report.json differs between two builds of the same inputs")
	}
	opts := HTMLOptions{Dist: dir, Out: filepath.Join(dir, HTMLFile)}
	h1, err := HTML(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HTML(r2, opts)
	if !bytes.Equal(h1, h2) {
		t.Fatal("report.html differs between two renders of the same report")
	}

	golden := filepath.Join("testdata", "report.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("report.json differs from %s (go test -run Golden -update to accept):\n%s", golden, got)
	}
	// And it reads back to the same report.
	file := filepath.Join(dir, JSONFile)
	if err := WriteJSON(file, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(file)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := Marshal(back); !bytes.Equal(b, got) {
		t.Fatal("report.json does not round-trip")
	}
}

func TestBuildWithoutRecordOrManifest(t *testing.T) {
	dir := t.TempDir()
	writeDist(t, dir)
	r, err := Build(Options{Dist: dir})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != fixtureVersion || r.Created != "" || len(r.Steps) != 0 || r.Totals.Artifacts != 16 {
		t.Fatalf("report = %s %q steps=%d totals=%+v", r.Version, r.Created, len(r.Steps), r.Totals)
	}
	k := find(t, r, "vmlinuz-6.12.117-3f2a9c1d")
	if k.Variant != "" || k.CacheHit != Unknown || k.Reproducible != Unknown || k.Support != "" || k.Maintainers == nil {
		t.Errorf("artifact without record = %+v", k)
	}
}

func TestFindTree(t *testing.T) {
	// A tree exported straight into dist/ (no version directory).
	flat := t.TempDir()
	writeBytes(t, flat, "x86_64/vmlinuz-6.12.117-abc", 10)
	writeBytes(t, flat, RecordFile, 10) // the report's own inputs are not artifacts
	writeBytes(t, flat, JSONFile, 10)
	r, err := Build(Options{Dist: flat})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != "dev" || len(r.Artifacts) != 1 || r.Artifacts[0].Path != "x86_64/vmlinuz-6.12.117-abc" {
		t.Fatalf("flat tree report: %s %+v", r.Version, r.Artifacts)
	}
	if r, err := Build(Options{Dist: flat, Version: "v1.0.0"}); err != nil || r.Version != "v1.0.0" {
		t.Fatalf("flat tree with version: %v %v", r, err)
	}

	many := t.TempDir()
	writeBytes(t, many, "v1.0.0/x86_64/initrd-default.img", 10)
	writeBytes(t, many, "v1.1.0/x86_64/initrd-default.img", 20)
	writeBytes(t, many, "logs/x.log", 1)
	if _, err := Build(Options{Dist: many}); err == nil || !strings.Contains(err.Error(), "pass --version") || !strings.Contains(err.Error(), "v1.0.0, v1.1.0") {
		t.Fatalf("several trees: want a --version hint, got %v", err)
	}
	r, err = Build(Options{Dist: many, Version: "v1.1.0"})
	if err != nil || r.Artifacts[0].Size != 20 || r.Artifacts[0].Path != "v1.1.0/x86_64/initrd-default.img" {
		t.Fatalf("picked tree: %v %+v", err, r)
	}
	if _, err := Build(Options{Dist: many, Version: "v9.9.9"}); err == nil || !strings.Contains(err.Error(), "no tree for version v9.9.9") {
		t.Fatalf("unknown version: %v", err)
	}
	if _, err := Build(Options{Dist: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "build first") {
		t.Fatalf("empty dist: %v", err)
	}
	// The layout's owner refuses surprises; the report says so instead of guessing.
	bad := t.TempDir()
	writeBytes(t, bad, "v1.0.0/x86_64/nested/file", 1)
	if _, err := Build(Options{Dist: bad}); err == nil || !strings.Contains(err.Error(), "scan dist tree") {
		t.Fatalf("nested directory: %v", err)
	}
}

func TestHistoryMerge(t *testing.T) {
	mk := func(version, commit string, size int64, history ...Summary) *Report {
		return &Report{Schema: Schema, Version: version, Commit: commit, Totals: Totals{Size: size},
			Artifacts: []Artifact{{Arch: "x86_64", Kind: "vmlinuz", Variant: "default", Size: size}}, History: history}
	}
	_, cur := buildFixture(t) // v2026.2.0
	old := []*Report{
		mk("v2026.10.0", "c10", 10), // newer than the current: kept, ordered numerically
		mk("v2026.1.0", "c1", 1, Summary{Version: "v2025.12.0", Commit: "c0"}, Summary{Version: "v2026.9.0", Commit: "stale"}),
		mk("v2026.9.0", "c9", 9), // its own report beats the copy carried above
		mk("nightly-2026-01-20", "n", 5),
	}
	h, err := history(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range h {
		got = append(got, s.Version+"@"+s.Commit)
	}
	want := "v2025.12.0@c0 v2026.1.0@c1 v2026.9.0@c9 v2026.10.0@c10 nightly-2026-01-20@n"
	if strings.Join(got, " ") != want {
		t.Fatalf("history = %v\nwant %v", got, want)
	}
	if h[1].Sizes["x86_64/vmlinuz/default"] != 1 || h[0].Sizes == nil {
		t.Errorf("sizes = %v / %v", h[1].Sizes, h[0].Sizes)
	}
	if _, err := history(cur, []*Report{mk(fixtureVersion, "x", 1)}); err == nil || !strings.Contains(err.Error(), "same version") {
		t.Errorf("current version in history: %v", err)
	}
	if _, err := history(cur, []*Report{mk("v1.0.0", "a", 1), mk("v1.0.0", "b", 1)}); err == nil || !strings.Contains(err.Error(), "two history reports claim version v1.0.0") {
		t.Errorf("duplicate versions: %v", err)
	}
}

func TestHistoryInPage(t *testing.T) {
	dir, cur := buildFixture(t)
	prev := *cur
	prev.Version, prev.History = "v2026.1.0", nil
	prev.Artifacts = append([]Artifact(nil), cur.Artifacts...)
	for i := range prev.Artifacts {
		prev.Artifacts[i].Size = prev.Artifacts[i].Size * 9 / 10
	}
	prev.Totals = totals(&prev)
	r, err := Build(Options{Dist: dir, Record: fixtureRecord(), Repro: fixtureRepro(t), Toolchain: fixtureToolchain(), History: []*Report{&prev}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.History) != 1 || r.History[0].Version != "v2026.1.0" {
		t.Fatalf("history = %+v", r.History)
	}
	page, err := HTML(r, HTMLOptions{Dist: dir, Out: filepath.Join(dir, HTMLFile)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{`id="chart-history-size"`, `id="chart-history-duration"`, `<td>v2026.1.0</td>`,
		`class="current"><td>v2026.2.0</td>`, "<td>x86_64/vmlinuz/default</td>", "(&#43;11.1%)"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct{ body, want string }{
		{"{\n  \"schema\": \"guestforge.report/v1\",\n  \"version\": 3\n}", "line 3 column"},
		{`{"schema":"other/v9","version":"v1"}`, `schema "other/v9"`},
		{`{"schema":"guestforge.report/v1"}`, "no version"},
		{`{"schema":"guestforge.report/v1","version":"v1","surprise":1}`, `unknown field "surprise"`},
		{`{"schema":`, "unexpected EOF"},
	} {
		_, err := ReadJSON(write("r.json", tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "r.json") {
			t.Errorf("%s: want error with %q and the file name, got %v", tt.body, tt.want, err)
		}
	}
}

func TestRecord(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, RecordFile)
	rec := NewRecorder("v1.0.0", "abc")
	var wg sync.WaitGroup
	for _, id := range []string{"kernel/x86_64/default", "initrd/x86_64/default", "rootfs/aarch64/default", "image/s390x/default"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.Add(RecordStep{ID: id, Kind: strings.Split(id, "/")[0], Status: StatusOK, DurationMS: 5, Outputs: []string{"v1.0.0/" + id}})
		}()
	}
	wg.Wait()
	finished := time.Date(2026, 2, 15, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	if err := rec.Write(file, finished); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecord(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.Finished != "2026-02-15T05:00:00Z" || len(got.Steps) != 4 || got.Steps[0].ID != "image/s390x/default" || got.Steps[3].Outputs[0] != "v1.0.0/rootfs/aarch64/default" {
		t.Fatalf("record = %+v", got)
	}
	first, _ := os.ReadFile(file)
	if err := rec.Write(file, finished); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(file)
	if !bytes.Equal(first, second) {
		t.Fatal("writing the same record twice gave different bytes")
	}

	for _, tt := range []struct {
		rec  Record
		want string
	}{
		{Record{Steps: []RecordStep{{ID: "a", Status: "ok"}, {ID: "a", Status: "ok"}}}, `id "a" used twice`},
		{Record{Steps: []RecordStep{{ID: "a", Status: "done"}}}, `status "done"`},
		{Record{Steps: []RecordStep{{ID: "a", Status: "ok", Outputs: []string{"../etc/passwd"}}}}, "not a clean relative path"},
		{Record{Steps: []RecordStep{{ID: "a", Status: "ok", Outputs: []string{"/abs"}}}}, "not a clean relative path"},
		{Record{Finished: "yesterday"}, "not RFC 3339"},
		{Record{Steps: []RecordStep{{Status: "ok"}}}, "id is empty"},
	} {
		data, _ := json.Marshal(tt.rec)
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadRecord(p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("want error with %q, got %v", tt.want, err)
		}
	}
}

func TestMergeRecords(t *testing.T) {
	build := &Record{Version: "v1", Finished: "2026-01-01T00:00:00Z", Steps: []RecordStep{{ID: "a", Status: "ok", DurationMS: 1}, {ID: "b", Status: "ok"}}}
	rebuild := &Record{Version: "v1-ignored", Steps: []RecordStep{{ID: "a", Status: "failed", DurationMS: 2}}}
	m := Merge(build, nil, rebuild)
	if m.Version != "v1" || len(m.Steps) != 2 || m.Steps[0].DurationMS != 2 || m.Steps[0].Status != "failed" {
		t.Fatalf("merged = %+v", m)
	}
}

func TestLinks(t *testing.T) {
	for _, tt := range []struct{ dist, out, p, want string }{
		{"/d", "/d/report.html", "v1/x86_64/vmlinuz-6.12", "v1/x86_64/vmlinuz-6.12"},
		{"/d", "/elsewhere/site/report.html", "v1/x86_64/a b#c.img", "../../d/v1/x86_64/a%20b%23c.img"},
		{"/d/sub", "/d/r.html", "logs/k.log", "sub/logs/k.log"},
		{"/d", "/d/r.html", "https://ci.example/logs/1", "https://ci.example/logs/1"},
	} {
		base, err := linkBase(HTMLOptions{Dist: tt.dist, Out: tt.out})
		if err != nil {
			t.Fatal(err)
		}
		if got := link(base, tt.p); got != tt.want {
			t.Errorf("link(%s from %s, %s) = %q, want %q", tt.dist, tt.out, tt.p, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 9_400_000: "9.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
	for ms, want := range map[int64]string{0: "0s", 850: "850ms", 12_340: "12.3s", 245_000: "4m05s", 3_720_000: "1h02m"} {
		if got := humanDuration(ms); got != want {
			t.Errorf("humanDuration(%d) = %q, want %q", ms, got, want)
		}
	}
}
