package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guestforge/guestforge/internal/testenv"
)

// TestReportPageInChromium opens report.html from file:// in headless
// Chromium (Debian's package) and uses it as a person would: click a column
// header, type in the filter, look at the charts, take a screenshot.
// Set GUESTFORGE_SCREENSHOT_DIR to keep the screenshot.
func TestReportPageInChromium(t *testing.T) {
	exe := testenv.RequireTool(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir, cur := buildFixture(t)
	prev := *cur
	prev.Version, prev.History = "v2026.1.0", nil
	prev.Totals.Size, prev.Totals.DurationMS = cur.Totals.Size*8/10, cur.Totals.DurationMS/2
	r, err := Build(Options{Dist: dir, Record: fixtureRecord(), Toolchain: fixtureToolchain(), History: []*Report{&prev}})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, HTMLFile)
	if err := WriteHTML(r, HTMLOptions{Dist: dir, Out: out}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	b := startChromium(t, ctx, exe)
	p := b.page(t, ctx)
	t.Logf("chromium up in %v", time.Since(start).Round(time.Millisecond))
	p.call("Runtime.enable", nil, nil)
	p.call("Log.enable", nil, nil)
	p.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil)
	pageURL := (&url.URL{Scheme: "file", Path: out}).String()
	p.call("Page.navigate", map[string]any{"url": pageURL}, nil)
	p.waitFor(ctx, `document.readyState === "complete" && document.getElementById("artifacts")`)

	visible := func() []string {
		var names []string
		p.eval(`Array.from(document.querySelectorAll("#artifacts tbody tr")).filter(r => !r.hidden).map(r => r.cells[0].textContent.trim())`, &names)
		return names
	}
	sizes := func() []int64 {
		var v []int64
		p.eval(`Array.from(document.querySelectorAll("#artifacts tbody tr")).filter(r => !r.hidden).map(r => Number(r.cells[7].dataset.v))`, &v)
		return v
	}
	initial := visible()
	if len(initial) != len(r.Artifacts) || initial[0] != r.Artifacts[0].Name {
		t.Fatalf("page shows %d rows starting %q, report has %d starting %q", len(initial), initial[0], len(r.Artifacts), r.Artifacts[0].Name)
	}

	// Sort: click the Size header, rows come back ascending by size; again, descending.
	p.click(`#artifacts th[data-key="size"] button`)
	asc := visible()
	if slices.Equal(asc, initial) {
		t.Fatal("clicking the Size header did not change the row order")
	}
	if s := sizes(); !slices.IsSorted(s) {
		t.Fatalf("after one click sizes are not ascending: %v", s)
	}
	var sortAttr string
	p.eval(`document.querySelector('#artifacts th[data-key="size"]').getAttribute("aria-sort")`, &sortAttr)
	if sortAttr != "ascending" {
		t.Errorf("aria-sort = %q after one click", sortAttr)
	}
	p.click(`#artifacts th[data-key="size"] button`)
	desc := sizes()
	if !slices.IsSortedFunc(desc, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("after two clicks sizes are not descending: %v", desc)
	}
	if got := visible()[0]; got != "rootfs-systemd.img" {
		t.Errorf("largest artifact first = %q, want rootfs-systemd.img", got)
	}
	// A text column sorts too.
	p.click(`#artifacts th[data-key="name"] button`)
	byName := visible()
	if !slices.IsSortedFunc(byName, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Errorf("name column not sorted: %v", byName)
	}

	// Filter: type into the box as a user would.
	p.click("#filter")
	p.typeText("initrd")
	got := visible()
	want := []string{"initrd-default.img", "initrd-systemd.img", "initrd/aarch64/default"}
	if !slices.Equal(got, want) {
		t.Fatalf("filter \"initrd\" shows %v, want %v", got, want)
	}
	var shown string
	p.eval(`document.getElementById("shown").textContent`, &shown)
	if shown != "3 of 18 artifacts" {
		t.Errorf("count = %q", shown)
	}
	// Column filters narrow further: only the failed aarch64 initrd.
	p.typeText(" status:failed")
	if got := visible(); !slices.Equal(got, []string{"initrd/aarch64/default"}) {
		t.Fatalf("filter \"initrd status:failed\" shows %v", got)
	}
	p.typeText("x")
	var noMatch bool
	p.eval(`!document.getElementById("no-match").hidden`, &noMatch)
	if len(visible()) != 0 || !noMatch {
		t.Fatalf("a filter matching nothing should show the empty message: %v %v", visible(), noMatch)
	}
	// Back to everything for the screenshot.
	p.eval(`(() => { const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input")); return true; })()`, nil)
	if n := len(visible()); n != 18 {
		t.Fatalf("clearing the filter shows %d rows", n)
	}

	// Charts: one bar per step and per sized artifact, drawn with a real width.
	var charts struct {
		Steps, Sizes, History int
		MinWidth              float64
		SVGWidth              float64
	}
	p.eval(`(() => {
		const bars = s => Array.from(document.querySelectorAll(s + " rect.bar"));
		const all = bars("#chart-durations").concat(bars("#chart-sizes"));
		return {
			steps: bars("#chart-durations").length,
			sizes: bars("#chart-sizes").length,
			history: bars("#chart-history-size").length,
			minWidth: Math.min(...all.map(b => b.getBBox().width)),
			svgWidth: document.querySelector("#chart-sizes svg").getBoundingClientRect().width,
		};
	})()`, &charts)
	var sized int
	for _, a := range r.Artifacts {
		if a.Size > 0 {
			sized++
		}
	}
	if charts.Steps != len(r.Steps) || charts.Sizes != sized || charts.History != 2 || charts.MinWidth < 1 || charts.SVGWidth < 400 {
		t.Fatalf("charts = %+v, want %d step bars, %d size bars, 2 history columns, all visible", charts, len(r.Steps), sized)
	}

	// Links point at the artifacts on disk.
	var href string
	p.eval(`document.querySelector("#artifacts tbody a").href`, &href)
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("artifact link %q", href)
	}
	if _, err := os.Stat(u.Path); err != nil {
		t.Errorf("artifact link %s does not resolve: %v", href, err)
	}

	// Screenshot of the whole page.
	var height float64
	p.eval(`document.documentElement.scrollHeight`, &height)
	p.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": int(height), "deviceScaleFactor": 1, "mobile": false}, nil)
	var shot struct{ Data string }
	p.call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	raw, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	shotDir := os.Getenv("GUESTFORGE_SCREENSHOT_DIR")
	if shotDir == "" {
		shotDir = t.TempDir()
	}
	shotFile := filepath.Join(shotDir, "report.png")
	if err := os.WriteFile(shotFile, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shotFile, len(raw))
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if bounds := img.Bounds(); bounds.Dx() != 1400 || bounds.Dy() < 1000 {
		t.Errorf("screenshot is %v, want 1400 wide and the full page high", bounds)
	}
	// The rootfs bar's colour (--rootfs in report.css) is on screen: the
	// chart was painted, not just put in the DOM.
	if n := countColor(img, 0x0f, 0x8f, 0x8f); n < 500 {
		t.Errorf("only %d pixels of the rootfs bar colour in the screenshot", n)
	}
	if len(p.Errors) > 0 {
		t.Errorf("the page raised errors:\n%s", strings.Join(p.Errors, "\n"))
	}
	t.Logf("browser test done in %v", time.Since(start).Round(time.Millisecond))
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}
