package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Charts are drawn as inline SVG on the Go side: the page needs no script to
// show them, they print, and their bytes are as deterministic as the table.

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartWidth  = 900
	labelWidth  = 260
	valueWidth  = 90
	barHeight   = 16
	barGap      = 6
	chartMargin = 8
	maxBars     = 40
	colHeight   = 180
)

// hbar is one horizontal bar.
type hbar struct {
	Label, Value, Title, Class string
	Y, W, TextY                int
}

// hchart is a horizontal bar chart.
type hchart struct {
	ID, Title, Empty string
	Bars             []hbar
	Height, BarX     int
	Omitted          int
	Legend           []legendItem
}

type legendItem struct{ Class, Label string }

type hitem struct {
	label, title, class string
	value               int64
	text                string
}

func hbars(id, title, empty string, items []hitem, legend []legendItem) hchart {
	c := hchart{ID: id, Title: title, Empty: empty, BarX: labelWidth, Legend: legend}
	slices.SortStableFunc(items, func(a, b hitem) int {
		return cmp.Or(cmp.Compare(b.value, a.value), strings.Compare(a.label, b.label))
	})
	if len(items) > maxBars {
		c.Omitted = len(items) - maxBars
		items = items[:maxBars]
	}
	var top int64
	for _, it := range items {
		top = max(top, it.value)
	}
	span := chartWidth - labelWidth - valueWidth
	for i, it := range items {
		w := 1
		if top > 0 {
			w = max(1, int(it.value*int64(span)/top))
		}
		y := chartMargin + i*(barHeight+barGap)
		c.Bars = append(c.Bars, hbar{
			Label: shorten(it.label, maxLabel), Value: it.text, Title: it.title, Class: it.class,
			Y: y, W: w, TextY: y + barHeight - 4,
		})
	}
	c.Height = 2*chartMargin + len(items)*(barHeight+barGap)
	return c
}

// maxLabel keeps bar labels inside the label column at 12px.
const maxLabel = 40

// shorten cuts the middle out of a long label: both the arch prefix and the
// config hash at the end tell artifacts apart. The bar's title has it whole.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 1) / 2
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// vbar is one column of a history chart.
type vbar struct {
	Label, Value, Title, Class string
	X, Y, W, H, TextX          int
}

// vchart is a column chart over releases.
type vchart struct {
	ID, Title string
	Bars      []vbar
	Width     int
	Height    int
	BaseY     int
	LabelY    int
}

func vbars(id, title string, labels []string, values []int64, texts []string, current int) vchart {
	const (
		colW   = 56
		colGap = 18
		top    = 22
	)
	c := vchart{ID: id, Title: title, Height: colHeight + top + 28, BaseY: colHeight + top, LabelY: colHeight + top + 16}
	var peak int64
	for _, v := range values {
		peak = max(peak, v)
	}
	for i, v := range values {
		h := 0
		if peak > 0 {
			h = int(v * colHeight / peak)
		}
		if v > 0 {
			h = max(h, 1)
		}
		x := colGap + i*(colW+colGap)
		class := "col"
		if i == current {
			class = "col current"
		}
		c.Bars = append(c.Bars, vbar{
			Label: labels[i], Value: texts[i], Title: fmt.Sprintf("%s: %s", labels[i], texts[i]), Class: class,
			X: x, Y: c.BaseY - h, W: colW, H: h, TextX: x + colW/2,
		})
	}
	c.Width = max(chartWidth/2, colGap+len(values)*(colW+colGap))
	return c
}

func stepChart(r *Report) hchart {
	var items []hitem
	for _, s := range r.Steps {
		class := "cache-" + string(s.CacheHit)
		if s.Status == StatusFailed {
			class = "failed"
		}
		items = append(items, hitem{
			label: s.ID, value: s.DurationMS, text: humanDuration(s.DurationMS), class: class,
			title: fmt.Sprintf("%s: %s, cache hit: %s, status: %s", s.ID, humanDuration(s.DurationMS), s.CacheHit, s.Status),
		})
	}
	return hbars("chart-durations", "Build time per step",
		"No build record was given, so step durations are unknown.", items,
		[]legendItem{{"cache-no", "cache miss"}, {"cache-yes", "cache hit"}, {"cache-unknown", "cache unknown"}, {"failed", "failed"}})
}

func sizeChart(r *Report) hchart {
	var items []hitem
	for _, a := range r.Artifacts {
		if a.Size <= 0 {
			continue
		}
		label := a.Name
		if a.Arch != "" {
			label = a.Arch + "/" + a.Name
		}
		items = append(items, hitem{
			label: label, value: a.Size, text: humanSize(a.Size), class: "kind-" + kindGroup(a.Kind),
			title: fmt.Sprintf("%s: %d bytes (%s)", a.Path, a.Size, a.Kind),
		})
	}
	return hbars("chart-sizes", "Artifact sizes", "No artifact has a size yet.", items,
		[]legendItem{{"kind-kernel", "kernel"}, {"kind-initrd", "initrd"}, {"kind-rootfs", "rootfs"}, {"kind-other", "other"}})
}

// kindGroup colours related kinds alike: four kernel files, a rootfs and its hash tree.
func kindGroup(kind string) string {
	switch kind {
	case "vmlinuz", "vmlinux", "config", "system-map":
		return "kernel"
	case "initrd":
		return "initrd"
	case "rootfs", "verity", "root-hash":
		return "rootfs"
	}
	return "other"
}

// historyCharts draws totals per release, the current one last.
func historyCharts(r *Report) []vchart {
	if len(r.History) == 0 {
		return nil
	}
	rows := append(slices.Clone(r.History), Summarize(r))
	var labels, sizeTexts, durTexts []string
	var sizes, durs []int64
	for _, h := range rows {
		labels = append(labels, h.Version)
		sizes = append(sizes, h.Totals.Size)
		sizeTexts = append(sizeTexts, humanSize(h.Totals.Size))
		durs = append(durs, h.Totals.DurationMS)
		durTexts = append(durTexts, humanDuration(h.Totals.DurationMS))
	}
	cur := len(rows) - 1
	return []vchart{
		vbars("chart-history-size", "Total artifact size per release", labels, sizes, sizeTexts, cur),
		vbars("chart-history-duration", "Total build time per release", labels, durs, durTexts, cur),
	}
}
