package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// The page is one file: stylesheet and script are embedded at build time and
// inlined, nothing is fetched, so it works from file://, from a CI artifact
// download and offline.
var (
	//go:embed assets/report.html.tmpl
	pageTemplate string
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/report.js
	pageJS string
)

var page = template.Must(template.New("report").Parse(pageTemplate))

// HTMLOptions place the page relative to the files it links.
type HTMLOptions struct {
	// Dist is the dist directory that artifact and log paths are relative to.
	Dist string
	// Out is where the page will be written; links are relative to its directory.
	Out string
}

// column is one table column: its header, the key used by filters
// ("arch:x86_64") and whether it sorts as a number.
type column struct {
	Label, Key string
	Numeric    bool
}

var columns = []column{
	{"Artifact", "name", false}, {"Arch", "arch", false}, {"Variant", "variant", false},
	{"Image", "image", false}, {"Kind", "kind", false}, {"Status", "status", false},
	{"Duration", "duration", true}, {"Size", "size", true}, {"SHA-256", "sha256", false},
	{"Cache hit", "cache", false}, {"Reproducible", "repro", false}, {"Support", "support", false},
	{"Maintainers", "maintainers", false}, {"Log", "log", false},
}

type row struct {
	Artifact
	Href, LogHref           string
	SizeText, DurationText  string
	ShortSHA, MaintainerTxt string
	Title                   string
}

type historyRow struct {
	Summary
	Current                bool
	SizeText, DurationText string
}

type trendRow struct {
	Key   string
	Cells []trendCell
}

type trendCell struct {
	Text, Title, Class string
}

type pageData struct {
	R        *Report
	CSS      template.CSS
	JS       template.JS
	Columns  []column
	Rows     []row
	Steps    hchart
	Sizes    hchart
	History  []vchart
	HistRows []historyRow
	Versions []string
	Trends   []trendRow
	Totals   struct{ Size, Duration string }
	Failed   bool
}

// HTML renders the report page. Equal reports and options give equal bytes.
func HTML(r *Report, opts HTMLOptions) ([]byte, error) {
	base, err := linkBase(opts)
	if err != nil {
		return nil, err
	}
	d := pageData{R: r, CSS: template.CSS(pageCSS), JS: template.JS(pageJS), Columns: columns}
	d.Totals.Size = humanSize(r.Totals.Size)
	d.Totals.Duration = humanDuration(r.Totals.DurationMS)
	d.Failed = r.Totals.Failed > 0
	for _, a := range r.Artifacts {
		rw := row{Artifact: a, SizeText: humanSize(a.Size), DurationText: "",
			MaintainerTxt: strings.Join(a.Maintainers, ", ")}
		if a.Step != "" {
			rw.DurationText = humanDuration(a.DurationMS)
		}
		if a.Size == 0 && a.SHA256 == "" {
			rw.SizeText = ""
		}
		if len(a.SHA256) >= 12 {
			rw.ShortSHA = a.SHA256[:12]
		}
		if a.Path != "" && a.Status != StatusMissing && a.Status != StatusFailed {
			rw.Href = link(base, a.Path)
		}
		if a.Log != "" {
			rw.LogHref = link(base, a.Log)
		}
		rw.Title = a.Path
		if a.Error != "" {
			rw.Title = a.Error
		}
		d.Rows = append(d.Rows, rw)
	}
	d.Steps = stepChart(r)
	d.Sizes = sizeChart(r)
	d.History = historyCharts(r)
	if len(r.History) > 0 {
		all := append(slices.Clone(r.History), Summarize(r))
		for i, h := range all {
			d.HistRows = append(d.HistRows, historyRow{Summary: h, Current: i == len(all)-1,
				SizeText: humanSize(h.Totals.Size), DurationText: humanDuration(h.Totals.DurationMS)})
			d.Versions = append(d.Versions, h.Version)
		}
		d.Trends = trends(all)
	}
	var b bytes.Buffer
	if err := page.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render report page: %w", err)
	}
	return b.Bytes(), nil
}

// WriteHTML renders r and writes it to opts.Out.
func WriteHTML(r *Report, opts HTMLOptions) error {
	data, err := HTML(r, opts)
	if err != nil {
		return err
	}
	return writeFile(opts.Out, data)
}

// trends is one row per artifact key: its size in each release and the
// change from the release before.
func trends(all []Summary) []trendRow {
	var keys []string
	for _, s := range all {
		for k := range s.Sizes {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var out []trendRow
	for _, k := range keys {
		tr := trendRow{Key: k}
		var prev int64
		for _, s := range all {
			v, ok := s.Sizes[k]
			c := trendCell{Text: "–", Title: "not built"}
			if ok {
				c = trendCell{Text: humanSize(v), Title: fmt.Sprintf("%d bytes", v)}
				if prev > 0 && v != prev {
					pct := float64(v-prev) * 100 / float64(prev)
					c.Text += fmt.Sprintf(" (%+.1f%%)", pct)
					c.Class = "grew"
					if v < prev {
						c.Class = "shrank"
					}
				}
				prev = v
			} else {
				prev = 0
			}
			tr.Cells = append(tr.Cells, c)
		}
		out = append(out, tr)
	}
	return out
}

// linkBase is the dist directory as seen from the page's directory.
func linkBase(opts HTMLOptions) (string, error) {
	if opts.Dist == "" || opts.Out == "" {
		return "", fmt.Errorf("report page: both the dist directory and the output file are needed to make links")
	}
	dist, err := filepath.Abs(opts.Dist)
	if err != nil {
		return "", fmt.Errorf("report page: %w", err)
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return "", fmt.Errorf("report page: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(out), dist)
	if err != nil {
		return "", fmt.Errorf("report page: cannot link %s from %s: %w", dist, out, err)
	}
	return filepath.ToSlash(rel), nil
}

// link makes a relative URL to a dist-relative path, escaping each segment;
// absolute URLs (a CI log viewer) pass through.
func link(base, p string) string {
	if u, err := url.Parse(p); err == nil && u.Scheme != "" {
		return p
	}
	var segs []string
	for _, s := range strings.Split(base+"/"+p, "/") {
		switch s {
		case "", ".":
			continue
		case "..":
			segs = append(segs, s)
		default:
			segs = append(segs, url.PathEscape(s))
		}
	}
	return strings.Join(segs, "/")
}
